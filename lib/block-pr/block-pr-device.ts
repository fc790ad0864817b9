/**
 * A whole block device opened for reservations through the kernel's block PR
 * API (`<linux/pr.h>`, IOC_PR_*): a {@link Device} whose PR methods are the
 * block ioctls, with the same names, options and result shapes as the SCSI
 * ones, so that `fence`, `unfence`, `status` and the CLI work on it. It is how
 * scsi-pr reaches a device-mapper map (`/dev/dm-N`, `/dev/mapper/NAME`: the
 * kernel sends REGISTER down every path of a multipath map and the other
 * requests down the active one), and, on request (`interface: 'block-pr'`), a
 * SCSI disk or an NVMe namespace: the driver (sd, nvme) builds the commands.
 *
 * Mapping:
 * - `register` → IOC_PR_REGISTER (old key, new key); `registerAndIgnoreExistingKey`
 *   → IOC_PR_REGISTER with PR_FL_IGNORE_KEY; `reserve` / `release` →
 *   IOC_PR_RESERVE / IOC_PR_RELEASE; `preempt` / `preemptAndAbort` →
 *   IOC_PR_PREEMPT / IOC_PR_PREEMPT_ABORT; `clear` → IOC_PR_CLEAR.
 * - `readKeys` → IOC_PR_READ_KEYS, `readReservation` → IOC_PR_READ_RESERVATION
 *   (Linux 6.19+: on an older kernel, by `uname -r`, they throw a
 *   KernelFeatureError naming the requirement before any I/O). For
 *   the all-registrants types `readReservation` reports key 0, as SPC does.
 * - Reservation types are the library's names or SPC codes; the kernel's
 *   `pr_type` (1–6) is translated at the ioctl.
 * - `pr_status` RESERVATION CONFLICT → {@link ReservationConflictError}; a path
 *   failure → {@link TransportError} (`hostStatusName` the PR_STS_* name); any
 *   other code → {@link PrStatusError}.
 *
 * What the API cannot say is refused before any I/O with `ERR_NOT_SUPPORTED`:
 * READ FULL STATUS and REPORT CAPABILITIES (no PR IN of those; the fencing
 * layer reads keys and reservation instead), `aptpl` (there is no flag: the
 * driver decides), `allTargetPorts` / `transportIds`, REGISTER AND MOVE,
 * REPLACE LOST RESERVATION, SCSI-2 reservations, resets, `execute`, `inquiry`
 * and data commands.
 *
 * Timeouts: an ioctl cannot be cancelled. When `timeoutMs` passes first the
 * call rejects with a TimeoutError (the outcome is unknown: the driver's own
 * timeout still runs), and the fd stays open until the ioctl has returned.
 */
import { statSync } from 'node:fs';
import { release as kernelRelease } from 'node:os';
import { basename, join } from 'node:path';
import { Device } from '../device';
import type { CallOptions, OpenOptions } from '../device-options';
import { checkCallOptions, DEFAULT_TIMEOUT_MS, splitCallOptions } from '../device-options';
import type { CallReport, PrOutResult } from '../device-results';
import { AbortError, DeviceClosedError, DeviceError, ReservationConflictError, TimeoutError, TransportError } from '../errors';
import { ArgumentRangeError } from '../invalid-argument';
import { withHexInspect } from '../hex-inspect';
import { parseKey } from '../scsi/keys';
import type { ReadFullStatusResult, ReadKeysResult, ReadReservationResult, ReportCapabilitiesResult } from '../scsi/pr-in-parsers';
import { prOutRequest, type ClearOptions, type PreemptOptions, type RegisterAndIgnoreExistingKeyOptions, type RegisterAndMoveOptions, type RegisterOptions, type ReserveOptions } from '../scsi/pr-out-requests';
import { parseReservationType, reservationTypeName } from '../scsi/reservation-types';
import type { PrOutMethod } from '../scsi/pr-service-actions';
import type { NativeBinding, NativeSyscallError } from '../transport/native';
import { IoctlFd } from '../transport/ioctl-fd';
import { refusingTransport } from '../transport/refusing-transport';
import { followLink, isPartition, diskOfPartition, sysfsRoot } from '../transport/sysfs';
import { toSyscallError } from '../transport/transport-common';
import { majorMinor } from '../transport/device-path';
import { BlockPrIoctl } from './block-pr-ioctl';
import { blockDeviceIdentity, type BlockDeviceIdentity } from './block-device-identity';
import { prTypeFromSpc, spcTypeFromPr, type PrTypeCode } from './pr-ioctls';
import type { PrStatusResult } from './pr-status';
import { PrStatusError } from './pr-status-error';
import { KernelFeatureError } from './kernel-feature-error';
import { BLOCK_PR_READS_SINCE, kernelHasBlockPrReads } from './kernel-release';

