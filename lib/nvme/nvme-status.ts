/**
 * NVMe completion status as the Linux passthrough ioctls report it, its names,
 * its classification for retry/fencing decisions, and the error raised for it.
 *
 * `NVME_IOCTL_IO_CMD` returns 0 on success, a negative errno when the kernel
 * failed the request itself (-EINTR when it was cancelled, e.g. by a controller
 * reset), or a positive value: the completion queue entry's 16-bit status field
 * without its phase bit (`le16_to_cpu(cqe->status) >> 1`). In that 15-bit value:
 * SC bits 7:0, SCT bits 10:8, CRD bits 12:11, MORE bit 13, DNR bit 14. The host
 * driver also synthesizes path-related statuses itself (0x370 host path error,
 * 0x371 command aborted by host) when a transport fails.
 */
import { type ErrorContext, ScsiPrError } from '../errors';
import { ArgumentRangeError, describeValue } from '../invalid-argument';

/** Status Code Type values (SCT, status bits 10:8). */
export const NvmeStatusCodeType = {
  GENERIC: 0,
  COMMAND_SPECIFIC: 1,
  MEDIA_AND_DATA_INTEGRITY: 2,
  PATH_RELATED: 3,
  VENDOR_SPECIFIC: 7,
} as const;

/** Do Not Retry (status bit 14). */
export const NVME_STATUS_DNR = 0x4000;
/** More status information in the Error Information log page (bit 13). */
export const NVME_STATUS_MORE = 0x2000;
/** Command Retry Delay (bits 12:11): 0 none, 1–3 select CRDT1–3 of Identify Controller. */
export const NVME_STATUS_CRD_MASK = 0x1800;

/** Status values that matter here, as `SCT << 8 | SC` (the status with CRD, MORE and DNR clear). */
export const NvmeStatus = {
  SUCCESS: 0x000,
  INVALID_OPCODE: 0x001,
  INVALID_FIELD: 0x002,
  COMMAND_ID_CONFLICT: 0x003,
  DATA_TRANSFER_ERROR: 0x004,
  ABORTED_POWER_LOSS: 0x005,
  INTERNAL_ERROR: 0x006,
  ABORT_REQUESTED: 0x007,
  ABORTED_SQ_DELETION: 0x008,
  INVALID_NAMESPACE_OR_FORMAT: 0x00b,
  COMMAND_SEQUENCE_ERROR: 0x00c,
  HOST_ID_INCONSISTENT_FORMAT: 0x018,
  ABORTED_PREEMPT_AND_ABORT: 0x01b,
  NAMESPACE_WRITE_PROTECTED: 0x020,
  COMMAND_INTERRUPTED: 0x021,
  TRANSIENT_TRANSPORT_ERROR: 0x022,
  NAMESPACE_NOT_READY: 0x082,
  RESERVATION_CONFLICT: 0x083,
  FORMAT_IN_PROGRESS: 0x084,
  INTERNAL_PATH_ERROR: 0x300,
  ANA_PERSISTENT_LOSS: 0x301,
  ANA_INACCESSIBLE: 0x302,
  ANA_TRANSITION: 0x303,
  CONTROLLER_PATH_ERROR: 0x360,
  HOST_PATH_ERROR: 0x370,
  ABORTED_BY_HOST: 0x371,
} as const;

