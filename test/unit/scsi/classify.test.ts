import { describe, expect, it } from 'vitest';
import { classifyResult, commandName, isRetryableBusy, isUnitAttention } from '../../../lib/scsi/classify';
import {
  ReservationConflictError,
  ScsiPrError,
  ScsiSenseError,
  ScsiStatusError,
  TimeoutError,
  TransportError,
} from '../../../lib/errors';
import type { RawResult } from '../../../lib/scsi/raw-result';
import {
  DriverStatus,
  driverStatusName,
  HostStatus,
  hostStatusName,
  SamStatus,
  samStatusName,
} from '../../../lib/scsi/scsi-status';
import { hex } from '../support/hex-bytes';


function raw(over: Partial<RawResult> = {}): RawResult {
  return {
    status: 0,
    hostStatus: 0,
    driverStatus: 0,
    sense: Buffer.alloc(0),
    resid: 0,
    durationMs: 3,
    data: null,
    ...over,
  };
}

const PATH = '/dev/sg3';
const PREEMPT_ABORT = hex('5f 05 01 00000000 0018 00');
const READ_KEYS = hex('5e 00 0000000000 2000 00');
const INQUIRY = hex('12 00 00 0060 00');
const ctx = { path: PATH, cdb: PREEMPT_ABORT };

const UA_2A05 = hex('70 00 06 00000000 0a 00000000 2a 05 00 000000');
const IR_2600 = hex('70 00 05 00000000 0a 00000000 26 00 00 80 0014');
const RECOVERED = hex('70 00 01 00000000 0a 00000000 17 01 00 000000');
const NO_SENSE = hex('70 00 00 00000000 0a 00000000 00 00 00 000000');

