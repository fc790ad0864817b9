/** Helpers shared by the two transports. */
import type { NativeBinding, NativeSyscallError } from './native';
import type { DataDirection } from './scsi-transport';
import { SyscallError } from '../errors';

/** Sense buffer size handed to the kernel (SCSI_SENSE_BUFFERSIZE). */
export const SENSE_BUFFER_LENGTH = 96;

/** sg_io_hdr.dxfer_direction for a direction. */
export function directionCode(native: NativeBinding, direction: DataDirection): number {
  return direction === 'in' ? native.DXFER.FROM_DEV : direction === 'out' ? native.DXFER.TO_DEV : native.DXFER.NONE;
}

/** Wrap a native syscall failure in the library's SyscallError (keeps code/errno/syscall, adds path). */
export function toSyscallError(e: NativeSyscallError, path: string, cdb?: Buffer): SyscallError {
  if (typeof e?.code !== 'string' || typeof e?.errno !== 'number') {
    // Not a syscall failure (a bug or a TypeError from the binding): surface it as-is.
    throw e;
  }
  const message = `${e.code}: ${e.message.replace(/^[A-Z]+: /, '').replace(/, (\w+)( '.*')?$/, '')}, ${e.syscall} '${path}'`;
  return new SyscallError(message, { code: e.code, errno: e.errno, syscall: e.syscall }, { path, cdb });
}
