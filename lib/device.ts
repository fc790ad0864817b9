/**
 * A SCSI device opened for persistent reservations: the `Device` handle with
 * every PR IN / PR OUT service action (one method per row of
 * scsi/pr-service-actions.ts), identification and a few data commands, and
 * `open`. The options and their checks are in device-options.ts, the result
 * types in device-results.ts, the command loop (retries, pooled buffers) in
 * device-command-loop.ts.
 */
import { resolveDevicePath, statDevicePath } from './transport/device-path';
import { tryRealpath } from './transport/sysfs';
import { loadNative, type NativeBinding, type NativeSyscallError } from './transport/native';
import type { ScsiTransport } from './transport/scsi-transport';
import { SgAsyncChannel } from './transport/sg-async-channel';
import { SgIoIoctlTransport } from './transport/sg-io-ioctl-transport';
import { toSyscallError } from './transport/transport-common';
import type { DecodedSense } from './scsi/sense';
import { DeviceError, MalformedResponseError, ScsiPrError, ScsiSenseError } from './errors';
import { ArgumentRangeError, ArgumentTypeError } from './invalid-argument';
import type { RetryOptions } from './retry-policy';
import { prInRequest } from './scsi/pr-in-requests';
import type { ReadFullStatusResult, ReadKeysResult, ReadReservationResult, ReportCapabilitiesResult } from './scsi/pr-in-parsers';
import {
  prOutRequest,
  type ClearOptions,
  type PreemptOptions,
  type RegisterAndIgnoreExistingKeyOptions,
  type RegisterAndMoveOptions,
  type RegisterOptions,
  type ReplaceLostReservationOptions,
  type ReserveOptions,
} from './scsi/pr-out-requests';
import { PR_IN_ACTIONS, PR_OUT_ACTIONS, prInAction, type PrInMethod, type PrInResult, type PrOutMethod } from './scsi/pr-service-actions';
import { inquiryCdb, read10Cdb, readCapacity10Cdb, release6Cdb, reserve6Cdb, testUnitReadyCdb, write10Cdb } from './scsi/cdb';
import { RESET_LEVELS, type ResetLevel } from './transport/scsi-transport';
import { parseDeviceIdentificationVpd, parseStandardInquiry, parseUnitSerialVpd, wwnOf } from './scsi/inquiry';
import { withHexInspect } from './hex-inspect';
import { CommandLoop } from './device-command-loop';
import { checkBlockRange, checkCallOptions, checkExecuteRequest, checkOpenOptions, DEFAULT_TIMEOUT_MS, splitCallOptions, type CallOptions, type ExecuteRequest, type OpenOptions } from './device-options';
import type { CallReport, Capacity, DeviceInfo, ExecuteResult, InquiryResult, PrOutResult } from './device-results';

export { DEFAULT_TIMEOUT_MS, type CallOptions, type ExecuteRequest, type OpenOptions } from './device-options';
export type { CallReport, Capacity, DeviceInfo, ExecuteResult, InquiryResult, PrOutResult } from './device-results';

/** An open SCSI device. Create with {@link open}; close with `close()` or `await using`. */
export class Device implements AsyncDisposable {
  /** The path the device was opened with. */
  readonly path: string;
  /** What was opened and through which transport. */
  readonly info: DeviceInfo;
  private readonly commands: CommandLoop;
  private capacity?: Capacity;

  /** @internal use {@link open} */
  constructor(info: DeviceInfo, transport: ScsiTransport, options: OpenOptions) {
    this.path = info.requested;
    this.info = info;
    this.commands = new CommandLoop(this.path, transport, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.retries ?? {});
  }

  /** true once close() was called. */
  get isClosed(): boolean {
    return this.commands.isClosed;
  }

  /** Close the device. Commands still in flight reject with DeviceClosedError. Idempotent. */
  async close(): Promise<void> {
    this.commands.close();
  }

  /**
   * Calls `listener` with the decoded sense of every UNIT ATTENTION a command
   * of this device meets, retried or not, as it happens (for example 2Ah/05
   * REGISTRATIONS PREEMPTED after another node preempted this one). Returns a
   * function that removes the listener. A listener that throws does not change
   * the command's outcome (a process warning reports it).
   */
  onUnitAttention(listener: (sense: DecodedSense) => void): () => void {
    return this.commands.onUnitAttention(listener);
  }