/** All-registrants types (SPC 7, 8): every registrant holds the reservation; READ RESERVATION shows key 0. */
const ALL_REGISTRANTS = new Set([7, 8]);

function notSupported(path: string, what: string): DeviceError {
  return new DeviceError('ERR_NOT_SUPPORTED', `${path} is opened through the block PR API (IOC_PR_*), which cannot carry ${what}`, { path });
}

/** A whole block device opened through the block PR API. Create with `open('/dev/dm-N')` or `open(path, { interface: 'block-pr' })`. */
export class BlockPrDevice extends Device {
  /** What sysfs says the device is (kind, kernel name, LU name, device-mapper name and paths). */
  readonly identity: BlockDeviceIdentity;
  private readonly ioctl: BlockPrIoctl;
  private readonly fd: IoctlFd;
  private readonly defaultTimeoutMs: number;
  private readonly kernel: { release: string; hasReads: boolean };

  /** @internal use `open` */
  constructor(path: string, openPath: string, native: Pick<NativeBinding, 'ioctlBuffer' | 'closeDevice'>, fd: number, identity: BlockDeviceIdentity, options: OpenOptions, release: string = kernelRelease()) {
    super({ requested: path, resolved: openPath, openPath, via: 'block', blockPath: openPath, transport: 'block-pr' }, refusingTransport(() => notSupported(path, 'SCSI commands (execute, inquiry, TEST UNIT READY, READ/WRITE, REGISTER AND MOVE, REPLACE LOST RESERVATION, SCSI-2 RESERVE/RELEASE, resets); its reservations go through the PR methods')), options);
    this.fd = new IoctlFd(native, fd);
    this.identity = identity;
    this.ioctl = new BlockPrIoctl(native, fd, path);
    this.defaultTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.kernel = { release, hasReads: kernelHasBlockPrReads(release) };
  }

  /** Refuses a read ioctl the running kernel does not have, before any I/O. */
  private checkReads(name: 'READ_KEYS' | 'READ_RESERVATION'): void {
    if (this.kernel.hasReads) return;
    const requirement = `Linux ${BLOCK_PR_READS_SINCE.join('.')} or later (IOC_PR_${name})`;
    throw new KernelFeatureError(`${this.path}: IOC_PR_${name} needs ${requirement}; this kernel is ${this.kernel.release}`, requirement, { path: this.path });
  }

  override get isClosed(): boolean {
    return this.fd.closing;
  }

  /** Close the device; an ioctl still running finishes first (its fd is closed after it). Idempotent. */
  override async close(): Promise<void> {
    this.fd.close();
    await super.close();
  }

