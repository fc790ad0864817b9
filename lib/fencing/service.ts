/**
 * The boot-time "service" of the original fence_scsi design (RHEL's
 * `scsi_reserve` init script), as a library: the devices are the physical
 * volumes of the clustered/shared LVM volume groups, the node's key is given or
 * derived from its IPv4 address (like `gethostip -x`), and
 *
 * - {@link serviceStart} registers the key on every path of every device and
 *   takes a Write Exclusive, Registrants Only reservation where none exists
 *   (the library's {@link unfence});
 * - {@link serviceStop} releases the reservation where this node holds it and
 *   unregisters the key from every path;
 * - {@link serviceStatus} lists the devices (with their VGs) registered with
 *   the key.
 *
 * Device failures never throw: each call returns a report per logical unit.
 * Set-up failures do (LVM discovery: `DeviceDiscoveryError`; start with no
 * device at all: `ScsiPrError` `ERR_NO_DEVICES`; invalid options: argument errors).
 */
import { Device, type OpenOptions } from '../device';
import { ReservationConflictError, ScsiPrError } from '../errors';
import { ArgumentTypeError } from '../invalid-argument';
import { formatKey, parseKey, type KeyInput } from '../scsi/keys';
import { localIpv4Key } from './fence-keys';
import { sharedVolumeGroupDevices, type SharedVolumeGroupDevice, type SharedVolumeGroupOptions } from './lvm-volume-groups';
import { luName, onAnyPath, openLogicalUnits, type DeviceInput } from './logical-units';
import { unfence, type UnfenceDeviceReport } from './unfence';
import { readLogicalUnit, status, type StatusDeviceReport } from './fence-status';
import type { ReservationTypeInput } from '../scsi/reservation-types';
import { withHexInspect } from '../hex-inspect';
import { monotonicMs } from '../transport/coarse-clock';
import type { ProgressEvent } from './progress-event';

/** Options shared by the three service calls. */
export interface ServiceOptions {
  /** Our key. Default: {@link localIpv4Key} of this host (of `interface` when given). */
  key?: KeyInput;
  /** Network interface whose IPv4 address gives the default key. */
  interface?: string;
  /** Only these volume groups (each must exist and be clustered or shared). Default: all such VGs. */
  volumeGroups?: string[];
  /** Use these devices instead of LVM discovery: paths, or open {@link Device}s (left open, as with {@link unfence}). */
  devices?: DeviceInput[];
  /** How to run `vgs` (runner, binary, extra arguments, …): see {@link sharedVolumeGroupDevices}. */
  discovery?: Omit<SharedVolumeGroupOptions, 'vgs'>;
  /** Per-command timeout (ms). */
  timeoutMs?: number;
  /** Options for opening the devices. */
  open?: OpenOptions;
  /** Called each time a logical unit is done (operation and phase `'service-start'`, `'service-stop'` or `'service-status'`). */
  onProgress?: (event: ProgressEvent) => void;
}

/** Options of {@link serviceStart}. */
export interface ServiceStartOptions extends ServiceOptions {
  /** Register with APTPL (persist through power loss). */
  aptpl?: boolean;
  /** Reservation type to take where none exists (default 5, Write Exclusive, Registrants Only). */
  type?: ReservationTypeInput;
}

/** Where the key came from. */
export type KeySource = 'option' | 'ipv4';

/** Fields every service report has. */
export interface ServiceReportBase {
  /** The key used. */
  key: bigint;
  keySource: KeySource;
  /** The devices that were used and where they came from (LVM: one entry per PV). */
  sources: Array<{ device: string; volumeGroup?: string; pv?: string }>;
  durationMs: number;
}

/** One logical unit after {@link serviceStart}. */
export interface ServiceStartDevice extends UnfenceDeviceReport {
  volumeGroups: string[];
}