describe('classifyResult', () => {
  it('GOOD is success', () => {
    expect(classifyResult(raw(), ctx)).toBeNull();
  });

  it('CONDITION MET is success', () => {
    expect(classifyResult(raw({ status: SamStatus.CONDITION_MET }), ctx)).toBeNull();
  });

  // (a) transport
  it('host status DID_TRANSPORT_DISRUPTED → TransportError', () => {
    const r = raw({ hostStatus: HostStatus.DID_TRANSPORT_DISRUPTED });
    const e = classifyResult(r, ctx);
    expect(e).toBeInstanceOf(TransportError);
    const t = e as TransportError;
    expect(t.code).toBe('ERR_TRANSPORT');
    expect(t.hostStatus).toBe(0x0e);
    expect(t.hostStatusName).toBe('DID_TRANSPORT_DISRUPTED');
    expect(t.message).toBe(
      '/dev/sg3: PERSISTENT RESERVE OUT (PREEMPT AND ABORT) failed: transport error DID_TRANSPORT_DISRUPTED (host status 0x0e, driver status 0x00)',
    );
    expect(t.path).toBe(PATH);
    expect(t.cdb).toBe(PREEMPT_ABORT);
    expect(t.result).toBe(r);
  });

  it('transport failure wins over a status byte that is not derived from it', () => {
    const e = classifyResult(raw({ hostStatus: HostStatus.DID_ERROR, status: SamStatus.CHECK_CONDITION, sense: UA_2A05 }), ctx);
    expect(e).toBeInstanceOf(TransportError);
    expect((e as TransportError).hostStatusName).toBe('DID_ERROR');
  });

  it('driver status other than OK/SENSE → TransportError', () => {
    const e = classifyResult(raw({ driverStatus: DriverStatus.DRIVER_ERROR }), ctx) as TransportError;
    expect(e).toBeInstanceOf(TransportError);
    expect(e.driverStatus).toBe(4);
    expect(e.hostStatusName).toBe('DID_OK');
    expect(e.message).toContain('transport error DRIVER_ERROR');
  });

  it('DID_TIME_OUT → TimeoutError with the submitted timeout', () => {
    const e = classifyResult(raw({ hostStatus: HostStatus.DID_TIME_OUT, durationMs: 30012 }), { ...ctx, timeoutMs: 30000 });
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).timeoutMs).toBe(30000);
    expect(e!.code).toBe('ERR_TIMEOUT');
    expect(e!.message).toBe('/dev/sg3: PERSISTENT RESERVE OUT (PREEMPT AND ABORT) timed out after 30000 ms (DID_TIME_OUT)');
  });

  it('DRIVER_TIMEOUT (with SUGGEST bits) → TimeoutError, falling back to the measured duration', () => {
    const e = classifyResult(raw({ driverStatus: 0x26, durationMs: 1500 }), ctx);
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).timeoutMs).toBe(1500);
    expect(e!.message).toContain('(DRIVER_TIMEOUT|SUGGEST_ABORT)');
  });

  it('DID_NEXUS_FAILURE without RESERVATION CONFLICT status → TransportError', () => {
    const e = classifyResult(raw({ hostStatus: HostStatus.DID_NEXUS_FAILURE }), ctx);
    expect(e).toBeInstanceOf(TransportError);
    expect((e as TransportError).hostStatusName).toBe('DID_NEXUS_FAILURE');
  });

  it('DID_TARGET_FAILURE with GOOD status and no sense → TransportError', () => {
    expect(classifyResult(raw({ hostStatus: HostStatus.DID_TARGET_FAILURE }), ctx)).toBeInstanceOf(TransportError);
  });

  // (b) reservation conflict
  it('status 0x18 → ReservationConflictError', () => {
    const e = classifyResult(raw({ status: 0x18 }), ctx);
    expect(e).toBeInstanceOf(ReservationConflictError);
    expect(e!.code).toBe('ERR_RESERVATION_CONFLICT');
    expect(e!.message).toBe('/dev/sg3: PERSISTENT RESERVE OUT (PREEMPT AND ABORT) failed: RESERVATION CONFLICT');
  });

  it('status 0x18 with DID_NEXUS_FAILURE (older kernels) → ReservationConflictError', () => {
    const e = classifyResult(raw({ status: 0x18, hostStatus: HostStatus.DID_NEXUS_FAILURE }), ctx);
    expect(e).toBeInstanceOf(ReservationConflictError);
  });

  // (c) check condition
  it('CHECK CONDITION with UNIT ATTENTION → ScsiSenseError', () => {
    const e = classifyResult(raw({ status: 2, driverStatus: DriverStatus.DRIVER_SENSE, sense: UA_2A05 }), {
      path: PATH,
      cdb: READ_KEYS,
    });
    expect(e).toBeInstanceOf(ScsiSenseError);
    const s = e as ScsiSenseError;
    expect(s.code).toBe('ERR_UNIT_ATTENTION');
    expect(s.sense).toMatchObject({ senseKey: 6, asc: 0x2a, ascq: 5 });
    expect(s.message).toBe(
      '/dev/sg3: PERSISTENT RESERVE IN (READ KEYS) failed: UNIT ATTENTION: REGISTRATIONS PREEMPTED (asc 0x2a, ascq 0x05)',
    );
    expect(isUnitAttention(s)).toBe(true);
  });

  it('DRIVER_SENSE with status 0 and sense bytes is a CHECK CONDITION', () => {
    const e = classifyResult(raw({ status: 0, driverStatus: DriverStatus.DRIVER_SENSE, sense: UA_2A05 }), ctx);
    expect(e).toBeInstanceOf(ScsiSenseError);
    expect(isUnitAttention(e)).toBe(true);
  });

  it('DRIVER_SENSE with SUGGEST bits is still DRIVER_SENSE', () => {
    const e = classifyResult(raw({ status: 2, driverStatus: 0x28, sense: UA_2A05 }), ctx);
    expect(e).toBeInstanceOf(ScsiSenseError);
  });

  it('DRIVER_SENSE with status 0 and no sense bytes is success', () => {
    expect(classifyResult(raw({ driverStatus: DriverStatus.DRIVER_SENSE }), ctx)).toBeNull();
  });

  it('ILLEGAL REQUEST with DID_TARGET_FAILURE (older kernels add it) → ScsiSenseError', () => {
    const e = classifyResult(
      raw({ status: 2, hostStatus: HostStatus.DID_TARGET_FAILURE, driverStatus: DriverStatus.DRIVER_SENSE, sense: IR_2600 }),
      ctx,
    );
    expect(e).toBeInstanceOf(ScsiSenseError);
    expect(e!.code).toBe('ERR_ILLEGAL_REQUEST');
    expect(e!.message).toBe(
      '/dev/sg3: PERSISTENT RESERVE OUT (PREEMPT AND ABORT) failed: ILLEGAL REQUEST: INVALID FIELD IN PARAMETER LIST (asc 0x26, ascq 0x00; parameter list byte 20)',
    );
  });

  it('MEDIUM ERROR with DID_MEDIUM_ERROR → ScsiSenseError', () => {
    const sense = hex('70 00 03 00000000 0a 00000000 11 00 00 000000');
    const e = classifyResult(raw({ status: 2, hostStatus: HostStatus.DID_MEDIUM_ERROR, sense }), ctx);
    expect(e!.code).toBe('ERR_MEDIUM_ERROR');
  });

  it('RECOVERED ERROR is success, with CHECK CONDITION or only DRIVER_SENSE', () => {
    expect(classifyResult(raw({ status: 2, driverStatus: 8, sense: RECOVERED }), ctx)).toBeNull();
    expect(classifyResult(raw({ status: 0, driverStatus: 8, sense: RECOVERED }), ctx)).toBeNull();
  });

  it('NO SENSE and COMPLETED sense keys are success', () => {
    expect(classifyResult(raw({ status: 0, driverStatus: 8, sense: NO_SENSE }), ctx)).toBeNull();
    expect(classifyResult(raw({ status: 2, driverStatus: 8, sense: NO_SENSE }), ctx)).toBeNull();
    expect(classifyResult(raw({ status: 2, sense: hex('72 0f 00 1d 000000 00') }), ctx)).toBeNull();
  });

  it('descriptor-format sense is decoded', () => {
    const e = classifyResult(raw({ status: 2, sense: hex('72 06 29 07 000000 00') }), ctx) as ScsiSenseError;
    expect(e.sense.format).toBe('descriptor');
    expect(e.message).toContain('UNIT ATTENTION: I_T NEXUS LOSS OCCURRED');
  });

  it('CHECK CONDITION without sense → ScsiSenseError with unknown sense', () => {
    const e = classifyResult(raw({ status: 2 }), ctx) as ScsiSenseError;
    expect(e).toBeInstanceOf(ScsiSenseError);
    expect(e.code).toBe('ERR_CHECK_CONDITION');
    expect(e.sense.format).toBe('unknown');
    expect(e.message).toBe('/dev/sg3: PERSISTENT RESERVE OUT (PREEMPT AND ABORT) failed: no sense data');
    expect(isUnitAttention(e)).toBe(false);
  });

  it('CHECK CONDITION with undecodable sense → ScsiSenseError with unknown sense and the raw bytes', () => {
    const e = classifyResult(raw({ status: 2, driverStatus: 8, sense: hex('7f 06 29') }), ctx) as ScsiSenseError;
    expect(e.sense).toMatchObject({ format: 'unknown', senseKey: -1, raw: hex('7f 06 29') });
    expect(e.message).toContain('unrecognized sense data (3 bytes: 7f 06 29)');
  });

  it('DRIVER_SENSE with status 0 and undecodable sense → ScsiSenseError', () => {
    const e = classifyResult(raw({ driverStatus: 8, sense: hex('00 11 22') }), ctx);
    expect(e).toBeInstanceOf(ScsiSenseError);
  });

  it('sense bytes without CHECK CONDITION or DRIVER_SENSE are ignored', () => {
    expect(classifyResult(raw({ sense: UA_2A05 }), ctx)).toBeNull();
  });

  it('COMMAND TERMINATED with sense is treated like CHECK CONDITION, without sense as a status', () => {
    expect(classifyResult(raw({ status: 0x22, sense: UA_2A05 }), ctx)).toBeInstanceOf(ScsiSenseError);
    const e = classifyResult(raw({ status: 0x22 }), ctx) as ScsiStatusError;
    expect(e).toBeInstanceOf(ScsiStatusError);
    expect(e.statusName).toBe('COMMAND TERMINATED');
  });

  // (d) other status
  it.each([
    [SamStatus.BUSY, 'BUSY', 'ERR_BUSY', true],
    [SamStatus.TASK_SET_FULL, 'TASK SET FULL', 'ERR_TASK_SET_FULL', true],
    [SamStatus.ACA_ACTIVE, 'ACA ACTIVE', 'ERR_SCSI_STATUS', false],
    [SamStatus.TASK_ABORTED, 'TASK ABORTED', 'ERR_SCSI_STATUS', false],
    [0x3e, 'STATUS 0x3e', 'ERR_SCSI_STATUS', false],
  ])('status %#x → ScsiStatusError %s', (status, name, code, retryable) => {
    const e = classifyResult(raw({ status }), { path: PATH, cdb: INQUIRY });
    expect(e).toBeInstanceOf(ScsiStatusError);
    const s = e as ScsiStatusError;
    expect(s.status).toBe(status);
    expect(s.statusName).toBe(name);
    expect(s.code).toBe(code);
    expect(s.message).toBe(`/dev/sg3: INQUIRY failed: ${name}`);
    expect(isRetryableBusy(s)).toBe(retryable);
  });

  it('masks the reserved bit 0 of the status byte', () => {
    expect(classifyResult(raw({ status: 0x19 }), ctx)).toBeInstanceOf(ReservationConflictError);
  });

  it('uses the commandName override', () => {
    const e = classifyResult(raw({ status: 0x18 }), { ...ctx, commandName: 'PREEMPT AND ABORT on 3 paths' });
    expect(e!.message).toBe('/dev/sg3: PREEMPT AND ABORT on 3 paths failed: RESERVATION CONFLICT');
  });

  it('returns errors that are ScsiPrErrors', () => {
    expect(classifyResult(raw({ status: 8 }), ctx)).toBeInstanceOf(ScsiPrError);
  });
});

