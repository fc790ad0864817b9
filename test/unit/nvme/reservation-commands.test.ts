import { describe, expect, it } from 'vitest';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import {
  buildReservationAcquire,
  buildReservationRegister,
  buildReservationRelease,
  buildReservationReport,
  type NvmeReservationCommand,
} from '../../../lib/nvme/reservation-commands';
import { hex } from '../support/hex-bytes';
import { thrown } from '../support/thrown';

/** Expected values are written by hand from the NVMe Base Specification 2.x reservation command layouts. */
const Z8 = '00 00 00 00 00 00 00 00';

function expectErr(fn: () => unknown, cls: typeof ArgumentRangeError | typeof ArgumentTypeError, code: string, pattern?: RegExp): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(cls);
  expect(e.code).toBe(code);
  if (pattern) expect(e.message).toMatch(pattern);
}

const call = <T>(fn: (o: T) => NvmeReservationCommand, o: unknown) => () => fn(o as T);

describe('Reservation Register (0x0d)', () => {
  it('register: NRKEY little-endian after a zero CRKEY; CPTPL 11b sets PTPL', () => {
    const c = buildReservationRegister({ action: 'register', newKey: 0x0123456789abcdefn, ptpl: true });
    expect(c.opcode).toBe(0x0d);
    expect(c.cdw10).toBe(0xc0000000);
    expect(c.cdw11).toBeUndefined();
    expect(c.direction).toBe('out');
    expect(c.data).toEqual(hex(`${Z8} | ef cd ab 89 67 45 23 01`));
  });

  it('replace with IEKEY: RREGA 010b, bit 3', () => {
    const c = buildReservationRegister({ action: 'replace', currentKey: 1n, newKey: '0x2', ignoreExistingKey: true });
    expect(c.cdw10).toBe(0x0000000a);
    expect(c.data).toEqual(hex(`01 00 00 00 00 00 00 00 | 02 00 00 00 00 00 00 00`));
  });

  it('replace without IEKEY and with 2^64-1 keys', () => {
    const c = buildReservationRegister({ action: 'replace', currentKey: 0xffffffffffffffffn, newKey: 'fffffffffffffffe' });
    expect(c.cdw10).toBe(2);
    expect(c.data).toEqual(hex('ff ff ff ff ff ff ff ff | fe ff ff ff ff ff ff ff'));
  });

  it('unregister: RREGA 001b, CPTPL 10b clears PTPL, NRKEY 0', () => {
    const c = buildReservationRegister({ action: 'unregister', currentKey: 0xaan, ptpl: false });
    expect(c.cdw10).toBe(0x80000001);
    expect(c.data).toEqual(hex(`aa 00 00 00 00 00 00 00 | ${Z8}`));
  });

  it('unregister with IEKEY needs no current key', () => {
    const c = buildReservationRegister({ action: 'unregister', ignoreExistingKey: true });
    expect(c.cdw10).toBe(0x9);
    expect(c.data).toEqual(hex(`${Z8} ${Z8}`));
  });

  it('takes a key as an 8-byte big-endian Buffer (the library notation) and writes it little-endian', () => {
    const c = buildReservationRegister({ action: 'register', newKey: hex('01 02 03 04 05 06 07 08') });
    expect(c.data.subarray(8)).toEqual(hex('08 07 06 05 04 03 02 01'));
  });

  it('refuses bad and misplaced keys', () => {
    expectErr(call(buildReservationRegister, { action: 'register' }), ArgumentRangeError, 'ERR_INVALID_KEY', /needs option newKey/);
    expectErr(call(buildReservationRegister, { action: 'register', newKey: 1n, currentKey: 2n }), ArgumentRangeError, 'ERR_INVALID_OPTION', /takes no option currentKey/);
    expectErr(call(buildReservationRegister, { action: 'unregister' }), ArgumentRangeError, 'ERR_INVALID_KEY', /needs option currentKey/);
    expectErr(call(buildReservationRegister, { action: 'unregister', currentKey: 1n, newKey: 2n }), ArgumentRangeError, 'ERR_INVALID_OPTION', /takes no option newKey/);
    expectErr(call(buildReservationRegister, { action: 'replace', currentKey: 1n }), ArgumentRangeError, 'ERR_INVALID_KEY', /needs option newKey/);
    expectErr(call(buildReservationRegister, { action: 'register', newKey: 1n << 64n }), ArgumentRangeError, 'ERR_INVALID_KEY', /reservationRegister: newKey/);
    expectErr(call(buildReservationRegister, { action: 'register', newKey: -1n }), ArgumentRangeError, 'ERR_INVALID_KEY');
    expectErr(call(buildReservationRegister, { action: 'register', newKey: '0x10000000000000000' }), ArgumentRangeError, 'ERR_INVALID_KEY');
    expectErr(call(buildReservationRegister, { action: 'register', newKey: 'abc xyz' }), ArgumentRangeError, 'ERR_INVALID_KEY');
    expectErr(call(buildReservationRegister, { action: 'register', newKey: 1.5 }), ArgumentRangeError, 'ERR_INVALID_KEY');
    expectErr(call(buildReservationRegister, { action: 'register', newKey: Buffer.alloc(7) }), ArgumentRangeError, 'ERR_INVALID_KEY');
    expectErr(call(buildReservationRegister, { action: 'register', newKey: {} }), ArgumentTypeError, 'ERR_INVALID_KEY');
    expectErr(call(buildReservationRegister, { action: 'register', newKey: null }), ArgumentTypeError, 'ERR_INVALID_KEY');
  });

  it('refuses bad actions, flags and unknown options', () => {
    expectErr(call(buildReservationRegister, { action: 'reserve', newKey: 1n }), ArgumentRangeError, 'ERR_INVALID_OPTION', /not one of register, unregister, replace/);
    expectErr(call(buildReservationRegister, { action: 0, newKey: 1n }), ArgumentTypeError, 'ERR_INVALID_OPTION');
    expectErr(call(buildReservationRegister, { action: 'toString', newKey: 1n }), ArgumentRangeError, 'ERR_INVALID_OPTION');
    expectErr(call(buildReservationRegister, { action: 'register', newKey: 1n, ptpl: 1 }), ArgumentTypeError, 'ERR_INVALID_OPTION', /ptpl must be a boolean/);
    expectErr(call(buildReservationRegister, { action: 'register', newKey: 1n, aptpl: true }), ArgumentRangeError, 'ERR_INVALID_OPTION', /unknown option "aptpl"/);
    expectErr(call(buildReservationRegister, null), ArgumentTypeError, 'ERR_INVALID_OPTION');
  });
});

