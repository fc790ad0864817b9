/**
 * status(): which LUs hold our registration and reservation — read from the
 * devices themselves (READ FULL STATUS through the sg nodes: no udev churn),
 * unlike fence_scsi's monitor, which never looks at the devices.
 */
import type { OpenOptions } from '../device';
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
  /** Every registered key on the LU. */
  keys: bigint[];
  error?: Error;
}

/** The result of {@link status}. */
export interface StatusReport {
  /** Every LU reachable and registered with our key. */
  registeredEverywhere: boolean;
  devices: StatusDeviceReport[];
}

/**
 * Fencing status of many LUs: on each (READ FULL STATUS, any path), whether
 * our key is registered, on how many I_T nexuses, and who holds the
 * reservation. Not a PR IN command of its own: for one device's raw answer see
 * `readKeys`, `readReservation`, `readFullStatus`. Never throws for device
 * failures: an LU that cannot be read is `reachable: false` with its `error`.
 */
export async function status(options: StatusOptions): Promise<StatusReport> {
  const key = parseKey(options.key, 'key');
  const call = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  const set = await openLogicalUnits(options.devices, options.open);
  try {
    let done = 0;
    const devices = await Promise.all(
      set.units.map(async (lu): Promise<StatusDeviceReport> => {
        const r: StatusDeviceReport = { device: luName(lu), wwn: lu.wwn, reachable: false, registered: false, registrations: 0, reservationHolder: false, reservation: null, keys: [] };
        try {
          const fs = await onAnyPath(lu, (d) => d.readFullStatus(call));
          const holder = fs.registrations.find((g) => g.reservationHolder);
          r.reachable = true;
          r.generation = fs.generation;
          r.keys = fs.registrations.map((g) => g.key);
          r.registrations = fs.registrations.filter((g) => g.key === key).length;
          r.registered = r.registrations > 0;
          r.reservation = holder ? { key: holder.key, type: holder.type } : null;
          r.reservationHolder = holder?.key === key;
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