/** Result of {@link serviceStart}. */
export interface ServiceStartReport extends ServiceReportBase {
  action: 'start';
  /** Registered on every path of every device, and a reservation exists on each. */
  ok: boolean;
  devices: ServiceStartDevice[];
}

/** One logical unit after {@link serviceStop}. */
export interface ServiceStopDevice {
  device: string;
  wwn: string;
  volumeGroups: string[];
  /**
   * Verified: our key is registered on no I_T nexus of this LU any more — no
   * entry of READ FULL STATUS or, where the target refuses that, of READ KEYS
   * carries it (see `source`).
   */
  ok: boolean;
  /**
   * Registrations with our key before / after: READ FULL STATUS descriptors,
   * or READ KEYS entries (one per registered I_T nexus by SPC; which nexus
   * each one is, READ KEYS does not say) when `source` is `'read-keys'`.
   */
  registrationsBefore?: number;
  registrationsAfter?: number;
  /**
   * How the registrations were read (the last read: the verification when it
   * answered): `'read-full-status'`, or `'read-keys'` when the target refused
   * READ FULL STATUS with ILLEGAL REQUEST (tgt) and READ KEYS + READ
   * RESERVATION were used instead. Absent when the LU could not be read.
   */
  source?: 'read-full-status' | 'read-keys';
  /** We held the reservation and released it. */
  released: boolean;
  /** Paths on which the unregistration succeeded / paths in all. */
  pathsUnregistered: number;
  paths: number;
  errors: Error[];
  durationMs: number;
}

/** Result of {@link serviceStop}. */
export interface ServiceStopReport extends ServiceReportBase {
  action: 'stop';
  /** Our key is registered nowhere any more (true when there was nothing to do). */
  ok: boolean;
  devices: ServiceStopDevice[];
}

/** One logical unit in {@link serviceStatus}. */
export interface ServiceStatusDevice extends StatusDeviceReport {
  volumeGroups: string[];
}

/** Result of {@link serviceStatus}. */
export interface ServiceStatusReport extends ServiceReportBase {
  action: 'status';
  /** Every device reachable and registered with our key (the service is "running"). */
  registeredEverywhere: boolean;
  /** Registered on no device (the service is "not running"); also true when there is no device. */
  registeredNowhere: boolean;
  /** No device could be read (and there was at least one). */
  unknown: boolean;
  devices: ServiceStatusDevice[];
}

interface Resolved {
  key: bigint;
  keySource: KeySource;
  devices: DeviceInput[];
  sources: ServiceReportBase['sources'];
  vgsOf: (device: string) => string[];
}

function checkOptions(options: ServiceOptions, where: string): void {
  if (options === null || typeof options !== 'object') throw new ArgumentTypeError('ERR_INVALID_OPTION', `${where}: options must be an object`);
  const strings = (v: unknown, name: string) => {
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === ''))) {
      throw new ArgumentTypeError('ERR_INVALID_OPTION', `${where}: ${name} must be an array of non-empty strings`);
    }
  };
  strings(options.volumeGroups, 'volumeGroups');
  if (options.devices !== undefined && (!Array.isArray(options.devices) || options.devices.some((x) => !(x instanceof Device) && (typeof x !== 'string' || x === '')))) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${where}: devices must be an array of non-empty device paths or Devices`);
  }
  if (options.devices !== undefined && options.volumeGroups !== undefined && options.volumeGroups.length > 0) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${where}: give devices or volumeGroups, not both`);
  }
}

