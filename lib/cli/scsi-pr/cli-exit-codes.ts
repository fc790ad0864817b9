/**
 * Exit codes of the `scsi-pr` tool. 0–3 follow the usual command-line
 * convention (the brief of this tool); SCSI outcomes use sg3_utils' values
 * (`SG_LIB_CAT_*` in sg_lib.h) wherever they do not collide with 0–3, so
 * scripts written for `sg_persist` keep working for the conditions that matter
 * (24 RESERVATION CONFLICT, 6 UNIT ATTENTION, 5 ILLEGAL REQUEST, 33 timeout).
 */
import { ArgumentRangeError, ArgumentTypeError } from '../../invalid-argument';
import {
  DeviceError,
  MalformedResponseError,
  ReservationConflictError,
  ScsiSenseError,
  ScsiStatusError,
  SyscallError,
  TimeoutError,
  TransportError,
} from '../../errors';
import { UsageError } from './cli-args';

/** Exit codes, by meaning. */
export const ExitCode = {
  /** Success. */
  OK: 0,
  /** Any other error (internal, aborted, …); multi-device: partial failure. */
  ERROR: 1,
  /** Bad command line or argument (nothing was sent to any device). */
  USAGE: 2,
  /** Device not found / not usable (missing path, partition, not SCSI, open(2) failed). */
  DEVICE: 3,
  /** ILLEGAL REQUEST sense (sg3_utils SG_LIB_CAT_ILLEGAL_REQ). */
  ILLEGAL_REQUEST: 5,
  /** UNIT ATTENTION still reported after the retries (SG_LIB_CAT_UNIT_ATTENTION). */
  UNIT_ATTENTION: 6,
  /** DATA PROTECT sense (SG_LIB_CAT_DATA_PROTECT). */
  DATA_PROTECT: 7,
  /** ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE: PR not supported (SG_LIB_CAT_INVALID_OP). */
  INVALID_OPCODE: 9,
  /** ABORTED COMMAND sense (SG_LIB_CAT_ABORTED_COMMAND). */
  ABORTED_COMMAND: 11,
  /** RESERVATION CONFLICT status (SG_LIB_CAT_RES_CONFLICT); fence: we were fenced ("lost"). */
  RESERVATION_CONFLICT: 24,
  /** BUSY status after the retries (SG_LIB_CAT_BUSY). */
  BUSY: 26,
  /** TASK SET FULL status after the retries (SG_LIB_CAT_TS_FULL). */
  TASK_SET_FULL: 27,
  /** ACA ACTIVE status (SG_LIB_CAT_ACA_ACTIVE). */
  ACA_ACTIVE: 28,
  /** TASK ABORTED status (SG_LIB_CAT_TASK_ABORTED). */
  TASK_ABORTED: 29,
  /** The command timed out (SG_LIB_CAT_TIMEOUT). */
  TIMEOUT: 33,
  /** The device's response does not parse (SG_LIB_CAT_MALFORMED). */
  MALFORMED: 97,
  /** Another sense key: NOT READY, MEDIUM/HARDWARE ERROR, … (SG_LIB_CAT_SENSE). */
  OTHER_SENSE: 98,
  /** Transport/driver error or another SCSI status (SG_LIB_CAT_OTHER). */
  TRANSPORT: 99,
} as const;

/** LSB init-script exit codes used by `scsi-pr service`. */
export const LsbExit = {
  OK: 0,
  /** start/stop: generic or partial failure; status: registered on some devices only. */
  GENERIC: 1,
  /** Invalid or excess arguments. */
  INVALID_ARGUMENT: 2,
  /** status: not running (our key is registered nowhere). */
  NOT_RUNNING: 3,
  /** start/stop: insufficient privilege; status: unknown (no device could be read). */
  INSUFFICIENT_PRIVILEGE_OR_UNKNOWN: 4,
  /** start/stop: program not installed (the LVM tools are missing). */
  NOT_INSTALLED: 5,
  /** start: not configured (no shared/clustered volume group, no device). */
  NOT_CONFIGURED: 6,
} as const;

/** The exit code for an error raised while running a single-device command. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof ArgumentTypeError || error instanceof ArgumentRangeError) return ExitCode.USAGE;
  if (error instanceof DeviceError) return ExitCode.DEVICE;
  if (error instanceof SyscallError) return error.syscall === 'open' ? ExitCode.DEVICE : ExitCode.TRANSPORT;
  if (error instanceof ReservationConflictError) return ExitCode.RESERVATION_CONFLICT;
  if (error instanceof TimeoutError) return ExitCode.TIMEOUT;
  if (error instanceof TransportError) return ExitCode.TRANSPORT;
  if (error instanceof MalformedResponseError) return ExitCode.MALFORMED;
  if (error instanceof ScsiSenseError) {
    switch (error.sense.senseKey) {
      case 0x5:
        return error.sense.asc === 0x20 ? ExitCode.INVALID_OPCODE : ExitCode.ILLEGAL_REQUEST;
      case 0x6:
        return ExitCode.UNIT_ATTENTION;
      case 0x7:
        return ExitCode.DATA_PROTECT;
      case 0xb:
        return ExitCode.ABORTED_COMMAND;
      default:
        return ExitCode.OTHER_SENSE;
    }
  }
  if (error instanceof ScsiStatusError) {
    switch (error.status) {
      case 0x08:
        return ExitCode.BUSY;
      case 0x28:
        return ExitCode.TASK_SET_FULL;
      case 0x30:
        return ExitCode.ACA_ACTIVE;
      case 0x40:
        return ExitCode.TASK_ABORTED;
      default:
        return ExitCode.TRANSPORT;
    }
  }
  return ExitCode.ERROR;
}

/** Is `error` a permission problem (EACCES/EPERM)? */
export function isPermissionError(error: unknown): boolean {
  return error instanceof SyscallError && (error.code === 'EACCES' || error.code === 'EPERM');
}
