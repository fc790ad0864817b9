/**
 * unfence(): register our key on every path of every shared LU and make sure a
 * Write Exclusive, Registrants Only reservation exists on each LU.
 *
 * REGISTER AND IGNORE EXISTING KEY is used on every path (I_T nexus): it works
 * whether the nexus is unregistered, registered with our key, or registered with
 * a stale key — e.g. after an iSCSI session came back with a new ISID, the old
 * nexus keeps its registration and the new one starts unregistered (the case
 * fence_scsi's string matching gets wrong). UNIT ATTENTIONs are absorbed by the
 * Device retry policy and reported.
 */
import type { OpenOptions } from '../device';
import type { DecodedSense } from '../scsi/sense';
import { ReservationConflictError } from '../errors';
import { ArgumentRangeError, ArgumentTypeError } from '../invalid-argument';
import { parseKey, type KeyInput } from '../scsi/keys';
import { luName, onAnyPath, openLogicalUnits, type DeviceInput } from './logical-units';
import { parseReservationType, type ReservationTypeInput } from '../scsi/reservation-types';
import type { ProgressEvent } from './progress-event';
import { withHexInspect } from '../hex-inspect';
import { monotonicMs } from '../transport/coarse-clock';

/** Options of {@link unfence}. */
export interface UnfenceOptions {
  devices: readonly DeviceInput[];
  /** Our key (not 0). */
  key: KeyInput;
  /** Persist through power loss (APTPL) on the registration. */
  aptpl?: boolean;
  /** Reservation type to take where none exists (default 5). */
  type?: ReservationTypeInput;
  timeoutMs?: number;
  open?: OpenOptions;
  /** Called each time an LU is done (see {@link ProgressEvent}). */
  onProgress?: (event: ProgressEvent) => void;
}

/** What happened on one LU. */
export interface UnfenceDeviceReport {
  device: string;
  wwn: string;
  ok: boolean;
  /** Paths registered with our key / paths given for this LU. */
  pathsRegistered: number;
  paths: number;
  /** 'reserved': we took the reservation; 'existing': one was already held (by us or another node). */
  reservation: 'reserved' | 'existing' | 'none';
  holder?: bigint;
  unitAttentions: DecodedSense[];
  errors: Error[];
  durationMs: number;
}

/** The result of {@link unfence}. */
export interface UnfenceReport {
  ok: boolean;
  devices: UnfenceDeviceReport[];
  durationMs: number;
}

/**
 * Register `key` on every path of every LU and ensure a reservation. Never throws
 * for device failures; throws a SyscallError (EMFILE / ENFILE) before sending
 * anything when the process cannot open every path at once (see openLogicalUnits).
 */
export async function unfence(options: UnfenceOptions): Promise<UnfenceReport> {
  const key = parseKey(options.key, 'key');
  if (key === 0n) throw new ArgumentRangeError('ERR_INVALID_KEY', 'unfence: key must not be 0');
  if (options.aptpl !== undefined && typeof options.aptpl !== 'boolean') throw new ArgumentTypeError('ERR_INVALID_OPTION', 'unfence: aptpl must be a boolean');
  const type = parseReservationType(options.type ?? 5);
  const call = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  const t0 = monotonicMs();
  const set = await openLogicalUnits(options.devices, options.open);
  try {
    let done = 0;
    const devices = await Promise.all(
      set.units.map(async (lu): Promise<UnfenceDeviceReport> => {
        const start = monotonicMs();
        const r: UnfenceDeviceReport = { device: luName(lu), wwn: lu.wwn, ok: false, pathsRegistered: 0, paths: lu.paths.length + lu.unusable.length, reservation: 'none', unitAttentions: [], errors: lu.unusable.map((u) => u.error), durationMs: 0 };
        await Promise.all(
          lu.paths.map(async (d) => {
            try {
              const out = await d.registerAndIgnoreExistingKey({ newKey: key, ...(options.aptpl ? { aptpl: true } : {}), ...call });
              r.pathsRegistered++;
              r.unitAttentions.push(...out.unitAttentions);
            } catch (e) {
              r.errors.push(e as Error);
            }
          }),
        );
        if (r.pathsRegistered > 0) {
          try {
            let res = (await onAnyPath(lu, (d) => d.readReservation(call))).reservation;
            if (!res) {
              try {
                await onAnyPath(lu, (d) => d.reserve({ key, type, ...call }));
                r.reservation = 'reserved';
              } catch (e) {
                if (!(e instanceof ReservationConflictError)) throw e;
                // Another node reserved between our read and our RESERVE: fine, re-read.
              }
              res = (await onAnyPath(lu, (d) => d.readReservation(call))).reservation;
            }
            if (res) {
              if (r.reservation === 'none') r.reservation = 'existing';
              r.holder = res.key;
            }
            r.ok = r.pathsRegistered === r.paths && res !== null;
          } catch (e) {
            r.errors.push(e as Error);
          }
        }
        r.durationMs = monotonicMs() - start;
        options.onProgress?.({ operation: 'unfence', phase: 'unfence', device: r.device, done: ++done, total: set.units.length, ok: r.ok });
        return withHexInspect(r);
      }),
    );
    return withHexInspect({ ok: devices.length > 0 && devices.every((d) => d.ok), devices, durationMs: monotonicMs() - t0 });
  } finally {
    await set.close();
  }
}