/** The key, and the devices with their volume groups. */
async function resolve(options: ServiceOptions, where: string): Promise<Resolved> {
  checkOptions(options, where);
  const key = options.key !== undefined ? parseKey(options.key, 'key') : localIpv4Key(options.interface !== undefined ? { interface: options.interface } : {});
  if (key === 0n) throw new ArgumentTypeError('ERR_INVALID_KEY', `${where}: key must not be 0`);
  const keySource: KeySource = options.key !== undefined ? 'option' : 'ipv4';
  if (options.devices !== undefined) {
    const devices = [...new Set(options.devices)];
    return { key, keySource, devices, sources: devices.map((device) => ({ device: typeof device === 'string' ? device : device.path })), vgsOf: () => [] };
  }
  const found: SharedVolumeGroupDevice[] = await sharedVolumeGroupDevices({
    ...(options.discovery ?? {}),
    ...(options.volumeGroups && options.volumeGroups.length > 0 ? { vgs: options.volumeGroups } : {}),
  });
  const vgs = new Map<string, string[]>();
  for (const f of found) {
    const list = vgs.get(f.device) ?? [];
    if (!list.includes(f.vg)) list.push(f.vg);
    vgs.set(f.device, list);
  }
  return {
    key,
    keySource,
    devices: [...vgs.keys()],
    sources: found.map((f) => ({ device: f.device, volumeGroup: f.vg, pv: f.pv })),
    vgsOf: (device) => vgs.get(device) ?? [],
  };
}

/**
 * Start: register our key on every path of every device of the shared/clustered
 * volume groups and make sure a reservation exists on each.
 *
 * @throws DeviceDiscoveryError when LVM discovery fails (`ERR_LVM_NOT_INSTALLED`, …).
 * @throws ScsiPrError `ERR_NO_DEVICES` when there is no device to register on.
 */
export async function serviceStart(options: ServiceStartOptions = {}): Promise<ServiceStartReport> {
  const t0 = monotonicMs();
  const r = await resolve(options, 'serviceStart');
  if (r.devices.length === 0) {
    throw new ScsiPrError(
      'ERR_NO_DEVICES',
      options.devices !== undefined ? 'serviceStart: no device given' : 'serviceStart: no clustered or shared LVM volume group found (vg_attr position 6 is neither "c" nor "s")',
    );
  }
  let done = 0;
  const report = await unfence({
    devices: r.devices,
    key: r.key,
    ...(options.aptpl ? { aptpl: true } : {}),
    ...(options.type !== undefined ? { type: options.type } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.open ? { open: options.open } : {}),
    onProgress: (e) => options.onProgress?.({ operation: 'service-start', phase: 'service-start', device: e.device, done: ++done, total: e.total, ok: e.ok }),
  });
  const devices = report.devices.map((d) => withHexInspect({ ...d, volumeGroups: r.vgsOf(d.device) }));
  return withHexInspect({ action: 'start' as const, ok: report.ok, key: r.key, keySource: r.keySource, sources: r.sources, devices, durationMs: monotonicMs() - t0 });
}

/**
 * Stop: on every device, release the reservation if our key holds it (not for
 * all-registrants types, where releasing would drop it for every node), then
 * unregister on every path (REGISTER AND IGNORE EXISTING KEY with key 0: a path
 * that is not registered is left as it is), then verify that our key is gone:
 * READ FULL STATUS, or READ KEYS + READ RESERVATION on a target that refuses
 * READ FULL STATUS with ILLEGAL REQUEST (tgt 1.0.85); each LU's `source` says
 * which. Either lists every registration, so `ok` means the same with both.
 *
 * @throws DeviceDiscoveryError when LVM discovery fails.
 */
