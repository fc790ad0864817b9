/**
 * A SCSI device opened for persistent reservations: the `Device` handle with
 * every PR IN / PR OUT service action, identification and a few data commands.
 */
import { resolveDevicePath, type ResolvedDevicePath } from './transport/device-path';
import { loadNative, type NativeBinding, type NativeSyscallError } from './transport/native';
import type { RawResult } from './scsi/raw-result';
import type { DataDirection, ScsiTransport } from './transport/scsi-transport';
import { SgAsyncChannel } from './transport/sg-async-channel';
import { SgIoIoctlTransport } from './transport/sg-io-ioctl-transport';
import { toSyscallError } from './transport/transport-common';
import { classifyResult } from './scsi/classify';
import type { DecodedSense } from './scsi/sense';
import { AbortError, DeviceClosedError, DeviceError, MalformedResponseError, ScsiPrError, ScsiSenseError } from './errors';
import { ArgumentRangeError, ArgumentTypeError } from './invalid-argument';
import { retryDecision, validateRetryOptions, type RetryOptions } from './retry-policy';
import { prInRequest, type PrInActionName } from './scsi/pr-in-requests';
import {
  MAX_FULL_STATUS_DESCRIPTOR_LENGTH,
  MAX_PR_IN_ALLOCATION_LENGTH,
  needsLargerAllocation,
  parseReadFullStatus,
  parseReadKeys,
  parseReadReservation,
  parseReportCapabilities,
  type ReadFullStatusResult,
  type ReadKeysResult,
  type ReadReservationResult,
  type ReportCapabilitiesResult,
} from './scsi/pr-in-parsers';
import {
  clearRequest,
  preemptAndAbortRequest,
  preemptRequest,
  registerAndIgnoreExistingKeyRequest,
  registerAndMoveRequest,
  registerRequest,
  releaseRequest,
  replaceLostReservationRequest,
  reserveRequest,
  type ClearOptions,
  type PreemptOptions,
  type PrOutRequest,
  type RegisterAndIgnoreExistingKeyOptions,
  type RegisterAndMoveOptions,
  type RegisterOptions,
  type ReplaceLostReservationOptions,
  type ReserveOptions,
} from './scsi/pr-out-requests';
import { inquiryCdb, read10Cdb, readCapacity10Cdb, testUnitReadyCdb, write10Cdb } from './scsi/cdb';
import { parseDeviceIdentificationVpd, parseStandardInquiry, parseUnitSerialVpd, wwnOf, type Designator, type StandardInquiry } from './scsi/inquiry';
import { withHexInspect } from './hex-inspect';
import { onAbort } from './transport/abort-listener';
import { acquireDataIn, releaseDataIn } from './transport/data-in-pool';

/** Default per-command timeout. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Options of {@link open}. */
export interface OpenOptions {
  /** Default timeout of every command on this device (ms, default 30 000). */
  timeoutMs?: number;
  /** Retry limits for UNIT ATTENTION and BUSY / TASK SET FULL. */
  retries?: RetryOptions;
  /**
   * 'auto' (default): the sg node when there is one, else SG_IO on the block device.
   * 'sg': require an sg node (ERR_NO_SG_NODE otherwise). 'block': SG_IO ioctl on the
   * block device even when an sg node exists (needs CAP_SYS_RAWIO for PR commands).
   */
  interface?: 'auto' | 'sg' | 'block';
}

/** Per-call options accepted by every device method. */
export interface CallOptions {
  /** Timeout of this command (ms); the kernel aborts it, and the call rejects with TimeoutError. */
  timeoutMs?: number;
  /**
   * Rejects the call with AbortError when aborted. A command already handed to the
   * kernel still runs to completion there (SCSI has no cancel from user space): only
   * the wait is abandoned.
   */
  signal?: AbortSignal;
}