const NAMES: ReadonlyMap<number, string> = new Map([
  [NvmeStatus.SUCCESS, 'SUCCESS'],
  [NvmeStatus.INVALID_OPCODE, 'INVALID COMMAND OPCODE'],
  [NvmeStatus.INVALID_FIELD, 'INVALID FIELD IN COMMAND'],
  [NvmeStatus.COMMAND_ID_CONFLICT, 'COMMAND ID CONFLICT'],
  [NvmeStatus.DATA_TRANSFER_ERROR, 'DATA TRANSFER ERROR'],
  [NvmeStatus.ABORTED_POWER_LOSS, 'COMMANDS ABORTED DUE TO POWER LOSS NOTIFICATION'],
  [NvmeStatus.INTERNAL_ERROR, 'INTERNAL ERROR'],
  [NvmeStatus.ABORT_REQUESTED, 'COMMAND ABORT REQUESTED'],
  [NvmeStatus.ABORTED_SQ_DELETION, 'COMMAND ABORTED DUE TO SQ DELETION'],
  [NvmeStatus.INVALID_NAMESPACE_OR_FORMAT, 'INVALID NAMESPACE OR FORMAT'],
  [NvmeStatus.COMMAND_SEQUENCE_ERROR, 'COMMAND SEQUENCE ERROR'],
  [NvmeStatus.HOST_ID_INCONSISTENT_FORMAT, 'HOST IDENTIFIER INCONSISTENT FORMAT'],
  [NvmeStatus.ABORTED_PREEMPT_AND_ABORT, 'COMMAND ABORTED DUE TO PREEMPT AND ABORT'],
  [NvmeStatus.NAMESPACE_WRITE_PROTECTED, 'NAMESPACE IS WRITE PROTECTED'],
  [NvmeStatus.COMMAND_INTERRUPTED, 'COMMAND INTERRUPTED'],
  [NvmeStatus.TRANSIENT_TRANSPORT_ERROR, 'TRANSIENT TRANSPORT ERROR'],
  [NvmeStatus.NAMESPACE_NOT_READY, 'NAMESPACE NOT READY'],
  [NvmeStatus.RESERVATION_CONFLICT, 'RESERVATION CONFLICT'],
  [NvmeStatus.FORMAT_IN_PROGRESS, 'FORMAT IN PROGRESS'],
  [NvmeStatus.INTERNAL_PATH_ERROR, 'INTERNAL PATH ERROR'],
  [NvmeStatus.ANA_PERSISTENT_LOSS, 'ASYMMETRIC ACCESS PERSISTENT LOSS'],
  [NvmeStatus.ANA_INACCESSIBLE, 'ASYMMETRIC ACCESS INACCESSIBLE'],
  [NvmeStatus.ANA_TRANSITION, 'ASYMMETRIC ACCESS TRANSITION'],
  [NvmeStatus.CONTROLLER_PATH_ERROR, 'CONTROLLER PATHING ERROR'],
  [NvmeStatus.HOST_PATH_ERROR, 'HOST PATHING ERROR'],
  [NvmeStatus.ABORTED_BY_HOST, 'COMMAND ABORTED BY HOST'],
]);

/** Codes that say the command or a field of it is not accepted: resending it cannot help. */
const INVALID: ReadonlySet<number> = new Set([
  NvmeStatus.INVALID_OPCODE,
  NvmeStatus.INVALID_FIELD,
  NvmeStatus.INVALID_NAMESPACE_OR_FORMAT,
  NvmeStatus.HOST_ID_INCONSISTENT_FORMAT,
]);

/** A decoded passthrough status. */
export interface DecodedNvmeStatus {
  /** The 15-bit value as the ioctl returned it. */
  status: number;
  /** Status Code Type (bits 10:8). */
  sct: number;
  /** Status Code (bits 7:0). */
  sc: number;
  /** Command Retry Delay (bits 12:11). */
  crd: number;
  /** More (bit 13): the Error Information log page has more. */
  more: boolean;
  /** Do Not Retry (bit 14). */
  dnr: boolean;
  /** Spec name of SCT/SC, e.g. `'RESERVATION CONFLICT'`; `'SCT 1 SC 0x83'` for codes not named here. */
  name: string;
}

/**
 * Name of a status code type and code, e.g. `nvmeStatusName(0, 0x83)` → `'RESERVATION CONFLICT'`.
 * Codes not named here give `'SCT <sct> SC 0x<sc>'`.
 */
export function nvmeStatusName(sct: number, sc: number): string {
  return NAMES.get((sct << 8) | sc) ?? `SCT ${sct} SC 0x${sc.toString(16).padStart(2, '0')}`;
}

/**
 * Splits a positive passthrough ioctl return value into its fields.
 *
 * @throws ArgumentRangeError (`ERR_INVALID_OPTION`) when `status` is not an integer 0–0x7fff
 *   (a negative ioctl return is an errno, not a status).
 */
export function decodeNvmeStatus(status: number): DecodedNvmeStatus {
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 0 || status > 0x7fff) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `an NVMe passthrough status is an integer 0–0x7fff; received ${describeValue(status)}`);
  }
  const sc = status & 0xff;
  const sct = (status >> 8) & 0x7;
  return {
    status,
    sct,
    sc,
    crd: (status & NVME_STATUS_CRD_MASK) >> 11,
    more: (status & NVME_STATUS_MORE) !== 0,
    dnr: (status & NVME_STATUS_DNR) !== 0,
    name: nvmeStatusName(sct, sc),
  };
}

