import { describe, expect, it } from 'vitest';
import { MalformedResponseError } from '../../../lib/errors';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import { parseReservationStatus, reservationStatusLength } from '../../../lib/nvme/reservation-report';
import { hex } from '../support/hex-bytes';
import { thrown } from '../support/thrown';

/** Vectors are written by hand from the NVMe Base Specification 2.x Reservation Status data structures. */
const zeros = (n: number): string => '00 '.repeat(n);

// Regular header: GEN 0x01020304, RTYPE 3, REGCTL 2, PTPLS 1.
const REGULAR_HEADER = `04 03 02 01 | 03 | 02 00 | 00 00 | 01 | ${zeros(14)}`;
// Registered controller 1: CNTLID 1, holds the reservation, HOSTID 1122334455667788, RKEY 0x0123456789abcdef.
const REGULAR_1 = `01 00 | 01 | ${zeros(5)} | 11 22 33 44 55 66 77 88 | ef cd ab 89 67 45 23 01`;
// Registered controller 2: CNTLID 2, RCSTS 0xfe (reserved bits only), HOSTID aa.., RKEY 2.
const REGULAR_2 = `02 00 | fe | ${zeros(5)} | aa bb cc dd ee ff 00 11 | 02 00 00 00 00 00 00 00`;

// Extended header: GEN 5, RTYPE 0, REGCTL 1, PTPLS 0, 64 bytes.
const EXTENDED_HEADER = `05 00 00 00 | 00 | 01 00 | 00 00 | 00 | ${zeros(14)} | ${zeros(40)}`;
// Extended entry: CNTLID 0xffff (dynamic), RCSTS 0, RKEY 0x0102030405060708, HOSTID 00..0f.
const EXTENDED_1 = `ff ff | 00 | ${zeros(5)} | 08 07 06 05 04 03 02 01 | 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f | ${zeros(32)}`;

describe('parseReservationStatus', () => {
  it('parses the regular structure', () => {
    const data = hex(REGULAR_HEADER + REGULAR_1 + REGULAR_2);
    expect(data.length).toBe(72);
    expect(parseReservationStatus(data, false)).toEqual({
      generation: 0x01020304,
      type: 'write-exclusive-registrants-only',
      rtype: 3,
      registrants: [
        { controllerId: 1, holdsReservation: true, hostId: '1122334455667788', key: 0x0123456789abcdefn },
        { controllerId: 2, holdsReservation: false, hostId: 'aabbccddeeff0011', key: 2n },
      ],
      registeredControllers: 2,
      ptplState: true,
      truncated: false,
      extended: false,
    });
  });

  it('parses the extended structure; RTYPE 0 is no reservation', () => {
    const data = hex(EXTENDED_HEADER + EXTENDED_1);
    expect(data.length).toBe(128);
    expect(parseReservationStatus(data, true)).toEqual({
      generation: 5,
      type: undefined,
      rtype: 0,
      registrants: [{ controllerId: 0xffff, holdsReservation: false, hostId: '000102030405060708090a0b0c0d0e0f', key: 0x0102030405060708n }],
      registeredControllers: 1,
      ptplState: false,
      truncated: false,
      extended: true,
    });
  });

  it('ignores bytes after the registered controllers (a larger allocation)', () => {
    const data = Buffer.concat([hex(EXTENDED_HEADER + EXTENDED_1), Buffer.alloc(64 * 3, 0xaa)]);
    const r = parseReservationStatus(data, true);
    expect(r.registrants).toHaveLength(1);
    expect(r.truncated).toBe(false);
  });

  it('reports truncated, not a crash, when REGCTL counts more controllers than the buffer holds', () => {
    const data = hex(REGULAR_HEADER.replace('02 00', '03 00') + REGULAR_1 + REGULAR_2);
    const r = parseReservationStatus(data, false);
    expect(r.registeredControllers).toBe(3);
    expect(r.registrants.map((x) => x.controllerId)).toEqual([1, 2]);
    expect(r.truncated).toBe(true);
    const max = hex(REGULAR_HEADER.replace('02 00', 'ff ff'));
    expect(parseReservationStatus(max, false)).toMatchObject({ registeredControllers: 65535, registrants: [], truncated: true });
  });

  it('drops a partial entry at the end and says truncated', () => {
    const data = hex(REGULAR_HEADER + REGULAR_1 + REGULAR_2).subarray(0, 24 + 24 + 10);
    const r = parseReservationStatus(data, false);
    expect(r.registrants).toHaveLength(1);
    expect(r.truncated).toBe(true);
  });

  it('reads no further than validLength', () => {
    const data = hex(REGULAR_HEADER + REGULAR_1 + REGULAR_2);
    const r = parseReservationStatus(data, false, 48);
    expect(r.registrants).toHaveLength(1);
    expect(r.truncated).toBe(true);
    expect(parseReservationStatus(data, false, 1000).registrants).toHaveLength(2);
  });

  it('refuses data shorter than the header', () => {
    for (const [data, extended] of [
      [hex(REGULAR_HEADER).subarray(0, 23), false],
      [hex(EXTENDED_HEADER).subarray(0, 63), true],
      [hex(REGULAR_HEADER), true],
      [Buffer.alloc(0), false],
    ] as const) {
      const e = thrown(() => parseReservationStatus(data, extended));
      expect(e).toBeInstanceOf(MalformedResponseError);
      expect(e.code).toBe('ERR_MALFORMED_RESPONSE');
      expect(e.message).toMatch(/header alone has (24|64)/);
    }
    expect(thrown(() => parseReservationStatus(hex(REGULAR_HEADER), false, 10))).toBeInstanceOf(MalformedResponseError);
  });

  it('refuses a reserved RTYPE', () => {
    const e = thrown(() => parseReservationStatus(hex(REGULAR_HEADER.replace('| 03 |', '| 07 |')), false));
    expect(e).toBeInstanceOf(MalformedResponseError);
    expect(e.message).toMatch(/reservation type 7/);
  });

  it('refuses arguments of the wrong type', () => {
    expect(thrown(() => parseReservationStatus('00' as never, false))).toBeInstanceOf(ArgumentTypeError);
    expect(thrown(() => parseReservationStatus(Buffer.alloc(64), 1 as never))).toBeInstanceOf(ArgumentTypeError);
    expect(thrown(() => parseReservationStatus(Buffer.alloc(64), true, -1))).toBeInstanceOf(ArgumentRangeError);
  });
});

describe('reservationStatusLength', () => {
  it('is the header plus one entry per controller', () => {
    expect(reservationStatusLength(0, false)).toBe(24);
    expect(reservationStatusLength(2, false)).toBe(72);
    expect(reservationStatusLength(0, true)).toBe(64);
    expect(reservationStatusLength(2, true)).toBe(192);
    expect(reservationStatusLength(65535, true)).toBe(4194304);
  });

  it('refuses counts REGCTL cannot hold', () => {
    for (const n of [-1, 65536, 1.5, NaN]) {
      const e = thrown(() => reservationStatusLength(n, true));
      expect(e).toBeInstanceOf(ArgumentRangeError);
      expect(e.code).toBe('ERR_INVALID_OPTION');
    }
  });
});