/** What was opened, and how commands reach it. */
export interface DeviceInfo extends ResolvedDevicePath {
  /** 'sg-async': sg v3 write/poll/read on /dev/sgN (needs only rw access to the node);
   *  'sg-io-ioctl': SG_IO on the block device (needs CAP_SYS_RAWIO for PR commands). */
  transport: 'sg-async' | 'sg-io-ioctl';
  /** sg driver version (e.g. 30536), for sg nodes. */
  sgVersion?: number;
}

/** Conditions seen (and absorbed) while running one call. */
export interface CallReport {
  /** UNIT ATTENTIONs that were reported and retried, oldest first. */
  unitAttentions: DecodedSense[];
}

/** Result of a PR OUT action. */
export interface PrOutResult extends CallReport {
  /** The service action that ran, e.g. 'preempt-and-abort'. */
  action: string;
  /** Duration of the successful attempt as the kernel measured it (ms). */
  durationMs: number;
}

/** Identification of a logical unit. */
export interface InquiryResult extends StandardInquiry {
  /** Unit serial number (VPD 0x80), when the device has the page. */
  serialNumber?: string;
  /** Designators of VPD 0x83 (NAA, EUI-64, SCSI name, target port…). */
  designators: Designator[];
  /** The LU's world-wide name from VPD 0x83 (NAA preferred), when there is one. */
  wwn?: string;
}

/** Capacity of a logical unit. */
export interface Capacity {
  lastLba: number;
  blockSize: number;
  blocks: number;
}

/** A low-level command for {@link Device.execute}. */
export interface ExecuteRequest extends CallOptions {
  cdb: Buffer;
  direction: DataDirection;
  /** Data-out bytes (direction 'out'). */
  data?: Buffer;
  /** Size of the data-in buffer (direction 'in'). */
  allocationLength?: number;
}

/** Outcome of {@link Device.execute}: the successful raw result and what was absorbed on the way. */
export interface ExecuteResult extends CallReport {
  result: RawResult;
  /** Bytes of data-in that are valid (allocation − resid, never negative). */
  validLength: number;
  /** The data-in bytes that are valid. */
  data: Buffer;
}

type Stripped<T> = Omit<T, keyof CallOptions>;

