/**
 * fence(): remove a victim's key from every shared LU, concurrently, verifiably,
 * and safely against the two-nodes-fence-each-other race.
 *
 * Three round trips when nothing goes wrong (each step concurrent across LUs):
 *  1. arbiter + checks: PREEMPT AND ABORT on the first LU in WWN order (the
 *              arbiter LU), sent at once, and READ KEYS on every other LU, all
 *              in flight together. Two nodes fencing each other both start at
 *              the arbiter LU; the device serialises them and the loser's
 *              preempt gets RESERVATION CONFLICT (its key is gone by then).
 *              A check makes sure our key is registered (our key missing
 *              while other keys are registered means another node fenced us:
 *              fence stops and reports `lost`; an LU with no registrations at
 *              all just fails) and tells which LUs still have the victim (victim
 *              absent = already fenced there, nothing is sent to it).
 *  2. fan-out: once the arbiter was won and every check is back, PREEMPT AND
 *              ABORT on every other LU where the victim is registered, at once.
 *  3. verify:  per LU, as soon as its own preempt is back (the arbiter LU and
 *              already-fenced LUs when the fan-out starts): READ KEYS + READ
 *              RESERVATION (both in flight): the victim's key is gone, our key
 *              is there, a reservation exists, the generation advanced.
 * A failing LU never stops the others (except at the arbiter, where it only
 * moves the arbiter to the next LU in WWN order, after that LU's check); the
 * report says exactly which LUs are fenced.
 *
 * Why the arbiter needs no check of its own. The check used to come first (a
 * READ KEYS, then the PREEMPT AND ABORT: a round trip more). It added no safety:
 * a device server refuses every PR OUT but REGISTER from an I_T nexus that is
 * not registered, and a PREEMPT whose reservation key is not the nexus's key,
 * with RESERVATION CONFLICT, and changes nothing (SPC-4's PERSISTENT RESERVE
 * OUT rules; LIO and tgt do so: test/lab/fencing.test.ts fences again once the
 * victim is gone, and has a fenced node try to fence back, on both). So the
 * device checks our registration itself, atomically with the preempt, where
 * the READ KEYS before it was a read that could be stale by the time the
 * preempt arrived. A RESERVATION CONFLICT is explained by one READ KEYS
 * (below): our key gone is `lost` (the other node won, we stop); our key
 * there and the victim's gone means the victim is not registered on the
 * arbiter LU (already fenced there, or an earlier attempt of ours ran): it can
 * no longer win there either, so the arbiter is ours as if we had preempted
 * it; our key there and the victim's too is a stale registration (below).
 * Reports: the arbiter LU has no `generationBefore`, and its verification
 * does not ask for the generation to have advanced (the PREEMPT's GOOD status,
 * or the READ KEYS after a conflict, is what says it ran or was not needed).
 *
 * Why the other checks stay, though the arbiter is won. Among nodes that all
 * fence this way the arbiter alone decides the race: a node can only fence us
 * on another LU after winning the arbiter LU, which removes our key there, so
 * our own arbiter preempt would have been refused. The checks are kept for
 * what that argument does not cover, and they cost no round trip (they run
 * while the arbiter's preempt is out): (a) a node that does not follow this
 * protocol (fence_scsi, sg_persist by hand, an older scsi-pr with other LU
 * order) may have removed our key on some LU: a check that sees it stops the
 * fan-out (`lost`) before we preempt anywhere else; (b) they tell where the
 * victim is still registered, so no PR OUT goes to an LU where it is not
 * (each would be refused and cost a READ KEYS round trip); (c) they give the
 * generation that verification compares against. A check that finds us
 * fenced after the arbiter's preempt was sent leaves that one LU preempted
 * (and verified and reported).
 *
 * Stale registrations: READ KEYS lists keys, not I_T nexuses, so a check can
 * pass on a key registered only through a nexus that no longer exists (an
 * iSCSI session that came back with a new ISID), and the preempt from the
 * current nexus then gets RESERVATION CONFLICT. fence re-reads the keys after
 * a conflict: our key gone is `lost`; our key still there is a stale
 * registration — the LU's next path is tried, and if no path's nexus is
 * registered the LU fails with ERR_NOT_REGISTERED (not `lost`) and, at the
 * arbiter, fence stops. It never re-registers us: `unfence` does that.
 *
 * Faults in the middle (a path or session dropped, a portal black-holed, the
 * target restarted, a slow LU):
 * - a path failure (transport error, timeout, closed device) moves the command
 *   to the LU's next path, and the failed path goes to the end of the LU's list
 *   so the LU's later commands start on a path that answered;
 * - a PREEMPT whose answer was lost may still have run (the target got it, the
 *   connection died before the status came back; or the initiator re-sent it
 *   after recovering the session). The next attempt then meets RESERVATION
 *   CONFLICT because the victim's key is already gone. The READ KEYS that
 *   explains every conflict tells: our key there and the victim's gone means
 *   the LU is where fence wants it (outcome `fenced`, and verified like any
 *   other), not a stale registration;
 * - a target that lost its PR state (tgt keeps it in memory only: a restart
 *   clears it, as a power loss does without APTPL) has no key at all: that LU
 *   fails with ERR_NO_REGISTRATIONS, it is not `lost` (nobody fenced us);
 * - every command has its timeout (`timeoutMs`, enforced by the kernel, with
 *   the transport's watchdog behind it), so fence returns within
 *   the sum of its steps' timeouts over the paths: nothing waits forever.
 *
 * `signal` (an AbortSignal) stops fence from starting any further preempt (no
 * arbiter on the next LU, no fan-out); an LU whose preempt is already out is
 * finished (its other paths tried if its path fails: the preempt may have run,
 * and only the next answer tells); commands already sent are waited for (bounded by their timeout: SCSI cannot take a
 * command back, and fence must know what it did), LUs preempted are verified,
 * and the report says `aborted` and names the LUs left `not-attempted` (with an
 * AbortError). No command of fence's is pending when it returns. Aborted
 * before it started: fence throws AbortError and sends nothing.
 *
 * Targets without PREEMPT AND ABORT (tgt 1.0.85 answers it with ILLEGAL
 * REQUEST, INVALID FIELD IN CDB, and nothing changes): the LU is fenced with
 * PREEMPT instead, unless `requireAbort`. PREEMPT removes the victim's
 * registrations and takes over its reservation exactly like PREEMPT AND ABORT,
 * so the race, verification and `lost` rules are the same; what it does not do
 * is abort the victim's commands already queued at the LU (SPC: PREEMPT AND
 * ABORT also clears the victim's task set). The report names those LUs
 * (`withoutAbort`, `method`). With `requireAbort` such an LU fails with
 * ERR_ABORT_UNSUPPORTED and nothing is sent to it beyond the refused command.
 */
