import { describe, it, expect } from 'vitest';
import {
  ReservationType,
  LU_SCOPE,
  parseReservationType,
  reservationTypeName,
  reservationTypeLabel,
  type ReservationTypeInput,
} from '../../../lib/scsi/reservation-types';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import { thrown } from '../support/thrown';

describe('ReservationType constants', () => {
  it('match SPC type codes', () => {
    expect(ReservationType).toEqual({
      WRITE_EXCLUSIVE: 1,
      EXCLUSIVE_ACCESS: 3,
      WRITE_EXCLUSIVE_REGISTRANTS_ONLY: 5,
      EXCLUSIVE_ACCESS_REGISTRANTS_ONLY: 6,
      WRITE_EXCLUSIVE_ALL_REGISTRANTS: 7,
      EXCLUSIVE_ACCESS_ALL_REGISTRANTS: 8,
    });
    expect(LU_SCOPE).toBe(0);
  });
});

describe('parseReservationType', () => {
  const valid: Array<[ReservationTypeInput, number]> = [
    [1, 1], [3, 3], [5, 5], [6, 6], [7, 7], [8, 8],
    ['write-exclusive', 1],
    ['exclusive-access', 3],
    ['write-exclusive-registrants-only', 5],
    ['exclusive-access-registrants-only', 6],
    ['write-exclusive-all-registrants', 7],
    ['exclusive-access-all-registrants', 8],
    ['we', 1], ['ea', 3], ['we-ro', 5], ['ea-ro', 6], ['we-ar', 7], ['ea-ar', 8],
    ['WE', 1], ['Ea-Ro', 6], ['WE-AR', 7],
    ['Write-Exclusive', 1],
    ['WRITE_EXCLUSIVE_REGISTRANTS_ONLY', 5],
    ['1', 1], ['8', 8],
  ];
  for (const [input, code] of valid) {
    it(`${JSON.stringify(input)} → ${code}`, () => {
      expect(parseReservationType(input)).toBe(code);
    });
  }

  const badRange: unknown[] = [0, 2, 4, 9, 15, 16, -1, 1.5, NaN, 'foo', '', '2', '0', '9', 'we ', ' we', 'write exclusive', 'we-rr', '0x1'];
  for (const input of badRange) {
    it(`${JSON.stringify(input) ?? String(input)} → ArgumentRangeError`, () => {
      const e = thrown(() => parseReservationType(input as ReservationTypeInput));
      expect(e).toBeInstanceOf(ArgumentRangeError);
      expect(e.code).toBe('ERR_INVALID_RESERVATION_TYPE');
      expect(e.message).toMatch(/^type .* is not a reservation type; expected 1, 3, 5, 6, 7, 8/);
    });
  }

  const badType: unknown[] = [null, undefined, true, {}, [], 1n];
  for (const input of badType) {
    it(`${String(input)} (${typeof input}) → ArgumentTypeError`, () => {
      const e = thrown(() => parseReservationType(input as ReservationTypeInput));
      expect(e).toBeInstanceOf(ArgumentTypeError);
      expect(e.code).toBe('ERR_INVALID_RESERVATION_TYPE');
    });
  }

  it('uses the given option name', () => {
    expect(thrown(() => parseReservationType(2, 'prout-type')).message).toMatch(/^prout-type 2 is not/);
  });
});

describe('reservationTypeName', () => {
  it('names defined codes and nothing else', () => {
    expect(reservationTypeName(1)).toBe('write-exclusive');
    expect(reservationTypeName(3)).toBe('exclusive-access');
    expect(reservationTypeName(5)).toBe('write-exclusive-registrants-only');
    expect(reservationTypeName(6)).toBe('exclusive-access-registrants-only');
    expect(reservationTypeName(7)).toBe('write-exclusive-all-registrants');
    expect(reservationTypeName(8)).toBe('exclusive-access-all-registrants');
    for (const c of [0, 2, 4, 9, 15, -1, 1.5]) expect(reservationTypeName(c)).toBeUndefined();
  });
});

describe('reservationTypeLabel', () => {
  it('uses sg_persist wording', () => {
    expect(reservationTypeLabel(1)).toBe('Write Exclusive');
    expect(reservationTypeLabel(3)).toBe('Exclusive Access');
    expect(reservationTypeLabel(5)).toBe('Write Exclusive, registrants only');
    expect(reservationTypeLabel(6)).toBe('Exclusive Access, registrants only');
    expect(reservationTypeLabel(7)).toBe('Write Exclusive, all registrants');
    expect(reservationTypeLabel(8)).toBe('Exclusive Access, all registrants');
  });
  it('labels obsolete, reserved and impossible values', () => {
    expect(reservationTypeLabel(0)).toBe('obsolete [0]');
    expect(reservationTypeLabel(2)).toBe('obsolete [2]');
    expect(reservationTypeLabel(4)).toBe('obsolete [4]');
    expect(reservationTypeLabel(9)).toBe('reserved [0x9]');
    expect(reservationTypeLabel(0xa)).toBe('reserved [0xa]');
    expect(reservationTypeLabel(15)).toBe('reserved [0xf]');
    expect(reservationTypeLabel(16)).toBe('invalid [16]');
    expect(reservationTypeLabel(-1)).toBe('invalid [-1]');
  });
});
