/**
 * Numeric codes found in a completed SG_IO request and their names: the SAM
 * status byte, the Linux host byte (`DID_*`) and the Linux driver byte
 * (`DRIVER_*`). Pure data; interpretation lives in `classify.ts`.
 */
import { hex2 } from './hex';

/** SAM status codes (SAM-5 "status" byte), as in the kernel's `enum sam_status`. */
export const SamStatus = {
  GOOD: 0x00,
  CHECK_CONDITION: 0x02,
  CONDITION_MET: 0x04,
  BUSY: 0x08,
  /** Obsolete (linked commands). */
  INTERMEDIATE: 0x10,
  /** Obsolete (linked commands). */
  INTERMEDIATE_CONDITION_MET: 0x14,
  RESERVATION_CONFLICT: 0x18,
  /** Obsolete; carries sense data like CHECK CONDITION. */
  COMMAND_TERMINATED: 0x22,
  TASK_SET_FULL: 0x28,
  ACA_ACTIVE: 0x30,
  TASK_ABORTED: 0x40,
} as const;

const SAM_STATUS_NAMES: ReadonlyMap<number, string> = new Map([
  [SamStatus.GOOD, 'GOOD'],
  [SamStatus.CHECK_CONDITION, 'CHECK CONDITION'],
  [SamStatus.CONDITION_MET, 'CONDITION MET'],
  [SamStatus.BUSY, 'BUSY'],
  [SamStatus.INTERMEDIATE, 'INTERMEDIATE'],
  [SamStatus.INTERMEDIATE_CONDITION_MET, 'INTERMEDIATE-CONDITION MET'],
  [SamStatus.RESERVATION_CONFLICT, 'RESERVATION CONFLICT'],
  [SamStatus.COMMAND_TERMINATED, 'COMMAND TERMINATED'],
  [SamStatus.TASK_SET_FULL, 'TASK SET FULL'],
  [SamStatus.ACA_ACTIVE, 'ACA ACTIVE'],
  [SamStatus.TASK_ABORTED, 'TASK ABORTED'],
]);

/**
 * Human name of a SAM status byte, spelled as in SAM (`'RESERVATION CONFLICT'`,
 * `'TASK SET FULL'`, …). Unknown values give `'STATUS 0x..'`.
 */
export function samStatusName(status: number): string {
  return SAM_STATUS_NAMES.get(status) ?? `STATUS ${hex2(status)}`;
}

/**
 * Linux SCSI host byte values (`DID_*`, `include/scsi/scsi_status.h`, Linux 6.x),
 * reported by SG_IO in `host_status`.
 */
export const HostStatus = {
  /** No error. */
  DID_OK: 0x00,
  /** Could not connect before the timeout period. */
  DID_NO_CONNECT: 0x01,
  /** Bus stayed busy through the timeout period. */
  DID_BUS_BUSY: 0x02,
  /** Timed out. */
  DID_TIME_OUT: 0x03,
  /** Bad target. */
  DID_BAD_TARGET: 0x04,
  /** Aborted for some other reason. */
  DID_ABORT: 0x05,
  /** Parity error. */
  DID_PARITY: 0x06,
  /** Internal error of the low-level driver. */
  DID_ERROR: 0x07,
  /** Reset by somebody. */
  DID_RESET: 0x08,
  /** Unexpected interrupt. */
  DID_BAD_INTR: 0x09,
  /** Force command past the mid-layer. */
  DID_PASSTHROUGH: 0x0a,
  /** The low-level driver asks for a retry. */
  DID_SOFT_ERROR: 0x0b,
  /** Retry without decrementing the retry count. */
  DID_IMM_RETRY: 0x0c,
  /** Requeue command. */
  DID_REQUEUE: 0x0d,
  /** Transport disrupted; the port is blocked while the link recovers. */
  DID_TRANSPORT_DISRUPTED: 0x0e,
  /** Transport class fast-failed the command. */
  DID_TRANSPORT_FAILFAST: 0x0f,
  /** Permanent target failure — older kernels (before about 6.3) also set by the mid-layer from sense data. */
  DID_TARGET_FAILURE: 0x10,
  /** Nexus failure — older kernels (before about 6.3) also set by the mid-layer on RESERVATION CONFLICT. */
  DID_NEXUS_FAILURE: 0x11,
  /** Space allocation failed — older kernels (before about 6.3) also set from DATA PROTECT 27h/07. */
  DID_ALLOC_FAILURE: 0x12,
  /** Medium error — older kernels (before about 6.3) also set from MEDIUM ERROR sense data. */
  DID_MEDIUM_ERROR: 0x13,
  /** Transport marginal errors. */
  DID_TRANSPORT_MARGINAL: 0x14,
} as const;

const HOST_STATUS_NAMES: readonly string[] = Object.keys(HostStatus);

/** Linux `DID_*` name of a host byte, e.g. `'DID_TRANSPORT_DISRUPTED'`; unknown → `'DID_0x..'`. */
export function hostStatusName(hostStatus: number): string {
  if (Number.isInteger(hostStatus) && hostStatus >= 0 && hostStatus < HOST_STATUS_NAMES.length) {
    return HOST_STATUS_NAMES[hostStatus] as string;
  }
  return `DID_${hex2(hostStatus)}`;
}

/**
 * Linux SCSI driver byte values (`DRIVER_*`), reported by SG_IO in `driver_status`.
 * Only the low nibble is the driver code; the high nibble held the obsolete
 * `SUGGEST_*` bits. Current kernels no longer compute a driver byte; sg still
 * reports `DRIVER_SENSE` when sense data was returned, older kernels may report
 * any of these.
 */
export const DriverStatus = {
  DRIVER_OK: 0x00,
  DRIVER_BUSY: 0x01,
  DRIVER_SOFT: 0x02,
  DRIVER_MEDIA: 0x03,
  DRIVER_ERROR: 0x04,
  DRIVER_INVALID: 0x05,
  DRIVER_TIMEOUT: 0x06,
  DRIVER_HARD: 0x07,
  /** The sense buffer has been filled. */
  DRIVER_SENSE: 0x08,
} as const;

/** Mask selecting the driver code of a driver byte (the rest are `SUGGEST_*` bits). */
export const DRIVER_MASK = 0x0f;
/** Mask selecting the obsolete `SUGGEST_*` bits of a driver byte. */
export const SUGGEST_MASK = 0xf0;

const DRIVER_STATUS_NAMES: readonly string[] = Object.keys(DriverStatus);

const SUGGEST_NAMES: ReadonlyMap<number, string> = new Map([
  [0x10, 'SUGGEST_RETRY'],
  [0x20, 'SUGGEST_ABORT'],
  [0x30, 'SUGGEST_REMAP'],
  [0x40, 'SUGGEST_DIE'],
  [0x80, 'SUGGEST_SENSE'],
]);

/**
 * Linux `DRIVER_*` name of a driver byte, with any `SUGGEST_*` bits appended:
 * `0x08` → `'DRIVER_SENSE'`, `0x28` → `'DRIVER_SENSE|SUGGEST_ABORT'`;
 * unknown codes give `'DRIVER_0x..'`.
 */
export function driverStatusName(driverStatus: number): string {
  const code = driverStatus & DRIVER_MASK;
  const base = code < DRIVER_STATUS_NAMES.length ? (DRIVER_STATUS_NAMES[code] as string) : `DRIVER_${hex2(code)}`;
  const suggest = driverStatus & SUGGEST_MASK;
  if (suggest === 0) return base;
  return `${base}|${SUGGEST_NAMES.get(suggest) ?? `SUGGEST_${hex2(suggest)}`}`;
}
