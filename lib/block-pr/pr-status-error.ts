/**
 * A block PR ioctl completed with a `pr_status` that is neither success, a
 * reservation conflict nor a path failure (see pr-status.ts).
 */
import { type ErrorContext, ScsiPrError } from '../errors';

/** The driver failed the request: PR_STS_IOERR, or a code this library does not know. */
export class PrStatusError extends ScsiPrError {
  declare readonly code: 'ERR_PR_STATUS';
  /** The ioctl's return value (an `enum pr_status` code). */
  readonly status: number;
  /** Its name, e.g. `'PR_STS_IOERR'` or `'unknown (0x2a)'`. */
  readonly statusName: string;
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
  constructor(message: string, fields: { status: number; statusName: string }, context: ErrorContext = {}) {
    super('ERR_PR_STATUS', message, context);
    this.status = fields.status;
    this.statusName = fields.statusName;
  }
}
