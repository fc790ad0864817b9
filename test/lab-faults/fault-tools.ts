/**
 * What the fault tests need besides test/lab/lab-env.ts: the fault controls of
 * scripts/lab/guest-tools.js (typed), the time budget of a fence under faults,
 * and the SAN's state read with sg3_utils (independent of scsi-pr).
 */
import { join } from 'node:path';
import { DEFAULT_RETRY, type RetryOptions } from '../../lib';
import { TIMEOUT_GRACE_MS } from '../../lib/transport/scsi-transport';
import { run, type LabMap } from '../lab/lab-env';

/** The fault controls of guest-tools.js (see its header). Each returns a Promise. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const faults: {
  map(): LabMap;
  sessionDrop(node: number, path: number): Promise<LabMap>;
  sessionRestore(node: number, path: number): Promise<LabMap>;
  sessionRecoveryTimeout(node: number, seconds: number): Promise<number>;
  targetRestart(o?: { downMs?: number }): Promise<LabMap>;
  portalBlackhole(path: number): Promise<void>;
  portalRestore(path: number): Promise<void>;
  slowLun(o: { delayMs: number }): Promise<{ devices: Array<{ node: number; sg: string; sd: string }> }>;
  slowLunRemove(): Promise<void>;
  waitLoggedIn(timeoutMs?: number): Promise<LabMap>;
  setNetem(o: { delayMs?: number; lossPct?: number }): Promise<void>;
} = require(join(__dirname, '..', '..', 'scripts', 'lab', 'guest-tools.js'));

/** The transport's watchdog checks deadlines once a second: it fires up to 2 s after timeoutMs + grace (lib/transport/watchdog.ts). */
const WATCHDOG_SLACK_MS = 2_000;

/**
 * The longest one command can take over `paths` paths. On each path, at most
 * one attempt can time out: the kernel ends it at `timeoutMs`, or at the latest
 * the transport's watchdog at timeoutMs + TIMEOUT_GRACE_MS + 2 s; a timed-out
 * attempt is not retried (a TimeoutError moves to the next path).
 * UNIT ATTENTION retries come with an answer and are immediate; BUSY / TASK SET
 * FULL retries wait the policy's backoff (10, 20, 40… ms, capped at 1 s).
 */
export function commandBudgetMs(timeoutMs: number, paths: number, retries: RetryOptions = {}): number {
  const r = { ...DEFAULT_RETRY, ...retries };
  let backoff = 0;
  for (let i = 0; i < r.busy; i++) backoff += Math.min(1000, r.busyBackoffMs * 2 ** i);
  return paths * (timeoutMs + TIMEOUT_GRACE_MS + WATCHDOG_SLACK_MS + backoff);
}

/**
 * fence()'s longest chain of commands one after another: the check (READ KEYS),
 * the arbiter's preempt and the READ KEYS that explains a conflict (once per LU
 * tried as arbiter), the fan-out preempt and its READ KEYS, the verify (READ
 * KEYS and READ RESERVATION at once).
 */
export function fenceBudgetMs(timeoutMs: number, paths: number, arbitersTried: number, retries: RetryOptions = {}): number {
  const steps = 1 + 2 * Math.max(1, arbitersTried) + 2 + 1;
  return steps * commandBudgetMs(timeoutMs, paths, retries);
}

/** Keys and reservation of one LU as sg_persist reads them. */
export interface LuState {
  keys: string[];
  reservation: { key: string; type: number } | null;
}

/** Run `fn` over `items`, `limit` at a time (UML has one CPU: a few programs at once overlap their round trips). */
export async function eachLimited<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/**
 * Keys and reservation of each LU through its `sgs` entry, read by sg_persist
 * (-k, then -r; a UNIT ATTENTION, exit 6, retried up to 8 times: tgt queues one
 * per event, duplicates included). One bash runs every sg_persist: forking the
 * test worker (a large process) costs ~0.5 s per program in UML, bash's forks
 * do not. The output is parsed as test/lab/lab-env.ts's sgPersistKeys and
 * sgPersistReservation parse it.
 */
export async function sgStates(sgs: readonly string[]): Promise<LuState[]> {
  const script = `for d in "$@"; do for a in -k -r; do for i in 1 2 3 4 5 6 7 8; do out=$(sg_persist -n $a "$d" 2>&1); rc=$?; [ $rc -ne 6 ] && break; done; printf '@@@ %s %s %s\\n%s\\n' "$d" "$a" "$rc" "$out"; done; done`;
  const r = await run('bash', ['-c', script, 'sg-states', ...sgs], { timeoutMs: 600_000 });
  if (r.status !== 0) throw new Error(`sg_persist loop: exit ${r.status}: ${r.stderr}`);
  const sections = new Map<string, { rc: number; out: string }>();
  for (const part of r.stdout.split(/^@@@ /m).slice(1)) {
    const nl = part.indexOf('\n');
    const [dev, action, rc] = part.slice(0, nl).split(' ');
    sections.set(`${dev} ${action}`, { rc: Number(rc), out: part.slice(nl + 1) });
  }
  return sgs.map((sg) => {
    const k = sections.get(`${sg} -k`);
    const res = sections.get(`${sg} -r`);
    if (!k || k.rc !== 0) throw new Error(`sg_persist -k ${sg}: exit ${k?.rc}: ${k?.out}`);
    if (!res || res.rc !== 0) throw new Error(`sg_persist -r ${sg}: exit ${res?.rc}: ${res?.out}`);
    const keys = [...k.out.matchAll(/^\s+(0x[0-9a-f]+)\s*$/gim)].map((m) => m[1]!.toLowerCase());
    if (/there is NO reservation held/i.test(res.out)) return { keys, reservation: null };
    const key = /Key=(0x[0-9a-f]+)/i.exec(res.out)?.[1];
    const type = /scope:\s*LU_SCOPE,\s*type:\s*(.+)$/im.exec(res.out)?.[1]?.trim();
    if (!key || !type) throw new Error(`cannot parse sg_persist -r output:\n${res.out}`);
    return { keys, reservation: { key: key.toLowerCase(), type: SG_TYPE_NAMES[type.toLowerCase()] ?? -1 } };
  });
}

/** sg_persist's names of the reservation types (as in test/lab/lab-env.ts). */
const SG_TYPE_NAMES: Record<string, number> = {
  'write exclusive': 1,
  'exclusive access': 3,
  'write exclusive, registrants only': 5,
  'exclusive access, registrants only': 6,
  'write exclusive, all registrants': 7,
  'exclusive access, all registrants': 8,
};

/** A key as sg_persist prints it. */
export const hexKey = (k: bigint): string => `0x${k.toString(16)}`;

/** This process's open file descriptors on sg devices (a lab tool's pipes come and go; these must not stay). */
export async function openSgFds(): Promise<number> {
  const { readdir, readlink } = await import('node:fs/promises');
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith('/dev/sg')) n++;
  }
  return n;
}