describe('Reservation Acquire (0x11)', () => {
  it('acquire: RTYPE in bits 15:8, CRKEY then a zero PRKEY', () => {
    const c = buildReservationAcquire({ action: 'acquire', key: 0x1122334455667788n, type: 'we-ar' });
    expect(c.opcode).toBe(0x11);
    expect(c.cdw10).toBe(0x0500);
    expect(c.direction).toBe('out');
    expect(c.data).toEqual(hex(`88 77 66 55 44 33 22 11 | ${Z8}`));
  });

  it('preempt-and-abort: RACQA 010b, PRKEY after CRKEY', () => {
    const c = buildReservationAcquire({ action: 'preempt-and-abort', key: 0xaan, preemptKey: 0xbbn, type: 'exclusive-access-registrants-only' });
    expect(c.cdw10).toBe(0x0402);
    expect(c.data).toEqual(hex(`aa 00 00 00 00 00 00 00 | bb 00 00 00 00 00 00 00`));
  });

  it('preempt: numeric types are SPC codes (3 = exclusive access = RTYPE 2); PRKEY 0 allowed; IEKEY bit 3', () => {
    const c = buildReservationAcquire({ action: 'preempt', key: 1n, preemptKey: 0n, type: 3, ignoreExistingKey: true });
    expect(c.cdw10).toBe(0x0209);
    expect(c.data).toEqual(hex(`01 00 00 00 00 00 00 00 | ${Z8}`));
  });

  it('refuses bad keys and types', () => {
    expectErr(call(buildReservationAcquire, { action: 'acquire', type: 'we' }), ArgumentRangeError, 'ERR_INVALID_KEY', /needs option key/);
    expectErr(call(buildReservationAcquire, { action: 'acquire', key: 1n, preemptKey: 2n, type: 'we' }), ArgumentRangeError, 'ERR_INVALID_OPTION', /takes no option preemptKey/);
    expectErr(call(buildReservationAcquire, { action: 'preempt', key: 1n, type: 'we' }), ArgumentRangeError, 'ERR_INVALID_KEY', /needs option preemptKey/);
    expectErr(call(buildReservationAcquire, { action: 'acquire', key: 1n }), ArgumentRangeError, 'ERR_INVALID_RESERVATION_TYPE', /needs option type/);
    expectErr(call(buildReservationAcquire, { action: 'acquire', key: 1n, type: 2 }), ArgumentRangeError, 'ERR_INVALID_RESERVATION_TYPE', /reservationAcquire: type 2/);
    expectErr(call(buildReservationAcquire, { action: 'acquire', key: 1n, type: 'exclusive' }), ArgumentRangeError, 'ERR_INVALID_RESERVATION_TYPE');
    expectErr(call(buildReservationAcquire, { action: 'acquire', key: 1n, type: true }), ArgumentTypeError, 'ERR_INVALID_RESERVATION_TYPE');
    expectErr(call(buildReservationAcquire, { action: 'acquire', key: [1], type: 'we' }), ArgumentTypeError, 'ERR_INVALID_KEY');
    expectErr(call(buildReservationAcquire, { action: 'preempt-abort', key: 1n, type: 'we' }), ArgumentRangeError, 'ERR_INVALID_OPTION');
  });
});

