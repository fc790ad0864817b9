/**
 * SG_IO ioctl on the libuv thread pool: the path for SCSI devices without an
 * sg node (e.g. /dev/sdX when the sg module is not loaded). SG_IO on a block
 * device needs CAP_SYS_RAWIO for PERSISTENT RESERVE IN/OUT. Each command
 * occupies a pool thread until it completes (UV_THREADPOOL_SIZE, default 4).
 */
import type { NativeBinding, NativeCompletion, NativeSyscallError } from './native';
import type { RawResult } from '../scsi/raw-result';
import type { ResetLevel, ScsiTransport, TransportCommand } from './scsi-transport';
import { TIMEOUT_GRACE_MS } from './scsi-transport';
import { abortedError, closedInFlightError, directionCode, refusalBeforeSubmit, SENSE_BUFFER_LENGTH, sgReset, timeoutError, toSyscallError } from './transport-common';
import { DeviceClosedError } from '../errors';
import { onAbort } from './abort-listener';

/** SG_IO ioctl transport for one open device. */
export class SgIoIoctlTransport implements ScsiTransport {
  readonly kind = 'sg-io-ioctl' as const;
  private running = 0;
  private closed = false;
  private fdClosed = false;
  private readonly rejectors = new Set<(e: Error) => void>();

  constructor(
    private readonly native: NativeBinding,
    private readonly fd: number,
    private readonly path: string,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  submit(command: TransportCommand): Promise<RawResult> {
    const refusal = refusalBeforeSubmit(this.path, this.closed, command);
    if (refusal) return Promise.reject(refusal);
    const sense = Buffer.alloc(SENSE_BUFFER_LENGTH);
    const data = command.data;
    let started: Promise<NativeCompletion>;
    try {
      started = this.native.sgIo(this.fd, command.cdb, directionCode(this.native, command.direction), data, sense, command.timeoutMs);
    } catch (e) {
      return Promise.reject(e); // argument errors from the binding: nothing was queued
    }
    this.running++;
    const io = started.finally(() => {
      this.running--;
      this.maybeCloseFd();
    });
    return new Promise<RawResult>((resolve, reject) => {
      let done = false;
      const finish = (f: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.rejectors.delete(fail);
        stopAbortListener?.();
        f();
      };
      const fail = (e: Error) => finish(() => reject(e));
      const timer = setTimeout(() => fail(timeoutError(this.path, command)), command.timeoutMs + TIMEOUT_GRACE_MS);
      timer.unref();
      const stopAbortListener = command.signal ? onAbort(command.signal, () => fail(abortedError(this.path, command))) : undefined;
      this.rejectors.add(fail);
      io.then(
        (c) => finish(() => resolve({
          status: c.status,
          hostStatus: c.hostStatus,
          driverStatus: c.driverStatus,
          sense: sense.subarray(0, Math.min(c.senseLength, sense.length)),
          resid: c.resid,
          durationMs: c.durationMs,
          data: command.direction === 'in' ? data : null,
        })),
        (e: NativeSyscallError) => fail(toSyscallError(e, this.path, command.cdb)),
      );
    });
  }

  async reset(level: ResetLevel, escalate: boolean): Promise<void> {
    if (this.closed) throw new DeviceClosedError(`${this.path}: device is closed`, { path: this.path });
    this.running++;
    try {
      await sgReset(this.native, this.fd, this.path, level, escalate);
    } finally {
      this.running--;
      this.maybeCloseFd();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fail of [...this.rejectors]) fail(closedInFlightError(this.path));
    this.maybeCloseFd();
  }

  /** The fd is closed only once no pool thread is inside ioctl() on it (no fd reuse race). */
  private maybeCloseFd(): void {
    if (this.closed && this.running === 0 && !this.fdClosed) {
      this.fdClosed = true;
      this.native.closeDevice(this.fd);
    }
  }
}