describe('isUnitAttention / isRetryableBusy', () => {
  it('reject unrelated values', () => {
    expect(isUnitAttention(undefined)).toBe(false);
    expect(isUnitAttention(new Error('x'))).toBe(false);
    expect(isUnitAttention(classifyResult(raw({ status: 2, sense: IR_2600 }), ctx))).toBe(false);
    expect(isRetryableBusy(null)).toBe(false);
    expect(isRetryableBusy(classifyResult(raw({ status: 0x18 }), ctx))).toBe(false);
  });
});

describe('commandName', () => {
  it.each([
    ['12 00 00 0024 00', 'INQUIRY'],
    ['12 01 83 00ff 00', 'INQUIRY (VPD page 0x83)'],
    ['00 00000000 00', 'TEST UNIT READY'],
    ['03 00000012 00', 'REQUEST SENSE'],
    ['28 00 00000000 00 0001 00', 'READ(10)'],
    ['2a 00 00000000 00 0001 00', 'WRITE(10)'],
    ['25 00 00000000 0000 00 00', 'READ CAPACITY(10)'],
    ['9e 10 0000000000000000 00000020 00 00', 'READ CAPACITY(16)'],
    ['9e 1f 0000000000000000 00000020 00 00', 'SERVICE ACTION IN(16) (service action 0x1f)'],
    ['a0 00 000000 00001000 00 00', 'REPORT LUNS'],
    ['a3 0a 00000000 00001000 00 00', 'REPORT TARGET PORT GROUPS'],
    ['5e 00 0000000000 2000 00', 'PERSISTENT RESERVE IN (READ KEYS)'],
    ['5e 01 0000000000 2000 00', 'PERSISTENT RESERVE IN (READ RESERVATION)'],
    ['5e 02 0000000000 2000 00', 'PERSISTENT RESERVE IN (REPORT CAPABILITIES)'],
    ['5e 03 0000000000 2000 00', 'PERSISTENT RESERVE IN (READ FULL STATUS)'],
    ['5e 04 0000000000 2000 00', 'PERSISTENT RESERVE IN (service action 0x04)'],
    ['5f 00 00 00000000 0018 00', 'PERSISTENT RESERVE OUT (REGISTER)'],
    ['5f 01 01 00000000 0018 00', 'PERSISTENT RESERVE OUT (RESERVE)'],
    ['5f 02 01 00000000 0018 00', 'PERSISTENT RESERVE OUT (RELEASE)'],
    ['5f 03 00 00000000 0018 00', 'PERSISTENT RESERVE OUT (CLEAR)'],
    ['5f 04 01 00000000 0018 00', 'PERSISTENT RESERVE OUT (PREEMPT)'],
    ['5f 05 01 00000000 0018 00', 'PERSISTENT RESERVE OUT (PREEMPT AND ABORT)'],
    ['5f 06 00 00000000 0018 00', 'PERSISTENT RESERVE OUT (REGISTER AND IGNORE EXISTING KEY)'],
    ['5f 07 01 00000000 0030 00', 'PERSISTENT RESERVE OUT (REGISTER AND MOVE)'],
    ['5f 08 01 00000000 0018 00', 'PERSISTENT RESERVE OUT (REPLACE LOST RESERVATION)'],
    ['5f e6 00 00000000 0018 00', 'PERSISTENT RESERVE OUT (REGISTER AND IGNORE EXISTING KEY)'],
    ['5f 1f 00 00000000 0018 00', 'PERSISTENT RESERVE OUT (service action 0x1f)'],
    ['5f', 'PERSISTENT RESERVE OUT'],
    ['c0 00', 'OPCODE 0xc0'],
    ['', 'EMPTY CDB'],
  ])('%s → %s', (cdb, name) => {
    expect(commandName(hex(cdb))).toBe(name);
  });
});