describe('Reservation Release (0x15)', () => {
  it('release: RTYPE, 8-byte CRKEY', () => {
    const c = buildReservationRelease({ action: 'release', key: 0xaan, type: 'write-exclusive' });
    expect(c.opcode).toBe(0x15);
    expect(c.cdw10).toBe(0x0100);
    expect(c.direction).toBe('out');
    expect(c.data).toEqual(hex('aa 00 00 00 00 00 00 00'));
  });

  it('clear: RRELA 001b, RTYPE 0; IEKEY bit 3', () => {
    expect(buildReservationRelease({ action: 'clear', key: 0x0102030405060708n }).cdw10).toBe(0x0001);
    expect(buildReservationRelease({ action: 'clear', key: 0x0102030405060708n }).data).toEqual(hex('08 07 06 05 04 03 02 01'));
    expect(buildReservationRelease({ action: 'release', key: 1n, type: 'ea', ignoreExistingKey: true }).cdw10).toBe(0x0208);
  });

  it('refuses a missing type for release and a type for clear', () => {
    expectErr(call(buildReservationRelease, { action: 'release', key: 1n }), ArgumentRangeError, 'ERR_INVALID_RESERVATION_TYPE', /needs option type/);
    expectErr(call(buildReservationRelease, { action: 'clear', key: 1n, type: 'we' }), ArgumentRangeError, 'ERR_INVALID_OPTION', /takes no option type/);
    expectErr(call(buildReservationRelease, { action: 'clear' }), ArgumentRangeError, 'ERR_INVALID_KEY');
    expectErr(call(buildReservationRelease, { action: 'clear', key: 1n, preemptKey: 2n }), ArgumentRangeError, 'ERR_INVALID_OPTION', /unknown option/);
  });
});

describe('Reservation Report (0x0e)', () => {
  it('defaults to the extended structure with room for 16 controllers: NUMD 0-based, EDS = 1', () => {
    const c = buildReservationReport();
    expect(c.opcode).toBe(0x0e);
    expect(c.cdw10).toBe(271); // (64 + 16 * 64) / 4 - 1
    expect(c.cdw11).toBe(1);
    expect(c.direction).toBe('in');
    expect(c.data).toEqual(Buffer.alloc(1088));
  });

  it('regular structure, header only', () => {
    const c = buildReservationReport({ allocationLength: 24, extended: false });
    expect(c.cdw10).toBe(5);
    expect(c.cdw11).toBe(0);
    expect(c.data.length).toBe(24);
  });

  it('refuses lengths that are not whole dwords, shorter than the header or beyond 65535 entries', () => {
    expectErr(call(buildReservationReport, { allocationLength: 30, extended: false }), ArgumentRangeError, 'ERR_INVALID_OPTION', /multiple of 4 from 24/);
    expectErr(call(buildReservationReport, { allocationLength: 20, extended: false }), ArgumentRangeError, 'ERR_INVALID_OPTION');
    expectErr(call(buildReservationReport, { allocationLength: 60 }), ArgumentRangeError, 'ERR_INVALID_OPTION', /from 64 to 4194304/);
    expectErr(call(buildReservationReport, { allocationLength: 64 + 65536 * 64 }), ArgumentRangeError, 'ERR_INVALID_OPTION');
    expectErr(call(buildReservationReport, { allocationLength: '64' }), ArgumentTypeError, 'ERR_INVALID_OPTION');
    expectErr(call(buildReservationReport, { extended: 1 }), ArgumentTypeError, 'ERR_INVALID_OPTION');
  });
});

describe('every builder', () => {
  it("gives the direction the opcode's bits 1:0 encode (01b out, 10b in)", () => {
    const cmds = [
      buildReservationRegister({ action: 'register', newKey: 1n }),
      buildReservationAcquire({ action: 'acquire', key: 1n, type: 'we' }),
      buildReservationRelease({ action: 'clear', key: 1n }),
      buildReservationReport(),
    ];
    for (const c of cmds) expect(c.direction).toBe((c.opcode & 3) === 1 ? 'out' : 'in');
  });
});