  /**
   * Runs one ioctl with the call's timeout and signal, and turns a failing
   * `pr_status` into the typed error. A TimeoutError or AbortError leaves the
   * ioctl running (it cannot be cancelled); its result is then dropped.
   */
  private async run<T extends PrStatusResult>(what: string, call: CallOptions, send: () => Promise<T>): Promise<T> {
    if (this.fd.closing) throw new DeviceClosedError(`${this.path}: device is closed`, { path: this.path });
    if (call.signal?.aborted) throw new AbortError(`${this.path}: ${what} aborted before it was sent`, { path: this.path });
    const timeoutMs = call.timeoutMs ?? this.defaultTimeoutMs;
    const sent = this.fd.track(send);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`${this.path}: ${what} did not complete within ${timeoutMs} ms (the ioctl cannot be cancelled: its outcome is unknown)`, timeoutMs, { path: this.path })), timeoutMs);
      if (call.signal) {
        onAbort = () => reject(new AbortError(`${this.path}: ${what} aborted while in the kernel (its outcome is unknown)`, { path: this.path }));
        call.signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    sent.catch(() => undefined); // a late failure after a timeout is not unhandled
    let r: T;
    try {
      r = await Promise.race([sent, stop]);
    } finally {
      clearTimeout(timer);
      if (onAbort) call.signal?.removeEventListener('abort', onAbort);
    }
    if (r.class === 'ok') return r;
    const how = `${r.name}, pr_status ${r.status}`;
    if (r.class === 'reservation-conflict') throw new ReservationConflictError(`${this.path}: ${what}: RESERVATION CONFLICT (${how})`, { path: this.path });
    if (r.class === 'path') throw new TransportError(`${this.path}: ${what}: path failure (${how})`, { hostStatus: 0, driverStatus: 0, hostStatusName: r.name }, { path: this.path });
    throw new PrStatusError(`${this.path}: ${what}: the driver failed the request (${how})`, { status: r.status, statusName: r.name }, { path: this.path });
  }

  override async readKeys(options: CallOptions = {}): Promise<ReadKeysResult & CallReport> {
    const call = checkCallOptions(options ?? {}, 'readKeys', true);
    this.checkReads('READ_KEYS');
    const r = await this.run('IOC_PR_READ_KEYS', call, () => this.ioctl.readKeys());
    if (r.class !== 'ok') throw new Error('unreachable: run() returns only successes');
    const keys = r.keys;
    return withHexInspect({ generation: r.generation, keys, additionalLength: keys.length * 8, truncated: keys.length < r.numKeys, unitAttentions: [] });
  }

  override async readReservation(options: CallOptions = {}): Promise<ReadReservationResult & CallReport> {
    const call = checkCallOptions(options ?? {}, 'readReservation', true);
    this.checkReads('READ_RESERVATION');
    const r = await this.run('IOC_PR_READ_RESERVATION', call, () => this.ioctl.readReservation());
    if (r.class !== 'ok') throw new Error('unreachable: run() returns only successes');
    const type = spcTypeFromPr(r.type);
    const reservation = r.type === 0 || type === undefined ? null : { key: ALL_REGISTRANTS.has(type) ? 0n : r.key, scope: 0, type, typeName: reservationTypeName(type) };
    return withHexInspect({ generation: r.generation, reservation, additionalLength: reservation ? 16 : 0, truncated: false, unitAttentions: [] });
  }

  /** Not in the block PR API: it has no host or nexus per registration. */
  override async readFullStatus(_options: CallOptions = {}): Promise<ReadFullStatusResult & CallReport> {
    throw notSupported(this.path, 'READ FULL STATUS (it has no per-registrant host or nexus; readKeys and readReservation work)');
  }

  /** Not in the block PR API. */
  override async reportCapabilities(_options: CallOptions = {}): Promise<ReportCapabilitiesResult & CallReport> {
    throw notSupported(this.path, 'REPORT CAPABILITIES');
  }

  /** Not in the block PR API; the options are validated first, as the SCSI method does (and nothing is read). */
  override async registerAndMove(options: RegisterAndMoveOptions & CallOptions): Promise<PrOutResult> {
    prOutRequest('registerAndMove', splitCallOptions(options, 'registerAndMove')[0]);
    throw notSupported(this.path, 'REGISTER AND MOVE');
  }

  /** Validates like the SCSI method (same messages), refuses what the API cannot say, splits call options. */
  private blockOptions<T extends object>(method: PrOutMethod, options: T & CallOptions): [T, CallOptions] {
    const [prOptions, call] = splitCallOptions(options, method);
    prOutRequest(method, prOptions);
    if (this.fd.closing) throw new DeviceClosedError(`${this.path}: device is closed`, { path: this.path });
    for (const refused of ['allTargetPorts', 'transportIds', 'aptpl']) {
      const v = (prOptions as Record<string, unknown>)[refused];
      if (v !== undefined && v !== false) {
        const why = refused === 'aptpl' ? 'the block PR API has no APTPL flag (the driver decides: sd and nvme ask for persistence through power loss)' : 'the block PR API registers through every path of the device itself';
        throw new ArgumentRangeError('ERR_INVALID_OPTION', `${method}: ${refused} cannot be sent through the block PR API (${this.path}): ${why}`);
      }
    }
    return [prOptions as T, checkCallOptions(call, method)];
  }

  /** A PR OUT method: validate, send one ioctl, report. */
  private async send<T extends object>(method: PrOutMethod, action: string, what: string, options: T & CallOptions, ioctl: (o: T) => Promise<PrStatusResult>, validate?: (o: T) => void): Promise<PrOutResult> {
    const [o, call] = this.blockOptions<T>(method, options);
    validate?.(o);
    const started = Date.now();
    await this.run(what, call, () => ioctl(o));
    return withHexInspect({ action, durationMs: Date.now() - started, unitAttentions: [] });
  }

  /** Whether an NVMe namespace is (or is below) this device. */
  private get overNvme(): boolean {
    return this.identity.kind === 'nvme' || (this.identity.bottomKinds ?? []).includes('nvme');
  }

  /**
   * Refuses an unregister (new key 0) through the API to an NVMe namespace: the
   * nvme driver sends it as Replace with NRKEY 0, and nvmet (7.3) then keeps the
   * host registered with key 0 — still a registrant, so still able to write under
   * the registrants-only types. Seen in the NVMe lab; the NvmeDevice of the
   * namespace unregisters properly.
   */
  private checkUnregister(method: PrOutMethod, newKey: bigint): void {
    if (newKey !== 0n || !this.overNvme) return;
    throw new DeviceError(
      'ERR_NOT_SUPPORTED',
      `${this.path}: ${method} with newKey 0 (unregister) is refused over NVMe: the block PR API sends it as Replace with key 0, which leaves the host registered with key 0 (open the namespace itself, an NvmeDevice, to unregister)`,
      { path: this.path },
    );
  }

  override register(options: RegisterOptions & CallOptions): Promise<PrOutResult> {
    return this.send<RegisterOptions>(
      'register',
      'register',
      'IOC_PR_REGISTER',
      options,
      (o) => this.ioctl.register(parseKey(o.key ?? 0n, 'key'), parseKey(o.newKey, 'newKey')),
      // (an unregistered host giving 0 → 0 registers nothing, anywhere)
      (o) => this.checkUnregister('register', parseKey(o.key ?? 0n, 'key') === 0n ? 1n : parseKey(o.newKey, 'newKey')),
    );
  }

  /**
   * IOC_PR_REGISTER with PR_FL_IGNORE_KEY. sd sends REGISTER AND IGNORE EXISTING
   * KEY whatever the old key. nvme sends Register (old key 0) or Replace (old key
   * not 0) with IEKEY, and NVMe refuses Register from a host registered with
   * another key; so after a RESERVATION CONFLICT the request goes once more with
   * a non-zero old key (ignored either way), which nvme sends as Replace.
   */
  override registerAndIgnoreExistingKey(options: RegisterAndIgnoreExistingKeyOptions & CallOptions): Promise<PrOutResult> {
    return this.send<RegisterAndIgnoreExistingKeyOptions>(
      'registerAndIgnoreExistingKey',
      'register-and-ignore-existing-key',
      'IOC_PR_REGISTER (ignore existing key)',
      options,
      async (o) => {
        const newKey = parseKey(o.newKey, 'newKey');
        const first = await this.ioctl.register(0n, newKey, { ignoreExistingKey: true });
        if (first.class !== 'reservation-conflict') return first;
        return this.ioctl.register(newKey === 0n ? 1n : newKey, newKey, { ignoreExistingKey: true });
      },
      (o) => this.checkUnregister('registerAndIgnoreExistingKey', parseKey(o.newKey, 'newKey')),
    );
  }

  override reserve(options: ReserveOptions & CallOptions): Promise<PrOutResult> {
    return this.send<ReserveOptions>('reserve', 'reserve', 'IOC_PR_RESERVE', options, (o) => this.ioctl.reserve(parseKey(o.key, 'key'), blockType(o.type)));
  }

  override release(options: ReserveOptions & CallOptions): Promise<PrOutResult> {
    return this.send<ReserveOptions>('release', 'release', 'IOC_PR_RELEASE', options, (o) => this.ioctl.release(parseKey(o.key, 'key'), blockType(o.type)));
  }

  override clear(options: ClearOptions & CallOptions): Promise<PrOutResult> {
    return this.send<ClearOptions>('clear', 'clear', 'IOC_PR_CLEAR', options, (o) => this.ioctl.clear(parseKey(o.key, 'key')));
  }

  override preempt(options: PreemptOptions & CallOptions): Promise<PrOutResult> {
    return this.send<PreemptOptions>('preempt', 'preempt', 'IOC_PR_PREEMPT', options, (o) => this.ioctl.preempt(parseKey(o.key, 'key'), parseKey(o.preemptKey, 'preemptKey'), blockType(o.type)));
  }

  override preemptAndAbort(options: PreemptOptions & CallOptions): Promise<PrOutResult> {
    return this.send<PreemptOptions>('preemptAndAbort', 'preempt-and-abort', 'IOC_PR_PREEMPT_ABORT', options, (o) =>
      this.ioctl.preempt(parseKey(o.key, 'key'), parseKey(o.preemptKey, 'preemptKey'), blockType(o.type), { abort: true }),
    );
  }
}

