/**
 * Access to the SAN lab from lab tests. Lab tests run INSIDE the UML guest
 * (`npm run test:lab` boots it); outside the lab they fail loudly, never skip.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as pr from '../../lib';

export interface LabDevice {
  node: number;
  lun: number;
  path: number;
  sd: string;
  sg: string;
  hctl: string;
  serial: string;
  initiator: string;
  isid: string;
}

export interface LabMap {
  /** `kind` and `lunOffset` (lab LUN + lunOffset = the target's LUN number) name the target implementation. */
  target: { iqn: string; portals: string[]; kind?: LabTarget; lunOffset?: number };
  options: { nodes: number; luns: number; paths: number; lunMb: number; delayMs: number };
  nodes: Array<{ node: number; iqn: string; luns: Array<{ lun: number; sd: string; sg: string; serial: string; isid: string; transportId: string }> }>;
  devices: LabDevice[];
}

/** What a program run by {@link run} returned. */
export interface RunResult {
  /** Exit status; -1 when a signal ended the program. */
  status: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link run}. */
export interface RunOptions {
  /** SIGKILL after this long (default 60 s). */
  timeoutMs?: number;
  /** Written to stdin (default: stdin closed at once). */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
}

/**
 * Lab controls (logout/login, LUN remove/restore, portal down/up, netem, ACLs).
 * Whatever runs a program or waits returns a Promise: a lab test must never block
 * vitest's worker (see event-loop-watch.ts).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const labTools: {
  map(): LabMap;
  logout(node: number): Promise<LabMap>;
  login(node: number): Promise<LabMap>;
  /** LIO: done on return. tgt: returns a Promise (tgtadm runs): await it. */
  removeLun(lun: number): void | Promise<void>;
  /** LIO: done on return. tgt: returns a Promise; tgt lost the LUN's PR state on removeLun. */
  restoreLun(lun: number): void | Promise<void>;
  /** LIO: done on return. tgt: returns a Promise; ACLs are per target there (a LUN subset rejects). */
  addAcl(iqn: string, luns?: number[]): void | Promise<void>;
  /** LIO: done on return. tgt: returns a Promise (a tc filter drops the portal's packets). */
  portalDown(path?: number): void | Promise<void>;
  /** LIO: done on return. tgt: returns a Promise. */
  portalUp(path?: number): void | Promise<void>;
  setNetem(o: { delayMs?: number; lossPct?: number }): Promise<void>;
  /** Wipe PR state on `luns` (default all) via sg_persist from node 1; `drain: false` leaves the UNIT ATTENTIONs pending. */
  resetReservations(luns?: number[], o?: { drain?: boolean }): Promise<void>;
  initiatorIqn(node: number): string;
  run(cmd: string, args: string[], o?: RunOptions): Promise<RunResult>;
} = require(join(__dirname, '..', '..', 'scripts', 'lab', 'guest-tools.js'));

/** Which iSCSI target the lab runs (`node scripts/lab.js run --target lio|tgt`, env LAB_TARGET; default lio). */
export type LabTarget = 'lio' | 'tgt';

/** The lab's target implementation, from LAB_TARGET. Throws (test failure) on an unknown value. */
export function labTarget(): LabTarget {
  const t = process.env.LAB_TARGET ?? 'lio';
  if (t !== 'lio' && t !== 'tgt') throw new Error(`LAB_TARGET=${t}: expected lio or tgt`);
  return t;
}

/** The current device map. Throws (test failure) outside the lab. */
export function labMap(): LabMap {
  const file = process.env.SCSI_PR_LAB_MAP;
  if (process.env.SCSI_PR_LAB !== '1' || !file) {
    throw new Error('lab tests must run inside the SAN lab: use `npm run test:lab` (boots the UML guest)');
  }
  return JSON.parse(readFileSync(file, 'utf8')) as LabMap;
}

/** Device of `node` (1-based) for `lun` on path 0. */
export function dev(map: LabMap, node: number, lun: number, path = 0): LabDevice {
  const d = map.devices.find((x) => x.node === node && x.lun === lun && x.path === path);
  if (!d) throw new Error(`lab has no device for node ${node} LUN ${lun} path ${path}`);
  return d;
}

/** Run a program without blocking the event loop; status and output (test scaffolding, not library code). */
export function run(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  return labTools.run(cmd, args, o);
}

/** sg3_utils exit codes that matter here. */
export const SG_EXIT = { OK: 0, UNIT_ATTENTION: 6, RESERVATION_CONFLICT: 24 } as const;

/**
 * WRITE(10) of one block at `lba` through sg_raw (independent of scsi-pr), with
 * UNIT ATTENTIONs retried like any initiator would. Returns sg_raw's exit code.
 */
export async function sgRawWrite(sg: string, lba = 0): Promise<number> {
  const cdb = ['2a', '00', ...[24, 16, 8, 0].map((s) => ((lba >>> s) & 0xff).toString(16).padStart(2, '0')), '00', '00', '01', '00'];
  for (let i = 0; i < 4; i++) {
    const r = await run('sg_raw', ['-s', '512', '-i', '/dev/zero', sg, ...cdb]);
    if (r.status !== SG_EXIT.UNIT_ATTENTION) return r.status;
  }
  return SG_EXIT.UNIT_ATTENTION;
}

