/**
 * Every error `code` scsi-pr raises, in one place. Error classes type their
 * `code` with {@link ErrorCode}, so a misspelt code does not compile, and a
 * unit test keeps this list, the codes used in `lib/` and the README's table
 * in step. Codes never change once released.
 *
 * A failed system call carries the errno name instead ({@link SystemErrorCode}).
 */
import type { constants } from 'node:os';

/** Every error code of scsi-pr, each with when it is raised. */
export const ErrorCodes = Object.freeze({
  // ---- a device command failed (ScsiPrError subclasses) --------------------
  /** `DeviceError`: the path does not exist (or cannot be looked up). */
  ERR_DEVICE_NOT_FOUND: 'ERR_DEVICE_NOT_FOUND',
  /** `DeviceError`: the path is a directory, a regular file or no device node (or has no block device for `interface: 'block'`). */
  ERR_NOT_A_DEVICE: 'ERR_NOT_A_DEVICE',
  /** `DeviceError`: the path is a partition; reservations apply to the whole logical unit. */
  ERR_PARTITION: 'ERR_PARTITION',
  /** `DeviceError`: a device, but not a SCSI disk or sg node (or an sg driver without the v3 interface). */
  ERR_NOT_SCSI: 'ERR_NOT_SCSI',
  /** `DeviceError`: `interface: 'sg'` was asked for and the device has no sg node. */
  ERR_NO_SG_NODE: 'ERR_NO_SG_NODE',
  /** `DeviceError`: the interface the device was opened through cannot carry this request (READ FULL STATUS, REPORT CAPABILITIES, CDBs through the block PR API). */
  ERR_NOT_SUPPORTED: 'ERR_NOT_SUPPORTED',
  /** `TransportError`: the initiator or the transport failed (host or driver status). */
  ERR_TRANSPORT: 'ERR_TRANSPORT',
  /** `ReservationConflictError`: status RESERVATION CONFLICT (0x18). */
  ERR_RESERVATION_CONFLICT: 'ERR_RESERVATION_CONFLICT',
  /** `ScsiSenseError`: CHECK CONDITION, sense key NOT READY. */
  ERR_NOT_READY: 'ERR_NOT_READY',
  /** `ScsiSenseError`: CHECK CONDITION, sense key MEDIUM ERROR. */
  ERR_MEDIUM_ERROR: 'ERR_MEDIUM_ERROR',
  /** `ScsiSenseError`: CHECK CONDITION, sense key HARDWARE ERROR. */
  ERR_HARDWARE_ERROR: 'ERR_HARDWARE_ERROR',
  /** `ScsiSenseError`: CHECK CONDITION, sense key ILLEGAL REQUEST (e.g. an unsupported service action). */
  ERR_ILLEGAL_REQUEST: 'ERR_ILLEGAL_REQUEST',
  /** `ScsiSenseError`: CHECK CONDITION, sense key UNIT ATTENTION, after the retries. */
  ERR_UNIT_ATTENTION: 'ERR_UNIT_ATTENTION',
  /** `ScsiSenseError`: CHECK CONDITION, sense key DATA PROTECT. */
  ERR_DATA_PROTECT: 'ERR_DATA_PROTECT',
  /** `ScsiSenseError`: CHECK CONDITION, sense key ABORTED COMMAND. */
  ERR_ABORTED_COMMAND: 'ERR_ABORTED_COMMAND',
  /** `ScsiSenseError`: CHECK CONDITION with any other sense key, or sense data that does not decode. */
  ERR_CHECK_CONDITION: 'ERR_CHECK_CONDITION',
  /** `ScsiStatusError`: status BUSY, after the retries. */
  ERR_BUSY: 'ERR_BUSY',
  /** `ScsiStatusError`: status TASK SET FULL, after the retries. */
  ERR_TASK_SET_FULL: 'ERR_TASK_SET_FULL',
  /** `ScsiStatusError`: any other status than GOOD, CHECK CONDITION, RESERVATION CONFLICT, BUSY, TASK SET FULL. */
  ERR_SCSI_STATUS: 'ERR_SCSI_STATUS',
  /** `TimeoutError`: the command did not complete within `timeoutMs`. */
  ERR_TIMEOUT: 'ERR_TIMEOUT',
  /** `AbortError`: the caller's `signal` fired (spelt like Node's own AbortError). */
  ABORT_ERR: 'ABORT_ERR',
  /** `MalformedResponseError`: the device's data does not parse. */
  ERR_MALFORMED_RESPONSE: 'ERR_MALFORMED_RESPONSE',
  /** `DeviceClosedError`: the device was closed while the command was pending, or used after close. */
  ERR_DEVICE_CLOSED: 'ERR_DEVICE_CLOSED',
  /** `NvmeStatusError`: an NVMe command completed with a status other than success, reservation conflict or a path error. */
  ERR_NVME_STATUS: 'ERR_NVME_STATUS',
  /** `KernelFeatureError`: the running kernel lacks an interface the call needs (e.g. IOC_PR_READ_KEYS, Linux 6.19). */
  ERR_KERNEL_TOO_OLD: 'ERR_KERNEL_TOO_OLD',
  /** `PrStatusError`: a block PR ioctl returned a `pr_status` other than success, reservation conflict or a path failure (PR_STS_IOERR, or a driver's own code). */
  ERR_PR_STATUS: 'ERR_PR_STATUS',

  // ---- an argument was refused before any I/O (ArgumentTypeError / ArgumentRangeError)
  /** A reservation key is not a 64-bit key (or is 0 where a key is needed). */
  ERR_INVALID_KEY: 'ERR_INVALID_KEY',
  /** A reservation type is not one of 1, 3, 5, 6, 7, 8 or their names. */
  ERR_INVALID_RESERVATION_TYPE: 'ERR_INVALID_RESERVATION_TYPE',
  /** An option is missing, misspelt, of the wrong type or not taken by this action. */
  ERR_INVALID_OPTION: 'ERR_INVALID_OPTION',
  /** A TransportID does not encode or parse. */
  ERR_INVALID_TRANSPORT_ID: 'ERR_INVALID_TRANSPORT_ID',
  /** A device path is not a non-empty string. */
  ERR_INVALID_PATH: 'ERR_INVALID_PATH',

  // ---- fencing and the service (ScsiPrError, in a report or thrown) ---------
  /** fence: an LU has no registration at all (never unfenced, cleared, or not the LU expected). */
  ERR_NO_REGISTRATIONS: 'ERR_NO_REGISTRATIONS',
  /**
   * fence: our key is not registered for us on an LU — gone where other keys are
   * (another node fenced us: outcome `lost`), or listed only through I_T nexuses
   * that no longer exist (a stale registration: outcome `failed`; `unfence` fixes it).
   */
  ERR_NOT_REGISTERED: 'ERR_NOT_REGISTERED',
  /** fence with `requireAbort`: the target refuses PREEMPT AND ABORT (PREEMPT would not abort the victim's queued commands). */
  ERR_ABORT_UNSUPPORTED: 'ERR_ABORT_UNSUPPORTED',
  /** fence: after the preempt, the victim's key is still there, no reservation is held, the generation did not advance or our key is gone. */
  ERR_FENCE_NOT_VERIFIED: 'ERR_FENCE_NOT_VERIFIED',
  /** fence, unfence, status, service: no path of an LU could be opened. */
  ERR_NO_PATH: 'ERR_NO_PATH',
  /** serviceStart: no device given, or no clustered or shared volume group found (thrown). */
  ERR_NO_DEVICES: 'ERR_NO_DEVICES',
  /** serviceStop: the reservation we hold could not be released from any path. */
  ERR_RELEASE_FAILED: 'ERR_RELEASE_FAILED',
  /** localIpv4Key (and the service's default key): this host has no non-internal IPv4 address (thrown). */
  ERR_NO_IPV4_ADDRESS: 'ERR_NO_IPV4_ADDRESS',

  // ---- LVM discovery (DeviceDiscoveryError, thrown) ----------------------------
  /** `vgs` is not installed (or not in PATH). */
  ERR_LVM_NOT_INSTALLED: 'ERR_LVM_NOT_INSTALLED',
  /** `vgs` could not be started, or exited with an error. */
  ERR_COMMAND_FAILED: 'ERR_COMMAND_FAILED',
  /** `vgs` did not finish within its timeout (a hung device or lock). */
  ERR_COMMAND_TIMEOUT: 'ERR_COMMAND_TIMEOUT',
  /** A line of `vgs` / `lvs` output is not the record asked for. */
  ERR_MALFORMED_OUTPUT: 'ERR_MALFORMED_OUTPUT',
  /** A volume group named in the options does not exist. */
  ERR_VG_NOT_FOUND: 'ERR_VG_NOT_FOUND',
  /** A volume group named in the options is neither clustered nor shared. */
  ERR_VG_NOT_SHARED: 'ERR_VG_NOT_SHARED',
  /** Physical volumes of the volume groups are missing on this host (and `allowMissingPvs` is not set). */
  ERR_PV_MISSING: 'ERR_PV_MISSING',

  // ---- the scsi-pr command ----------------------------------------------------
  /** `scsi-pr` (UsageError, in `--json` output): a malformed command line; exit status 2. */
  ERR_USAGE: 'ERR_USAGE',
} as const);

/** One of {@link ErrorCodes}: the `code` of every error scsi-pr raises, except a failed system call's. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * The `code` of a `SyscallError`: the errno name of the failed system call, as
 * Node and libuv spell it (`'EACCES'`, `'ENOENT'`, `'EBUSY'`, …; the names of
 * `os.constants.errno`).
 */
export type SystemErrorCode = keyof typeof constants.errno;
