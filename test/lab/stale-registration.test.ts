/**
 * Stale registrations on the real SAN (fence_scsi's #517, #558, #576, #594):
 * a node's key registered through an I_T nexus that no longer exists. Node 1
 * unfences, then its iSCSI sessions log out and back in: open-iscsi gives each
 * new session a new ISID, and LIO keeps the registrations of the old nexuses
 * (old ISIDs) while the new ones start unregistered. Then:
 *
 * - unfence (library) and `fence_scsi_pr -o on` (dist bin) register the
 *   current nexuses, and while they run node 3 reads the keys in a tight
 *   loop and `fence_scsi_pr_check` runs in a loop: node 1's key is in every
 *   sample and the check never exits 1;
 * - node 2 fences node 1 (registered through stale nexuses only): every
 *   registration with node 1's key goes, verified; the check exits 0 before
 *   and 1 after;
 * - node 1 (stale) tries to fence node 2: refused, reported as a stale
 *   registration (ERR_NOT_REGISTERED), not as `lost`; nothing changes; after
 *   unfence it can;
 * - for comparison, fence_scsi's own cure (REGISTER AND IGNORE, then PREEMPT
 *   with its own key, then REGISTER again): the observers do see the key gone.
 *
 * Every state is read with READ FULL STATUS through scsi-pr and sg_persist.
 * LUNs 9–11 (shared with registration-watch.test.ts and transport.test.ts; wiped
 * at the start and the end).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as pr from '../../lib';
import { writeState } from '../../lib/cli/fence-agent/fence-agent-state';
import { labMap, labTools, run, sgPersistKeys, sgRawWrite, SG_EXIT, wipeReservations, type LabMap, type RunResult } from './lab-env';
import { fromScsiPr, sgReadFullStatus } from './sg-persist-reference';

const ROOT = join(__dirname, '..', '..');
const AGENT = join(ROOT, 'dist', 'cli', 'fence-scsi-pr.js');
const CHECK = join(ROOT, 'dist', 'cli', 'fence-scsi-pr-check.js');
const SCRATCH = join(ROOT, '.lab', `stale-registration-${process.pid}`);

const LUNS = [9, 10, 11];
const K1 = 0x57a1e001n;
const K2 = 0x57a1e002n;
const WIPE_KEY = 0x57a1e0ffn;
const hex = (k: bigint) => '0x' + k.toString(16);

let map: LabMap;
/** Node `node`'s devices of LUNs 9–11, both paths. */
const devs = (node: number) => map.devices.filter((d) => d.node === node && LUNS.includes(d.lun));
const sgs = (node: number) => devs(node).map((d) => d.sg);
const sds = (node: number) => devs(node).map((d) => d.sd);
/** Node 3 (never registered here) reads for everyone. */
const observerSg = (lun: number) => map.devices.find((d) => d.node === 3 && d.lun === lun && d.path === 0)!.sg;

async function wipe(): Promise<void> {
  for (const lun of LUNS) {
    const d = await pr.open(observerSg(lun));
    try {
      await wipeReservations(d, WIPE_KEY);
    } finally {
      await d.close();
    }
  }
}

/** Node 2 unfenced first (it takes the WE_RO reservation), then node 1, both on every path. */
async function unfenceBoth(): Promise<void> {
  const r2 = await pr.unfence({ devices: sgs(2), key: K2 });
  expect(r2.ok, JSON.stringify(pr.toJSONSafe(r2))).toBe(true);
  const r1 = await pr.unfence({ devices: sgs(1), key: K1 });
  expect(r1.ok, JSON.stringify(pr.toJSONSafe(r1))).toBe(true);
  expect(r1.devices.every((d) => d.holder === K2)).toBe(true);
}

/** Node `node`'s ISIDs (one per path, the same for every LUN of a session). */
const isidsOf = (node: number): string[] => [...new Set(devs(node).map((d) => d.isid))].sort();

/** Log node 1 out and back in; returns the ISIDs before and after (every one new). */
async function newSessions(node: number): Promise<{ before: string[]; after: string[] }> {
  const before = isidsOf(node);
  await labTools.logout(node);
  map = await labTools.login(node);
  const after = isidsOf(node);
  expect(before).toHaveLength(2);
  expect(after).toHaveLength(2);
  for (const isid of after) expect(before, `new ISID ${isid}`).not.toContain(isid);
  return { before, after };
}