import type { OpenOptions } from '../device';
import { AbortError, ReservationConflictError, ScsiPrError, ScsiSenseError } from '../errors';
import { ArgumentRangeError, ArgumentTypeError } from '../invalid-argument';
import { formatKey, parseKey, type KeyInput } from '../scsi/keys';
import { demotePath, isPathFailure, luName, noUsablePath, onAnyPath, openLogicalUnits, type DeviceInput, type LogicalUnit } from './logical-units';
import { parseReservationType, type ReservationTypeInput } from '../scsi/reservation-types';
import { withHexInspect } from '../hex-inspect';
import { coarseNow, monotonicMs } from '../transport/coarse-clock';
import type { ProgressEvent } from './progress-event';

/** Per-LU finish times: one clock read per event-loop turn, never before the start. */
const since = (t0: number) => Math.max(0, coarseNow() - t0);

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
  /** Called each time an LU finishes a phase (`'check'` (every LU but the arbiter LU), `'arbiter'`, `'preempt'`, `'verify'`). */
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Refuse the PREEMPT fallback (default false). Where a target rejects PREEMPT
   * AND ABORT as unsupported (ILLEGAL REQUEST, INVALID FIELD IN CDB or INVALID
   * COMMAND OPERATION CODE), fence uses PREEMPT, which removes the victim's
   * key and reservation but leaves its already-queued commands to run; with
   * `requireAbort` such an LU fails with ERR_ABORT_UNSUPPORTED instead.
   */
  requireAbort?: boolean;
  /**
   * Stop fencing: once it fires, no further LU is preempted (arbiter on the next
   * LU, fan-out); an LU whose preempt is out is finished. Commands already sent are waited for (each within its
   * timeout), preempted LUs are verified, the others are reported
   * `not-attempted` with an AbortError, and the report says `aborted`. Already
   * aborted at the call: AbortError is thrown and nothing is sent.
   */
  signal?: AbortSignal;
}

/** The PR OUT service action that removed the victim's key from an LU. */
export type PreemptMethod = 'preempt-and-abort' | 'preempt';