  /** REPL/console view: the path, how it was opened, and whether it is closed (not the internals). */
  [Symbol.for('nodejs.util.inspect.custom')](_depth: number, options: { stylize: (s: string, style: string) => string }, inspect: (v: unknown, o: unknown) => string): string {
    const { requested, openPath, transport, hctl } = this.info;
    return `Device ${inspect({ path: requested, openPath, transport, hctl, closed: this.isClosed }, options)}`;
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
    const allocationLength = checkExecuteRequest(request);
    const call = checkCallOptions({ timeoutMs: request.timeoutMs, signal: request.signal }, 'execute');
    // Not zeroed: only the bytes the kernel reports transferred (allocation - resid) are ever exposed.
    const data = request.direction === 'in' ? Buffer.allocUnsafe(allocationLength) : request.direction === 'out' ? (request.data ?? null) : null;
    const out = await this.commands.run(request.cdb, request.direction, data, call);
    return { ...out, data: request.direction === 'in' && out.result.data ? out.result.data : Buffer.alloc(0) };
  }

  // ---- PERSISTENT RESERVE IN --------------------------------------------------

  /** Runs PR IN `method`'s action, re-issued with a larger allocation while its row says so. */
  private async prIn<M extends PrInMethod>(method: M, options: CallOptions): Promise<PrInResult<M> & CallReport> {
    const call = checkCallOptions(options ?? {}, method, true);
    const action = prInAction(method);
    let allocationLength = action.defaultAllocationLength;
    let unitAttentions: DecodedSense[] | undefined;
    for (;;) {
      const request = prInRequest(PR_IN_ACTIONS[method].id, allocationLength);
      const out = await this.commands.runParsed(request.cdb, request.allocationLength, call, action.parse);
      unitAttentions = unitAttentions ? [...unitAttentions, ...out.unitAttentions] : out.unitAttentions;
      const next = action.reread?.(out.value, request.allocationLength);
      if (next === undefined) return Object.assign(out.value, { unitAttentions });
      allocationLength = next;
    }
  }

  /** PR IN READ KEYS: the generation and every registered key (re-issued with a larger buffer as needed). */
  readKeys(options: CallOptions = {}): Promise<ReadKeysResult & CallReport> {
    return this.prIn('readKeys', options);
  }

  /** PR IN READ RESERVATION: the generation and the reservation, or `reservation: null`. */
  readReservation(options: CallOptions = {}): Promise<ReadReservationResult & CallReport> {
    return this.prIn('readReservation', options);
  }

  /** PR IN REPORT CAPABILITIES: what the device supports (every bit, and the reservation types). */
  reportCapabilities(options: CallOptions = {}): Promise<ReportCapabilitiesResult & CallReport> {
    return this.prIn('reportCapabilities', options);
  }

  /** PR IN READ FULL STATUS: every registration with its holder flag, relative target port and TransportID. */
  readFullStatus(options: CallOptions = {}): Promise<ReadFullStatusResult & CallReport> {
    return this.prIn('readFullStatus', options);
  }

  // ---- PERSISTENT RESERVE OUT -------------------------------------------------

  /** Runs PR OUT `method`'s action: options checked against its row, then built and sent. */
  private async prOut(method: PrOutMethod, options: CallOptions): Promise<PrOutResult> {
    const [prOptions, call] = splitCallOptions(options, method);
    const request = prOutRequest(method, prOptions);
    const out = await this.commands.run(request.cdb, 'out', request.parameterList, call);
    return withHexInspect({ action: PR_OUT_ACTIONS[method].id, durationMs: out.result.durationMs, unitAttentions: out.unitAttentions });
  }

  /** REGISTER: `newKey` for this I_T nexus (`key` = current key, default 0; `newKey` 0 unregisters). `transportIds` sets SPEC_I_PT. */
  register(options: RegisterOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('register', options);
  }

  /** REGISTER AND IGNORE EXISTING KEY: set `newKey` whatever this nexus had. */
  registerAndIgnoreExistingKey(options: RegisterAndIgnoreExistingKeyOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('registerAndIgnoreExistingKey', options);
  }

  /** RESERVE with our registered `key` and reservation `type`. */
  reserve(options: ReserveOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('reserve', options);
  }

  /** RELEASE our reservation (`type` must match the held one). */
  release(options: ReserveOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('release', options);
  }

  /** CLEAR every registration and the reservation (needs our registered `key`). */
  clear(options: ClearOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('clear', options);
  }

  /** PREEMPT the registrations of `preemptKey` (taking the reservation with `type` if it held it). */
  preempt(options: PreemptOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('preempt', options);
  }

