/**
 * The running kernel lacks an interface the operation needs (e.g. the block
 * PR ioctls IOC_PR_READ_KEYS / IOC_PR_READ_RESERVATION before Linux 6.19).
 */
import { type ErrorContext, ScsiPrError, type SyscallError } from '../errors';

/** The kernel is too old for the operation: it refused the request as unknown (ENOTTY). */
export class KernelFeatureError extends ScsiPrError {
  /** What the operation needs, e.g. `'Linux 6.19 or later (IOC_PR_READ_KEYS)'`. */
  readonly requirement: string;
  /** The failed system call's errno (negative, like Node's fs), when there was one. */
  readonly errno?: number;
  /** The failed system call, when there was one. */
  readonly syscall?: string;
  /** Raised by scsi-pr; public so that wrappers and tests can make one. `cause` is the SyscallError the kernel's refusal came as. */
  constructor(message: string, requirement: string, context: ErrorContext = {}, cause?: SyscallError) {
    super('ERR_KERNEL_TOO_OLD', message, context, cause === undefined ? undefined : { cause });
    this.requirement = requirement;
    if (cause !== undefined) {
      this.errno = cause.errno;
      this.syscall = cause.syscall;
    }
  }
}