/** What happened on one LU. */
export interface FenceDeviceReport {
  /** The name the caller gave (first, if several paths led to the same LU). */
  device: string;
  wwn: string;
  /** 'fenced': we removed the key; 'already-fenced': the victim was not registered;
   *  'failed': an error (see `error`; ERR_NOT_REGISTERED when our key is registered
   *  on the LU only through other, stale I_T nexuses, so the preempt was refused);
   *  'lost': our own key was gone (we were fenced);
   *  'not-attempted': we stopped before this LU (lost the race). */
  outcome: 'fenced' | 'already-fenced' | 'failed' | 'lost' | 'not-attempted';
  /** true when the victim's key is verified gone from this LU and a reservation exists. */
  ok: boolean;
  error?: Error;
  /** PRgeneration seen by the check; absent on the arbiter LU, whose preempt is sent without one. */
  generationBefore?: number;
  generationAfter?: number;
  /** Reservation after the operation. */
  reservation?: { key: bigint; type: number } | null;
  /**
   * How the victim's key was removed, when we removed it (outcome 'fenced'):
   * 'preempt' on a target that refused PREEMPT AND ABORT — the victim's commands
   * already queued at the LU were not aborted.
   */
  method?: PreemptMethod;
  /** From the start of the operation until this LU's last step finished (ms). */
  durationMs: number;
  /**
   * Path failures this LU met (transport error, timeout, closed device, failed
   * system call), in order, each followed by the LU's next path: which paths of
   * a fenced LU are in trouble. Absent when there was none.
   */
  pathFailures?: Array<{ path: string; error: Error }>;
}

/** The result of {@link fence}. */
export interface FenceReport {
  /** Every LU is verified fenced. */
  ok: boolean;
  /** We found our own key gone (another node fenced us): we did not (or stopped to) fence. */
  lost: boolean;
  /**
   * `signal` fired while fencing: LUs not preempted by then are `not-attempted`
   * (see their `error`). fence always sets it; optional so that reports made
   * before it existed (stored, or built by callers' tests) still type-check.
   */
  aborted?: boolean;
  /** Names of LUs verified fenced, and of those that are not. */
  fenced: string[];
  notFenced: string[];
  /**
   * LUs fenced with PREEMPT because the target refused PREEMPT AND ABORT: the
   * victim's key is gone and verified, but its commands already queued there
   * were not aborted (they may still complete). Empty when every preempt aborted.
   */
  withoutAbort: string[];
  devices: FenceDeviceReport[];
  durationMs: number;
  /**
   * Where the time went (ms): open (paths + WWN grouping), check (until every
   * check is back), arbiter (until the arbiter is won, after the checks; 0 when
   * it was won before they were all back), preempt (until the last fan-out
   * preempt is back), verify (until the last verify is back; verifies start per
   * LU during the fan-out), close. They add up to `durationMs`.
   */
  phases: Record<'open' | 'check' | 'arbiter' | 'preempt' | 'verify' | 'close', number>;
}


/**
 * Fence `victimKey` off every LU in `devices`. Never throws for device failures:
 * see the report. Throws, before sending anything: ArgumentTypeError /
 * ArgumentRangeError for bad options, AbortError when `signal` is already
 * aborted, SyscallError (EMFILE / ENFILE) when the process cannot open every
 * path at once.
 */
