/**
 * status(): which LUs hold our registration and reservation — read from the
 * devices themselves (READ FULL STATUS through the sg nodes: no udev churn),
 * unlike fence_scsi's monitor, which never looks at the devices. A target that
 * does not support READ FULL STATUS (ILLEGAL REQUEST, e.g. tgt) is read with
 * READ KEYS and READ RESERVATION instead: the same keys and holder, without
 * per-nexus counts.
 */
import type { Device, OpenOptions } from '../device';
import { DeviceError, ScsiSenseError } from '../errors';
import { parseKey, type KeyInput } from '../scsi/keys';
import { luName, onAnyPath, openLogicalUnits, type DeviceInput } from './logical-units';
import type { ProgressEvent } from './progress-event';
import { withHexInspect } from '../hex-inspect';

/** Options of {@link status}. */
export interface StatusOptions {
  devices: readonly DeviceInput[];
  /** Our key. */
  key: KeyInput;
  timeoutMs?: number;
  open?: OpenOptions;
  /** Called each time an LU is done (see {@link ProgressEvent}). */
  onProgress?: (event: ProgressEvent) => void;
}

/** One LU's state as seen from this host. */
export interface StatusDeviceReport {
  device: string;
  wwn: string;
  /** The device answered. */
  reachable: boolean;
  /** Our key is registered (on at least one I_T nexus). */
  registered: boolean;
  /** Number of I_T nexuses registered with our key. */
  registrations: number;
  /** A reservation exists and our key holds it. */
  reservationHolder: boolean;
  reservation: { key: bigint; type: number } | null;
  generation?: number;
  /** Every registered key on the LU, once per registered I_T nexus (as the device listed them). */
  keys: bigint[];
  error?: Error;
  /**
   * Every registered key once, in the order the device first listed it: the
   * I_T nexuses registered with it (`undefined` when the target cannot say:
   * see `source`) and whether it holds the reservation (for the
   * all-registrants types every registrant does). Empty when unreadable.
   */
  registrants?: Array<{ key: bigint; nexuses: number | undefined; reservationHolder: boolean }>;
  /**
   * How the LU was read: `'read-full-status'` (per-nexus registrations), or
   * `'read-keys'` when the target refused READ FULL STATUS with ILLEGAL
   * REQUEST and READ KEYS + READ RESERVATION were used instead: then
   * `registrations` counts our key's entries in the READ KEYS list (one per
   * I_T nexus by SPC, not something every target keeps to) and `nexuses` is
   * `undefined`. Absent when unreadable.
   */
  source?: 'read-full-status' | 'read-keys';
  /** This host's paths to the LU (including those that could not be opened). */
  paths?: number;
  /** A list did not fit in 65535 bytes: the registrations shown are the first ones only. */
  truncated?: boolean;
}

/** The result of {@link status}. */
export interface StatusReport {
  /** Every LU reachable and registered with our key. */
  registeredEverywhere: boolean;
  devices: StatusDeviceReport[];
}

/** The reservation types whose every registrant holds the reservation (WE-AR 7, EA-AR 8). */
function isAllRegistrants(type: number): boolean {
  return type === 7 || type === 8;
}

/**
 * What one LU answered to {@link readLogicalUnit}, before it is reduced to a
 * report.
 */
export interface LogicalUnitRead {
  generation: number;
  /** One entry per registration (I_T nexus) for READ FULL STATUS, per READ KEYS entry otherwise. */
  keys: bigint[];
  /** The keys holding the reservation (every registrant's for the all-registrants types). */
  holders: bigint[];
  /** The reservation's holder key and type (READ FULL STATUS: the holder's registration; READ RESERVATION otherwise, key 0 for types 7 and 8). */
  reservation: { key: bigint; type: number } | null;
  /** `'read-keys'`: READ FULL STATUS was refused with ILLEGAL REQUEST and READ KEYS + READ RESERVATION answered instead. */
  source: 'read-full-status' | 'read-keys';
  truncated: boolean;
}

/** READ FULL STATUS refused: ILLEGAL REQUEST other than INVALID COMMAND OPERATION CODE (which would mean no PR IN at all). Broader than fence.ts's PREEMPT AND ABORT rule on purpose: the fallback here only reads. */
function isFullStatusRefused(e: unknown): boolean {
  if (e instanceof DeviceError && e.code === 'ERR_NOT_SUPPORTED') return true; // the block PR API has no READ FULL STATUS
  return e instanceof ScsiSenseError && e.sense.senseKey === 0x5 && e.sense.asc !== 0x20;
}

