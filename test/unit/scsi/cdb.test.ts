import { describe, it, expect } from 'vitest';
import { PrInAction, PrOutAction } from '../../../lib/scsi/pr-service-actions';
import {
  prInCdb,
  prOutCdb,
  testUnitReadyCdb,
  reserve6Cdb,
  release6Cdb,
  inquiryCdb,
  readCapacity10Cdb,
  read10Cdb,
  write10Cdb,
} from '../../../lib/scsi/cdb';
import { prInRequest, DEFAULT_PR_IN_ALLOCATION_LENGTH, type PrInActionName } from '../../../lib/scsi/pr-in-requests';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import { hex } from '../support/hex-bytes';
import { thrown } from '../support/thrown';

/** Hex string with optional spaces → Buffer. Expected vectors are written by hand from SPC/SBC layouts. */

function expectArgError(fn: () => unknown, cls: typeof ArgumentRangeError | typeof ArgumentTypeError, pattern?: RegExp): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(cls);
  expect(e.code).toBe('ERR_INVALID_OPTION');
  if (pattern) expect(e.message).toMatch(pattern);
}

describe('action constants', () => {
  it('PR IN service actions', () => {
    expect(PrInAction).toEqual({ READ_KEYS: 0, READ_RESERVATION: 1, REPORT_CAPABILITIES: 2, READ_FULL_STATUS: 3 });
  });
  it('PR OUT service actions', () => {
    expect(PrOutAction).toEqual({
      REGISTER: 0,
      RESERVE: 1,
      RELEASE: 2,
      CLEAR: 3,
      PREEMPT: 4,
      PREEMPT_AND_ABORT: 5,
      REGISTER_AND_IGNORE_EXISTING_KEY: 6,
      REGISTER_AND_MOVE: 7,
      REPLACE_LOST_RESERVATION: 8,
    });
  });
});

describe('prInCdb', () => {
  it('READ KEYS, allocation 8192 (0x2000) in bytes 7–8', () => {
    expect(prInCdb(0, 8192)).toEqual(hex('5e 00 00 00 00 00 00 20 00 00'));
  });
  it('READ RESERVATION, allocation 24', () => {
    expect(prInCdb(1, 24)).toEqual(hex('5e 01 00 00 00 00 00 00 18 00'));
  });
  it('REPORT CAPABILITIES, allocation 8', () => {
    expect(prInCdb(2, 8)).toEqual(hex('5e 02 00 00 00 00 00 00 08 00'));
  });
  it('READ FULL STATUS, allocation 65535', () => {
    expect(prInCdb(3, 65535)).toEqual(hex('5e 03 00 00 00 00 00 ff ff 00'));
  });
  it('allocation 1 and 0x1234', () => {
    expect(prInCdb(0, 1)).toEqual(hex('5e 00 00 00 00 00 00 00 01 00'));
    expect(prInCdb(0, 0x1234)).toEqual(hex('5e 00 00 00 00 00 00 12 34 00'));
  });
  it('rejects allocation lengths outside 1..65535', () => {
    for (const n of [0, 65536, -1, 1.5, NaN, Infinity]) {
      expectArgError(() => prInCdb(0, n), ArgumentRangeError, /allocationLength .* expected an integer 1–65535/);
      expect(() => prInCdb(0, n)).toThrow(RangeError);
    }
    expectArgError(() => prInCdb(0, '8' as unknown as number), ArgumentTypeError);
  });
  it('rejects service actions outside 0..31', () => {
    for (const a of [-1, 32, 0.5]) expectArgError(() => prInCdb(a, 8), ArgumentRangeError, /action/);
  });
});

