/**
 * An NVMe namespace opened for reservations: a {@link Device} whose PR methods
 * speak NVMe (Reservation Register / Acquire / Release / Report through the
 * kernel's I/O command passthrough, NVME_IOCTL_IO_CMD) with the same names,
 * options and result shapes as the SCSI ones, so that `fence`, `unfence`,
 * `status`, the CLI and the fence agent work on namespaces unchanged.
 *
 * Mapping (NVMe Base Specification, Reservations):
 * - `register` → Register (register / replace / unregister by the keys given);
 *   `registerAndIgnoreExistingKey` → Register, then Replace with IEKEY when this
 *   host is registered with another key; `aptpl` → CPTPL.
 * - `reserve` → Acquire; `preempt` / `preemptAndAbort` → Acquire with
 *   RACQA 1 / 2; `release` → Release; `clear` → Release with RRELA 1.
 * - `readKeys` / `readReservation` / `readFullStatus` → one Reservation Report
 *   with the extended data structure (128-bit host IDs), re-read larger when it
 *   was truncated. Reservation types in options and results are the library's
 *   (SPC) codes and names; NVMe's RTYPE 1–6 is translated at the boundary.
 *   For the all-registrants types `readReservation` reports key 0, as SPC does.
 * - Reservation Conflict → {@link ReservationConflictError}; a path-related
 *   status (SCT 3) → {@link TransportError}; other statuses → NvmeStatusError.
 *
 * NVMe registers hosts (Host Identifier), not I_T nexuses: every controller of
 * one host shares its registration, so the paths of a namespace are one
 * registrant. SCSI-only requests (`allTargetPorts`, `transportIds`, REGISTER
 * AND MOVE, REPLACE LOST RESERVATION, SCSI-2 RESERVE/RELEASE, `execute`,
 * `inquiry`, data commands) are refused with a typed error before any I/O.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { Device } from '../device';
import type { CallOptions, OpenOptions } from '../device-options';
import { checkCallOptions, DEFAULT_TIMEOUT_MS, splitCallOptions } from '../device-options';
import type { CallReport, PrOutResult } from '../device-results';
import { AbortError, DeviceClosedError, DeviceError, ReservationConflictError, TransportError } from '../errors';
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
import { toSyscallError } from '../transport/transport-common';
import { parseNamespaceIdentity, type NamespaceIdentity } from './namespace-identity';
import { decodeNvmeStatus, classifyNvmeStatus, nvmeStatusError } from './nvme-status';
import { ADDR_OFFSET, encodePassthruCommand, NVME_IOCTL_ID, NVME_IOCTL_IO_CMD } from './passthru-command';
import { buildReservationAcquire, buildReservationRegister, buildReservationRelease, buildReservationReport, DEFAULT_REPORT_CONTROLLERS, type NvmeReservationCommand } from './reservation-commands';
import { parseReservationStatus, reservationStatusLength, type NvmeReservationStatus } from './reservation-report';
import { scsiTypeFromNvmeRtype } from './reservation-type-codes';

/** A namespace block device (`/dev/nvme0n1`) or its generic char device (`/dev/ng0n1`), not a partition. */
const NVME_NAMESPACE = /^(nvme|ng)(\d+)n(\d+)$/;

/** true when `path` (after symlinks) names an NVMe namespace's block or generic device. */
export function isNvmeNamespacePath(path: string): boolean {
  return NVME_NAMESPACE.test(basename(realpathOr(path)));
}