export async function serviceStop(options: ServiceOptions = {}): Promise<ServiceStopReport> {
  const t0 = monotonicMs();
  const r = await resolve(options, 'serviceStop');
  const base = { key: r.key, keySource: r.keySource, sources: r.sources };
  if (r.devices.length === 0) return withHexInspect({ action: 'stop' as const, ok: true, ...base, devices: [], durationMs: monotonicMs() - t0 });
  const call = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  const set = await openLogicalUnits(r.devices, options.open);
  try {
    let done = 0;
    const devices = await Promise.all(
      set.units.map(async (lu): Promise<ServiceStopDevice> => {
        const start = monotonicMs();
        const device = luName(lu);
        const d: ServiceStopDevice = {
          device,
          wwn: lu.wwn,
          volumeGroups: r.vgsOf(device),
          ok: false,
          released: false,
          pathsUnregistered: 0,
          paths: lu.paths.length + lu.unusable.length,
          errors: lu.unusable.map((u) => u.error),
          durationMs: 0,
        };
        try {
          const before = await onAnyPath(lu, (p) => readLogicalUnit(p, call));
          d.source = before.source;
          d.registrationsBefore = before.keys.filter((k) => k === r.key).length;
          const reservation = before.reservation;
          if (reservation && reservation.key === r.key && reservation.type !== 7 && reservation.type !== 8) {
            // Only the holding I_T nexus can release; a RELEASE from another registered nexus is a no-op.
            for (const p of lu.paths) {
              try {
                await p.release({ key: r.key, type: reservation.type, ...call });
              } catch (e) {
                if (!(e instanceof ReservationConflictError)) d.errors.push(e as Error);
              }
              const after = await onAnyPath(lu, (q) => q.readReservation(call));
              if (!after.reservation || after.reservation.key !== r.key) {
                d.released = true;
                break;
              }
            }
            if (!d.released) d.errors.push(new ScsiPrError('ERR_RELEASE_FAILED', `${device}: the reservation held by ${formatKey(r.key)} could not be released from any path`, { path: device }));
          }
        } catch (e) {
          d.errors.push(e as Error);
        }
        await Promise.all(
          lu.paths.map(async (p) => {
            try {
              await p.registerAndIgnoreExistingKey({ newKey: 0n, ...call });
              d.pathsUnregistered++;
            } catch (e) {
              d.errors.push(e as Error);
            }
          }),
        );
        try {
          const after = await onAnyPath(lu, (p) => readLogicalUnit(p, call));
          d.source = after.source;
          d.registrationsAfter = after.keys.filter((k) => k === r.key).length;
          d.ok = d.registrationsAfter === 0;
        } catch (e) {
          d.errors.push(e as Error);
        }
        d.durationMs = monotonicMs() - start;
        options.onProgress?.({ operation: 'service-stop', phase: 'service-stop', device, done: ++done, total: set.units.length, ok: d.ok });
        return withHexInspect(d);
      }),
    );
    return withHexInspect({ action: 'stop' as const, ok: devices.every((x) => x.ok), ...base, devices, durationMs: monotonicMs() - t0 });
  } finally {
    await set.close();
  }
}

/**
 * Status: which devices of the shared/clustered volume groups have our key
 * registered (READ FULL STATUS, or READ KEYS + READ RESERVATION where the
 * target refuses it: see {@link status}; read from the devices themselves).
 *
 * @throws DeviceDiscoveryError when LVM discovery fails.
 */
export async function serviceStatus(options: ServiceOptions = {}): Promise<ServiceStatusReport> {
  const t0 = monotonicMs();
  const r = await resolve(options, 'serviceStatus');
  const base = { key: r.key, keySource: r.keySource, sources: r.sources };
  if (r.devices.length === 0) {
    return withHexInspect({ action: 'status' as const, registeredEverywhere: false, registeredNowhere: true, unknown: false, ...base, devices: [], durationMs: monotonicMs() - t0 });
  }
  let done = 0;
  const report = await status({
    devices: r.devices,
    key: r.key,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.open ? { open: options.open } : {}),
    onProgress: (e) => options.onProgress?.({ operation: 'service-status', phase: 'service-status', device: e.device, done: ++done, total: e.total, ok: e.ok }),
  });
  const devices = report.devices.map((d) => withHexInspect({ ...d, volumeGroups: r.vgsOf(d.device) }));
  return withHexInspect({
    action: 'status' as const,
    registeredEverywhere: report.registeredEverywhere,
    registeredNowhere: devices.every((d) => !d.registered),
    unknown: devices.every((d) => !d.reachable),
    ...base,
    devices,
    durationMs: monotonicMs() - t0,
  });
}
