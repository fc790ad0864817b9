/**
 * An open device fd whose ioctls run on the thread pool (the addon's
 * `ioctlBuffer`), closed only once none is running: `close()` marks it closing,
 * and the last ioctl to return closes it. An fd closed under a running ioctl
 * could be handed to the next open(2) while the kernel still works on the old
 * device, so it is never closed early. Used by the devices whose commands are
 * whole ioctls (NVMe passthrough, the block PR API).
 */
import type { NativeBinding } from './native';

/** An fd with in-flight ioctl counting and deferred close. */
export class IoctlFd {
  private inFlight = 0;
  private closingFlag = false;
  private closed = false;

  /**
   * @param native The addon (or a fake): only `closeDevice` is used here.
   * @param fd     The open fd.
   */
  constructor(
    private readonly native: Pick<NativeBinding, 'closeDevice'>,
    readonly fd: number,
  ) {}

  /** true once close() was called (the fd itself may still be open for a running ioctl). */
  get closing(): boolean {
    return this.closingFlag;
  }

  /** Runs `ioctl`, counted as in flight until its promise settles (or it throws). */
  track<T>(ioctl: () => Promise<T>): Promise<T> {
    this.inFlight++;
    let p: Promise<T>;
    try {
      p = ioctl();
    } catch (e) {
      this.settled();
      throw e;
    }
    return p.finally(() => this.settled());
  }

  /** Marks the fd closing; closes it now when no ioctl is running. Idempotent. */
  close(): void {
    this.closingFlag = true;
    this.closeWhenIdle();
  }

  private settled(): void {
    this.inFlight--;
    this.closeWhenIdle();
  }

  private closeWhenIdle(): void {
    if (this.closingFlag && this.inFlight === 0 && !this.closed) {
      this.closed = true;
      this.native.closeDevice(this.fd);
    }
  }
}
