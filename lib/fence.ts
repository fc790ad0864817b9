/**
 * fence(): remove a victim's key from every shared LU, concurrently, verifiably,
 * and safely against the two-nodes-fence-each-other race.
 *
 * Algorithm (each step concurrent across LUs unless said otherwise):
 *  1. check:   READ KEYS on every LU — our key must be registered everywhere
 *              (we never re-register ourselves here: our key missing while other
 *              keys are registered means another node fenced us, so we stop and
 *              report `lost`; an LU with no registrations at all just fails).
 *              Victim absent on an LU = already fenced there.
 *  2. arbiter: PREEMPT AND ABORT on the first LU in WWN order alone. Two nodes
 *              fencing each other both start here; the device serialises them, the
 *              loser gets RESERVATION CONFLICT, stops, and touches nothing else.
 *  3. fan-out: PREEMPT AND ABORT on every other LU at once.
 *  4. verify:  READ KEYS + READ RESERVATION on every LU (both in flight): the
 *              victim's key is gone, our key is there, a reservation exists, the
 *              generation advanced.
 * A failing LU never stops the others (except in step 2, where it only moves the
 * arbiter to the next LU); the report says exactly which LUs are fenced.
 */
import type { Device, OpenOptions } from './device';
import { ReservationConflictError, ScsiPrError } from './errors';
import { ArgumentRangeError } from './invalid-argument';
import { formatKey, parseKey, type KeyInput } from './keys';
import { luName, onAnyPath, openLogicalUnits, type DeviceInput, type LogicalUnit } from './logical-units';
import { parseReservationType, type ReservationTypeInput } from './reservation-types';
import { withHexInspect } from './hex-inspect';

/** Progress events of multi-device operations. */
export interface ProgressEvent {
  operation: 'fence' | 'unfence' | 'status';
  phase: string;
  device: string;
  /** Devices finished with this phase so far / in all. */
  done: number;
  total: number;
  ok: boolean;
}

/** Options of {@link fence}. */
export interface FenceOptions {
  /** Device paths (or open Devices) of every shared LU; multipath maps expand to their paths. */
  devices: readonly DeviceInput[];
  /** Our registered key. */
  key: KeyInput;
  /** The key of the node to fence. */
  victimKey: KeyInput;
  /** Reservation type to take if the victim held the reservation (default 5, Write Exclusive Registrants Only). */
  type?: ReservationTypeInput;
  /** Per-command timeout (ms). */
  timeoutMs?: number;
  /** Options for opening the devices given as paths. */
  open?: OpenOptions;
  onProgress?: (event: ProgressEvent) => void;
}

/** What happened on one LU. */
export interface FenceDeviceReport {
  /** The name the caller gave (first, if several paths led to the same LU). */
  device: string;
  wwn: string;
  /** 'fenced': we removed the key; 'already-fenced': the victim was not registered;
   *  'failed': an error (see `error`); 'lost': our own key was gone (we were fenced);
   *  'not-attempted': we stopped before this LU (lost the race). */
  outcome: 'fenced' | 'already-fenced' | 'failed' | 'lost' | 'not-attempted';
  /** true when the victim's key is verified gone from this LU and a reservation exists. */
  ok: boolean;
  error?: Error;
  generationBefore?: number;
  generationAfter?: number;
  /** Reservation after the operation. */
  reservation?: { key: bigint; type: number } | null;
  /** From the start of the operation until this LU's last step finished (ms). */
  durationMs: number;
}