/**
 * What a status means for the caller:
 * - `'ok'`: success;
 * - `'reservation-conflict'`: SCT 0 / SC 83h, whatever DNR says;
 * - `'invalid'`: invalid opcode, invalid field, invalid namespace or format, host identifier
 *   inconsistent format — the command is not supported as sent; do not retry;
 * - `'path'`: SCT 3 (path-related, including the host driver's own host pathing error and
 *   aborted-by-host): try another path;
 * - `'retry'`: any other status with DNR clear — the spec says the same command may succeed
 *   if resent (bounded retries; CRD gives a delay hint);
 * - `'error'`: any other status with DNR set.
 */
export type NvmeStatusClass = 'ok' | 'reservation-conflict' | 'invalid' | 'path' | 'retry' | 'error';

/**
 * Classifies a passthrough status (see {@link NvmeStatusClass}).
 *
 * @throws ArgumentRangeError (`ERR_INVALID_OPTION`) as {@link decodeNvmeStatus}.
 */
export function classifyNvmeStatus(status: number | DecodedNvmeStatus): NvmeStatusClass {
  const d = typeof status === 'number' ? decodeNvmeStatus(status) : status;
  const code = (d.sct << 8) | d.sc;
  if (code === NvmeStatus.SUCCESS) return 'ok';
  if (code === NvmeStatus.RESERVATION_CONFLICT) return 'reservation-conflict';
  if (INVALID.has(code)) return 'invalid';
  if (d.sct === NvmeStatusCodeType.PATH_RELATED) return 'path';
  return d.dnr ? 'error' : 'retry';
}

/**
 * Codes of {@link NvmeStatusError}: RESERVATION CONFLICT gets the code it has on SCSI
 * devices, a path-related status the code of a transport failure, anything else its own.
 */
export type NvmeStatusErrorCode = 'ERR_RESERVATION_CONFLICT' | 'ERR_TRANSPORT' | 'ERR_NVME_STATUS';

/** Error code of a non-success status class. */
export function nvmeStatusErrorCode(cls: NvmeStatusClass): NvmeStatusErrorCode {
  if (cls === 'reservation-conflict') return 'ERR_RESERVATION_CONFLICT';
  if (cls === 'path') return 'ERR_TRANSPORT';
  return 'ERR_NVME_STATUS';
}

/** An NVMe command completed with a status other than SUCCESS. */
export class NvmeStatusError extends ScsiPrError {
  declare readonly code: NvmeStatusErrorCode;
  /** The 15-bit status the passthrough ioctl returned. */
  readonly status: number;
  /** Status Code Type. */
  readonly sct: number;
  /** Status Code. */
  readonly sc: number;
  /** Command Retry Delay field. */
  readonly crd: number;
  /** More bit. */
  readonly more: boolean;
  /** Do Not Retry bit. */
  readonly dnr: boolean;
  /** Spec name of the status, e.g. `'RESERVATION CONFLICT'` (`name` is the class name, as on every error). */
  readonly statusName: string;
  /** What the status means for a retry or fencing decision. */
  readonly classification: Exclude<NvmeStatusClass, 'ok'>;
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
  constructor(message: string, status: number | DecodedNvmeStatus, context: ErrorContext = {}) {
    const d = typeof status === 'number' ? decodeNvmeStatus(status) : status;
    const cls = classifyNvmeStatus(d);
    if (cls === 'ok') throw new ArgumentRangeError('ERR_INVALID_OPTION', 'NvmeStatusError needs a non-success status');
    // 'ERR_NVME_STATUS' is not in error-codes.ts yet; the cast goes once it is.
    super(nvmeStatusErrorCode(cls), message, context);
    this.status = d.status;
    this.sct = d.sct;
    this.sc = d.sc;
    this.crd = d.crd;
    this.more = d.more;
    this.dnr = d.dnr;
    this.statusName = d.name;
    this.classification = cls;
  }
}

/**
 * The error for a passthrough status, or `null` for success: `<path>: <command> failed:
 * <status name> (status 0x…, DNR)`.
 *
 * @throws ArgumentRangeError (`ERR_INVALID_OPTION`) as {@link decodeNvmeStatus}.
 */
export function nvmeStatusError(status: number, command: string, context: ErrorContext = {}): NvmeStatusError | null {
  const d = decodeNvmeStatus(status);
  if (classifyNvmeStatus(d) === 'ok') return null;
  const hex = '0x' + d.status.toString(16).padStart(4, '0');
  const prefix = context.path !== undefined ? `${context.path}: ` : '';
  return new NvmeStatusError(`${prefix}${command} failed: ${d.name} (status ${hex}${d.dnr ? ', DNR' : ''})`, d, context);
}