  /** PREEMPT AND ABORT: as preempt, and abort the preempted nexuses' outstanding commands (the fencing action). */
  preemptAndAbort(options: PreemptOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('preemptAndAbort', options);
  }

  /**
   * REGISTER AND MOVE the reservation to the nexus named by `transportId` at
   * `relativeTargetPortId`. Without `type`, the held reservation's type is read
   * first (READ RESERVATION) and sent, as strict targets require.
   */
  async registerAndMove(options: RegisterAndMoveOptions & CallOptions): Promise<PrOutResult> {
    if (options !== null && typeof options === 'object' && options.type === undefined) {
      prOutRequest('registerAndMove', splitCallOptions(options, 'registerAndMove')[0]); // validate before any I/O
      const { reservation, unitAttentions } = await this.readReservation({ timeoutMs: options.timeoutMs, signal: options.signal });
      // The UAs the READ RESERVATION absorbed belong to this call's report, success or failure.
      try {
        const result = await this.prOut('registerAndMove', reservation ? { ...options, type: reservation.type } : options);
        result.unitAttentions = [...unitAttentions, ...result.unitAttentions];
        return result;
      } catch (e) {
        if (e instanceof ScsiPrError) e.unitAttentions = [...unitAttentions, ...e.unitAttentions];
        throw e;
      }
    }
    return this.prOut('registerAndMove', options);
  }

  /** REPLACE LOST RESERVATION with `newKey` and `type`. */
  replaceLostReservation(options: ReplaceLostReservationOptions & CallOptions): Promise<PrOutResult> {
    return this.prOut('replaceLostReservation', options);
  }

  // ---- SCSI-2 reservations and resets -------------------------------------------

  /**
   * SCSI-2 RESERVE(6) of the whole logical unit for this I_T nexus (this path
   * only): other initiators' commands then get RESERVATION CONFLICT until
   * `release6()`, a reset, or a power loss. Not persistent, not shared with the
   * node's other paths, and refused with RESERVATION CONFLICT where a
   * persistent reservation or another SCSI-2 reservation exists. For fencing
   * use persistent reservations (`register`, `reserve`, `preemptAndAbort`).
   */
  async reserve6(options: CallOptions = {}): Promise<PrOutResult> {
    const out = await this.commands.run(reserve6Cdb(), 'none', null, checkCallOptions(options, 'reserve6', true));
    return withHexInspect({ action: 'reserve6', durationMs: out.result.durationMs, unitAttentions: out.unitAttentions });
  }

  /** SCSI-2 RELEASE(6): ends this I_T nexus's RESERVE(6) reservation (GOOD, and no effect, when it holds none). */
  async release6(options: CallOptions = {}): Promise<PrOutResult> {
    const out = await this.commands.run(release6Cdb(), 'none', null, checkCallOptions(options, 'release6', true));
    return withHexInspect({ action: 'release6', durationMs: out.result.durationMs, unitAttentions: out.unitAttentions });
  }