/** The block `pr_type` of a library reservation type (validated already by prOutRequest). */
function blockType(type: ReserveOptions['type']): PrTypeCode {
  const t = prTypeFromSpc(parseReservationType(type));
  if (t === undefined) throw new Error('unreachable: every SPC persistent reservation type has a block pr_type');
  return t;
}

/**
 * The kernel name of the block device at `real` (symlinks resolved), or
 * undefined when it is not a block device node. Partitions throw ERR_PARTITION.
 */
function wholeBlockDeviceName(path: string, real: string, root: string): string | undefined {
  let rdev: number;
  try {
    const st = statSync(real);
    if (!st.isBlockDevice()) return undefined;
    rdev = st.rdev;
  } catch {
    return undefined;
  }
  const sys = followLink(join(root, 'dev', 'block', majorMinor(rdev)));
  if (!sys) return basename(real);
  if (isPartition(sys)) {
    const disk = diskOfPartition(sys);
    throw new DeviceError('ERR_PARTITION', `${path} is a partition; persistent reservations apply to the whole device: use ${disk ? `/dev/${disk}` : 'the whole disk'}`, { path });
  }
  return basename(sys);
}

/** true when `real` (symlinks resolved) is a device-mapper block device. Never throws. */
export function isDeviceMapperPath(path: string, real: string): boolean {
  try {
    const name = wholeBlockDeviceName(path, real, sysfsRoot());
    return name !== undefined && /^dm-\d+$/.test(name);
  } catch {
    return false;
  }
}

/**
 * Opens a whole block device for the block PR API: open(2) read-write (PR OUT
 * through a read-only fd needs CAP_SYS_ADMIN) and its identity from sysfs.
 * Nothing is sent to the device.
 */
export function openBlockPr(path: string, real: string, native: NativeBinding, options: OpenOptions): BlockPrDevice {
  const root = sysfsRoot();
  const name = wholeBlockDeviceName(path, real, root);
  if (name === undefined) {
    const hint = /^ng\d+n\d+$/.test(basename(real)) ? ` (an NVMe generic device: the block PR API needs the block device, /dev/${basename(real).replace(/^ng/, 'nvme')})` : '';
    throw new DeviceError('ERR_NOT_A_DEVICE', `${path} is not a block device: the block PR API (interface 'block-pr') needs one${hint}`, { path });
  }
  let fd: number;
  try {
    fd = native.openDevice(real, true);
  } catch (e) {
    throw toSyscallError(e as NativeSyscallError, real);
  }
  return new BlockPrDevice(path, real, native, fd, blockDeviceIdentity(name, root), options);
}
