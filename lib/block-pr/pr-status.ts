/**
 * What a block PR ioctl (`<linux/pr.h>` IOC_PR_*) returns, and what it means.
 *
 * **A value >= 0** is an `enum pr_status` code from the driver (sd, nvme,
 * dm-multipath): 0 is success; a positive code means the device or the path
 * answered with a failure ({@link PrStatus}). The native layer resolves with it;
 * {@link classifyPrStatus} sorts it. Kernels before enum pr_status (v6.3)
 * returned driver-specific positive values here (sd: the SCSI result word, so
 * a conflict was 0x18 there too; nvme: the NVMe status); those classify as
 * `'error'` with an `unknown` name.
 *
 * **-1 with errno** is a refusal before or around the command (a
 * `SyscallError`, `syscall: 'ioctl'`):
 * - `EPERM`: the device is a partition, or the caller lacks CAP_SYS_ADMIN and
 *   the fd is not open for writing (PR OUT; newer kernels let a read-only fd
 *   run READ_KEYS / READ_RESERVATION).
 * - `EOPNOTSUPP` (libuv's code `'ENOTSUP'`, errno −95): the disk has no
 *   `pr_ops` or not this operation (a driver without PR support), the flags
 *   are refused (any flag but PR_FL_IGNORE_KEY on REGISTER/RESERVE, any flag
 *   on RELEASE, PREEMPT, CLEAR), or an NVMe namespace's controller does not
 *   support reservations (ONCS).
 * - `ENOTTY`: the kernel does not know the request — READ_KEYS or
 *   READ_RESERVATION before Linux 6.19 on nvme and most block drivers. Caveat:
 *   a SCSI disk (sd) without a host-specific ioctl answers an unknown request
 *   with `EINVAL` instead (scsi_ioctl's default), indistinguishable by errno
 *   alone from the EINVAL below.
 * - `EINVAL`: invalid type or field (the driver maps SCSI ILLEGAL REQUEST
 *   invalid-field / NVMe Invalid Field to it), or READ_KEYS with
 *   `num_keys` > PR_KEYS_MAX.
 * - `EFAULT`, `ENOMEM`: a bad pointer (a bug here) or no kernel memory.
 */

/** `enum pr_status` of `<linux/pr.h>` (values based on SCSI status / host bytes). */
export const PrStatus = Object.freeze({
  /** Success. */
  PR_STS_SUCCESS: 0x0,
  /** Generic device failure. */
  PR_STS_IOERR: 0x2,
  /** RESERVATION CONFLICT (SCSI status 0x18; NVMe Reservation Conflict is mapped to it). */
  PR_STS_RESERVATION_CONFLICT: 0x18,
  /** Temporary path failure that can be retried. */
  PR_STS_RETRY_PATH_FAILURE: 0xe0000,
  /** The request was failed by a fast-failure timer. */
  PR_STS_PATH_FAST_FAILED: 0xf0000,
  /** The path cannot be reached and has been marked failed. */
  PR_STS_PATH_FAILED: 0x10000,
} as const);

/** Name of a {@link PrStatus} value, e.g. `'PR_STS_RESERVATION_CONFLICT'`. */
export type PrStatusName = keyof typeof PrStatus;

/**
 * How to act on a `pr_status`:
 * - `'ok'`: success;
 * - `'reservation-conflict'`: the device refused the command because of the reservation state (not registered, wrong key, fenced);
 * - `'path'`: the command may not have reached the device (a path failure: retry on another path, or later);
 * - `'error'`: the device failed the command (PR_STS_IOERR) or an unknown code.
 */
export type PrStatusClass = 'ok' | 'reservation-conflict' | 'path' | 'error';

/** A classified `pr_status`. */
export interface PrStatusResult {
  /** The ioctl's return value (>= 0). */
  status: number;
  /** Its {@link PrStatus} name, or `'unknown (0x…)'`. */
  name: string;
  /** What it means for the caller. */
  class: PrStatusClass;
}

const NAMES = new Map<number, PrStatusName>(Object.entries(PrStatus).map(([name, value]) => [value, name as PrStatusName]));

/** The {@link PrStatus} name of `status`, or `'unknown (0x…)'`. */
export function prStatusName(status: number): string {
  return NAMES.get(status) ?? `unknown (0x${status.toString(16)})`;
}

/** Sorts a non-negative block PR ioctl return value (see {@link PrStatusClass}). */
export function classifyPrStatus(status: number): PrStatusResult {
  let cls: PrStatusClass;
  switch (status) {
    case PrStatus.PR_STS_SUCCESS:
      cls = 'ok';
      break;
    case PrStatus.PR_STS_RESERVATION_CONFLICT:
      cls = 'reservation-conflict';
      break;
    case PrStatus.PR_STS_RETRY_PATH_FAILURE:
    case PrStatus.PR_STS_PATH_FAST_FAILED:
    case PrStatus.PR_STS_PATH_FAILED:
      cls = 'path';
      break;
    default:
      cls = 'error';
  }
  return { status, name: prStatusName(status), class: cls };
}