/** READ FULL STATUS of `lun` through scsi-pr, checked against sg_persist --read-full-status (same generation). */
async function fullStatus(lun: number): Promise<pr.ReadFullStatusResult> {
  for (let i = 0; ; i++) {
    const mine = await pr.readFullStatus(observerSg(lun));
    const theirs = await sgReadFullStatus(observerSg(lun));
    if (theirs.generation !== mine.generation && i < 3) continue; // something changed in between: read again
    expect(theirs, `LUN ${lun}: sg_persist --read-full-status vs scsi-pr`).toEqual(fromScsiPr.fullStatus(mine));
    return mine;
  }
}

/** The ISIDs registered with `key` on `lun` (sorted), as READ FULL STATUS (both tools) reports them. */
async function isidsRegistered(lun: number, key: bigint, node: number): Promise<string[]> {
  const fs = await fullStatus(lun);
  const mine = fs.registrations.filter((r) => r.key === key);
  for (const r of mine) expect(r.transportId).toMatchObject({ protocol: 'iscsi', name: labTools.initiatorIqn(node) });
  return mine.map((r) => (r.transportId as { isid: string }).isid).sort();
}

/** Whether the nexus of `sg` is registered with `key`: REGISTER (RK = SARK = key) is a no-op there, RESERVATION CONFLICT from an unregistered nexus. */
async function nexusRegistered(sg: string, key: bigint): Promise<boolean> {
  const d = await pr.open(sg);
  try {
    await d.register({ key, newKey: key });
    return true;
  } catch (e) {
    if (e instanceof pr.ReservationConflictError) return false;
    throw e;
  } finally {
    await d.close();
  }
}

/** Node 1's current paths: registered (true) or not, per path. */
const currentPathsRegistered = async (node: number, key: bigint) => Promise.all(sgs(node).map((sg) => nexusRegistered(sg, key)));

/** One agent or check process as `node`, with its own state directory. */
async function bin(node: number, script: string, args: string[]): Promise<RunResult & { ms: number }> {
  const t0 = performance.now();
  const r = await run(process.execPath, [script, ...args], { env: { ...process.env, SCSI_PR_STATE_DIR: join(SCRATCH, `state-node${node}`) }, timeoutMs: 120_000 });
  return { ...r, ms: performance.now() - t0 };
}

/**
 * While `during` runs: node 3 reads the keys of every LU in a tight loop
 * (READ KEYS, all LUs in flight, no pause), and `fence_scsi_pr_check test
 * --retries 0` (node 1's state file) runs over and over. Both go on until
 * `during` is done and one more check has finished after it.
 */
async function observe<T>(during: () => Promise<T>) {
  const observers = await Promise.all(LUNS.map((lun) => pr.open(observerSg(lun))));
  const samples: Array<{ at: number; lu: number; keys: bigint[] }> = [];
  const checks: Array<{ start: number; end: number; status: number; stderr: string }> = [];
  let stop = false;
  let window = { start: 0, end: Infinity };
  // One loop per LU, each with its own READ KEYS always in flight.
  const poll = Promise.all(
    observers.map(async (d, lu) => {
      while (!stop) {
        const { keys } = await d.readKeys();
        samples.push({ at: performance.now(), lu, keys });
      }
    }),
  );
  const checking = (async () => {
    while (!stop) {
      const start = performance.now();
      const r = await bin(1, CHECK, ['test', '--retries', '0']);
      checks.push({ start, end: performance.now(), status: r.status, stderr: r.stderr });
      if (performance.now() > window.end) break;
    }
  })();
  try {
    // Let the loops get going (one check finished) before the operation starts.
    while (checks.length === 0) await new Promise((r) => setTimeout(r, 20));
    window = { start: performance.now(), end: Infinity };
    const result = await during();
    window = { start: window.start, end: performance.now() };
    await checking;
    return { result, samples, checks, window };
  } finally {
    stop = true;
    await Promise.all([poll, checking]);
    await Promise.all(observers.map((d) => d.close()));
  }
}

type Observed = Awaited<ReturnType<typeof observe>>;

