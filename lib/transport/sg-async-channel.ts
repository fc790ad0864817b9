/**
 * The sg v3 asynchronous interface on one /dev/sgN fd: write() a header,
 * uv_poll for readability, read() completed headers. Many commands are in
 * flight on the main loop with no thread per command. At most SG_MAX_QUEUE
 * (16) are outstanding per fd; more wait in a FIFO queue here.
 */
import type { NativeBinding, NativeCompletion, NativeSgPoller, NativeSyscallError } from './native';
import type { RawResult } from '../scsi/raw-result';
import type { ResetLevel, ScsiTransport, TransportCommand } from './scsi-transport';
import { TIMEOUT_GRACE_MS } from './scsi-transport';
import { DeviceClosedError, SyscallError } from '../errors';
import { abortedError, closedInFlightError, directionCode, refusalBeforeSubmit, SENSE_BUFFER_LENGTH, sgReset, timeoutError, toSyscallError } from './transport-common';
import { watch } from './watchdog';
import { onAbort } from './abort-listener';

interface Pending {
  command: TransportCommand;
  /** Sense slot (a view into a per-channel slab, or a private buffer past the queue depth). */
  sense: Buffer;
  resolve: (r: RawResult) => void;
  reject: (e: Error) => void;
  cancelWatch?: () => void;
  stopAbortListener?: () => void;
  /** Settled early (timeout, abort, close): the kernel still owns the buffers until completion. */
  abandoned: boolean;
}

const EMPTY = Buffer.alloc(0);

/** sg v3 async transport for one open /dev/sgN. */
export class SgAsyncChannel implements ScsiTransport {
  readonly kind = 'sg-async' as const;
  private readonly pending = new Map<number, Pending>();
  private readonly waiting: Pending[] = [];
  private readonly poller: NativeSgPoller;
  private nextPackId = 1;
  private closed = false;
  /** Resets whose ioctl may still be running on a pool thread: the fd is closed after them. */
  private resets = 0;
  private fdClosed = false;
  /** Sense buffers for commands in flight: one slab per channel, slots reused (no allocation per command). */
  private readonly freeSense: Buffer[];

  constructor(
    private readonly native: NativeBinding,
    private readonly fd: number,
    private readonly path: string,
  ) {
    this.poller = new native.SgPoller(fd, (error, results) => this.onResults(error, results));
    const slab = Buffer.alloc(SENSE_BUFFER_LENGTH * native.SG_MAX_QUEUE);
    this.freeSense = Array.from({ length: native.SG_MAX_QUEUE }, (_, i) => slab.subarray(i * SENSE_BUFFER_LENGTH, (i + 1) * SENSE_BUFFER_LENGTH));
  }

  get inFlight(): number {
    return this.pending.size;
  }

  submit(command: TransportCommand): Promise<RawResult> {
    return new Promise<RawResult>((resolve, reject) => {
      const refusal = refusalBeforeSubmit(this.path, this.closed, command);
      if (refusal) return reject(refusal);
      const p: Pending = { command, sense: EMPTY, resolve, reject, abandoned: false };
      if (command.signal) {
        p.stopAbortListener = onAbort(command.signal, () => this.abandon(p, abortedError(this.path, command)));
      }
      // The deadline runs from submission: a command waiting behind the 16 in the kernel times out too.
      p.cancelWatch = watch(command.timeoutMs + TIMEOUT_GRACE_MS, () => this.abandon(p, timeoutError(this.path, command)));
      if (this.pending.size < this.native.SG_MAX_QUEUE) this.write(p);
      else this.waiting.push(p);
    });
  }

  async reset(level: ResetLevel, escalate: boolean): Promise<void> {
    if (this.closed) throw new DeviceClosedError(`${this.path}: device is closed`, { path: this.path });
    this.resets++;
    try {
      await sgReset(this.native, this.fd, this.path, level, escalate);
    } finally {
      this.resets--;
      this.maybeCloseFd();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poller.close();
    for (const p of this.waiting.splice(0)) this.settle(p, closedInFlightError(this.path));
    for (const p of this.pending.values()) this.settle(p, closedInFlightError(this.path));
    this.pending.clear();
    // After close the kernel finishes outstanding commands on its own and never
    // copies into our buffers again (no read() will come), so dropping them is safe.
    this.maybeCloseFd();
  }

  /** The fd is closed only once no pool thread is inside ioctl(SG_SCSI_RESET) on it (no fd reuse race). */
  private maybeCloseFd(): void {
    if (this.closed && this.resets === 0 && !this.fdClosed) {
      this.fdClosed = true;
      this.native.closeDevice(this.fd);
    }
  }

  private write(p: Pending): void {
    const packId = this.allocatePackId();
    const { command } = p;
    // At most SG_MAX_QUEUE commands are outstanding, so a slot is free; a slot returns to the
    // pool only when the kernel has handed its command back (abandoned ones included).
    p.sense = this.freeSense.pop() ?? Buffer.alloc(SENSE_BUFFER_LENGTH);
    try {
      this.poller.write(packId, command.cdb, directionCode(this.native, command.direction), command.data, p.sense, command.timeoutMs);
    } catch (e) {
      this.freeSense.push(p.sense);
      // A failed write(2) becomes a SyscallError; anything else (a binding argument error) is kept as is.
      return this.settle(p, toSyscallError(e as NativeSyscallError, this.path, command.cdb));
    }
    this.pending.set(packId, p);
  }

  private allocatePackId(): number {
    do {
      this.nextPackId = this.nextPackId >= 0x7fffffff ? 1 : this.nextPackId + 1;
    } while (this.pending.has(this.nextPackId));
    return this.nextPackId;
  }

  /** Settle early; keep the entry (and its buffers) until the kernel hands the command back. */
  private abandon(p: Pending, error: Error): void {
    if (p.abandoned) return;
    const queued = this.waiting.indexOf(p);
    if (queued >= 0) this.waiting.splice(queued, 1);
    this.settle(p, error);
  }

  private settle(p: Pending, outcome: Error | RawResult): void {
    if (p.abandoned) return;
    p.abandoned = true;
    p.cancelWatch?.();
    p.stopAbortListener?.();
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
  }

  private onResults(error: NativeSyscallError | null, results: NativeCompletion[]): void {
    for (const c of results) {
      const p = this.pending.get(c.packId);
      if (!p) continue;
      this.pending.delete(c.packId);
      const data = p.command.direction === 'in' ? p.command.data : null;
      const senseLength = Math.min(c.senseLength, p.sense.length);
      const sense = senseLength > 0 ? Buffer.from(p.sense.subarray(0, senseLength)) : EMPTY;
      p.sense.fill(0, 0, senseLength);
      this.freeSense.push(p.sense);
      this.settle(p, {
        status: c.status,
        hostStatus: c.hostStatus,
        driverStatus: c.driverStatus,
        sense,
        resid: c.resid,
        durationMs: c.durationMs,
        data,
      });
    }
    if (error) {
      // A failed read() or poll: nothing more will come back on this fd.
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        this.settle(p, error instanceof SyscallError ? error : toSyscallError(error, this.path, p.command.cdb));
      }
    }
    while (!this.closed && this.waiting.length > 0 && this.pending.size < this.native.SG_MAX_QUEUE) {
      this.write(this.waiting.shift() as Pending);
    }
  }
}
