/**
 * The fencing layer against the real SAN: 3 nodes, 8 LUNs, 2 paths per LUN.
 * Every step is cross-checked with sg_persist on the same devices.
 *
 * Runs against both lab targets (`--target lio|tgt`). Where they differ the
 * expectation is a table keyed by target: tgt 1.0.85 refuses PREEMPT AND ABORT
 * and READ FULL STATUS (ILLEGAL REQUEST, INVALID FIELD IN CDB), so there fence()
 * preempts with PREEMPT and says so (`withoutAbort`, per-LU `method: 'preempt'`),
 * and status() reads READ KEYS + READ RESERVATION (`source: 'read-keys'`).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as pr from '../../lib';
import { fence } from '../../lib/fencing/fence';
import { unfence } from '../../lib/fencing/unfence';
import { status } from '../../lib/fencing/fence-status';
import { labMap, labTarget, labTools, sgPersistKeys, type LabMap, type LabTarget } from './lab-env';

const LUNS = [0, 1, 2, 3, 4, 5, 6, 7];
const KEY = { 1: 0x5c5c0001n, 2: 0x5c5c0002n, 3: 0x5c5c0003n } as Record<number, bigint>;
const TARGET = labTarget();
/** One expectation per lab target. */
const expected = <T>(t: Record<LabTarget, T>): T => t[TARGET];
/**
 * How fence() preempts. SPC-4 (5.14.11.4.4) has PREEMPT AND ABORT also abort
 * the victim's queued commands; LIO does it. tgt 1.0.85 refuses it (ILLEGAL
 * REQUEST, INVALID FIELD IN CDB) and fence() falls back to PREEMPT, LU by LU,
 * naming those LUs in `withoutAbort`.
 */
const METHOD = expected<pr.PreemptMethod>({ lio: 'preempt-and-abort', tgt: 'preempt' });
/** How status() reads an LU: tgt has no READ FULL STATUS. */
const SOURCE = expected({ lio: 'read-full-status', tgt: 'read-keys' } as const);

/** fence()'s report says how every fenced LU was preempted, and names those done without abort. */
function expectMethod(r: Awaited<ReturnType<typeof fence>>, what: string): void {
  for (const d of r.devices.filter((x) => x.outcome === 'fenced')) expect(d.method, `${what}: ${d.device}`).toBe(METHOD);
  const fencedByPreempt = r.devices.filter((x) => x.outcome === 'fenced').map((x) => x.device).sort();
  expect([...r.withoutAbort].sort(), `${what}: withoutAbort`).toEqual(expected({ lio: [], tgt: fencedByPreempt }));
}

/** sd paths of `node` for our LUNs, on every path (multipath-style: 2 per LUN). */
function devicesOf(map: LabMap, node: number, paths: number[] = [0, 1]): string[] {
  return map.devices.filter((d) => d.node === node && LUNS.includes(d.lun) && paths.includes(d.path)).map((d) => d.sd);
}

function sgOf(map: LabMap, node: number, lun: number, path = 0): string {
  const d = map.devices.find((x) => x.node === node && x.lun === lun && x.path === path);
  if (!d) throw new Error(`no device for node ${node} LUN ${lun} path ${path}`);
  return d.sg;
}

/** One-block WRITE from `node` to every LUN on path 0: 'ok' or the error code. */
async function writes(map: LabMap, node: number): Promise<string[]> {
  return Promise.all(
    LUNS.map(async (lun) => {
      const d = await pr.open(sgOf(map, node, lun));
      try {
        await d.writeBlocks(8, Buffer.alloc(512, node));
        return 'ok';
      } catch (e) {
        return (e as pr.ScsiPrError).code;
      } finally {
        await d.close();
      }
    }),
  );
}