/** The key was in every sample on every LU, and no check run exited 1; the counts are printed. */
function expectNeverAbsent(o: Observed, what: string): void {
  const inWindow = o.samples.filter((s) => s.at >= o.window.start && s.at <= o.window.end);
  o.samples.forEach((s, i) => expect(s.keys, `${what}: sample ${i} LUN ${LUNS[s.lu]} (${(s.at - o.window.start).toFixed(1)} ms after the start)`).toContain(K1));
  for (const c of o.checks) expect(c.status, `${what}: fence_scsi_pr_check exited ${c.status}: ${c.stderr}`).toBe(0);
  const overlapping = o.checks.filter((c) => c.start < o.window.end && c.end > o.window.start).length;
  console.log(
    `${what}: ${(o.window.end - o.window.start).toFixed(0)} ms; node 3's READ KEYS (one loop per LU): ${o.samples.length} samples, ${inWindow.length} during it, key present in all; fence_scsi_pr_check: ${o.checks.length} runs, ${overlapping} overlapping it, all exit 0`,
  );
  expect(inWindow.length, `${what}: samples taken during the operation`).toBeGreaterThan(0);
}

/**
 * Node 1 in the stale state, verified: both nodes unfenced (node 2 holds the
 * reservation), node 1's sessions re-logged in. Returns the old and new ISIDs.
 */
async function makeNode1Stale(): Promise<{ before: string[]; after: string[] }> {
  await wipe();
  await unfenceBoth();
  for (const lun of LUNS) expect(await isidsRegistered(lun, K1, 1)).toEqual(isidsOf(1));
  const isids = await newSessions(1);
  for (const lun of LUNS) {
    // LIO keeps the old nexuses' registrations; the new nexuses are not registered.
    expect(await isidsRegistered(lun, K1, 1), `LUN ${lun}: node 1's key only through the old ISIDs`).toEqual(isids.before);
    expect(await sgPersistKeys(observerSg(lun)), `LUN ${lun}: sg_persist -k still lists node 1's key twice`).toEqual([hex(K2), hex(K2), hex(K1), hex(K1)]);
  }
  expect(await currentPathsRegistered(1, K1), 'no current path of node 1 is registered').toEqual(sgs(1).map(() => false));
  return isids;
}

beforeAll(async () => {
  map = labMap();
  rmSync(SCRATCH, { recursive: true, force: true });
  mkdirSync(SCRATCH, { recursive: true });
  await wipe();
});

afterAll(async () => {
  if (map) await wipe();
  rmSync(SCRATCH, { recursive: true, force: true });
});

