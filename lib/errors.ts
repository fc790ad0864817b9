/**
 * Error classes of scsi-pr. Every error the library raises for a device
 * operation extends {@link ScsiPrError} and carries a `code` from
 * `error-codes.ts` (a failed system call: its errno name).
 * Argument errors (thrown before any I/O) are in `invalid-argument.ts`.
 */
import type { ErrorCode, ErrorCodes, SystemErrorCode } from './error-codes';
import type { RawResult } from './scsi/raw-result';
import type { DecodedSense } from './scsi/sense';

/** Context shared by all device errors. */
export interface ErrorContext {
  /** Device path the command was sent to. */
  path?: string;
  /** The CDB that was sent. */
  cdb?: Buffer;
  /** The raw native outcome, when there was one. */
  result?: RawResult;
}

/** Base class of every device-level error raised by scsi-pr. */
export class ScsiPrError extends Error {
  /** Stable machine-readable code, e.g. `'ERR_RESERVATION_CONFLICT'` (see `ErrorCodes`); a {@link SyscallError}'s is an errno name. */
  readonly code: ErrorCode | SystemErrorCode;
  /** Device path the command was sent to. */
  readonly path?: string;
  /** The CDB that was sent. */
  readonly cdb?: Buffer;
  /** The raw native outcome, when there was one. */
  readonly result?: RawResult;
  /**
   * UNIT ATTENTIONs absorbed (retried) by the call before it failed, oldest first.
   * Empty when none. Like `CallReport.unitAttentions` on success.
   */
  unitAttentions: DecodedSense[] = [];
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
  constructor(code: ErrorCode | SystemErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    if (context.path !== undefined) this.path = context.path;
    if (context.cdb !== undefined) this.cdb = context.cdb;
    if (context.result !== undefined) this.result = context.result;
  }
}

/** A system call failed (open, ioctl, write, read, poll). Mirrors Node's fs errors. */
export class SyscallError extends ScsiPrError {
  declare readonly code: SystemErrorCode;
  /** The negated errno value, like Node's fs errors. */
  readonly errno: number;
  /** The system call that failed: `'open'`, `'ioctl'`, `'write'`, `'read'`, `'poll'`, `'stat'`. */
  readonly syscall: string;
  /** Raised by scsi-pr; `fields.code` is libuv's name of the errno, as the native module and node:fs report it. */
  constructor(message: string, fields: { code: string; errno: number; syscall: string }, context: ErrorContext = {}) {
    super(fields.code as SystemErrorCode, message, context);
    this.errno = fields.errno;
    this.syscall = fields.syscall;
  }
}

/** Codes of {@link DeviceError}. */
export type DeviceErrorCode = Extract<ErrorCode, 'ERR_DEVICE_NOT_FOUND' | 'ERR_NOT_A_DEVICE' | 'ERR_PARTITION' | 'ERR_NOT_SCSI' | 'ERR_NO_SG_NODE' | 'ERR_NOT_SUPPORTED'>;

/** The path cannot be used as a SCSI device (missing, directory, partition, not SCSI…). */
export class DeviceError extends ScsiPrError {
  declare readonly code: DeviceErrorCode;
  /** When a file-system lookup failed: its errno (negative, like Node's fs). */
  readonly errno?: number;
  /** When a file-system lookup failed: its system call. */
  readonly syscall?: string;
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
  constructor(code: DeviceErrorCode, message: string, context: ErrorContext = {}, fs?: { errno?: number; syscall?: string; cause?: unknown }) {
    super(code, message, context, fs?.cause === undefined ? undefined : { cause: fs.cause });
    if (fs?.errno !== undefined) this.errno = fs.errno;
    if (fs?.syscall !== undefined) this.syscall = fs.syscall;
  }
}

/** The initiator's transport failed (host or driver status other than OK/SENSE). */
export class TransportError extends ScsiPrError {
  declare readonly code: typeof ErrorCodes.ERR_TRANSPORT;
  /** `host_status` of the sg_io_hdr (Linux `DID_*`). */
  readonly hostStatus: number;
  /** `driver_status` of the sg_io_hdr. */
  readonly driverStatus: number;
  /** Linux `DID_*` name of the host status, e.g. `'DID_TRANSPORT_DISRUPTED'`. */
  readonly hostStatusName: string;
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
  constructor(message: string, fields: { hostStatus: number; driverStatus: number; hostStatusName: string }, context: ErrorContext = {}) {
    super('ERR_TRANSPORT', message, context);
    this.hostStatus = fields.hostStatus;
    this.driverStatus = fields.driverStatus;
    this.hostStatusName = fields.hostStatusName;
  }
}

