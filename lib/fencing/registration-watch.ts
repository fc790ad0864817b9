/**
 * Watch this node's registration: for cluster managers that embed scsi-pr and
 * must stop themselves once another node fenced them (the seed's "suicide").
 *
 * Every `intervalMs` each LU is read (READ KEYS, any path). Besides, every
 * UNIT ATTENTION 2Ah/03 RESERVATIONS PREEMPTED, 2Ah/04 RESERVATIONS RELEASED
 * or 2Ah/05 REGISTRATIONS PREEMPTED met by any command of the watched Devices (the watcher's own reads
 * and the caller's I/O on Devices it passed in) triggers a read of every LU at
 * once. The node counts as fenced only on evidence: a READ KEYS that answered
 * and does not hold our key. A read that fails (path down, timeout) is
 * reported through `onError` and is never taken for a fence.
 */
import type { OpenOptions } from '../device';
import { ArgumentRangeError, ArgumentTypeError } from '../invalid-argument';
import { formatKey, parseKey, type KeyInput } from '../scsi/keys';
import type { DecodedSense } from '../scsi/sense';
import { monotonicMs } from '../transport/coarse-clock';
import { luName, onAnyPath, openLogicalUnits, type DeviceInput, type LogicalUnit, type LogicalUnitSet } from './logical-units';

/** ASC 2Ah with ASCQ 03h RESERVATIONS PREEMPTED, 04h RESERVATIONS RELEASED or 05h REGISTRATIONS PREEMPTED (SPC-4 Annex D). */
const PREEMPTED_ASC = 0x2a;
const PREEMPTED_ASCQS: ReadonlySet<number> = new Set([0x03, 0x04, 0x05]);

/** Options of {@link watchRegistration}. */
export interface WatchRegistrationOptions {
  /** Device paths (or open Devices, left open) of every LU this node must stay registered on. */
  devices: DeviceInput[];
  /** This node's key. */
  key: KeyInput;
  /** Time between two reads of every LU, 100 ms to 1 hour (default 5000). */
  intervalMs?: number;
  /** Per-command timeout (default: the open option, else 30 s). */
  timeoutMs?: number;
  /** Options for opening the devices given as paths. */
  open?: OpenOptions;
  /** Called once, with the evidence, when our key is found missing; the watch then stops. */
  onFenced: (evidence: FencedEvidence) => void;
  /** Called when an LU could not be read (no evidence either way); the watch goes on. */
  onError?: (error: Error, device: string) => void;
}

/** Why the watch concluded that this node was fenced. */
export interface FencedEvidence {
  /** The LU whose READ KEYS no longer holds our key. */
  device: string;
  /** Its WWN. */
  wwn: string;
  /** Our key. */
  key: bigint;
  /** The keys READ KEYS returned (ours not among them), and the generation. */
  keys: bigint[];
  generation: number;
  /** What led to the read: the periodic poll, or a UNIT ATTENTION 2Ah/03, 2Ah/04 or 2Ah/05. */
  trigger: 'poll' | 'unit-attention';
  /** The UNIT ATTENTION that triggered the read, when `trigger` is 'unit-attention'. */
  unitAttention?: DecodedSense;
  /** Milliseconds from the trigger (the UA, or the start of the poll) to this report. */
  detectionMs: number;
}

/** A running watch. */
export interface RegistrationWatch {
  /** Stops polling, removes the UNIT ATTENTION listeners and closes the devices it opened; idempotent. */
  stop(): Promise<void>;
  /** Reads every LU now (as a poll would); resolves when the read is done. */
  check(): Promise<void>;
  /** Resolves with the evidence once fenced, or null once stopped without. */
  readonly done: Promise<FencedEvidence | null>;
}

/**
 * Start watching our registration on every LU of `devices`. The first read
 * happens before this resolves, so a node that is already fenced is reported
 * at once.
 *
 * @throws ArgumentTypeError / ArgumentRangeError for invalid options, before any I/O.
 */
