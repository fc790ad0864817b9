/**
 * A fake of the native addon (lib/transport/native.ts NativeBinding) for the
 * transport tests: records every write(2) / SG_IO and lets the test complete
 * them, fail them or never answer.
 */
import type { NativeBinding, NativeCompletion, NativeSgPoller, NativeSyscallError } from '../../../lib/transport/native';

/** One sg_io_hdr written to the fake sg fd. */
export interface FakeWrite {
  packId: number;
  cdb: Buffer;
  direction: number;
  data: Buffer | null;
  sense: Buffer;
  timeoutMs: number;
}

/** One SG_IO ioctl in flight on the fake thread pool. */
export interface FakeIoctl {
  fd: number;
  cdb: Buffer;
  direction: number;
  data: Buffer | null;
  sense: Buffer;
  timeoutMs: number;
  resolve(c: NativeCompletion): void;
  reject(e: NativeSyscallError): void;
}

/** A completion with GOOD status and nothing else, overridable field by field. */
export function completion(fields: Partial<NativeCompletion> = {}): NativeCompletion {
  return { packId: 0, status: 0, hostStatus: 0, driverStatus: 0, senseLength: 0, resid: 0, durationMs: 1, info: 0, ...fields };
}

/** An Error shaped like the addon's failed syscalls. */
export function syscallError(code: string, errno: number, syscall: string): NativeSyscallError {
  return Object.assign(new Error(`${code}: failed, ${syscall}`), { code, errno, syscall });
}

/** The fake sg poller: the writes made through it, and the results callback. */
export class FakePoller implements NativeSgPoller {
  readonly writes: FakeWrite[] = [];
  closed = false;
  /** Thrown by the next write() (then cleared). */
  writeError?: Error;

  constructor(
    private readonly native: FakeNative,
    readonly fd: number,
    readonly onResults: (error: NativeSyscallError | null, results: NativeCompletion[]) => void,
  ) {}

  write(packId: number, cdb: Buffer, direction: number, data: Buffer | null, sense: Buffer, timeoutMs: number): void {
    if (this.writeError) {
      const e = this.writeError;
      this.writeError = undefined;
      throw e;
    }
    this.writes.push({ packId, cdb, direction, data, sense, timeoutMs });
  }

  close(): void {
    this.closed = true;
    this.native.events.push(`poller.close ${this.fd}`);
  }

  /** The kernel hands back the command written with `packId` (sense bytes copied into its slot first). */
  complete(packId: number, fields: Partial<NativeCompletion> = {}, sense?: Buffer): void {
    const w = this.writes.find((x) => x.packId === packId);
    if (sense && w) sense.copy(w.sense);
    this.onResults(null, [completion({ ...fields, packId, senseLength: sense?.length ?? fields.senseLength ?? 0 })]);
  }
}

/** The fake addon. */
export class FakeNative implements NativeBinding {
  readonly DXFER = { NONE: -1, TO_DEV: -2, FROM_DEV: -3 };
  readonly SG_MAX_QUEUE = 16;
  readonly SG_SCSI_RESET = { NOTHING: 0, DEVICE: 1, BUS: 2, HOST: 3, TARGET: 4, NO_ESCALATE: 0x100 };
  /** sgReset calls in order, each settled by the test. */
  readonly resets: Array<{ fd: number; value: number; resolve: () => void; reject: (e: Error) => void }> = [];
  /** 'poller.close <fd>', 'closeDevice <fd>' in call order. */
  readonly events: string[] = [];
  readonly pollers: FakePoller[] = [];
  readonly ioctls: FakeIoctl[] = [];
  /** Thrown synchronously by the next sgIo() (then cleared). */
  sgIoThrows?: Error;
  readonly SgPoller: NativeBinding['SgPoller'];

  constructor() {
    const native = this;
    this.SgPoller = class extends FakePoller {
      constructor(fd: number, onResults: (error: NativeSyscallError | null, results: NativeCompletion[]) => void) {
        super(native, fd, onResults);
        native.pollers.push(this);
      }
    };
  }

  openDevice(): number {
    return 3;
  }

  closeDevice(fd: number): void {
    this.events.push(`closeDevice ${fd}`);
  }

  sgVersion(): number {
    return 30536;
  }

  /** Never reboots: throws like the addon without CAP_SYS_BOOT. */
  rebootNow(): never {
    throw syscallError('EPERM', -1, 'reboot');
  }

  /** No block-PR or NVMe ioctl in these tests: rejects like the addon on a non-block fd. */
  ioctlBuffer(): Promise<number> {
    return Promise.reject(syscallError('ENOTTY', -25, 'ioctl'));
  }

  sgReset(fd: number, value: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.resets.push({ fd, value, resolve, reject });
    });
  }

  sgIo(fd: number, cdb: Buffer, direction: number, data: Buffer | null, sense: Buffer, timeoutMs: number): Promise<NativeCompletion> {
    if (this.sgIoThrows) {
      const e = this.sgIoThrows;
      this.sgIoThrows = undefined;
      throw e;
    }
    return new Promise<NativeCompletion>((resolve, reject) => {
      this.ioctls.push({ fd, cdb, direction, data, sense, timeoutMs, resolve, reject });
    });
  }
}