/** sg_persist's key list must equal the library's status() keys on every LUN. */
async function crossCheck(map: LabMap, node: number): Promise<void> {
  const st = await status({ devices: LUNS.map((l) => sgOf(map, node, l)), key: KEY[node] });
  for (const lun of LUNS) {
    const dev = st.devices.find((d) => d.device === sgOf(map, node, lun));
    expect(dev, `status() reports LUN ${lun}`).toBeDefined();
    const theirs = await sgPersistKeys(sgOf(map, node, lun));
    expect(dev!.keys.map((k) => pr.formatKey(k)), `LUN ${lun}: scsi-pr vs sg_persist -k`).toEqual(theirs);
  }
}

describe('fencing a node off every shared LUN', () => {
  let map: LabMap;
  beforeAll(async () => {
    map = labMap();
    await labTools.resetReservations(LUNS);
  });
  afterAll(async () => {
    await labTools.resetReservations(LUNS);
  });

  it('unfences all three nodes on every path and reserves every LUN (type 5)', async () => {
    for (const node of [1, 2, 3]) {
      const r = await unfence({ devices: devicesOf(map, node), key: KEY[node] });
      expect(r.ok, JSON.stringify(pr.toJSONSafe(r))).toBe(true);
      expect(r.devices).toHaveLength(LUNS.length); // 16 paths grouped into 8 LUs by WWN
      for (const d of r.devices) {
        expect(d.paths).toBe(2);
        expect(d.pathsRegistered).toBe(2);
      }
    }
    const st = await status({ devices: devicesOf(map, 2, [0]), key: KEY[2] });
    expect(st.registeredEverywhere).toBe(true);
    for (const d of st.devices) {
      expect(d.source).toBe(SOURCE);
      expect(d.registrations).toBe(2); // both of node 2's I_T nexuses (tgt: our key's READ KEYS entries)
      expect(d.keys).toHaveLength(6); // 3 nodes x 2 paths
      expect(d.reservation?.key).toBe(KEY[1]);
      expect(d.reservation?.type).toBe(5);
    }
    await crossCheck(map, 2);
    expect(await writes(map, 3)).toEqual(LUNS.map(() => 'ok'));
  });

  it('node 1 fences node 3: node 3 is refused everywhere, nodes 1 and 2 still write', async () => {
    const r = await fence({ devices: devicesOf(map, 1), key: KEY[1], victimKey: KEY[3] });
    expect(r.lost).toBe(false);
    expect(r.ok, JSON.stringify(pr.toJSONSafe(r))).toBe(true);
    expect(r.fenced).toHaveLength(LUNS.length);
    for (const d of r.devices) {
      expect(d.outcome).toBe('fenced');
      // The arbiter LU (first in WWN order) is preempted without a check: no generation before.
      if (d === r.devices[0]) expect(d.generationBefore).toBeUndefined();
      else expect(d.generationAfter!).toBeGreaterThan(d.generationBefore!);
      expect(d.reservation?.key).toBe(KEY[1]);
    }
    expectMethod(r, 'node 1 fences node 3');
    expect(r.withoutAbort).toHaveLength(expected({ lio: 0, tgt: LUNS.length }));
    expect(await writes(map, 3)).toEqual(LUNS.map(() => 'ERR_RESERVATION_CONFLICT'));
    expect(await writes(map, 1)).toEqual(LUNS.map(() => 'ok'));
    expect(await writes(map, 2)).toEqual(LUNS.map(() => 'ok'));
    for (const lun of LUNS) expect(await sgPersistKeys(sgOf(map, 2, lun))).not.toContain(pr.formatKey(KEY[3]));
    await crossCheck(map, 1);

    // Fencing again is idempotent: every LU is already fenced.
    const again = await fence({ devices: devicesOf(map, 1, [0]), key: KEY[1], victimKey: KEY[3] });
    expect(again.ok).toBe(true);
    expect(again.devices.every((d) => d.outcome === 'already-fenced')).toBe(true);
    expect(again.withoutAbort).toEqual([]); // nothing preempted
  });

  it('a fenced node cannot fence back: it finds its own key gone and reports that it lost', async () => {
    const r = await fence({ devices: devicesOf(map, 3, [0]), key: KEY[3], victimKey: KEY[1] });
    expect(r.lost).toBe(true);
    expect(r.ok).toBe(false);
    expect(r.devices.every((d) => d.outcome === 'lost')).toBe(true);
    expect(await writes(map, 1)).toEqual(LUNS.map(() => 'ok'));
    await crossCheck(map, 1);
  });

  it('node 3 comes back with a new iSCSI session (new ISID) and unfences itself', async () => {
    const before = map.nodes[2].luns[0].isid;
    await labTools.logout(3);
    map = await labTools.login(3);
    expect(map.nodes[2].luns[0].isid).not.toBe(before);
    const r = await unfence({ devices: devicesOf(map, 3), key: KEY[3] });
    expect(r.ok, JSON.stringify(pr.toJSONSafe(r))).toBe(true);
    expect(r.devices.every((d) => d.reservation === 'existing' && d.holder === KEY[1])).toBe(true);
    expect(await writes(map, 3)).toEqual(LUNS.map(() => 'ok'));
    await crossCheck(map, 3);
  });

  it('two nodes fencing each other at the same moment: exactly one survives, on every LUN, 20 times', async () => {
    const tally = { 1: 0, 2: 0 } as Record<number, number>;
    for (let round = 0; round < 20; round++) {
      // Every command below retries UNIT ATTENTIONs (scsi-pr, and sgPersistKeys): no drain needed.
      await labTools.resetReservations(LUNS, { drain: false });
      for (const node of [1, 2]) expect((await unfence({ devices: devicesOf(map, node, [0]), key: KEY[node] })).ok).toBe(true);
      const [a, b] = await Promise.all([
        fence({ devices: devicesOf(map, 1, [0]), key: KEY[1], victimKey: KEY[2] }),
        fence({ devices: devicesOf(map, 2, [0]), key: KEY[2], victimKey: KEY[1] }),
      ]);
      expect([a.ok && !a.lost, b.ok && !b.lost].filter(Boolean), `round ${round}: exactly one winner`).toHaveLength(1);
      const winner = a.ok ? 1 : 2;
      const loser = 3 - winner;
      tally[winner]++;
      expectMethod(winner === 1 ? a : b, `round ${round}: the winner`);
      expect((winner === 1 ? b : a).lost, `round ${round}: the loser knows it lost`).toBe(true);
      const keysPerLun = await Promise.all(LUNS.map((lun) => sgPersistKeys(sgOf(map, winner, lun))));
      LUNS.forEach((lun, i) => {
        expect(keysPerLun[i], `round ${round} LUN ${lun}`).toContain(pr.formatKey(KEY[winner]));
        expect(keysPerLun[i], `round ${round} LUN ${lun}: no split`).not.toContain(pr.formatKey(KEY[loser]));
      });
    }
    expect(tally[1] + tally[2]).toBe(20);
  });

  it('a LUN that disappears during fence is named in the report; the others are fenced', async () => {
    await labTools.resetReservations(LUNS);
    for (const node of [1, 2]) expect((await unfence({ devices: devicesOf(map, node, [0]), key: KEY[node] })).ok).toBe(true);
    // LUN 7: no other file names its ACLs in a SPEC_I_PT REGISTER (after which LIO refuses
    // to unmap a LUN until reboot). Not LUN 0: unmapped, LIO answers for it with a virtual
    // LUN 0 (empty key list) instead of failing.
    const GONE = 7;
    try {
      await labTools.removeLun(GONE); // tgt: a Promise (tgtadm)
      const r = await fence({ devices: devicesOf(map, 1, [0]), key: KEY[1], victimKey: KEY[2], timeoutMs: 10_000 });
      const goneSg = sgOf(map, 1, GONE);
      const bad = r.devices.find((d) => d.device === map.devices.find((x) => x.sg === goneSg)!.sd);
      console.log(`[${TARGET}] LUN ${GONE} removed during fence: ${bad?.outcome} ${bad?.error?.message}; fence took ${r.durationMs.toFixed(0)} ms`);
      expect(r.ok).toBe(false);
      expect(r.lost).toBe(false);
      expect(bad?.ok).toBe(false);
      expect(bad?.error).toBeInstanceOf(pr.ScsiPrError);
      expect(r.notFenced).toEqual([bad!.device]);
      expect(r.fenced).toHaveLength(LUNS.length - 1);
      expectMethod(r, 'with LUN 7 gone');
    } finally {
      await labTools.restoreLun(GONE);
    }
  });

  it('with one portal down, fence fails over to the other path of every LUN', async () => {
    await labTools.resetReservations(LUNS);
    for (const node of [1, 2]) expect((await unfence({ devices: devicesOf(map, node), key: KEY[node] })).ok).toBe(true);
    // fence() tries an LU's paths in path-name order (lib/fencing/logical-units.ts) and fails
    // over to the next. Take down the portal of the path that order tries first on most LUNs,
    // or fence() might never meet the dead path: which one that is depends on how the sd names
    // came out (in the tgt lab path 1 sorted first on every LUN, so downing portal 1 tested nothing).
    const firstPath = (lun: number) => map.devices.filter((d) => d.node === 1 && d.lun === lun).sort((a, b) => (a.sd < b.sd ? -1 : a.sd > b.sd ? 1 : 0))[0]!.path;
    const firsts = LUNS.map(firstPath);
    const down = firsts.filter((p) => p === 1).length * 2 > firsts.length ? 1 : 0;
    const meetDeadPathFirst = LUNS.filter((_, i) => firsts[i] === down);
    expect(meetDeadPathFirst.length, `LUNs whose first path (${down}) is the one taken down`).toBeGreaterThanOrEqual(LUNS.length / 2);
    // LIO: the portal's TPG is disabled, its sessions drop and commands fail after the replacement
    // timeout. tgt: a tc filter drops the portal's packets, so commands there hang until the
    // session is declared dead or timeoutMs ends them (fence() then takes the other path).
    await labTools.portalDown(down + 1);
    try {
      const r = await fence({ devices: devicesOf(map, 1), key: KEY[1], victimKey: KEY[2], timeoutMs: 15_000 });
      expect(r.ok, JSON.stringify(pr.toJSONSafe(r))).toBe(true);
      expect(r.fenced).toHaveLength(LUNS.length);
      expectMethod(r, 'one portal down');
      console.log(`[${TARGET}] fence with portal ${down + 1} (path ${down}, tried first on ${meetDeadPathFirst.length} of ${LUNS.length} LUNs) down took ${r.durationMs.toFixed(0)} ms (timeoutMs 15000 per command)`);
      // The path really was dead while fence() ran (so those LUNs were fenced through the other one).
      const probe = await pr
        .open(sgOf(map, 1, meetDeadPathFirst[0]!, down), { timeoutMs: 5000, retries: { unitAttention: 20 } })
        .then((d) => d.testUnitReady().finally(() => d.close()))
        .then(() => 'answered', (e: unknown) => (e as pr.ScsiPrError).code ?? String(e));
      console.log(`[${TARGET}] TEST UNIT READY on the dead path: ${probe}`);
      expect(probe, `path ${down} while its portal was down`).not.toBe('answered');
    } finally {
      await labTools.portalUp(down + 1);
    }
    // Wait for the portal's sessions to come back before the next file runs.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const m = labTools.map();
      if (m.devices.filter((d) => d.path === down).every((d) => d.sd && d.sg)) {
        try {
          const d = await pr.open(sgOf(m, 1, 0, down));
          await d.testUnitReady({ timeoutMs: 3000 }).finally(() => d.close());
          break;
        } catch {
          /* not yet */
        }
      }
      if (Date.now() > deadline) throw new Error(`portal ${down + 1} sessions did not recover`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });
});