describe('prOutCdb', () => {
  it('REGISTER, no type, 24-byte list (length in bytes 5–8)', () => {
    expect(prOutCdb(0, 0, 0, 24)).toEqual(hex('5f 00 00 00 00 00 00 00 18 00'));
  });
  it('RESERVE, type 5 in byte 2 low nibble', () => {
    expect(prOutCdb(1, 0, 5, 24)).toEqual(hex('5f 01 05 00 00 00 00 00 18 00'));
  });
  it('PREEMPT AND ABORT, type 8', () => {
    expect(prOutCdb(5, 0, 8, 24)).toEqual(hex('5f 05 08 00 00 00 00 00 18 00'));
  });
  it('scope in byte 2 high nibble', () => {
    expect(prOutCdb(2, 1, 3, 24)).toEqual(hex('5f 02 13 00 00 00 00 00 18 00'));
    expect(prOutCdb(2, 15, 15, 24)).toEqual(hex('5f 02 ff 00 00 00 00 00 18 00'));
  });
  it('32-bit parameter list length', () => {
    expect(prOutCdb(7, 0, 0, 0x0102)).toEqual(hex('5f 07 00 00 00 00 00 01 02 00'));
    expect(prOutCdb(4, 0, 8, 0x01020304)).toEqual(hex('5f 04 08 00 00 01 02 03 04 00'));
    expect(prOutCdb(8, 0, 1, 0xffffffff)).toEqual(hex('5f 08 01 00 00 ff ff ff ff 00'));
    expect(prOutCdb(3, 0, 0, 0)).toEqual(hex('5f 03 00 00 00 00 00 00 00 00'));
  });
  it('rejects out-of-range fields', () => {
    expectArgError(() => prOutCdb(32, 0, 0, 24), ArgumentRangeError, /action/);
    expectArgError(() => prOutCdb(0, 16, 0, 24), ArgumentRangeError, /scope/);
    expectArgError(() => prOutCdb(0, 0, 16, 24), ArgumentRangeError, /type/);
    expectArgError(() => prOutCdb(0, 0, -1, 24), ArgumentRangeError, /type/);
    expectArgError(() => prOutCdb(0, 0, 0, -1), ArgumentRangeError, /parameterListLength/);
    expectArgError(() => prOutCdb(0, 0, 0, 2 ** 32), ArgumentRangeError, /parameterListLength/);
    expectArgError(() => prOutCdb(0, 0, 0, 2.5), ArgumentRangeError, /parameterListLength/);
    expectArgError(() => prOutCdb(0, 0, '1' as unknown as number, 24), ArgumentTypeError, /type/);
  });
});

describe('other CDBs', () => {
  it('TEST UNIT READY is six zero bytes', () => {
    expect(testUnitReadyCdb()).toEqual(hex('00 00 00 00 00 00'));
  });
  it('standard INQUIRY, allocation 96 in bytes 3–4', () => {
    expect(inquiryCdb({ allocationLength: 96 })).toEqual(hex('12 00 00 00 60 00'));
    expect(inquiryCdb({ evpd: false, page: 0, allocationLength: 0x1234 })).toEqual(hex('12 00 00 12 34 00'));
  });
  it('VPD INQUIRY sets EVPD and the page code', () => {
    expect(inquiryCdb({ evpd: true, page: 0x83, allocationLength: 255 })).toEqual(hex('12 01 83 00 ff 00'));
    expect(inquiryCdb({ evpd: true, page: 0x80, allocationLength: 0x0400 })).toEqual(hex('12 01 80 04 00 00'));
    expect(inquiryCdb({ evpd: true, allocationLength: 4 })).toEqual(hex('12 01 00 00 04 00'));
  });
  it('INQUIRY validation', () => {
    expectArgError(() => inquiryCdb({ page: 0x83, allocationLength: 255 }), ArgumentRangeError, /evpd/);
    expectArgError(() => inquiryCdb({ evpd: true, page: 256, allocationLength: 255 }), ArgumentRangeError, /page/);
    expectArgError(() => inquiryCdb({ allocationLength: 0 }), ArgumentRangeError, /allocationLength/);
    expectArgError(() => inquiryCdb({ allocationLength: 65536 }), ArgumentRangeError, /allocationLength/);
    expectArgError(() => inquiryCdb({ evpd: 1 as unknown as boolean, allocationLength: 8 }), ArgumentTypeError, /evpd/);
    expectArgError(() => inquiryCdb(null as unknown as { allocationLength: number }), ArgumentTypeError);
  });
  it('READ CAPACITY (10) is 0x25 and nine zero bytes', () => {
    expect(readCapacity10Cdb()).toEqual(hex('25 00 00 00 00 00 00 00 00 00'));
  });
  it('READ (10): LBA bytes 2–5, transfer length bytes 7–8', () => {
    expect(read10Cdb(0x01020304, 0x0506)).toEqual(hex('28 00 01 02 03 04 00 05 06 00'));
    expect(read10Cdb(0, 1)).toEqual(hex('28 00 00 00 00 00 00 00 01 00'));
    expect(read10Cdb(0xffffffff, 0xffff)).toEqual(hex('28 00 ff ff ff ff 00 ff ff 00'));
    expect(read10Cdb(8, 0)).toEqual(hex('28 00 00 00 00 08 00 00 00 00'));
  });
  it('WRITE (10)', () => {
    expect(write10Cdb(0, 1)).toEqual(hex('2a 00 00 00 00 00 00 00 01 00'));
    expect(write10Cdb(0x00abcdef, 8)).toEqual(hex('2a 00 00 ab cd ef 00 00 08 00'));
  });
  it('READ/WRITE (10) validation', () => {
    expectArgError(() => read10Cdb(-1, 1), ArgumentRangeError, /READ\(10\): lba/);
    expectArgError(() => read10Cdb(2 ** 32, 1), ArgumentRangeError, /lba/);
    expectArgError(() => write10Cdb(0, 65536), ArgumentRangeError, /WRITE\(10\): blocks/);
    expectArgError(() => write10Cdb(0, 1.5), ArgumentRangeError, /blocks/);
    expectArgError(() => write10Cdb(0n as unknown as number, 1), ArgumentTypeError, /lba/);
  });
  it('returns a fresh buffer each call', () => {
    const a = testUnitReadyCdb();
    a[0] = 0xff;
    expect(testUnitReadyCdb()[0]).toBe(0);
  });
});