/** The device returned RESERVATION CONFLICT (status 0x18). */
export class ReservationConflictError extends ScsiPrError {
  declare readonly code: typeof ErrorCodes.ERR_RESERVATION_CONFLICT;
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
  constructor(message: string, context: ErrorContext = {}) {
    super('ERR_RESERVATION_CONFLICT', message, context);
  }
}

/** CHECK CONDITION with decoded sense data. */
export class ScsiSenseError extends ScsiPrError {
  declare readonly code: SenseErrorCode;
  /** The decoded sense data: sense key, ASC/ASCQ and their names. */
  readonly sense: DecodedSense;
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
  constructor(message: string, sense: DecodedSense, context: ErrorContext = {}) {
    super(senseErrorCode(sense), message, context);
    this.sense = sense;
  }
}

/** Codes of {@link ScsiSenseError}, one per sense key that has its own. */
export type SenseErrorCode = Extract<ErrorCode, 'ERR_NOT_READY' | 'ERR_MEDIUM_ERROR' | 'ERR_HARDWARE_ERROR' | 'ERR_ILLEGAL_REQUEST' | 'ERR_UNIT_ATTENTION' | 'ERR_DATA_PROTECT' | 'ERR_ABORTED_COMMAND' | 'ERR_CHECK_CONDITION'>;

function senseErrorCode(sense: DecodedSense): SenseErrorCode {
  switch (sense.senseKey) {
    case 0x2: return 'ERR_NOT_READY';
    case 0x3: return 'ERR_MEDIUM_ERROR';
    case 0x4: return 'ERR_HARDWARE_ERROR';
    case 0x5: return 'ERR_ILLEGAL_REQUEST';
    case 0x6: return 'ERR_UNIT_ATTENTION';
    case 0x7: return 'ERR_DATA_PROTECT';
    case 0xb: return 'ERR_ABORTED_COMMAND';
    default: return 'ERR_CHECK_CONDITION';
  }
}

/** A status other than GOOD, CHECK CONDITION or RESERVATION CONFLICT (BUSY, TASK SET FULL, …). */
export class ScsiStatusError extends ScsiPrError {
  declare readonly code: typeof ErrorCodes.ERR_BUSY | typeof ErrorCodes.ERR_TASK_SET_FULL | typeof ErrorCodes.ERR_SCSI_STATUS;
  /** The SAM status byte. */
  readonly status: number;
  /** Its name, e.g. `'BUSY'`. */
  readonly statusName: string;
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
  constructor(message: string, fields: { status: number; statusName: string }, context: ErrorContext = {}) {
    super(fields.statusName === 'BUSY' ? 'ERR_BUSY' : fields.statusName === 'TASK SET FULL' ? 'ERR_TASK_SET_FULL' : 'ERR_SCSI_STATUS', message, context);
    this.status = fields.status;
    this.statusName = fields.statusName;
  }
}

/** The command did not complete within its timeout. */
export class TimeoutError extends ScsiPrError {
  declare readonly code: typeof ErrorCodes.ERR_TIMEOUT;
  /** The timeout that expired (ms). */
  readonly timeoutMs: number;
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
  constructor(message: string, timeoutMs: number, context: ErrorContext = {}) {
    super('ERR_TIMEOUT', message, context);
    this.timeoutMs = timeoutMs;
  }
}

/** The caller's AbortSignal fired before the command was submitted or completed. */
export class AbortError extends ScsiPrError {
  declare readonly code: typeof ErrorCodes.ABORT_ERR;
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super('ABORT_ERR', message, context, options);
  }
}

/** The device answered with data that does not parse (too short, inconsistent lengths, …). */
export class MalformedResponseError extends ScsiPrError {
  declare readonly code: typeof ErrorCodes.ERR_MALFORMED_RESPONSE;
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
  constructor(message: string, context: ErrorContext = {}) {
    super('ERR_MALFORMED_RESPONSE', message, context);
  }
}

/** The device was closed while the operation was pending, or used after close. */
export class DeviceClosedError extends ScsiPrError {
  declare readonly code: typeof ErrorCodes.ERR_DEVICE_CLOSED;
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
  constructor(message: string, context: ErrorContext = {}) {
    super('ERR_DEVICE_CLOSED', message, context);
  }
}