describe('stale registrations: node 1’s sessions came back with new ISIDs (LUNs 9–11, 2 paths)', () => {
  it('the state: READ FULL STATUS (scsi-pr and sg_persist) lists node 1’s key only with the old ISIDs; the new nexuses are not registered (PR OUT through them conflicts), yet LIO lets them write', async () => {
    const { before, after } = await makeNode1Stale();
    console.log(`node 1 ISIDs before ${before.join(' ')}, after logout/login ${after.join(' ')}`);
    console.log(`sg_persist -n --read-full-status ${observerSg(LUNS[0])} (node 3, LUN ${LUNS[0]}):\n${(await run('sg_persist', ['-n', '--read-full-status', observerSg(LUNS[0])])).stdout}`);
    // LIO checks a WRITE under a Registrants Only reservation against the ACL's LUN mapping
    // (registered by any session of that initiator), not against the I_T nexus: the new
    // sessions still write. PR OUT commands are matched per nexus, ISID included.
    for (const d of devs(1)) expect(await sgRawWrite(d.sg, 16), `WRITE through ${d.sg} (LUN ${d.lun} path ${d.path})`).toBe(SG_EXIT.OK);
    // sg_persist from node 1's new nexus: the key is listed (READ KEYS does not say through which nexus).
    expect(await sgPersistKeys(sgs(1)[0])).toContain(hex(K1));
  });

  it('unfence (library) registers both current nexuses of every LU; node 1’s key is in every READ KEYS sample meanwhile and fence_scsi_pr_check never exits 1', async () => {
    const { before, after } = await makeNode1Stale();
    writeState({ node: 'node1', key: K1, devices: sds(1), aptpl: false }, { SCSI_PR_STATE_DIR: join(SCRATCH, 'state-node1') });
    // Open Devices: the window holds the PR commands, not the opening of 6 paths.
    const mine = await Promise.all(sgs(1).map((p) => pr.open(p)));
    const o = await observe(() => pr.unfence({ devices: mine, key: K1 })).finally(() => Promise.all(mine.map((d) => d.close())));
    expect(o.result.ok, JSON.stringify(pr.toJSONSafe(o.result))).toBe(true);
    for (const d of o.result.devices) expect(d).toMatchObject({ ok: true, pathsRegistered: 2, paths: 2, reservation: 'existing', holder: K2 });
    expectNeverAbsent(o, 'unfence (library) in the stale state');
    for (const lun of LUNS) expect(await isidsRegistered(lun, K1, 1), `LUN ${lun}: old and new ISIDs`).toEqual([...before, ...after].sort());
    expect(await currentPathsRegistered(1, K1)).toEqual(sgs(1).map(() => true));
    for (const d of devs(1)) expect(await sgRawWrite(d.sg, 16), `WRITE through ${d.sg}`).toBe(SG_EXIT.OK);
  });

  it('fence_scsi_pr -o on (dist bin) does the same: current nexuses registered, the key never absent, the check never 1', async () => {
    const { before, after } = await makeNode1Stale();
    // The check reads the state file; `on` rewrites it with the same key and devices.
    writeState({ node: 'node1', key: K1, devices: sds(1), aptpl: false }, { SCSI_PR_STATE_DIR: join(SCRATCH, 'state-node1') });
    const o = await observe(() => bin(1, AGENT, ['-o', 'on', '-k', hex(K1), '-d', sds(1).join(','), '-v']));
    expect(o.result.status, `${o.result.stdout}\n${o.result.stderr}`).toBe(0);
    expect(o.result.stdout).toMatch(/^Success: Unfenced .*: key 0x57a1e001 registered on 3 devices/);
    expectNeverAbsent(o, `fence_scsi_pr -o on in the stale state (${o.result.ms.toFixed(0)} ms process)`);
    for (const lun of LUNS) expect(await isidsRegistered(lun, K1, 1), `LUN ${lun}: old and new ISIDs`).toEqual([...before, ...after].sort());
    expect(await currentPathsRegistered(1, K1)).toEqual(sgs(1).map(() => true));
    // The state file `on` wrote makes the check pass.
    expect((await bin(1, CHECK, ['test'])).status).toBe(0);
  });

  it('for comparison, fence_scsi’s re-registration since #529 (REGISTER AND IGNORE, PREEMPT with its own key, REGISTER again when not the holder), per path as since #594: the key vanishes meanwhile, and the observers see it', async () => {
    await makeNode1Stale();
    writeState({ node: 'node1', key: K1, devices: sds(1), aptpl: false }, { SCSI_PR_STATE_DIR: join(SCRATCH, 'state-node1') });
    const mine = await Promise.all(sgs(1).map((p) => pr.open(p)));
    /** Our key's registrations right after each LU's self-preempt and re-register. */
    const steps: string[] = [];
    const fenceScsiOn = async () => {
      for (const lun of LUNS) {
        const [first, ...others] = devs(1).filter((d) => d.lun === lun).map((d) => mine[sgs(1).indexOf(d.sg)]);
        for (const [i, d] of [first, ...others].entries()) {
          await d.registerAndIgnoreExistingKey({ newKey: K1 });
          if (i > 0) continue; // #594: the self-preempt only on the first path
          await d.preempt({ key: K1, preemptKey: K1, type: 5 });
          const holder = (await d.readReservation()).reservation?.key;
          if (holder !== K1) await d.registerAndIgnoreExistingKey({ newKey: K1 });
          steps.push(`LUN ${lun}: keys after: ${(await d.readKeys()).keys.map(pr.formatKey).join(' ')}`);
        }
      }
    };
    const o = await observe(fenceScsiOn).finally(() => Promise.all(mine.map((d) => d.close())));
    const absent = o.samples.filter((x) => !x.keys.includes(K1));
    const inWindow = o.samples.filter((x) => x.at >= o.window.start && x.at <= o.window.end).length;
    console.log(`fence_scsi-style re-registration: ${(o.window.end - o.window.start).toFixed(0)} ms; ${inWindow} READ KEYS samples during it, ${absent.length} without node 1's key (LUNs ${[...new Set(absent.map((x) => LUNS[x.lu]))].join(', ')}); fence_scsi_pr_check exits: ${o.checks.map((c) => c.status).join(' ')}\n${steps.join('\n')}`);
    // The observers are sensitive: this sequence takes the key away for a moment (LIO's
    // PREEMPT with our own key removes every registration with it, the sender's too).
    expect(absent.length, 'samples without the key').toBeGreaterThan(0);
    // It does clear the stale registrations: only the current nexuses are left.
    for (const lun of LUNS) expect(await isidsRegistered(lun, K1, 1), `LUN ${lun}`).toEqual(isidsOf(1));
  });

  it('node 2 fences node 1, registered only through stale nexuses: every registration with node 1’s key is gone, verified; the check says 0 before, 1 after', async () => {
    const { before } = await makeNode1Stale();
    writeState({ node: 'node1', key: K1, devices: sds(1), aptpl: false }, { SCSI_PR_STATE_DIR: join(SCRATCH, 'state-node1') });
    const pass = await bin(1, CHECK, ['test']);
    expect(pass.status, `fence_scsi_pr_check in the stale state: ${pass.stderr}`).toBe(0);

    const r = await pr.fence({ devices: sgs(2), key: K2, victimKey: K1 });
    expect(r, JSON.stringify(pr.toJSONSafe(r))).toMatchObject({ ok: true, lost: false, notFenced: [] });
    expect(r.fenced).toHaveLength(LUNS.length);
    for (const d of r.devices) {
      expect(d).toMatchObject({ outcome: 'fenced', ok: true, reservation: { key: K2, type: 5 } });
      // The arbiter LU (first in WWN order) is preempted without a check: no generation before.
      if (d !== r.devices[0]) expect(d.generationAfter!).toBeGreaterThan(d.generationBefore!);
    }
    for (const lun of LUNS) {
      const fs = await fullStatus(lun);
      expect(fs.registrations.filter((x) => x.key === K1), `LUN ${lun}: no registration with node 1's key (the old ISIDs ${before.join(' ')} included)`).toEqual([]);
      expect(fs.registrations.map((x) => x.key)).toEqual([K2, K2]);
      expect(await sgPersistKeys(observerSg(lun))).toEqual([hex(K2), hex(K2)]);
    }
    // Now node 1's writes are refused on every path, and the check fails.
    for (const d of devs(1)) expect(await sgRawWrite(d.sg, 16), `WRITE through ${d.sg}`).toBe(SG_EXIT.RESERVATION_CONFLICT);
    const fail = await bin(1, CHECK, ['test', '--retries', '0']);
    expect(fail.status, fail.stderr).toBe(1);
    expect(fail.stderr).toMatch(/key 0x57a1e001 is not registered .*this node was fenced/);
  });

  it('node 1, stale, fences node 2: refused as a stale registration (ERR_NOT_REGISTERED), not lost; nothing changes; after unfence it fences', async () => {
    const { before } = await makeNode1Stale();
    const gen = await Promise.all(LUNS.map(async (lun) => (await fullStatus(lun)).generation));

    const r = await pr.fence({ devices: sgs(1), key: K1, victimKey: K2 });
    expect(r, JSON.stringify(pr.toJSONSafe(r))).toMatchObject({ ok: false, lost: false, fenced: [] });
    const [arbiter, ...rest] = r.devices;
    expect(arbiter.outcome).toBe('failed');
    expect((arbiter.error as pr.ScsiPrError).code).toBe('ERR_NOT_REGISTERED');
    expect(arbiter.error?.message).toMatch(/is registered, but not through .*: a stale registration/);
    expect(rest.map((d) => d.outcome)).toEqual(['not-attempted', 'not-attempted']);
    for (const [i, lun] of LUNS.entries()) {
      const fs = await fullStatus(lun);
      expect(fs.generation, `LUN ${lun}: no PR OUT took effect`).toBe(gen[i]);
      expect(await isidsRegistered(lun, K2, 2)).toEqual(isidsOf(2));
      expect(await isidsRegistered(lun, K1, 1)).toEqual(before);
    }

    // The fence agent says the same, and does not claim this node was fenced.
    const off = await bin(1, AGENT, ['-o', 'off', '-n', 'node2', '-k', hex(K1), '--nodes', `node1:${hex(K1)},node2:${hex(K2)}`, '-d', sds(1).join(',')]);
    expect(off.status, `${off.stdout}\n${off.stderr}`).toBe(1);
    expect(off.stderr).toMatch(/stale registration/);
    expect(off.stderr).not.toMatch(/another node fenced this node/);
    console.log(`fence_scsi_pr -o off -n node2 by stale node 1: exit ${off.status}\n${off.stderr}`);

    // unfence registers the current nexuses; then the same fence succeeds.
    expect((await pr.unfence({ devices: sgs(1), key: K1 })).ok).toBe(true);
    const again = await pr.fence({ devices: sgs(1), key: K1, victimKey: K2 });
    expect(again, JSON.stringify(pr.toJSONSafe(again))).toMatchObject({ ok: true, lost: false });
    for (const lun of LUNS) {
      expect((await fullStatus(lun)).registrations.some((x) => x.key === K2), `LUN ${lun}: node 2 fenced`).toBe(false);
      expect(await sgPersistKeys(observerSg(lun))).not.toContain(hex(K2));
    }
  });
});