describe('prInRequest', () => {
  it('defaults per action', () => {
    expect(DEFAULT_PR_IN_ALLOCATION_LENGTH).toEqual({
      'read-keys': 1024,
      'read-reservation': 24,
      'report-capabilities': 8,
      'read-full-status': 65535,
    });
    expect(prInRequest('read-keys')).toEqual({ action: 0, cdb: hex('5e 00 00 00 00 00 00 04 00 00'), allocationLength: 1024 });
    expect(prInRequest('read-reservation')).toEqual({ action: 1, cdb: hex('5e 01 00 00 00 00 00 00 18 00'), allocationLength: 24 });
    expect(prInRequest('report-capabilities')).toEqual({ action: 2, cdb: hex('5e 02 00 00 00 00 00 00 08 00'), allocationLength: 8 });
    expect(prInRequest('read-full-status')).toEqual({ action: 3, cdb: hex('5e 03 00 00 00 00 00 ff ff 00'), allocationLength: 65535 });
  });
  it('explicit allocation length', () => {
    expect(prInRequest('read-full-status', 65535)).toEqual({ action: 3, cdb: hex('5e 03 00 00 00 00 00 ff ff 00'), allocationLength: 65535 });
  });
  it('rejects unknown actions and bad lengths', () => {
    expectArgError(() => prInRequest('read-everything' as PrInActionName), ArgumentRangeError, /read-everything.*read-keys/);
    expectArgError(() => prInRequest(0 as unknown as PrInActionName), ArgumentTypeError);
    expectArgError(() => prInRequest('read-keys', 0), ArgumentRangeError, /read-keys.*allocationLength 0/);
    expectArgError(() => prInRequest('read-keys', 70000), ArgumentRangeError);
    expectArgError(() => prInRequest('read-keys', '10' as unknown as number), ArgumentTypeError);
  });
});

describe('SCSI-2 RESERVE(6) / RELEASE(6)', () => {
  it('are 6-byte CDBs of opcode 16h / 17h for the whole unit (no third party, no extent)', () => {
    expect(reserve6Cdb()).toEqual(hex('16 00 00 00 00 00'));
    expect(release6Cdb()).toEqual(hex('17 00 00 00 00 00'));
  });
});