function splitCallOptions<T extends object>(options: T & CallOptions, action: string): [Stripped<T>, CallOptions] {
  if (options === null || typeof options !== 'object') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${action}: options must be an object`);
  }
  const { timeoutMs, signal, ...rest } = options;
  return [rest as Stripped<T>, checkCallOptions({ timeoutMs, signal }, action)];
}

const CALL_OPTION_NAMES = ['timeoutMs', 'signal'];

/**
 * Validate per-call options. With `strict`, any other option name is rejected
 * (a typo such as `timeoutMS` must not silently fall back to the default).
 */
function checkCallOptions(o: CallOptions, where: string, strict = false): CallOptions {
  if (o === null || typeof o !== 'object') throw new ArgumentTypeError('ERR_INVALID_OPTION', `${where}: options must be an object`);
  if (strict) {
    for (const k of Object.keys(o)) {
      if (!CALL_OPTION_NAMES.includes(k)) throw new ArgumentRangeError('ERR_INVALID_OPTION', `${where}: unknown option "${k}" (allowed: ${CALL_OPTION_NAMES.join(', ')})`);
    }
  }
  const t = o.timeoutMs;
  if (t !== undefined && typeof t !== 'number') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${where}: timeoutMs must be a number of milliseconds, got ${JSON.stringify(t) ?? typeof t} (${typeof t})`);
  }
  if (t !== undefined && (!Number.isInteger(t) || t < 1 || t > 3_600_000)) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `${where}: timeoutMs must be an integer from 1 to 3600000 ms, got ${String(t)}`);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${where}: signal must be an AbortSignal`);
  }
  return o;
}

const DIRECTIONS = ['none', 'in', 'out'];
/** Largest data-in buffer `execute` allocates (16 MiB). */
const MAX_TRANSFER = 16 * 1024 * 1024;

function checkExecuteRequest(r: ExecuteRequest): void {
  if (r === null || typeof r !== 'object') throw new ArgumentTypeError('ERR_INVALID_OPTION', 'execute: request must be an object');
  if (!Buffer.isBuffer(r.cdb)) throw new ArgumentTypeError('ERR_INVALID_OPTION', 'execute: cdb must be a Buffer');
  if (r.cdb.length < 6 || r.cdb.length > 16) throw new ArgumentRangeError('ERR_INVALID_OPTION', `execute: cdb must be 6 to 16 bytes, got ${r.cdb.length}`);
  if (!DIRECTIONS.includes(r.direction)) throw new ArgumentRangeError('ERR_INVALID_OPTION', `execute: direction must be 'none', 'in' or 'out', got ${JSON.stringify(r.direction)}`);
  if (r.direction === 'in') {
    const n = r.allocationLength;
    if (typeof n !== 'number') throw new ArgumentTypeError('ERR_INVALID_OPTION', `execute: direction 'in' needs allocationLength (a number of bytes)`);
    if (!Number.isInteger(n) || n < 1 || n > MAX_TRANSFER) throw new ArgumentRangeError('ERR_INVALID_OPTION', `execute: allocationLength must be an integer from 1 to ${MAX_TRANSFER}, got ${n}`);
    if (r.data !== undefined) throw new ArgumentTypeError('ERR_INVALID_OPTION', `execute: data goes with direction 'out', not 'in'`);
  } else if (r.direction === 'out') {
    if (!Buffer.isBuffer(r.data) || r.data.length === 0) throw new ArgumentTypeError('ERR_INVALID_OPTION', `execute: direction 'out' needs data (a non-empty Buffer)`);
    if (r.allocationLength !== undefined) throw new ArgumentTypeError('ERR_INVALID_OPTION', `execute: allocationLength goes with direction 'in'`);
  } else if (r.data !== undefined || r.allocationLength !== undefined) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `execute: direction 'none' takes neither data nor allocationLength`);
  }
}

function checkBlockRange(where: string, lba: unknown, blocks: unknown): void {
  if (typeof lba !== 'number') throw new ArgumentTypeError('ERR_INVALID_OPTION', `${where}: lba must be a number, got ${typeof lba}`);
  if (!Number.isInteger(lba) || lba < 0 || lba > 0xffffffff) throw new ArgumentRangeError('ERR_INVALID_OPTION', `${where}: lba must be an integer from 0 to 4294967295, got ${lba}`);
  if (typeof blocks !== 'number') throw new ArgumentTypeError('ERR_INVALID_OPTION', `${where}: blocks must be a number, got ${typeof blocks}`);
  if (!Number.isInteger(blocks) || blocks < 1 || blocks > 0xffff) throw new ArgumentRangeError('ERR_INVALID_OPTION', `${where}: blocks must be an integer from 1 to 65535, got ${blocks}`);
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

/** An open SCSI device. Create with {@link open}; close with `close()` or `await using`. */
export class Device implements AsyncDisposable {
  /** The path the device was opened with. */
  readonly path: string;
  /** What was opened and through which transport. */
  readonly info: DeviceInfo;
  private readonly transport: ScsiTransport;
  private readonly timeoutMs: number;
  private readonly retries: RetryOptions;
  private closed = false;
  private capacity?: Capacity;

  /** @internal use {@link open} */
  constructor(info: DeviceInfo, transport: ScsiTransport, options: OpenOptions) {
    this.path = info.requested;
    this.info = info;
    this.transport = transport;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries = options.retries ?? {};
  }

  /** true once close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Close the device. Commands still in flight reject with DeviceClosedError. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
  }

  /** REPL/console view: the path, how it was opened, and whether it is closed (not the internals). */
  [Symbol.for('nodejs.util.inspect.custom')](_depth: number, options: { stylize: (s: string, style: string) => string }, inspect: (v: unknown, o: unknown) => string): string {
    const { requested, openPath, transport, hctl } = this.info;
    return `Device ${inspect({ path: requested, openPath, transport, hctl, closed: this.closed }, options)}`;
  }

  /** `await using dev = await open(…)` closes the device at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Send one command, classify the outcome, absorb UNIT ATTENTION and BUSY per
   * the retry policy, and resolve with the successful raw result or reject with
   * a typed error (ReservationConflictError, ScsiSenseError, TransportError, …).
   */
  async execute(request: ExecuteRequest): Promise<ExecuteResult> {
    checkExecuteRequest(request);
    const call = checkCallOptions({ timeoutMs: request.timeoutMs, signal: request.signal }, 'execute');
    // Not zeroed: only the bytes the kernel reports transferred (allocation - resid) are ever exposed.
    const data = request.direction === 'in' ? Buffer.allocUnsafe(request.allocationLength ?? 0) : request.direction === 'out' ? (request.data ?? null) : null;
    const out = await this.run(request.cdb, request.direction, data, call);
    return { ...out, data: request.direction === 'in' && out.result.data ? out.result.data : Buffer.alloc(0) };
  }

  /**
   * The command loop behind every call: submit, classify, absorb UNIT ATTENTION
   * and BUSY per the retry policy. `data` is the data-out bytes or the data-in
   * buffer, handed to the kernel for every attempt (a retry starts only after
   * the previous attempt came back). On success and on classified errors,
   * `result.data` is the transferred part of a data-in buffer.
   */
  private async run(cdb: Buffer, direction: DataDirection, data: Buffer | null, call: CallOptions): Promise<{ result: RawResult; unitAttentions: DecodedSense[]; validLength: number }> {
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
      state ??= { unitAttentions: 0, busy: 0 };
      const decision = retryDecision(error, state, this.retries);
      if (!decision.retry) {
        error.unitAttentions = unitAttentions;
        throw error;
      }
      if (decision.kind === 'unit-attention') {
        state.unitAttentions++;
        unitAttentions.push((error as ScsiSenseError).sense);
      } else {
        state.busy++;
        await sleep(decision.delayMs, call.signal);
      }
    }
  }

  /**
   * Run a data-in command into a pooled buffer and parse it before the buffer
   * goes back to the pool (see data-in-pool.ts). Errors that carry the result
   * get their own copy of its data first.
   */
  private async runParsed<T>(cdb: Buffer, allocationLength: number, call: CallOptions, parse: (data: Buffer, validLength: number) => T): Promise<{ value: T; result: RawResult; unitAttentions: DecodedSense[] }> {
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

  // ---- PERSISTENT RESERVE IN --------------------------------------------------

  private async prIn<T extends object>(action: PrInActionName, parse: (d: Buffer, n: number) => T, opts: CallOptions, growable: boolean): Promise<T & CallReport> {
    const call = checkCallOptions(opts ?? {}, action, true);
    let request = prInRequest(action);
    let unitAttentions: DecodedSense[] | undefined;
    for (;;) {
      const out = await this.runParsed(request.cdb, request.allocationLength, call, parse);
      unitAttentions = unitAttentions ? [...unitAttentions, ...out.unitAttentions] : out.unitAttentions;
      const parsed = out.value;
      if (growable) {
        const list = parsed as unknown as ReadKeysResult;
        const advice = needsLargerAllocation(list, request.allocationLength);
        if (advice.retry && advice.nextAllocationLength > request.allocationLength) {
          request = prInRequest(action, advice.nextAllocationLength);
          continue;
        }
        // Still full at the largest allocation: the list may go on (LIO reports only what fit
        // in ADDITIONAL LENGTH of READ FULL STATUS). Never present it as complete.
        if (request.allocationLength >= MAX_PR_IN_ALLOCATION_LENGTH && (list.truncated || MAX_PR_IN_ALLOCATION_LENGTH - (8 + list.additionalLength) < (action === 'read-keys' ? 8 : MAX_FULL_STATUS_DESCRIPTOR_LENGTH))) {
          list.truncated = true;
        }
      }
      (parsed as T & CallReport).unitAttentions = unitAttentions;
      return parsed as T & CallReport;
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

  /** PR IN READ KEYS: the generation and every registered key (re-issued with a larger buffer as needed). */
  readKeys(options: CallOptions = {}): Promise<ReadKeysResult & CallReport> {
    return this.prIn('read-keys', parseReadKeys, options, true);
  }

  /** PR IN READ RESERVATION: the generation and the reservation, or `reservation: null`. */
  readReservation(options: CallOptions = {}): Promise<ReadReservationResult & CallReport> {
    return this.prIn('read-reservation', parseReadReservation, options, false);
  }

  /** PR IN REPORT CAPABILITIES: what the device supports (every bit, and the reservation types). */
  reportCapabilities(options: CallOptions = {}): Promise<ReportCapabilitiesResult & CallReport> {
    return this.prIn('report-capabilities', parseReportCapabilities, options, false);
  }

  /** PR IN READ FULL STATUS: every registration with its holder flag, relative target port and TransportID. */
  readFullStatus(options: CallOptions = {}): Promise<ReadFullStatusResult & CallReport> {
    return this.prIn('read-full-status', parseReadFullStatus, options, true);
  }

  // ---- PERSISTENT RESERVE OUT -------------------------------------------------

  private async prOut<T extends object>(name: string, build: (o: Stripped<T>) => PrOutRequest, options: T & CallOptions): Promise<PrOutResult> {
    const [prOptions, call] = splitCallOptions(options, name);
    const request = build(prOptions);
    const out = await this.run(request.cdb, 'out', request.parameterList, call);
    return withHexInspect({ action: name, durationMs: out.result.durationMs, unitAttentions: out.unitAttentions });
  }

  /** REGISTER: `newKey` for this I_T nexus (`key` = current key, default 0; `newKey` 0 unregisters). `transportIds` sets SPEC_I_PT. */
  register(options: RegisterOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('register', registerRequest, options);
  }

  /** REGISTER AND IGNORE EXISTING KEY: set `newKey` whatever this nexus had. */
  registerAndIgnoreExistingKey(options: RegisterAndIgnoreExistingKeyOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('register-and-ignore-existing-key', registerAndIgnoreExistingKeyRequest, options);
  }

  /** RESERVE with our registered `key` and reservation `type`. */
  reserve(options: ReserveOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('reserve', reserveRequest, options);
  }

  /** RELEASE our reservation (`type` must match the held one). */
  release(options: ReserveOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('release', releaseRequest, options);
  }

  /** CLEAR every registration and the reservation (needs our registered `key`). */
  clear(options: ClearOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('clear', clearRequest, options);
  }

  /** PREEMPT the registrations of `preemptKey` (taking the reservation with `type` if it held it). */
  preempt(options: PreemptOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('preempt', preemptRequest, options);
  }

  /** PREEMPT AND ABORT: as preempt, and abort the preempted nexuses' outstanding commands (the fencing action). */
  preemptAndAbort(options: PreemptOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('preempt-and-abort', preemptAndAbortRequest, options);
  }

  /**
   * REGISTER AND MOVE the reservation to the nexus named by `transportId` at
   * `relativeTargetPortId`. Without `type`, the held reservation's type is read
   * first (READ RESERVATION) and sent, as strict targets require.
   */
  async registerAndMove(options: RegisterAndMoveOptions & CallOptions): Promise<PrOutResult> {
    if (options !== null && typeof options === 'object' && options.type === undefined) {
      registerAndMoveRequest(splitCallOptions(options, 'register-and-move')[0]); // validate before any I/O
      const { reservation, unitAttentions } = await this.readReservation({ timeoutMs: options.timeoutMs, signal: options.signal });
      // The UAs the READ RESERVATION absorbed belong to this call's report, success or failure.
      try {
        const result = await this.prOut('register-and-move', registerAndMoveRequest, reservation ? { ...options, type: reservation.type } : options);
        result.unitAttentions = [...unitAttentions, ...result.unitAttentions];
        return result;
      } catch (e) {
        if (e instanceof ScsiPrError) e.unitAttentions = [...unitAttentions, ...e.unitAttentions];
        throw e;
      }
    }
    return this.prOut('register-and-move', registerAndMoveRequest, options);
  }

  /** REPLACE LOST RESERVATION with `newKey` and `type`. */
  replaceLostReservation(options: ReplaceLostReservationOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('replace-lost-reservation', replaceLostReservationRequest, options);
  }

  // ---- identification and data ------------------------------------------------

  /** TEST UNIT READY. Resolves with the UAs absorbed; rejects with ScsiSenseError (e.g. NOT READY) otherwise. */
  async testUnitReady(options: CallOptions = {}): Promise<CallReport> {
    const out = await this.run(testUnitReadyCdb(), 'none', null, checkCallOptions(options, 'testUnitReady', true));
    return { unitAttentions: out.unitAttentions };
  }

  /** INQUIRY: vendor, product, revision, unit serial (VPD 0x80) and designators / WWN (VPD 0x83). */
  async inquiry(options: CallOptions = {}): Promise<InquiryResult & CallReport> {
    const call = checkCallOptions(options, 'inquiry', true);
    const stdCdb = inquiryCdb({ allocationLength: 96 });
    const std = await this.runParsed(stdCdb, 96, call, (d, n) => parseStandardInquiry(d.subarray(0, n)));
    const base = std.value;
    const vpd = async <T>(page: number, length: number, parse: (d: Buffer) => T): Promise<T | undefined> => {
      const cdb = inquiryCdb({ evpd: true, page, allocationLength: length });
      try {
        return (await this.runParsed(cdb, length, call, (d, n) => parse(d.subarray(0, n)))).value;
      } catch (e) {
        if (e instanceof ScsiSenseError && e.sense.senseKey === 0x5) return undefined; // page not supported
        throw e;
      }
    };
    const serialNumber = await vpd(0x80, 255, parseUnitSerialVpd);
    const designators = (await vpd(0x83, 1024, parseDeviceIdentificationVpd)) ?? [];
    return withHexInspect({
      ...base,
      serialNumber,
      designators,
      wwn: wwnOf(designators),
      unitAttentions: std.unitAttentions,
    });
  }

  /** READ CAPACITY(10): last LBA and block size. */
  async readCapacity(options: CallOptions = {}): Promise<Capacity> {
    const out = await this.execute({ cdb: readCapacity10Cdb(), direction: 'in', allocationLength: 8, ...checkCallOptions(options, 'readCapacity', true) });
    if (out.validLength < 8) throw new MalformedResponseError(`${this.path}: READ CAPACITY(10) returned ${out.validLength} bytes`, { path: this.path, result: out.result });
    const lastLba = out.data.readUInt32BE(0);
    const blockSize = out.data.readUInt32BE(4);
    this.capacity = { lastLba, blockSize, blocks: lastLba + 1 };
    return this.capacity;
  }

  /** READ(10) of `blocks` blocks at `lba`. Rejects with ReservationConflictError when the reservation forbids it. */
  async readBlocks(lba: number, blocks = 1, options: CallOptions = {}): Promise<Buffer> {
    checkBlockRange('readBlocks', lba, blocks);
    const call = checkCallOptions(options, 'readBlocks', true);
    const { blockSize } = this.capacity ?? (await this.readCapacity(call));
    const out = await this.execute({ cdb: read10Cdb(lba, blocks), direction: 'in', allocationLength: blocks * blockSize, ...call });
    return out.data;
  }

  /** WRITE(10) of `data` (a whole number of blocks) at `lba`. Rejects with ReservationConflictError when fenced. */
  async writeBlocks(lba: number, data: Buffer, options: CallOptions = {}): Promise<CallReport> {
    checkBlockRange('writeBlocks', lba, 1);
    if (!Buffer.isBuffer(data)) throw new ArgumentTypeError('ERR_INVALID_OPTION', `writeBlocks: data must be a Buffer, got ${typeof data}`);
    if (data.length === 0) throw new ArgumentRangeError('ERR_INVALID_OPTION', 'writeBlocks: data must not be empty');
    const call = checkCallOptions(options, 'writeBlocks', true);
    const { blockSize } = this.capacity ?? (await this.readCapacity(call));
    if (data.length % blockSize !== 0) {
      throw new ArgumentRangeError('ERR_INVALID_OPTION', `writeBlocks: data must be whole ${blockSize}-byte blocks, got ${data.length} bytes`);
    }
    checkBlockRange('writeBlocks', lba, data.length / blockSize);
    const out = await this.execute({ cdb: write10Cdb(lba, data.length / blockSize), direction: 'out', data, ...call });
    return { unitAttentions: out.unitAttentions };
  }
}

/**
 * Open a SCSI device for persistent reservations. `path` may be `/dev/sgN`,
 * `/dev/sdX` (mapped to its sg node when there is one) or a symlink such as
 * `/dev/disk/by-id/wwn-…`. Rejects with DeviceError / SyscallError naming the
 * path and the reason; nothing is sent to the device by open itself.
 */
export async function open(path: string, options: OpenOptions = {}): Promise<Device> {
  // (validation, path resolution and open(2) are synchronous; nothing is sent to the device)
  if (options === null || typeof options !== 'object') throw new ArgumentTypeError('ERR_INVALID_OPTION', 'open: options must be an object');
  for (const k of Object.keys(options)) {
    if (k !== 'timeoutMs' && k !== 'retries' && k !== 'interface') throw new ArgumentRangeError('ERR_INVALID_OPTION', `open: unknown option "${k}" (allowed: timeoutMs, retries, interface)`);
  }
  checkCallOptions({ timeoutMs: options.timeoutMs }, 'open');
  const retries = validateRetryOptions(options.retries, 'open');
  const want = options.interface ?? 'auto';
  if (want !== 'auto' && want !== 'sg' && want !== 'block') {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `open: interface must be 'auto', 'sg' or 'block', got ${JSON.stringify(want)}`);
  }
  let resolved = resolveDevicePath(path);
  if (want === 'sg' && resolved.via !== 'sg') throw new DeviceError('ERR_NO_SG_NODE', `${path} has no sg node (load the sg module, or use interface: 'block')`, { path });
  if (want === 'block' && resolved.via !== 'block') {
    if (!resolved.blockPath) throw new DeviceError('ERR_NOT_A_DEVICE', `${path} has no block device (interface: 'block')`, { path });
    resolved = { ...resolved, openPath: resolved.blockPath, via: 'block' };
  }
  const native: NativeBinding = loadNative();
  let fd: number;
  try {
    fd = native.openDevice(resolved.openPath, true);
  } catch (e) {
    throw toSyscallError(e as NativeSyscallError, resolved.openPath);
  }
  try {
    if (resolved.via === 'sg') {
      let sgVersion: number;
      try {
        sgVersion = native.sgVersion(fd);
      } catch (e) {
        throw toSyscallError(e as NativeSyscallError, resolved.openPath);
      }
      if (sgVersion < 30000) throw new DeviceError('ERR_NOT_SCSI', `${resolved.openPath}: sg driver version ${sgVersion} has no v3 interface`, { path });
      return new Device({ ...resolved, transport: 'sg-async', sgVersion }, new SgAsyncChannel(native, fd, resolved.openPath), { ...options, retries });
    }
    return new Device({ ...resolved, transport: 'sg-io-ioctl' }, new SgIoIoctlTransport(native, fd, resolved.openPath), { ...options, retries });
  } catch (e) {
    native.closeDevice(fd);
    throw e;
  }
}

