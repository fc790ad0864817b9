/** Helpers shared by the two transports: header fields, the errors a command can end with, and resets. */
import type { NativeBinding, NativeSyscallError } from './native';
import type { DataDirection, ResetLevel, TransportCommand } from './scsi-transport';
import { TIMEOUT_GRACE_MS } from './scsi-transport';
import { AbortError, DeviceClosedError, SyscallError, TimeoutError } from '../errors';

/** Sense buffer size handed to the kernel (SCSI_SENSE_BUFFERSIZE). */
export const SENSE_BUFFER_LENGTH = 96;

/** sg_io_hdr.dxfer_direction for a direction. */
export function directionCode(native: NativeBinding, direction: DataDirection): number {
  return direction === 'in' ? native.DXFER.FROM_DEV : direction === 'out' ? native.DXFER.TO_DEV : native.DXFER.NONE;
}

/**
 * Wrap a native syscall failure (an Error with string `code` and numeric
 * `errno`) in the library's SyscallError, keeping code/errno/syscall and
 * adding the path. Anything else (a bug, a TypeError from the binding) is
 * returned as it is.
 */
export function toSyscallError(e: NativeSyscallError, path: string, cdb?: Buffer): Error {
  if (typeof e?.code !== 'string' || typeof e?.errno !== 'number') return e;
  const message = `${e.code}: ${e.message.replace(/^[A-Z]+: /, '').replace(/, (\w+)( '.*')?$/, '')}, ${e.syscall} '${path}'`;
  return new SyscallError(message, { code: e.code, errno: e.errno, syscall: e.syscall }, { path, cdb });
}

/** Why a command is refused before it reaches the kernel (device closed, signal already aborted), or undefined. */
export function refusalBeforeSubmit(path: string, closed: boolean, command: TransportCommand): Error | undefined {
  const context = { path, cdb: command.cdb };
  if (closed) return new DeviceClosedError(`${path}: device is closed`, context);
  if (command.signal?.aborted) return new AbortError(`${path}: aborted before submission`, context, { cause: command.signal.reason });
  return undefined;
}

/** The command's signal aborted while it was in flight. */
export function abortedError(path: string, command: TransportCommand): AbortError {
  return new AbortError(`${path}: aborted`, { path, cdb: command.cdb }, { cause: command.signal?.reason });
}

/** The kernel did not hand the command back within its timeout plus {@link TIMEOUT_GRACE_MS}. */
export function timeoutError(path: string, command: TransportCommand): TimeoutError {
  return new TimeoutError(`${path}: no completion within ${command.timeoutMs} ms (+${TIMEOUT_GRACE_MS} ms grace)`, command.timeoutMs, { path, cdb: command.cdb });
}

/** The device was closed with the command in flight. */
export function closedInFlightError(path: string): DeviceClosedError {
  return new DeviceClosedError(`${path}: device closed with the command in flight`, { path });
}

/**
 * ioctl(SG_SCSI_RESET) of `level` on `fd`. A refusal by the driver (EACCES
 * without CAP_SYS_ADMIN/CAP_SYS_RAWIO, EBUSY/EAGAIN while the host is in error
 * recovery, EIO when the reset failed, EOPNOTSUPP/ENOTTY where the low-level
 * driver has no such reset) is a SyscallError naming the reset.
 */
export async function sgReset(native: NativeBinding, fd: number, path: string, level: ResetLevel, escalate: boolean): Promise<void> {
  const r = native.SG_SCSI_RESET;
  const value = { device: r.DEVICE, target: r.TARGET, bus: r.BUS, host: r.HOST }[level] | (escalate ? 0 : r.NO_ESCALATE);
  try {
    await native.sgReset(fd, value);
  } catch (e) {
    const err = toSyscallError(e as NativeSyscallError, path);
    if (err instanceof SyscallError) err.message = `${path}: ${level} reset refused: ${err.message}`;
    throw err;
  }
}