export async function watchRegistration(options: WatchRegistrationOptions): Promise<RegistrationWatch> {
  if (typeof options !== 'object' || options === null) throw new ArgumentTypeError('ERR_INVALID_OPTION', 'watchRegistration: options must be an object');
  const key = parseKey(options.key, 'key');
  if (key === 0n) throw new ArgumentRangeError('ERR_INVALID_KEY', 'watchRegistration: key must not be 0');
  const intervalMs = options.intervalMs ?? 5000;
  if (!Number.isInteger(intervalMs) || intervalMs < 100 || intervalMs > 3_600_000) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `watchRegistration: intervalMs must be an integer from 100 to 3600000, got ${String(intervalMs)}`);
  }
  if (typeof options.onFenced !== 'function') throw new ArgumentTypeError('ERR_INVALID_OPTION', 'watchRegistration: onFenced must be a function');
  if (options.onError !== undefined && typeof options.onError !== 'function') throw new ArgumentTypeError('ERR_INVALID_OPTION', 'watchRegistration: onError must be a function');
  const call = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  const set: LogicalUnitSet = await openLogicalUnits(options.devices, options.open);

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveDone!: (v: FencedEvidence | null) => void;
  const done = new Promise<FencedEvidence | null>((r) => (resolveDone = r));
  const removers: Array<() => void> = [];
  let running: Promise<void> | undefined;
  let again: { trigger: FencedEvidence['trigger']; ua?: DecodedSense; t0: number } | undefined;

  const stop = async (evidence: FencedEvidence | null = null): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    for (const remove of removers.splice(0)) remove();
    resolveDone(evidence);
    await set.close();
  };

  const readOne = async (lu: LogicalUnit, trigger: FencedEvidence['trigger'], ua: DecodedSense | undefined, t0: number): Promise<FencedEvidence | null> => {
    try {
      const { keys, generation } = await onAnyPath(lu, (d) => d.readKeys(call));
      if (keys.includes(key)) return null;
      return { device: luName(lu), wwn: lu.wwn, key, keys, generation, trigger, ...(ua ? { unitAttention: ua } : {}), detectionMs: monotonicMs() - t0 };
    } catch (e) {
      if (!stopped) options.onError?.(e as Error, luName(lu));
      return null;
    }
  };

  /** One read of every LU; a trigger arriving meanwhile runs one more right after. */
  const readAll = (trigger: FencedEvidence['trigger'], ua?: DecodedSense, t0 = monotonicMs()): Promise<void> => {
    if (running) {
      again ??= { trigger, ua, t0 };
      return running;
    }
    running = (async () => {
      if (timer) clearTimeout(timer);
      const found = (await Promise.all(set.units.map((lu) => readOne(lu, trigger, ua, t0)))).find((x) => x !== null);
      running = undefined;
      if (stopped) return;
      if (found) {
        try {
          options.onFenced(found);
        } finally {
          await stop(found);
        }
        return;
      }
      const next = again;
      again = undefined;
      if (next) return readAll(next.trigger, next.ua, next.t0);
      timer = setTimeout(() => void readAll('poll'), intervalMs);
    })();
    return running;
  };

  for (const lu of set.units) {
    for (const d of lu.paths) {
      removers.push(
        d.onUnitAttention((sense) => {
          if (!stopped && sense.asc === PREEMPTED_ASC && PREEMPTED_ASCQS.has(sense.ascq)) void readAll('unit-attention', sense);
        }),
      );
    }
  }
  await readAll('poll');
  return {
    stop: () => stop(null),
    check: () => (stopped ? Promise.resolve() : readAll('poll')),
    done,
  };
}

/** `watchRegistration`'s message for an evidence: which LU, which keys. */
export function describeFencedEvidence(e: FencedEvidence): string {
  const keys = e.keys.length > 0 ? e.keys.map(formatKey).join(' ') : 'none';
  return `${e.device}: our key ${formatKey(e.key)} is not registered (keys: ${keys}, generation ${e.generation}; found by ${e.trigger === 'poll' ? 'a periodic read' : 'a PREEMPTED unit attention'} in ${e.detectionMs.toFixed(0)} ms)`;
}
