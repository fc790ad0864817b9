import { describe, it, expect } from 'vitest';
import { ExitCode, exitCodeFor, isPermissionError } from '../../../../lib/cli/scsi-pr/cli-exit-codes';
import { UsageError } from '../../../../lib/cli/scsi-pr/cli-args';
import { ArgumentRangeError, ArgumentTypeError } from '../../../../lib/invalid-argument';
import {
  AbortError,
  DeviceClosedError,
  DeviceError,
  MalformedResponseError,
  ReservationConflictError,
  ScsiPrError,
  ScsiSenseError,
  ScsiStatusError,
  SyscallError,
  TimeoutError,
  TransportError,
} from '../../../../lib/errors';
import { decodeSense } from '../../../../lib/scsi/sense';

function senseError(key: number, asc = 0, ascq = 0): ScsiSenseError {
  const s = decodeSense(Buffer.from([0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0]))!;
  return new ScsiSenseError('x', s);
}

describe('exit codes (sg3_utils values where they exist)', () => {
  const table: Array<[string, unknown, number]> = [
    ['usage error', new UsageError('x'), 2],
    ['argument type error', new ArgumentTypeError('ERR_INVALID_KEY', 'x'), 2],
    ['argument range error', new ArgumentRangeError('ERR_INVALID_KEY', 'x'), 2],
    ['device not found', new DeviceError('ERR_DEVICE_NOT_FOUND', 'x'), 3],
    ['partition', new DeviceError('ERR_PARTITION', 'x'), 3],
    ['open(2) failed', new SyscallError('x', { code: 'EACCES', errno: -13, syscall: 'open' }), 3],
    ['write(2) failed', new SyscallError('x', { code: 'EIO', errno: -5, syscall: 'write' }), 99],
    ['RESERVATION CONFLICT', new ReservationConflictError('x'), 24],
    ['ILLEGAL REQUEST', senseError(0x5, 0x24, 0), 5],
    ['INVALID COMMAND OPERATION CODE', senseError(0x5, 0x20, 0), 9],
    ['UNIT ATTENTION after the retries', senseError(0x6, 0x2a, 0x05), 6],
    ['DATA PROTECT', senseError(0x7), 7],
    ['ABORTED COMMAND', senseError(0xb), 11],
    ['NOT READY', senseError(0x2, 0x04, 0x03), 98],
    ['MEDIUM ERROR', senseError(0x3), 98],
    ['BUSY', new ScsiStatusError('x', { status: 0x08, statusName: 'BUSY' }), 26],
    ['TASK SET FULL', new ScsiStatusError('x', { status: 0x28, statusName: 'TASK SET FULL' }), 27],
    ['ACA ACTIVE', new ScsiStatusError('x', { status: 0x30, statusName: 'ACA ACTIVE' }), 28],
    ['TASK ABORTED', new ScsiStatusError('x', { status: 0x40, statusName: 'TASK ABORTED' }), 29],
    ['other status', new ScsiStatusError('x', { status: 0x22, statusName: 'COMMAND TERMINATED' }), 99],
    ['timeout', new TimeoutError('x', 10), 33],
    ['transport error', new TransportError('x', { hostStatus: 0x0f, driverStatus: 0, hostStatusName: 'DID_TRANSPORT_DISRUPTED' }), 99],
    ['malformed response', new MalformedResponseError('x'), 97],
    ['aborted by signal', new AbortError('x'), 1],
    ['device closed', new DeviceClosedError('x'), 1],
    ['other ScsiPrError', new ScsiPrError('ERR_NO_PATH', 'x'), 1],
    ['plain Error', new Error('x'), 1],
    ['not an Error', 'x', 1],
  ];
  for (const [label, e, code] of table) it(`${label} → ${code}`, () => expect(exitCodeFor(e)).toBe(code));

  it('the constants are the documented values', () => {
    expect(ExitCode).toMatchObject({ OK: 0, ERROR: 1, USAGE: 2, DEVICE: 3, UNIT_ATTENTION: 6, RESERVATION_CONFLICT: 24, TIMEOUT: 33, TRANSPORT: 99 });
  });

  it('permission errors', () => {
    expect(isPermissionError(new SyscallError('x', { code: 'EACCES', errno: -13, syscall: 'open' }))).toBe(true);
    expect(isPermissionError(new SyscallError('x', { code: 'EPERM', errno: -1, syscall: 'ioctl' }))).toBe(true);
    expect(isPermissionError(new SyscallError('x', { code: 'ENOENT', errno: -2, syscall: 'open' }))).toBe(false);
    expect(isPermissionError(new Error('EACCES'))).toBe(false);
  });
});
