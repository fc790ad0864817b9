/**
 * The command loop behind every `Device` call: submit a CDB through the
 * transport, classify the outcome, absorb UNIT ATTENTION and BUSY / TASK SET
 * FULL per the retry policy, and resolve with the successful raw result or
 * reject with the typed error. Data-in commands that are parsed run in pooled
 * buffers (see transport/data-in-pool.ts).
 */
import { classifyResult } from './scsi/classify';
import type { RawResult } from './scsi/raw-result';
import { SenseKey, type DecodedSense } from './scsi/sense';
import { AbortError, DeviceClosedError, MalformedResponseError, ScsiPrError, ScsiSenseError } from './errors';
import { retryDecision, type RetryOptions } from './retry-policy';
import type { CallOptions } from './device-options';
import type { DataDirection, ResetLevel, ScsiTransport } from './transport/scsi-transport';
import { onAbort } from './transport/abort-listener';
import { acquireDataIn, releaseDataIn } from './transport/data-in-pool';

/** A successful command: its raw result, the UAs absorbed on the way and the valid data-in length. */
export interface CommandOutcome {
  result: RawResult;
  unitAttentions: DecodedSense[];
  validLength: number;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError('aborted during retry backoff', {}, { cause: signal.reason }));
    const t = setTimeout(() => {
      stop?.();
      resolve();
    }, ms);
    const stop = signal
      ? onAbort(signal, () => {
          clearTimeout(t);
          reject(new AbortError('aborted during retry backoff', {}, { cause: signal.reason }));
        })
      : undefined;
  });
}

/** Runs commands on one open device; owns the transport and closes it. */
export class CommandLoop {
  private closed = false;

  /**
   * @param path      The device path, the prefix of error messages.
   * @param transport Where commands go.
   * @param timeoutMs Default timeout of a command (ms).
   * @param retries   Retry limits (validated).
   */
  constructor(
    private readonly path: string,
    private readonly transport: ScsiTransport,
    private readonly timeoutMs: number,
    private readonly retries: RetryOptions,
  ) {}

  /** true once close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  private readonly unitAttentionListeners = new Set<(sense: DecodedSense) => void>();

  /** Calls `listener` with every UNIT ATTENTION a command of this device meets (retried or not); returns the remover. */
  onUnitAttention(listener: (sense: DecodedSense) => void): () => void {
    this.unitAttentionListeners.add(listener);
    return () => this.unitAttentionListeners.delete(listener);
  }

  private noticeUnitAttention(sense: DecodedSense): void {
    for (const listener of [...this.unitAttentionListeners]) {
      try {
        listener(sense);
      } catch (e) {
        // A listener's bug must not change the command's outcome (an EventEmitter would throw into it): warn instead.
        process.emitWarning(`scsi-pr: a UNIT ATTENTION listener of ${this.path} threw: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /** A reset through the sg driver (see ScsiTransport.reset); refused once closed. */
  async reset(level: ResetLevel, escalate: boolean): Promise<void> {
    if (this.closed) throw new DeviceClosedError(`${this.path}: device is closed`, { path: this.path });
    await this.transport.reset(level, escalate);
  }

  /** Closes the transport; commands in flight reject with DeviceClosedError. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
  }

  /**
   * Submit, classify, absorb UNIT ATTENTION and BUSY per the retry policy.
   * `data` is the data-out bytes or the data-in buffer, handed to the kernel for
   * every attempt (a retry starts only after the previous attempt came back). On
   * success and on classified errors, `result.data` is the transferred part of a
   * data-in buffer.
   */
  async run(cdb: Buffer, direction: DataDirection, data: Buffer | null, call: CallOptions): Promise<CommandOutcome> {
    if (this.closed) throw new DeviceClosedError(`${this.path}: device is closed`, { path: this.path, cdb });
    const timeoutMs = call.timeoutMs ?? this.timeoutMs;
    const unitAttentions: DecodedSense[] = [];
    let state: { unitAttentions: number; busy: number } | undefined;
    for (;;) {
      const result = await this.transport.submit({ cdb, direction, data, timeoutMs, signal: call.signal });
      const length = data && direction === 'in' ? data.length : 0;
      const validLength = Math.max(0, Math.min(length, length - result.resid));
      // Only the transferred bytes leave this function (results and errors alike).
      if (direction === 'in' && data) result.data = data.subarray(0, validLength);
      const error = classifyResult(result, { path: this.path, cdb, timeoutMs });
      if (!error) return { result, unitAttentions, validLength };
      if (error instanceof ScsiSenseError && error.sense.senseKey === SenseKey.UNIT_ATTENTION) this.noticeUnitAttention(error.sense);
      state ??= { unitAttentions: 0, busy: 0 };
      const decision = retryDecision(error, state, this.retries);
      if (!decision.retry) {
        error.unitAttentions = unitAttentions;
        throw error;
      }
      if (decision.kind === 'unit-attention') {
        state.unitAttentions++;
        if (error instanceof ScsiSenseError) unitAttentions.push(error.sense);
      } else {
        state.busy++;
        await sleep(decision.delayMs, call.signal);
      }
    }
  }

  /**
   * Run a data-in command into a pooled buffer and parse it before the buffer
   * goes back to the pool. A parser's MalformedResponseError gets the path and
   * the result; errors that carry the result get their own copy of its data first.
   */
  async runParsed<T>(cdb: Buffer, allocationLength: number, call: CallOptions, parse: (data: Buffer, validLength: number) => T): Promise<{ value: T; result: RawResult; unitAttentions: DecodedSense[] }> {
    const buffer = acquireDataIn(allocationLength);
    let completed = false;
    try {
      const out = await this.run(cdb, 'in', buffer, call);
      completed = true;
      const value = this.parseOr(() => parse(out.result.data ?? buffer.subarray(0, 0), out.validLength), cdb, out.result);
      out.result.data = null; // the parsed value owns copies; the buffer is about to be reused
      return { value, result: out.result, unitAttentions: out.unitAttentions };
    } catch (e) {
      if (e instanceof ScsiPrError && e.result) {
        completed = true; // a classified outcome: the kernel handed the command back
        if (e.result.data) e.result.data = Buffer.from(e.result.data);
      }
      throw e;
    } finally {
      // A command abandoned on timeout/abort/close may still be written by the kernel: never reuse its buffer.
      if (completed) releaseDataIn(buffer);
    }
  }

  private parseOr<T>(parse: () => T, cdb: Buffer, result: RawResult): T {
    try {
      return parse();
    } catch (e) {
      if (e instanceof MalformedResponseError) throw new MalformedResponseError(`${this.path}: ${e.message}`, { path: this.path, cdb, result });
      throw e;
    }
  }
}