/** sg_persist -n <args> <sg>, a UNIT ATTENTION (exit 6: the command did not run) retried up to 3 times. */
async function sgPersistRetryingUa(sg: string, args: string[]): Promise<RunResult> {
  for (let i = 0; ; i++) {
    const r = await run('sg_persist', ['-n', ...args, sg]);
    if (r.status !== SG_EXIT.UNIT_ATTENTION || i === 3) return r;
  }
}

/** Keys as sg_persist -k reports them (lowercase 0x hex, in order). */
export async function sgPersistKeys(sg: string): Promise<string[]> {
  const r = await sgPersistRetryingUa(sg, ['-k']);
  if (r.status !== 0) throw new Error(`sg_persist -k ${sg}: exit ${r.status}: ${r.stderr}`);
  return [...r.stdout.matchAll(/^\s+(0x[0-9a-f]+)\s*$/gim)].map((m) => m[1].toLowerCase());
}

/** Reservation as sg_persist -r reports it: {key, type} or null. */
export async function sgPersistReservation(sg: string): Promise<{ key: string; type: number } | null> {
  const r = await sgPersistRetryingUa(sg, ['-r']);
  if (r.status !== 0) throw new Error(`sg_persist -r ${sg}: exit ${r.status}: ${r.stderr}`);
  if (/there is NO reservation held/i.test(r.stdout)) return null;
  const key = /Key=(0x[0-9a-f]+)/i.exec(r.stdout)?.[1];
  const type = /scope:\s*LU_SCOPE,\s*type:\s*(.+)$/im.exec(r.stdout)?.[1]?.trim();
  if (!key || !type) throw new Error(`cannot parse sg_persist -r output:\n${r.stdout}`);
  return { key: key.toLowerCase(), type: SG_TYPE_NAMES[type.toLowerCase()] ?? -1 };
}

const SG_TYPE_NAMES: Record<string, number> = {
  'write exclusive': 1,
  'exclusive access': 3,
  'write exclusive, registrants only': 5,
  'exclusive access, registrants only': 6,
  'write exclusive, all registrants': 7,
  'exclusive access, all registrants': 8,
};

/**
 * Removes every registration and the reservation of the LUN through `d`, whatever
 * state a failed run left: REGISTER AND IGNORE EXISTING KEY with `key`, then CLEAR.
 * LIO: a nexus registered with ALL_TG_PT must say ALL_TG_PT again (ILLEGAL REQUEST otherwise).
 */
export async function wipeReservations(d: pr.Device, key: bigint): Promise<void> {
  try {
    await d.registerAndIgnoreExistingKey({ newKey: key });
  } catch (e) {
    if (!(e instanceof pr.ScsiSenseError && e.sense.senseKey === 5)) throw e;
    await d.registerAndIgnoreExistingKey({ newKey: key, allTargetPorts: true });
  }
  await d.clear({ key });
}

/**
 * One expectation per target, as in target-differences.test.ts: `perTarget({ lio: …, tgt: … })`
 * is the value for the lab's target ({@link labTarget}).
 */
export function perTarget<T>(t: Record<LabTarget, T>): T {
  return t[labTarget()];
}

/** sg_persist -n -k and -r as printed (generation included), UNIT ATTENTION retried. */
async function sgPersistState(sg: string): Promise<string> {
  const k = await sgPersistRetryingUa(sg, ['-k']);
  const r = await sgPersistRetryingUa(sg, ['-r']);
  if (k.status !== 0 || r.status !== 0) throw new Error(`sg_persist -k/-r ${sg}: exit ${k.status}/${r.status}: ${k.stderr}${r.stderr}`);
  return `${k.stdout}${r.stdout}`;
}

/**
 * Expects `attempt` (a scsi-pr call) to be refused with a ScsiSenseError carrying `sense`
 * (default ILLEGAL REQUEST, INVALID FIELD IN CDB 05/24/00) and to change nothing that
 * sg_persist -k / -r on `observerSg` shows (keys, reservation, PR generation). Returns the error.
 */
export async function expectRefusedChangingNothing(
  attempt: () => Promise<unknown>,
  observerSg: string,
  sense: { senseKey: number; asc: number; ascq: number } = { senseKey: 5, asc: 0x24, ascq: 0 },
): Promise<pr.ScsiSenseError> {
  const before = await sgPersistState(observerSg);
  const e = await attempt().then(
    (v) => v,
    (x: unknown) => x,
  );
  if (!(e instanceof pr.ScsiSenseError)) throw new Error(`expected a ScsiSenseError ${JSON.stringify(sense)}, got ${e instanceof Error ? `${e.name}: ${e.message}` : 'success'}`);
  if (e.sense.senseKey !== sense.senseKey || e.sense.asc !== sense.asc || e.sense.ascq !== sense.ascq) {
    throw new Error(`expected sense ${JSON.stringify(sense)}, got ${e.message}`);
  }
  const after = await sgPersistState(observerSg);
  if (after !== before) throw new Error(`a refused command changed the PR state (sg_persist on ${observerSg}):\nbefore:\n${before}\nafter:\n${after}`);
  return e;
}