/** The result of {@link fence}. */
export interface FenceReport {
  /** Every LU is verified fenced. */
  ok: boolean;
  /** We found our own key gone (another node fenced us): we did not (or stopped to) fence. */
  lost: boolean;
  /** Names of LUs verified fenced, and of those that are not. */
  fenced: string[];
  notFenced: string[];
  devices: FenceDeviceReport[];
  durationMs: number;
  /** Wall time of each phase (ms): open (paths + WWN grouping), check, arbiter, preempt (fan-out), verify, close. */
  phases: Record<'open' | 'check' | 'arbiter' | 'preempt' | 'verify' | 'close', number>;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

/** Fence `victimKey` off every LU in `devices`. Never throws for device failures: see the report. */
export async function fence(options: FenceOptions): Promise<FenceReport> {
  const key = parseKey(options.key, 'key');
  const victim = parseKey(options.victimKey, 'victimKey');
  if (key === 0n || victim === 0n) throw new ArgumentRangeError('ERR_INVALID_KEY', 'fence: key and victimKey must not be 0');
  if (key === victim) throw new ArgumentRangeError('ERR_INVALID_KEY', `fence: key and victimKey are both ${formatKey(key)}: a node cannot fence itself`);
  const type = parseReservationType(options.type ?? 5);
  const call = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  const t0 = now();
  const phases = { open: 0, check: 0, arbiter: 0, preempt: 0, verify: 0, close: 0 };
  let mark = t0;
  const phaseDone = (name: keyof typeof phases) => {
    const t = now();
    phases[name] = t - mark;
    mark = t;
  };
  const set = await openLogicalUnits(options.devices, options.open);
  phaseDone('open');
  let closed = false;
  try {
    const reports = new Map<LogicalUnit, FenceDeviceReport>();
    for (const lu of set.units) reports.set(lu, { device: luName(lu), wwn: lu.wwn, outcome: 'not-attempted', ok: false, durationMs: 0 });
    const total = set.units.length;
    const progress = (phase: string) => {
      let done = 0;
      return (lu: LogicalUnit, ok: boolean) => options.onProgress?.({ operation: 'fence', phase, device: luName(lu), done: ++done, total, ok });
    };
    const fail = (lu: LogicalUnit, e: unknown, outcome: 'failed' | 'lost' = 'failed') => {
      const r = reports.get(lu)!;
      r.outcome = outcome;
      r.error = e as Error;
    };

    // 1. check
    const victimThere = new Map<LogicalUnit, boolean>();
    let lost = false;
    const checked = progress('check');
    await Promise.all(
      set.units.map(async (lu) => {
        try {
          const { generation, keys } = await onAnyPath(lu, (d) => d.readKeys(call));
          const r = reports.get(lu)!;
          r.generationBefore = generation;
          if (!keys.includes(key) && keys.length === 0) {
            // Nobody is registered: no node fenced us here (it would be registered itself).
            // An LU that was never unfenced, was cleared, or is not the LU we think (LIO
            // answers for an unmapped LUN 0 with a virtual LUN 0). This LU fails; the others go on.
            fail(lu, new ScsiPrError('ERR_NO_REGISTRATIONS', `${luName(lu)}: no key is registered at all (not unfenced, cleared, or not the expected LU); cannot fence here`, { path: luName(lu) }));
          } else if (!keys.includes(key)) {
            lost = true;
            fail(lu, new ScsiPrError('ERR_NOT_REGISTERED', `${luName(lu)}: our key ${formatKey(key)} is not registered while other keys are (another node fenced us)`, { path: luName(lu) }), 'lost');
          } else {
            victimThere.set(lu, keys.includes(victim));
            if (!keys.includes(victim)) r.outcome = 'already-fenced';
          }
          checked(lu, true);
        } catch (e) {
          fail(lu, e);
          checked(lu, false);
        }
      }),
    );

    phaseDone('check');
    const candidates = set.units.filter((lu) => victimThere.get(lu) === true);
    const preempt = async (lu: LogicalUnit): Promise<boolean> => {
      try {
        await onAnyPath(lu, (d: Device) => d.preemptAndAbort({ key, preemptKey: victim, type, ...call }));
        reports.get(lu)!.outcome = 'fenced';
        return true;
      } catch (e) {
        if (e instanceof ReservationConflictError) {
          // Our registration is gone here: another node fenced us first.
          lost = true;
          fail(lu, e, 'lost');
        } else {
          fail(lu, e);
        }
        return false;
      }
    };

    // 2. arbiter, then 3. fan-out
    if (!lost) {
      const arbitrated = progress('arbiter');
      let rest: LogicalUnit[] = [];
      for (let i = 0; i < candidates.length; i++) {
        const ok = await preempt(candidates[i]);
        arbitrated(candidates[i], ok);
        if (ok) {
          rest = candidates.slice(i + 1);
          break;
        }
        if (lost) break;
      }
      phaseDone('arbiter');
      if (!lost && rest.length > 0) {
        const fanned = progress('preempt');
        await Promise.all(rest.map(async (lu) => fanned(lu, await preempt(lu))));
      }
      phaseDone('preempt');
    }

    // 4. verify every LU we could reach
    const verified = progress('verify');
    await Promise.all(
      set.units.map(async (lu) => {
        const r = reports.get(lu)!;
        if (r.outcome !== 'fenced' && r.outcome !== 'already-fenced') {
          r.durationMs = now() - t0;
          return;
        }
        try {
          // READ KEYS and READ RESERVATION, both in flight: all verify needs, in small buffers.
          const [ks, rs] = await onAnyPath(lu, (d) => Promise.all([d.readKeys(call), d.readReservation(call)]));
          r.generationAfter = ks.generation;
          const holder = rs.reservation;
          r.reservation = holder ? withHexInspect({ key: holder.key, type: holder.type }) : null;
          const victimGone = !ks.keys.includes(victim);
          const ourKeyThere = ks.keys.includes(key);
          const advanced = r.outcome === 'already-fenced' || (r.generationBefore !== undefined && ks.generation > r.generationBefore);
          r.ok = victimGone && holder !== null && advanced && ourKeyThere;
          if (!r.ok) {
            const why = [!victimGone && 'the victim key is still registered', !holder && 'no reservation is held', !advanced && 'the generation did not advance', !ourKeyThere && 'our own key is gone'].filter(Boolean).join(', ');
            r.error = new ScsiPrError('ERR_FENCE_NOT_VERIFIED', `${luName(lu)}: fence not verified: ${why}`, { path: luName(lu) });
            if (!ourKeyThere) lost = true;
          }
          verified(lu, r.ok);
        } catch (e) {
          r.error = e as Error;
          verified(lu, false);
        }
        r.durationMs = now() - t0;
      }),
    );
    phaseDone('verify');
    closed = true;
    await set.close();
    phaseDone('close');

    const devices = set.units.map((lu) => reports.get(lu)!);
    return withHexInspect({
      ok: devices.length > 0 && devices.every((d) => d.ok),
      lost,
      fenced: devices.filter((d) => d.ok).map((d) => d.device),
      notFenced: devices.filter((d) => !d.ok).map((d) => d.device),
      devices,
      durationMs: now() - t0,
      phases,
    });
  } finally {
    if (!closed) await set.close();
  }
}