  /**
   * Reset through the sg driver (ioctl SG_SCSI_RESET, needs CAP_SYS_ADMIN and
   * CAP_SYS_RAWIO): `'device'` (a LOGICAL UNIT RESET: ends SCSI-2 reservations;
   * persistent reservations and registrations survive it), `'target'`, `'bus'`
   * or `'host'` (every device behind the adapter). Every other I_T nexus then
   * sees a UNIT ATTENTION (29h). With `escalate: true` the kernel may go on to a
   * wider reset when this one fails (default: it does not).
   *
   * @throws ArgumentRangeError (`ERR_INVALID_OPTION`) for an unknown level, before any I/O;
   *   SyscallError when the driver refuses or the reset fails (EACCES, EBUSY, EIO, EOPNOTSUPP…);
   *   DeviceClosedError after close.
   */
  async reset(level: ResetLevel, options: { escalate?: boolean } = {}): Promise<void> {
    if (!(RESET_LEVELS as readonly unknown[]).includes(level)) {
      throw new ArgumentRangeError('ERR_INVALID_OPTION', `reset: level must be one of ${RESET_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
    }
    if (typeof options !== 'object' || options === null) throw new ArgumentTypeError('ERR_INVALID_OPTION', 'reset: options must be an object');
    const { escalate, ...rest } = options;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) throw new ArgumentRangeError('ERR_INVALID_OPTION', `reset: unknown option ${JSON.stringify(unknown[0])} (allowed: escalate)`);
    if (escalate !== undefined && typeof escalate !== 'boolean') throw new ArgumentTypeError('ERR_INVALID_OPTION', 'reset: escalate must be a boolean');
    await this.commands.reset(level, escalate ?? false);
  }

  // ---- identification and data ------------------------------------------------

  /** TEST UNIT READY. Resolves with the UAs absorbed; rejects with ScsiSenseError (e.g. NOT READY) otherwise. */
  async testUnitReady(options: CallOptions = {}): Promise<CallReport> {
    const out = await this.commands.run(testUnitReadyCdb(), 'none', null, checkCallOptions(options, 'testUnitReady', true));
    return { unitAttentions: out.unitAttentions };
  }

  /** INQUIRY: vendor, product, revision, unit serial (VPD 0x80) and designators / WWN (VPD 0x83). */
  async inquiry(options: CallOptions = {}): Promise<InquiryResult & CallReport> {
    const call = checkCallOptions(options, 'inquiry', true);
    const stdCdb = inquiryCdb({ allocationLength: 96 });
    const std = await this.commands.runParsed(stdCdb, 96, call, (d, n) => parseStandardInquiry(d.subarray(0, n)));
    const base = std.value;
    // A VPD page longer than the allocation (its PAGE LENGTH says so and the buffer
    // came back full) is asked for again with room for all of it, up to 65535 bytes.
    const vpd = async <T>(page: number, length: number, parse: (d: Buffer) => T): Promise<T | undefined> => {
      let allocation = length;
      for (;;) {
        const cdb = inquiryCdb({ evpd: true, page, allocationLength: allocation });
        try {
          const alloc = allocation;
          const r = (
            await this.commands.runParsed(cdb, alloc, call, (d, n): { more: number } | { value: T } => {
              const pageEnd = n >= 4 ? 4 + d.readUInt16BE(2) : 0;
              return pageEnd > n && n >= alloc && alloc < 0xffff ? { more: Math.min(0xffff, pageEnd) } : { value: parse(d.subarray(0, n)) };
            })
          ).value;
          if ('value' in r) return r.value;
          allocation = r.more; // strictly larger: the loop ends at 65535 at the latest
        } catch (e) {
          if (e instanceof ScsiSenseError && e.sense.senseKey === 0x5) return undefined; // page not supported
          throw e;
        }
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
 * Open a SCSI device or an NVMe namespace for persistent reservations. `path`
 * may be `/dev/sgN`, `/dev/sdX` (mapped to its sg node when there is one), an
 * NVMe namespace `/dev/nvme0n1` or `/dev/ng0n1` (an {@link NvmeDevice}: the same
 * PR methods through NVMe reservations), a device-mapper map `/dev/dm-N` or
 * `/dev/mapper/NAME` (a {@link BlockPrDevice}: the PR methods through the
 * kernel's block PR ioctls), or a symlink such as `/dev/disk/by-id/wwn-…`.
 * `interface: 'block-pr'` opens any whole block device through the block PR
 * ioctls. Rejects with DeviceError / SyscallError naming the path and the
 * reason; nothing is sent to the device by open itself.
 */
export async function open(path: string, options: OpenOptions = {}): Promise<Device> {
  // (validation, path resolution and open(2) are synchronous; nothing is sent to the device)
  const { retries, interface: want } = checkOpenOptions(options);
  if (typeof path === 'string' && path.length > 0 && !path.includes('\0')) {
    // Loaded here, not at the top: nvme-device.ts and block-pr-device.ts extend Device (a cycle at load time otherwise).
    const blockPr = await import('./block-pr/block-pr-device');
    if (want === 'block-pr') return blockPr.openBlockPr(path, statDevicePath(path).resolved, loadNative(), { ...options, retries });
    const nvme = await import('./nvme/nvme-device');
    if (nvme.isNvmeNamespacePath(path)) {
      if (want !== 'auto') throw new DeviceError('ERR_NOT_SCSI', `${path} is an NVMe namespace: interface '${want}' is a SCSI choice (leave it 'auto', or 'block-pr' for the block PR API)`, { path });
      return nvme.openNvmeNamespace(path, loadNative(), { ...options, retries });
    }
    if (want === 'auto') {
      const real = tryRealpath(path);
      if (real !== undefined && blockPr.isDeviceMapperPath(path, real)) return blockPr.openBlockPr(path, real, loadNative(), { ...options, retries });
    }
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