export async function fence(options: FenceOptions): Promise<FenceReport> {
  const key = parseKey(options.key, 'key');
  const victim = parseKey(options.victimKey, 'victimKey');
  if (key === 0n || victim === 0n) throw new ArgumentRangeError('ERR_INVALID_KEY', 'fence: key and victimKey must not be 0');
  if (key === victim) throw new ArgumentRangeError('ERR_INVALID_KEY', `fence: key and victimKey are both ${formatKey(key)}: a node cannot fence itself`);
  const type = parseReservationType(options.type ?? 5);
  const call = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new ArgumentTypeError('ERR_INVALID_OPTION', 'fence: signal must be an AbortSignal');
  if (signal?.aborted) throw new AbortError('fence: aborted before it started (nothing was sent)', {}, { cause: signal.reason });
  const t0 = monotonicMs();
  const phases = { open: 0, check: 0, arbiter: 0, preempt: 0, verify: 0, close: 0 };
  let mark = t0;
  const phaseDone = (name: keyof typeof phases) => {
    const t = monotonicMs();
    phases[name] = t - mark;
    mark = t;
  };
  const set = await openLogicalUnits(options.devices, options.open);
  phaseDone('open');
  let closed = false;
  try {
    const reports = new Map<LogicalUnit, FenceDeviceReport>();
    for (const lu of set.units) reports.set(lu, { device: luName(lu), wwn: lu.wwn, outcome: 'not-attempted', ok: false, durationMs: 0 });
    const progress = (phase: ProgressEvent['phase'], total = set.units.length) => {
      let done = 0;
      return (lu: LogicalUnit, ok: boolean) => options.onProgress?.({ operation: 'fence', phase, device: luName(lu), done: ++done, total, ok });
    };
    /** Records a path failure of `lu` in its report (onAnyPath's callback). */
    const pathFailed = (lu: LogicalUnit) => (d: { path: string }, e: unknown) => {
      const r = reports.get(lu)!;
      (r.pathFailures ??= []).push({ path: d.path, error: e as Error });
    };
    const fail = (lu: LogicalUnit, e: unknown, outcome: 'failed' | 'lost' = 'failed') => {
      const r = reports.get(lu)!;
      r.outcome = outcome;
      r.error = e as Error;
    };
    /** The signal fired: true, and the LU is left `not-attempted` with an AbortError saying so. */
    const abortedBefore = (lu: LogicalUnit, what: string): boolean => {
      if (!signal?.aborted) return false;
      const r = reports.get(lu)!;
      r.outcome = 'not-attempted';
      r.error = new AbortError(`${luName(lu)}: fence aborted before ${what} was sent: not fenced here`, { path: luName(lu) }, { cause: signal.reason });
      return true;
    };

    // The per-LU steps run as a pipeline: no LU waits for the slowest LU of the
    // previous step, except where safety needs a barrier (the fan-out starts only
    // once every check is back and the arbiter won).
    /** LUs where we are registered and the victim too: the ones to preempt. */
    const candidates = new Set<LogicalUnit>();
    let lost = false;
    /** A preempt met RESERVATION CONFLICT that was not `lost` (our key registered through stale nexuses only, or unreadable): the arbiter stops here. */
    let halted = false;
    // The arbiter LU (first in WWN order) is not checked: its preempt goes out at once.
    const checked = progress('check', Math.max(0, set.units.length - 1));
    const check = async (lu: LogicalUnit): Promise<void> => {
      try {
        const { generation, keys } = await onAnyPath(lu, (d) => d.readKeys(call), pathFailed(lu));
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
        } else if (keys.includes(victim)) {
          candidates.add(lu);
        } else {
          r.outcome = 'already-fenced';
        }
        checked(lu, true);
      } catch (e) {
        fail(lu, e);
        checked(lu, false);
      }
    };

    /**
     * PREEMPT AND ABORT through the LU's paths in turn: a path failure moves to
     * the next path (as onAnyPath). RESERVATION CONFLICT means the nexus it was
     * sent through is not registered with our key; READ KEYS tells why:
     * - our key is gone: another node fenced us (lost, as before);
     * - our key is still listed: it is registered only through other I_T
     *   nexuses — a stale registration (an iSCSI session that came back with a
     *   new ISID leaves the old nexus registered and the new one not). The next
     *   path is tried (its nexus may be registered); when none is, the LU fails
     *   with ERR_NOT_REGISTERED and, at the arbiter, fence stops: it never
     *   re-registers us (that could undo a fence that lands in between), and
     *   it does not claim `lost` for a key that is registered. `unfence`
     *   registers the current nexuses.
     * `unchecked`: the LU had no check before (the arbiter LU). A conflict whose
     * READ KEYS shows our key and not the victim's then means the victim was not
     * registered there (outcome `already-fenced`), unless an earlier attempt
     * through a failed path may have run (then `fenced`, as on a checked LU).
     */
    const preempt = async (lu: LogicalUnit, unchecked = false): Promise<boolean> => {
      let conflict: ReservationConflictError | undefined;
      const stale: string[] = [];
      let last: unknown; // the last path failure (noUsablePath when there was no path to try)
      let method: PreemptMethod = 'preempt-and-abort';
      /** An earlier attempt failed with its path: it may have run at the target. */
      let mayHaveRun = false;
      // Once an LU's preempt is out, the LU is finished even if the signal fires
      // meanwhile: a path failure may hide a preempt that ran, and the next path
      // (or the conflict's READ KEYS) is how fence learns what the LU's state is.
      if (abortedBefore(lu, 'the preempt')) return false;
      const paths = [...lu.paths]; // a snapshot: demotePath reorders lu.paths
      for (let i = 0; i < paths.length; i++) {
        const d = paths[i]!;
        try {
          const args = { key, preemptKey: victim, type, ...call };
          await (method === 'preempt-and-abort' ? d.preemptAndAbort(args) : d.preempt(args));
          const r = reports.get(lu)!;
          r.outcome = 'fenced';
          r.method = method;
          return true;
        } catch (e) {
          if (isPathFailure(e)) {
            last = e;
            mayHaveRun = true;
            demotePath(lu, d);
            pathFailed(lu)(d, e);
            continue;
          }
          if (method === 'preempt-and-abort' && isUnsupportedServiceAction(e)) {
            // Refused before it did anything (CHECK CONDITION): the LU is unchanged.
            if (options.requireAbort) {
              candidates.delete(lu); // refused for good: the fan-out does not ask again
              fail(lu, new ScsiPrError('ERR_ABORT_UNSUPPORTED', `${luName(lu)}: the target refuses PREEMPT AND ABORT (${e.sense.ascName}) and requireAbort is set: not fenced (PREEMPT would remove the key without aborting the victim's queued commands)`, { path: luName(lu) }, { cause: e }));
              return false;
            }
            method = 'preempt';
            i--; // the same path again, with PREEMPT
            continue;
          }
          if (!(e instanceof ReservationConflictError)) {
            fail(lu, e);
            return false;
          }
          conflict = e;
          let keys: bigint[];
          try {
            keys = (await onAnyPath(lu, (p) => p.readKeys(call), pathFailed(lu))).keys;
          } catch {
            // Cannot tell lost from stale: fail this LU, claim neither, and stop (see `halted`).
            halted = true;
            fail(lu, e);
            return false;
          }
          if (keys.length === 0) {
            // Nobody is registered (the target lost its PR state, e.g. tgt restarted):
            // not fenced here, and not `lost` either — no node fenced us.
            fail(lu, new ScsiPrError('ERR_NO_REGISTRATIONS', `${luName(lu)}: no key is registered at all any more (the target lost its persistent reservations, or they were cleared): not fenced here`, { path: luName(lu) }, { cause: e }));
            return false;
          }
          if (!keys.includes(key)) {
            // Our registration is gone here: another node fenced us first.
            lost = true;
            fail(lu, e, 'lost');
            return false;
          }
          if (!keys.includes(victim)) {
            // Our key is there and the victim's is gone: an earlier attempt of ours
            // ran though its answer was lost (a path that failed, or a command the
            // initiator re-sent after recovering its session), or another node
            // removed the victim. The LU is where fence wants it; verify checks it.
            const r = reports.get(lu)!;
            if (unchecked && !mayHaveRun) {
              r.outcome = 'already-fenced';
            } else {
              r.outcome = 'fenced';
              r.method = method;
            }
            return true;
          }
          stale.push(d.path);
        }
      }
      if (conflict) {
        halted = true;
        fail(
          lu,
          new ScsiPrError(
            'ERR_NOT_REGISTERED',
            `${luName(lu)}: our key ${formatKey(key)} is registered, but not through ${stale.join(', ')}: a stale registration of an I_T nexus that no longer exists (e.g. an iSCSI session that came back with a new ISID); fence does not re-register: unfence registers the current nexuses`,
            { path: luName(lu) },
            { cause: conflict },
          ),
        );
      } else {
        fail(lu, last ?? noUsablePath(lu));
      }
      return false;
    };

    const verified = progress('verify');
    /** READ KEYS + READ RESERVATION: the victim's key is gone, ours is there, a reservation exists, the generation advanced. */
    const verify = async (lu: LogicalUnit): Promise<void> => {
      const r = reports.get(lu)!;
      try {
        // READ KEYS and READ RESERVATION, both in flight: all verify needs, from
        // commands every target has, in small buffers.
        const [ks, rs] = await onAnyPath(lu, (d) => Promise.all([d.readKeys(call), d.readReservation(call)]), pathFailed(lu));
        r.generationAfter = ks.generation;
        const holder = rs.reservation;
        r.reservation = holder ? withHexInspect({ key: holder.key, type: holder.type }) : null;
        const victimGone = !ks.keys.includes(victim);
        const ourKeyThere = ks.keys.includes(key);
        // No generation before on the arbiter LU (not checked: see the top of this
        // file): its preempt's GOOD status, or the READ KEYS after its conflict,
        // is what says it ran or was not needed.
        const advanced = r.outcome === 'already-fenced' || r.generationBefore === undefined || ks.generation > r.generationBefore;
        r.ok = victimGone && holder !== null && advanced && ourKeyThere;
        if (!r.ok) {
          const why = [!victimGone && 'the victim key is still registered', !holder && 'no reservation is held', !advanced && 'the generation did not advance', !ourKeyThere && 'our own key is gone'].filter(Boolean).join(', ');
          // A known target bug: Linux nvmet 7.2 (not 7.3.4) takes a preempt from the holder as a change of
          // reservation type only and leaves the preempted key registered (test/lab-nvme/block-pr.test.ts).
          const hint = !victimGone && holder?.key === key ? ' (we hold the reservation: a target that takes the holder\'s preempt as a change of reservation type only, as Linux nvmet 7.2 does, leaves the victim registered)' : '';
          r.error = new ScsiPrError('ERR_FENCE_NOT_VERIFIED', `${luName(lu)}: fence not verified: ${why}${hint}`, { path: luName(lu) });
          // Our key gone while others are registered: we were fenced. No key at all: the target lost its PR state.
          if (!ourKeyThere && ks.keys.length > 0) lost = true;
        }
        verified(lu, r.ok);
      } catch (e) {
        r.error = e as Error;
        verified(lu, false);
      }
      r.durationMs = since(t0);
    };

    // 1. The arbiter's preempt on the first LU in WWN order and the checks of all
    // the others, all in flight at once: the device serialises two nodes racing
    // at the arbiter LU, and the loser touches nothing else. Should the arbiter
    // LU fail (no path answers, nobody registered, a stale registration...), the
    // next LU in WWN order is the arbiter, once its check is back.
    const checks = set.units.map((lu, i) => (i === 0 ? Promise.resolve() : check(lu)));
    const arbitrated = progress('arbiter');
    let arbiterLu: LogicalUnit | undefined;
    const arbiter = (async () => {
      for (let i = 0; i < set.units.length && !lost && !halted; i++) {
        await checks[i];
        const lu = set.units[i];
        if (signal?.aborted) break; // the LUs left are reported below
        if (lost || (i > 0 && !candidates.has(lu))) continue;
        const won = await preempt(lu, i === 0);
        arbitrated(lu, won);
        if (won) {
          arbiterLu = lu;
          break;
        }
      }
    })();
    await Promise.all([Promise.all(checks).then(() => phaseDone('check')), arbiter]);
    phaseDone('arbiter');

    // 3. fan-out: PREEMPT AND ABORT on every other candidate at once (only when the
    // arbiter was won and no check found us fenced); 4. each LU is verified as soon
    // as its own preempt is back, already-fenced LUs and the arbiter LU right away.
    const fanOut = arbiterLu && !lost && !signal?.aborted ? set.units.filter((lu) => candidates.has(lu) && lu !== arbiterLu) : [];
    const fanned = progress('preempt');
    let preemptsLeft = fanOut.length;
    if (preemptsLeft === 0) phaseDone('preempt');
    await Promise.all(
      set.units.map(async (lu) => {
        if (fanOut.includes(lu)) {
          fanned(lu, await preempt(lu));
          if (--preemptsLeft === 0) phaseDone('preempt');
        }
        const r = reports.get(lu)!;
        if (r.outcome === 'not-attempted' && !r.error && !lost && !halted && candidates.has(lu) && signal?.aborted) {
          abortedBefore(lu, 'the fan-out preempt');
        }
        if (r.outcome === 'fenced' || r.outcome === 'already-fenced') await verify(lu);
        else r.durationMs = since(t0);
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
      aborted: signal?.aborted === true,
      fenced: devices.filter((d) => d.ok).map((d) => d.device),
      notFenced: devices.filter((d) => !d.ok).map((d) => d.device),
      withoutAbort: devices.filter((d) => d.ok && d.method === 'preempt').map((d) => d.device),
      devices,
      durationMs: monotonicMs() - t0,
      phases,
    });
  } finally {
    if (!closed) await set.close();
  }
}

/**
 * ILLEGAL REQUEST for a command the target does not implement: INVALID FIELD IN
 * CDB (24h/00h, an unsupported service action) or INVALID COMMAND OPERATION CODE
 * (20h/00h). The command did nothing.
 */
function isUnsupportedServiceAction(e: unknown): e is ScsiSenseError {
  return e instanceof ScsiSenseError && e.sense.senseKey === 0x5 && e.sense.ascq === 0 && (e.sense.asc === 0x24 || e.sense.asc === 0x20);
}