/**
 * Read one LU's registrations and reservation through one path: READ FULL
 * STATUS, or — when the target refuses it with ILLEGAL REQUEST (tgt 1.0.85:
 * INVALID FIELD IN CDB) — READ KEYS and READ RESERVATION. Both list every
 * registered key once per registered I_T nexus (SPC), so "our key is on no
 * nexus" is as verifiable either way; only READ FULL STATUS says which nexus
 * each registration is (TransportID, target port). Throws what the device
 * throws otherwise (INVALID COMMAND OPERATION CODE included).
 */
export async function readLogicalUnit(d: Device, call: { timeoutMs?: number }): Promise<LogicalUnitRead> {
  try {
    const fs = await d.readFullStatus(call);
    const holder = fs.registrations.find((g) => g.reservationHolder);
    return {
      generation: fs.generation,
      keys: fs.registrations.map((g) => g.key),
      holders: fs.registrations.filter((g) => g.reservationHolder).map((g) => g.key),
      reservation: holder ? { key: holder.key, type: holder.type } : null,
      source: 'read-full-status',
      truncated: fs.truncated,
    };
  } catch (e) {
    if (!isFullStatusRefused(e)) throw e;
  }
  const [k, r] = await Promise.all([d.readKeys(call), d.readReservation(call)]);
  const res = r.reservation ? { key: r.reservation.key, type: r.reservation.type } : null;
  const holders = !res ? [] : isAllRegistrants(res.type) ? k.keys : [res.key];
  return { generation: k.generation, keys: k.keys, holders, reservation: res, source: 'read-keys', truncated: k.truncated || r.truncated };
}

/** Each key once, first-listed order, with its registration count and holder flag. */
function registrantsOf(read: LogicalUnitRead): NonNullable<StatusDeviceReport['registrants']> {
  const out = new Map<bigint, { key: bigint; nexuses: number | undefined; reservationHolder: boolean }>();
  for (const k of read.keys) {
    const r = out.get(k) ?? { key: k, nexuses: 0, reservationHolder: read.holders.includes(k) };
    r.nexuses = r.nexuses! + 1;
    out.set(k, r);
  }
  const list = [...out.values()];
  if (read.source === 'read-keys') for (const r of list) r.nexuses = undefined;
  return list;
}

/**
 * Fencing status of many LUs: on each (READ FULL STATUS, any path), whether
 * our key is registered, on how many I_T nexuses, and who holds the
 * reservation; `registrants` gives the same for every key. A target without
 * READ FULL STATUS is read with READ KEYS + READ RESERVATION (`source`). Not a
 * PR IN command of its own: for one device's raw answer see `readKeys`,
 * `readReservation`, `readFullStatus`. Never throws for device failures: an LU
 * that cannot be read is `reachable: false` with its `error`.
 */
export async function status(options: StatusOptions): Promise<StatusReport> {
  const key = parseKey(options.key, 'key');
  const call = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  const set = await openLogicalUnits(options.devices, options.open);
  try {
    let done = 0;
    const devices = await Promise.all(
      set.units.map(async (lu): Promise<StatusDeviceReport> => {
        const r: StatusDeviceReport = { device: luName(lu), wwn: lu.wwn, reachable: false, registered: false, registrations: 0, reservationHolder: false, reservation: null, keys: [], registrants: [], paths: lu.paths.length + lu.unusable.length };
        try {
          const read = await onAnyPath(lu, (d) => readLogicalUnit(d, call));
          r.reachable = true;
          r.generation = read.generation;
          r.keys = read.keys;
          r.registrations = read.keys.filter((k) => k === key).length;
          r.registered = r.registrations > 0;
          r.reservation = read.reservation;
          r.reservationHolder = read.holders.includes(key);
          r.registrants = registrantsOf(read);
          r.source = read.source;
          if (read.truncated) r.truncated = true;
        } catch (e) {
          r.error = e as Error;
        }
        options.onProgress?.({ operation: 'status', phase: 'status', device: r.device, done: ++done, total: set.units.length, ok: r.reachable });
        return withHexInspect(r);
      }),
    );
    return withHexInspect({ registeredEverywhere: devices.length > 0 && devices.every((d) => d.reachable && d.registered), devices });
  } finally {
    await set.close();
  }
}