function realpathOr(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

/** All-registrants types (SPC 7, 8): every registrant holds the reservation; READ RESERVATION shows key 0. */
const ALL_REGISTRANTS = new Set([7, 8]);

/** What the CDB-based methods an NvmeDevice inherits reject with: an NVMe namespace takes no CDBs. */
function notScsi(path: string): DeviceError {
  return new DeviceError('ERR_NOT_SCSI', `${path} is an NVMe namespace: SCSI commands (execute, inquiry, TEST UNIT READY, READ/WRITE, REGISTER AND MOVE, REPLACE LOST RESERVATION, SCSI-2 RESERVE/RELEASE, resets) do not apply; its reservations go through the PR methods`, { path });
}

/** An open NVMe namespace. Create with `open('/dev/nvme0n1')` (or `/dev/ng0n1`). */
export class NvmeDevice extends Device {
  /** The namespace's identity from sysfs (NGUID / EUI-64 / UUID, NSID); `identity.wwn` groups and orders it in fencing. */
  readonly identity: NamespaceIdentity;
  private readonly native: NativeBinding;
  private readonly fd: IoctlFd;
  private readonly nsid: number;
  private readonly defaultTimeoutMs: number;

  /** @internal use `open` */
  constructor(path: string, openPath: string, blockPath: string, native: NativeBinding, fd: number, nsid: number, identity: NamespaceIdentity, options: OpenOptions) {
    super({ requested: path, resolved: openPath, openPath, via: 'block', blockPath, transport: 'nvme-passthru' }, refusingTransport(() => notScsi(path)), options);
    this.native = native;
    this.fd = new IoctlFd(native, fd);
    this.nsid = nsid;
    this.identity = identity;
    this.defaultTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  override get isClosed(): boolean {
    return this.fd.closing;
  }

  /** Close the namespace; an ioctl still running finishes first (its fd is closed after it). Idempotent. */
  override async close(): Promise<void> {
    this.fd.close();
    await super.close();
  }

  /** One reservation command through NVME_IOCTL_IO_CMD; resolves on success, throws the typed error otherwise. */
  private async passthru(what: string, cmd: NvmeReservationCommand, call: CallOptions): Promise<void> {
    if (this.fd.closing) throw new DeviceClosedError(`${this.path}: device is closed`, { path: this.path });
    if (call.signal?.aborted) throw new AbortError(`${this.path}: ${what} aborted before it was sent`, { path: this.path });
    const timeoutMs = call.timeoutMs ?? this.defaultTimeoutMs;
    const arg = encodePassthruCommand({ opcode: cmd.opcode, nsid: this.nsid, cdw10: cmd.cdw10, cdw11: cmd.cdw11 ?? 0, dataLength: cmd.data.length, timeoutMs });
    let status: number;
    try {
      status = await this.fd.track(() => this.native.ioctlBuffer(this.fd.fd, NVME_IOCTL_IO_CMD, arg, cmd.data, ADDR_OFFSET));
    } catch (e) {
      const err = toSyscallError(e as NativeSyscallError, this.path);
      err.message = `${this.path}: ${what}: ${err.message}`;
      throw err;
    }
    if (status === 0) return;
    const d = decodeNvmeStatus(status);
    const cls = classifyNvmeStatus(d);
    const hex = `0x${status.toString(16).padStart(4, '0')}`;
    if (cls === 'reservation-conflict') throw new ReservationConflictError(`${this.path}: ${what}: RESERVATION CONFLICT (NVMe status ${hex})`, { path: this.path });
    if (cls === 'path') {
      throw new TransportError(`${this.path}: ${what}: ${d.name} (NVMe status ${hex}): path-related status`, { hostStatus: 0, driverStatus: 0, hostStatusName: d.name }, { path: this.path });
    }
    throw nvmeStatusError(status, what, { path: this.path }) ?? new Error('unreachable: non-zero NVMe status decoded as success');
  }

  /** Reservation Report (extended), re-read once larger when more controllers are registered than fit. */
  async reservationReport(options: CallOptions = {}): Promise<NvmeReservationStatus> {
    const call = checkCallOptions(options ?? {}, 'reservationReport', true);
    let controllers = DEFAULT_REPORT_CONTROLLERS;
    for (let attempt = 0; ; attempt++) {
      const cmd = buildReservationReport({ allocationLength: reservationStatusLength(controllers, true), extended: true });
      await this.passthru('Reservation Report', cmd, call);
      const status = parseReservationStatus(cmd.data, true);
      if (!status.truncated || attempt >= 2) return status;
      controllers = Math.min(status.registeredControllers, 0xffff);
    }
  }

  override async readKeys(options: CallOptions = {}): Promise<ReadKeysResult & CallReport> {
    const s = await this.reservationReport(options);
    const keys = s.registrants.map((r) => r.key);
    return withHexInspect({ generation: s.generation, keys, additionalLength: keys.length * 8, truncated: s.truncated, unitAttentions: [] });
  }

  override async readReservation(options: CallOptions = {}): Promise<ReadReservationResult & CallReport> {
    const s = await this.reservationReport(options);
    const type = scsiTypeFromNvmeRtype(s.rtype);
    const holder = s.registrants.find((r) => r.holdsReservation);
    const reservation =
      type === undefined || s.rtype === 0
        ? null
        : { key: ALL_REGISTRANTS.has(type) ? 0n : (holder?.key ?? 0n), scope: 0, type, typeName: reservationTypeName(type) };
    return withHexInspect({ generation: s.generation, reservation, additionalLength: reservation ? 16 : 0, truncated: s.truncated, unitAttentions: [] });
  }

  /** Every registrant with its host ID (`transportId: { protocol: 'nvme', hostId, controllerId }`) and whether it holds the reservation. */
  override async readFullStatus(options: CallOptions = {}): Promise<ReadFullStatusResult & CallReport> {
    const s = await this.reservationReport(options);
    const type = scsiTypeFromNvmeRtype(s.rtype) ?? 0;
    const registrations = s.registrants.map((r) => ({
      key: r.key,
      allTargetPorts: false,
      reservationHolder: r.holdsReservation,
      scope: 0,
      type: r.holdsReservation ? type : 0,
      ...(r.holdsReservation && type ? { typeName: reservationTypeName(type) } : {}),
      relativeTargetPortId: r.controllerId,
      transportId: { protocol: 'nvme' as const, hostId: r.hostId, controllerId: r.controllerId },
    }));
    return withHexInspect({ generation: s.generation, registrations, additionalLength: registrations.length * 64, truncated: s.truncated, unitAttentions: [] });
  }

  /** Not an NVMe command: the namespace's reservation capabilities are in Identify Namespace (RESCAP). */
  override async reportCapabilities(_options: CallOptions = {}): Promise<ReportCapabilitiesResult & CallReport> {
    throw new DeviceError('ERR_NOT_SCSI', `${this.path} is an NVMe namespace: REPORT CAPABILITIES is a SCSI command (NVMe reports reservation capabilities in Identify Namespace RESCAP, which scsi-pr does not read)`, { path: this.path });
  }

  /** A SCSI service action; the options are validated first, as the SCSI method does (and nothing is read). */
  override async registerAndMove(options: RegisterAndMoveOptions & CallOptions): Promise<PrOutResult> {
    prOutRequest('registerAndMove', splitCallOptions(options, 'registerAndMove')[0]);
    throw new DeviceError('ERR_NOT_SCSI', `${this.path} is an NVMe namespace: REGISTER AND MOVE is a SCSI service action (NVMe has no equivalent)`, { path: this.path });
  }

  /** Validates like the SCSI method (same messages), refuses SCSI-only options, splits call options. */
  private nvmeOptions<T extends object>(method: PrOutMethod, options: T & CallOptions): [T, CallOptions] {
    const [prOptions, call] = splitCallOptions(options, method);
    prOutRequest(method, prOptions);
    if (this.fd.closing) throw new DeviceClosedError(`${this.path}: device is closed`, { path: this.path });
    for (const scsiOnly of ['allTargetPorts', 'transportIds']) {
      const v = (prOptions as Record<string, unknown>)[scsiOnly];
      if (v !== undefined && v !== false) throw new ArgumentRangeError('ERR_INVALID_OPTION', `${method}: ${scsiOnly} is a SCSI option; ${this.path} is an NVMe namespace (a host's registration covers all its controllers)`);
    }
    return [prOptions as T, checkCallOptions(call, method)];
  }

  private done(action: string, started: number): PrOutResult {
    return withHexInspect({ action, durationMs: Date.now() - started, unitAttentions: [] });
  }

  /** A PR OUT method that is one NVMe command: validate, build, send, report. */
  private async sendOne<T extends object>(method: PrOutMethod, action: string, what: string, options: T & CallOptions, build: (o: T) => NvmeReservationCommand): Promise<PrOutResult> {
    const [o, call] = this.nvmeOptions<T>(method, options);
    const started = Date.now();
    await this.passthru(what, build(o), call);
    return this.done(action, started);
  }

  override async register(options: RegisterOptions & CallOptions): Promise<PrOutResult> {
    const [o, call] = this.nvmeOptions<RegisterOptions>('register', options);
    const started = Date.now();
    const key = parseKey(o.key ?? 0n, 'key');
    const newKey = parseKey(o.newKey, 'newKey');
    const ptpl = o.aptpl ? { ptpl: true } : {};
    const cmd =
      key === 0n
        ? buildReservationRegister({ action: 'register', newKey, ...ptpl })
        : newKey === 0n
          ? buildReservationRegister({ action: 'unregister', currentKey: key, ...ptpl })
          : buildReservationRegister({ action: 'replace', currentKey: key, newKey, ...ptpl });
    // SPC: an unregistered nexus registering key 0 does nothing. (A registered host giving key 0 gets a
    // conflict on SCSI; here nothing is sent and nothing changes either way.)
    if (key === 0n && newKey === 0n) return this.done('register', started);
    await this.passthru('Reservation Register', cmd, call);
    return this.done('register', started);
  }

  override async registerAndIgnoreExistingKey(options: RegisterAndIgnoreExistingKeyOptions & CallOptions): Promise<PrOutResult> {
    const [o, call] = this.nvmeOptions<RegisterAndIgnoreExistingKeyOptions>('registerAndIgnoreExistingKey', options);
    const started = Date.now();
    const newKey = parseKey(o.newKey, 'newKey');
    const ptpl = o.aptpl ? { ptpl: true } : {};
    if (newKey === 0n) {
      try {
        await this.passthru('Reservation Register (unregister, IEKEY)', buildReservationRegister({ action: 'unregister', ignoreExistingKey: true, ...ptpl }), call);
      } catch (e) {
        // Not registered: nothing to remove (SPC's REGISTER AND IGNORE EXISTING KEY with 0 succeeds then too).
        if (!(e instanceof ReservationConflictError)) throw e;
      }
      return this.done('register-and-ignore-existing-key', started);
    }
    try {
      // Registered with newKey already, or not registered: Register succeeds.
      await this.passthru('Reservation Register', buildReservationRegister({ action: 'register', newKey, ...ptpl }), call);
    } catch (e) {
      // Registered with another key: Register conflicts; Replace with IEKEY takes whatever key it was.
      if (!(e instanceof ReservationConflictError)) throw e;
      await this.passthru('Reservation Register (replace, IEKEY)', buildReservationRegister({ action: 'replace', ignoreExistingKey: true, newKey, ...ptpl }), call);
    }
    return this.done('register-and-ignore-existing-key', started);
  }

  // The builders take the library's reservation types (parseReservationType) and write NVMe's RTYPE.
  override reserve(options: ReserveOptions & CallOptions): Promise<PrOutResult> {
    return this.sendOne<ReserveOptions>('reserve', 'reserve', 'Reservation Acquire', options, (o) =>
      buildReservationAcquire({ action: 'acquire', key: parseKey(o.key, 'key'), type: parseReservationType(o.type) }),
    );
  }

  override release(options: ReserveOptions & CallOptions): Promise<PrOutResult> {
    return this.sendOne<ReserveOptions>('release', 'release', 'Reservation Release', options, (o) =>
      buildReservationRelease({ action: 'release', key: parseKey(o.key, 'key'), type: parseReservationType(o.type) }),
    );
  }

  override clear(options: ClearOptions & CallOptions): Promise<PrOutResult> {
    return this.sendOne<ClearOptions>('clear', 'clear', 'Reservation Release (clear)', options, (o) =>
      buildReservationRelease({ action: 'clear', key: parseKey(o.key, 'key') }),
    );
  }

  private acquirePreempt(method: 'preempt' | 'preemptAndAbort', options: PreemptOptions & CallOptions): Promise<PrOutResult> {
    const action = method === 'preempt' ? 'preempt' : 'preempt-and-abort';
    return this.sendOne<PreemptOptions>(method, action, `Reservation Acquire (${action})`, options, (o) =>
      buildReservationAcquire({ action, key: parseKey(o.key, 'key'), preemptKey: parseKey(o.preemptKey, 'preemptKey'), type: parseReservationType(o.type) }),
    );
  }

  override preempt(options: PreemptOptions & CallOptions): Promise<PrOutResult> {
    return this.acquirePreempt('preempt', options);
  }

  override preemptAndAbort(options: PreemptOptions & CallOptions): Promise<PrOutResult> {
    return this.acquirePreempt('preemptAndAbort', options);
  }
}

/** Reads /sys/block/<name>/<file> for the namespace identity. */
function sysfsNamespaceReader(blockName: string): (file: string) => string | undefined {
  return (file) => {
    try {
      return readFileSync(`/sys/block/${blockName}/${file}`, 'utf8');
    } catch {
      return undefined;
    }
  };
}

/**
 * Opens an NVMe namespace (block `/dev/nvmeXnY` or generic `/dev/ngXnY`):
 * open(2), NVME_IOCTL_ID for the namespace ID, the identity from sysfs.
 * Nothing is sent to the device.
 */
export async function openNvmeNamespace(path: string, native: NativeBinding, options: OpenOptions): Promise<NvmeDevice> {
  const real = realpathOr(path);
  const m = NVME_NAMESPACE.exec(basename(real));
  if (!m) throw new DeviceError('ERR_NOT_A_DEVICE', `${path} is not an NVMe namespace device (/dev/nvme<C>n<N> or /dev/ng<C>n<N>)`, { path });
  const blockName = `nvme${m[2]}n${m[3]}`;
  let fd: number;
  try {
    fd = native.openDevice(real, true);
  } catch (e) {
    throw toSyscallError(e as NativeSyscallError, real);
  }
  try {
    let nsid: number;
    try {
      nsid = await native.ioctlBuffer(fd, NVME_IOCTL_ID, Buffer.alloc(8), null, 0);
    } catch (e) {
      throw toSyscallError(e as NativeSyscallError, real);
    }
    const identity = parseNamespaceIdentity(sysfsNamespaceReader(blockName) as never);
    if (identity.nsid !== nsid) {
      throw new DeviceError('ERR_NOT_A_DEVICE', `${path}: NVME_IOCTL_ID says namespace ${nsid} but /sys/block/${blockName} describes ${identity.nsid} (a generic device whose block device is named differently?)`, { path });
    }
    return new NvmeDevice(path, real, `/dev/${blockName}`, native, fd, nsid, identity, options);
  } catch (e) {
    native.closeDevice(fd);
    throw e;
  }
}