describe('scsi-status names', () => {
  it('names SAM status codes', () => {
    expect(samStatusName(0)).toBe('GOOD');
    expect(samStatusName(2)).toBe('CHECK CONDITION');
    expect(samStatusName(0x18)).toBe('RESERVATION CONFLICT');
    expect(samStatusName(0x28)).toBe('TASK SET FULL');
    expect(samStatusName(0x40)).toBe('TASK ABORTED');
    expect(samStatusName(0x7e)).toBe('STATUS 0x7e');
  });

  it('names every Linux 6.x host byte', () => {
    expect([...Array(0x15).keys()].map(hostStatusName)).toEqual([
      'DID_OK',
      'DID_NO_CONNECT',
      'DID_BUS_BUSY',
      'DID_TIME_OUT',
      'DID_BAD_TARGET',
      'DID_ABORT',
      'DID_PARITY',
      'DID_ERROR',
      'DID_RESET',
      'DID_BAD_INTR',
      'DID_PASSTHROUGH',
      'DID_SOFT_ERROR',
      'DID_IMM_RETRY',
      'DID_REQUEUE',
      'DID_TRANSPORT_DISRUPTED',
      'DID_TRANSPORT_FAILFAST',
      'DID_TARGET_FAILURE',
      'DID_NEXUS_FAILURE',
      'DID_ALLOC_FAILURE',
      'DID_MEDIUM_ERROR',
      'DID_TRANSPORT_MARGINAL',
    ]);
    expect(hostStatusName(0x15)).toBe('DID_0x15');
  });

  it('names driver bytes with SUGGEST bits', () => {
    expect(driverStatusName(0)).toBe('DRIVER_OK');
    expect(driverStatusName(8)).toBe('DRIVER_SENSE');
    expect(driverStatusName(6)).toBe('DRIVER_TIMEOUT');
    expect(driverStatusName(0x18)).toBe('DRIVER_SENSE|SUGGEST_RETRY');
    expect(driverStatusName(0x0c)).toBe('DRIVER_0x0c');
    expect(driverStatusName(0x58)).toBe('DRIVER_SENSE|SUGGEST_0x50');
  });
});
