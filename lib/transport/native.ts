/**
 * The one typed view of the native addon (native/addon.cc) and its loader.
 * The addon is syscalls only: open/close, SG_GET_VERSION_NUM, sg v3 async
 * write + uv_poll/read (SgPoller), SG_IO and SG_SCSI_RESET on the thread pool,
 * one generic buffer ioctl on the thread pool (block PR, NVMe passthrough),
 * and reboot(2) for fence_scsi_pr_check_hardreboot.
 */
import { join } from 'node:path';

/** One completed command as the kernel returned its sg_io_hdr. */
export interface NativeCompletion {
  packId: number;
  status: number;
  hostStatus: number;
  driverStatus: number;
  senseLength: number;
  resid: number;
  durationMs: number;
  info: number;
}

/** A failed system call, shaped like Node's fs errors. */
export interface NativeSyscallError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

/** uv_poll watcher of one sg fd, with the submit path (write) of the sg v3 async interface. */
export interface NativeSgPoller {
  /** write(2) one sg_io_hdr. Keeps the event loop alive until its completion was read. */
  write(packId: number, cdb: Buffer, direction: number, data: Buffer | null, sense: Buffer, timeoutMs: number): void;
  /** Release the watcher; required before the fd is closed. */
  close(): void;
}

/** Direction codes of sg_io_hdr.dxfer_direction. */
export interface NativeDxfer {
  NONE: number;
  TO_DEV: number;
  FROM_DEV: number;
}

/** The native module's exports. */
export interface NativeBinding {
  openDevice(path: string, readWrite: boolean): number;
  closeDevice(fd: number): void;
  sgVersion(fd: number): number;
  sgIo(fd: number, cdb: Buffer, direction: number, data: Buffer | null, sense: Buffer, timeoutMs: number): Promise<NativeCompletion>;
  /** ioctl(SG_SCSI_RESET) with `value` (a level of {@link NativeBinding.SG_SCSI_RESET}, optionally | NO_ESCALATE) on the thread pool. */
  sgReset(fd: number, value: number): Promise<void>;
  /**
   * ioctl(fd, request, arg) on the libuv thread pool, for ioctls whose argument
   * is one struct the caller lays out in `arg` (e.g. linux/pr.h's IOC_PR_*).
   * When `data` is a Buffer, its address is first written into `arg` at
   * `dataPointerOffset` as a native-endian u64 (a struct's `keys_ptr` / `addr`
   * field); both buffers are kept alive until the call completes, and the
   * kernel may write into either.
   *
   * Resolves with the ioctl's return value when it is >= 0: 0, or a positive
   * value some ioctls return on purpose (block PR ioctls: a `pr_status` such as
   * 0x18; NVMe passthrough: the NVMe status). Rejects with a
   * {@link NativeSyscallError} (`syscall: 'ioctl'`) when it returns -1.
   * Throws a TypeError for arguments of the wrong type, and a RangeError when
   * `request` is not a non-negative safe integer or, with `data`,
   * `dataPointerOffset + 8 > arg.length`.
   */
  ioctlBuffer(fd: number, request: number, arg: Buffer, data: Buffer | null, dataPointerOffset: number): Promise<number>;
  /**
   * reboot(2) with RB_AUTOBOOT (LINUX_REBOOT_CMD_RESTART) at once, on the calling
   * thread, with no sync(2) first (it can hang on fenced devices; fence-agents'
   * fence_scsi_check_hardreboot does not sync either). Returns only by throwing a
   * {@link NativeSyscallError} (`syscall: 'reboot'`; EPERM without CAP_SYS_BOOT).
   * Only fence_scsi_pr_check's hard-reboot mode calls it.
   */
  rebootNow(): never;
  SgPoller: new (fd: number, onResults: (error: NativeSyscallError | null, results: NativeCompletion[]) => void) => NativeSgPoller;
  DXFER: NativeDxfer;
  SG_MAX_QUEUE: number;
  /** The values of <scsi/sg.h> for SG_SCSI_RESET. */
  SG_SCSI_RESET: { NOTHING: number; DEVICE: number; BUS: number; HOST: number; TARGET: number; NO_ESCALATE: number };
}

let cached: NativeBinding | undefined;

/**
 * Load the addon once. `SCSI_PR_NATIVE_PATH` overrides the location (e.g. a
 * sanitizer build from cmake-js); otherwise node-gyp-build finds a prebuild
 * for this platform or the local build/Release.
 */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  const override = process.env.SCSI_PR_NATIVE_PATH;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  cached = (override ? require(override) : require('node-gyp-build')(join(__dirname, '..', '..'))) as NativeBinding;
  return cached;
}
