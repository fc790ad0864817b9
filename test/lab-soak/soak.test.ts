/**
 * Soak: 1000 fence/unfence cycles between two nodes on 16 LUNs, in ONE process
 * (`npm run test:soak`: 2 nodes x 16 LUNs x 1 path, its own lab boot).
 *
 * A cycle: the fencer fences the other node off all 16 LUs (every LU verified
 * by fence itself: victim key gone, our key there, a reservation, generation
 * advanced), then the victim unfences itself again (REGISTER AND IGNORE EXISTING
 * KEY on its path, the reservation found held by the fencer). The fencer
 * alternates (node 1 on even cycles, node 2 on odd ones), so both directions are
 * exercised and, from cycle 1 on, every fence preempts the reservation holder:
 * the reservation moves to the fencer every cycle.
 *
 * Two kinds of use at once: fence runs on Devices opened once and held for the
 * whole soak (a long-lived sg channel: per-command state must not pile up);
 * unfence is given the sg paths, so it opens and closes 16 Devices per cycle
 * (fds must come back).
 *
 * Every SAMPLE_EVERY cycles (after a global GC; `gc` is exposed at run time
 * through v8.setFlagsFromString, no node flag needed): open fds (/proc/self/fd),
 * RSS, V8 heap used, external + array buffers, Node's active resources, and the
 * commands in flight on every held Device (must be 0: nothing left pending).
 * The sample cycles are also checked against sg_persist (keys and reservation
 * of all 16 LUNs) and status().
 *
 * Leak rules (after a warm-up of SAMPLE_EVERY cycles):
 *  - fds: exactly the same count at every sample; after the held Devices are
 *    closed, exactly the count before they were opened;
 *  - memory: the Theil-Sen slope of (heap used + external) and of RSS over the
 *    samples, in bytes per command, must stay under LEAK_LIMIT.
 *    A cycle sends at least COMMANDS_PER_CYCLE commands, so a library that kept
 *    one small Buffer per command would grow by more than that (measured with
 *    SOAK_LEAK_BYTES, see below). A robust slope, not first-vs-last, so a single
 *    noisy sample does not decide;
 *  - active resources (handles, requests): no growth beyond a few (timers of
 *    the watchdog and the coarse clock come and go).
 *
 * The series is printed as a table and written as JSON to the lab run
 * directory (SCSI_PR_LAB_RUN/soak-series.json, on the host filesystem).
 *
 * Knobs (environment): SOAK_CYCLES (default 1000), SOAK_SAMPLE_EVERY (default
 * 100), SOAK_LEAK_BYTES: the TEST itself keeps a Buffer of that many bytes per
 * command (COMMANDS_PER_CYCLE per cycle) — a deliberate leak to show the
 * memory rule fails on one (it does: SOAK_CYCLES=300 SOAK_LEAK_BYTES=1 measured
 * 210 B/command of heap + external and 352 of RSS, limits 32 and 128).
 *
 * Found with it (fixed): closed sg channels were never garbage-collected (the
 * addon's SgPoller kept its JS callback in a strong reference after close; the
 * callback reaches the poller's own JS object, so the cycle was rooted), ~1 KB
 * per command here. test/unit/native/sg-poller-gc.test.ts pins the fix.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as pr from '../../lib';
import { fence, type FenceReport } from '../../lib/fencing/fence';
import { unfence, type UnfenceReport } from '../../lib/fencing/unfence';
import { status } from '../../lib/fencing/fence-status';
import { labMap, labTarget, labTools, sgPersistKeys, sgPersistReservation, type LabMap } from '../lab/lab-env';

const CYCLES = envInt('SOAK_CYCLES', 1000);
const SAMPLE_EVERY = envInt('SOAK_SAMPLE_EVERY', 100);
const LEAK_BYTES = envInt('SOAK_LEAK_BYTES', 0);
const LUNS = Array.from({ length: 16 }, (_, i) => i);
const KEY: Record<1 | 2, bigint> = { 1: 0x50a0c001n, 2: 0x50a0c002n };
/**
 * Commands per cycle, at least: fence = READ KEYS (check) + PREEMPT AND ABORT +
 * READ KEYS + READ RESERVATION (verify) per LU; unfence = REGISTER AND IGNORE
 * EXISTING KEY + READ RESERVATION per LU. UNIT ATTENTION retries come on top.
 */
const COMMANDS_PER_CYCLE = LUNS.length * (4 + 2);
/**
 * Memory growth allowed, bytes per command (slope over the samples after the
 * warm-up). A leak of one Buffer per command costs its bytes plus well over 100
 * bytes of JS objects (measured: SOAK_LEAK_BYTES=1 gives ~210 B/command of
 * heap + external, ~350 of RSS); 32 bytes per command is 3 MB over 1000 cycles
 * (measured without a leak: 2-14). RSS also sees native memory that V8 does not
 * (a malloc per command or per Device in the addon) but moves by a MB or two
 * between samples on its own (measured without a leak: 10-34 B/command): 128.
 */
const LEAK_LIMIT = { heapPlusExternal: 32, rss: 128 };
/** How the victim's key is removed (tgt 1.0.85 refuses PREEMPT AND ABORT: fence falls back to PREEMPT). */
const METHOD: Record<'lio' | 'tgt', pr.PreemptMethod> = { lio: 'preempt-and-abort', tgt: 'preempt' };

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: expected a non-negative integer`);
  return n;
}

// A global GC before each sample, without a node flag (vitest's pool starts the worker).
setFlagsFromString('--expose-gc');
const gc = ((globalThis as { gc?: () => void }).gc ?? runInNewContext('gc')) as () => void;

interface Sample {
  cycle: number;
  fds: number;
  rssMb: number;
  heapMb: number;
  externalMb: number;
  activeResources: number;
  inFlight: number;
  /** Mean wall time of a cycle since the previous sample (ms). */
  msPerCycle: number;
  /** Time of the two global GCs before the sample (ms). */
  gcMs: number;
  /** The slowest fence and unfence since the previous sample (ms): where a slow cycle went. */
  maxFenceMs: number;
  maxUnfenceMs: number;
}

const mb = (b: number) => Math.round((b / 1048576) * 100) / 100;
const openFds = () => readdirSync('/proc/self/fd').length - 1; // minus the one readdir itself holds

/** Commands in flight on a held Device's transport (private: read for the test, fails loudly if the shape changes). */
function inFlightOf(d: pr.Device): number {
  const n = (d as unknown as { commands?: { transport?: { inFlight?: unknown } } }).commands?.transport?.inFlight;
  if (typeof n !== 'number') throw new Error(`${d.path}: cannot read the transport's inFlight (Device internals changed?)`);
  return n;
}

function sample(cycle: number, msPerCycle: number, held: pr.Device[], slowest = { fence: 0, unfence: 0 }): Sample {
  const t0 = performance.now();
  gc();
  gc();
  const gcMs = Math.round(performance.now() - t0);
  const m = process.memoryUsage();
  return {
    cycle,
    fds: openFds(),
    rssMb: mb(m.rss),
    heapMb: mb(m.heapUsed),
    externalMb: mb(m.external + m.arrayBuffers),
    activeResources: process.getActiveResourcesInfo().length,
    inFlight: held.reduce((n, d) => n + inFlightOf(d), 0),
    msPerCycle: Math.round(msPerCycle * 10) / 10,
    gcMs,
    maxFenceMs: Math.round(slowest.fence),
    maxUnfenceMs: Math.round(slowest.unfence),
  };
}

/**
 * Theil-Sen slope of y over x: the median of the slopes of every pair of
 * points. One noisy sample (RSS moves by a MB when V8 or malloc keeps or gives
 * back pages) does not decide, a steady leak does.
 */
function slope(xs: number[], ys: number[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++) slopes.push((ys[j]! - ys[i]!) / (xs[j]! - xs[i]!));
  slopes.sort((a, b) => a - b);
  const mid = slopes.length >> 1;
  return slopes.length % 2 ? slopes[mid]! : (slopes[mid - 1]! + slopes[mid]!) / 2;
}

function sgOf(map: LabMap, node: number, lun: number): string {
  const d = map.devices.find((x) => x.node === node && x.lun === lun && x.path === 0);
  if (!d) throw new Error(`no device for node ${node} LUN ${lun}`);
  return d.sg;
}

/** Throws with the whole report (only built on failure: 1000 cycles of JSON would cost more than the cycle). */
function fail(cycle: number, what: string, report: unknown): never {
  throw new Error(`cycle ${cycle}: ${what}\n${JSON.stringify(pr.toJSONSafe(report), null, 1)}`);
}

function checkFence(cycle: number, r: FenceReport, fencer: 1 | 2, method: pr.PreemptMethod): void {
  if (!r.ok || r.lost || r.fenced.length !== LUNS.length || r.devices.length !== LUNS.length) fail(cycle, `fence by node ${fencer} not ok on all ${LUNS.length} LUs`, r);
  for (const d of r.devices) {
    if (d.outcome !== 'fenced' || !d.ok) fail(cycle, `${d.device}: outcome ${d.outcome}`, r);
    if (d.method !== method) fail(cycle, `${d.device}: method ${d.method}, expected ${method}`, r);
    if (d.reservation?.key !== KEY[fencer] || d.reservation?.type !== 5) fail(cycle, `${d.device}: reservation not held by the fencer (type 5)`, r);
    // The arbiter LU (first in WWN order) is preempted without a check: it has no generation before.
    if (d === r.devices[0] ? d.generationBefore !== undefined : !(d.generationAfter! > d.generationBefore!)) fail(cycle, `${d.device}: generation did not advance (or the arbiter LU has one before)`, r);
  }
}

function checkUnfence(cycle: number, r: UnfenceReport, node: 1 | 2, holder: 1 | 2, how: 'reserved' | 'existing' = 'existing'): void {
  if (!r.ok || r.devices.length !== LUNS.length) fail(cycle, `unfence of node ${node} not ok on all ${LUNS.length} LUs`, r);
  for (const d of r.devices) {
    if (d.pathsRegistered !== 1 || d.paths !== 1 || d.errors.length > 0) fail(cycle, `${d.device}: not registered on its path`, r);
    if (d.reservation !== how || d.holder !== KEY[holder]) fail(cycle, `${d.device}: expected the reservation ${how}, held by node ${holder}`, r);
  }
}

/**
 * sg_persist (independent of scsi-pr) on all 16 LUNs: exactly `keys`, and the holder.
 * Four LUNs at a time: spawning a child blocks the event loop until it has exec'd, which
 * in UML takes a few hundred ms each; 16 spawns in one tick stalled the worker 5-12 s.
 */
async function crossCheck(map: LabMap, cycle: number, keys: bigint[], holder: 1 | 2): Promise<void> {
  const want = keys.map((k) => pr.formatKey(k)).sort();
  const queue = [...LUNS];
  const worker = async () => {
    for (let lun = queue.shift(); lun !== undefined; lun = queue.shift()) {
      const sg = sgOf(map, 1, lun);
      const got = [...new Set(await sgPersistKeys(sg))].sort();
      expect(got, `cycle ${cycle} LUN ${lun}: sg_persist -k`).toEqual(want);
      expect(await sgPersistReservation(sg), `cycle ${cycle} LUN ${lun}: sg_persist -r`).toEqual({ key: pr.formatKey(KEY[holder]), type: 5 });
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

describe('soak: fence/unfence cycles between two nodes on 16 LUNs, one process', () => {
  let map: LabMap;
  const held: Record<1 | 2, pr.Device[]> = { 1: [], 2: [] };
  beforeAll(async () => {
    map = labMap();
    expect(map.options.nodes, 'lab: --nodes 2').toBeGreaterThanOrEqual(2);
    expect(map.options.luns, 'lab: --luns 16').toBeGreaterThanOrEqual(LUNS.length);
    await labTools.resetReservations(LUNS);
  });
  afterAll(async () => {
    for (const node of [1, 2] as const) await Promise.all(held[node].map((d) => d.close()));
    await labTools.resetReservations(LUNS);
  });

  it(`${CYCLES} cycles: every fence and unfence ok; fds flat, memory flat, nothing pending`, async () => {
    expect(CYCLES, 'SOAK_CYCLES: at least two samples after the warm-up').toBeGreaterThanOrEqual(3 * SAMPLE_EVERY);
    const method = METHOD[labTarget()];
    const paths = (node: 1 | 2) => LUNS.map((lun) => sgOf(map, node, lun));
    const fdsBeforeOpen = openFds();
    for (const node of [1, 2] as const) held[node] = await Promise.all(paths(node).map((p) => pr.open(p)));
    const all = [...held[1], ...held[2]];
    // Both registered; node 1 reserves first and holds the reservation.
    checkUnfence(-1, await unfence({ devices: paths(1), key: KEY[1] }), 1, 1, 'reserved');
    checkUnfence(-1, await unfence({ devices: paths(2), key: KEY[2] }), 2, 1);
    await crossCheck(map, -1, [KEY[1], KEY[2]], 1);
    // status() once before the first sample: its 64 KiB READ FULL STATUS buffers fill the
    // data-in pool (bounded, ~2 MB) once; that step belongs to the warm-up, not to a trend.
    expect((await status({ devices: held[1], key: KEY[1] })).registeredEverywhere).toBe(true);

    const leak: Buffer[] = [];
    const series: Sample[] = [sample(0, 0, all)];
    let t = performance.now();
    let slowest = { fence: 0, unfence: 0 };
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const fencer: 1 | 2 = cycle % 2 === 0 ? 1 : 2;
      const victim: 1 | 2 = fencer === 1 ? 2 : 1;
      const f0 = performance.now();
      checkFence(cycle, await fence({ devices: held[fencer], key: KEY[fencer], victimKey: KEY[victim] }), fencer, method);
      slowest.fence = Math.max(slowest.fence, performance.now() - f0);
      const sampled = (cycle + 1) % SAMPLE_EVERY === 0;
      if (sampled) await crossCheck(map, cycle, [KEY[fencer]], fencer);
      const u0 = performance.now();
      checkUnfence(cycle, await unfence({ devices: paths(victim), key: KEY[victim] }), victim, fencer);
      slowest.unfence = Math.max(slowest.unfence, performance.now() - u0);
      for (let i = 0; LEAK_BYTES > 0 && i < COMMANDS_PER_CYCLE; i++) leak.push(Buffer.alloc(LEAK_BYTES, i));
      if (sampled) {
        const now = performance.now();
        const s = sample(cycle + 1, (now - t) / SAMPLE_EVERY, all, slowest);
        slowest = { fence: 0, unfence: 0 };
        series.push(s);
        expect(s.inFlight, `cycle ${cycle + 1}: commands in flight on the held Devices`).toBe(0);
        const st = await status({ devices: held[1], key: KEY[1] });
        expect(st.registeredEverywhere, `cycle ${cycle + 1}: status() of node 1`).toBe(true);
        for (const d of st.devices) {
          expect(d.reservation?.key, `cycle ${cycle + 1} ${d.device}: status() holder`).toBe(KEY[fencer]);
          expect([...new Set(d.keys)].sort(), `cycle ${cycle + 1} ${d.device}: status() keys`).toEqual([KEY[1], KEY[2]].sort());
        }
        await crossCheck(map, cycle, [KEY[1], KEY[2]], fencer);
        t = performance.now(); // the checks above are not part of a cycle's time
      }
    }

    // The series, as a table and as JSON for the notes.
    const out = join(process.env.SCSI_PR_LAB_RUN ?? '/tmp', 'soak-series.json');
    const after = series.filter((s) => s.cycle >= SAMPLE_EVERY);
    const x = after.map((s) => s.cycle * COMMANDS_PER_CYCLE);
    const perCommand = {
      heapPlusExternal: slope(x, after.map((s) => (s.heapMb + s.externalMb) * 1048576)),
      rss: slope(x, after.map((s) => s.rssMb * 1048576)),
    };
    const lines = [
      `soak: ${CYCLES} cycles, ${LUNS.length} LUNs, target ${labTarget()}, >= ${COMMANDS_PER_CYCLE} commands per cycle${LEAK_BYTES ? `, DELIBERATE LEAK ${LEAK_BYTES} B/command` : ''}`,
      ' cycle   fds   rss MB  heap MB  ext MB  resources  in-flight  ms/cycle  gc ms  max fence ms  max unfence ms',
      ...series.map((s) =>
        [String(s.cycle).padStart(6), String(s.fds).padStart(5), s.rssMb.toFixed(1).padStart(8), s.heapMb.toFixed(1).padStart(8), s.externalMb.toFixed(1).padStart(7), String(s.activeResources).padStart(10), String(s.inFlight).padStart(10), s.msPerCycle.toFixed(1).padStart(9), String(s.gcMs).padStart(6), String(s.maxFenceMs).padStart(13), String(s.maxUnfenceMs).padStart(15)].join(' '),
      ),
      `growth after cycle ${SAMPLE_EVERY} (Theil-Sen slope): heap+external ${perCommand.heapPlusExternal.toFixed(2)} B/command (limit ${LEAK_LIMIT.heapPlusExternal}), rss ${perCommand.rss.toFixed(2)} B/command (limit ${LEAK_LIMIT.rss})`,
    ];
    console.log(lines.join('\n'));

    // Closing the held Devices gives back exactly the fds they took.
    await Promise.all(all.map((d) => d.close()));
    const fdsAfterClose = openFds();
    writeFileSync(out, JSON.stringify({ cycles: CYCLES, luns: LUNS.length, target: labTarget(), commandsPerCycleAtLeast: COMMANDS_PER_CYCLE, leakBytesPerCommand: LEAK_BYTES, fdsBeforeOpen, fdsAfterClose, bytesPerCommand: perCommand, limitBytesPerCommand: LEAK_LIMIT, series }, null, 1) + '\n');
    console.log(`soak: series written to ${out}`);

    expect(after.map((s) => s.fds), 'open fds at every sample after the warm-up').toEqual(after.map(() => after[0]!.fds));
    expect(fdsAfterClose, 'fds after closing the held Devices = fds before opening them').toBe(fdsBeforeOpen);
    const res = series.map((s) => s.activeResources);
    expect(Math.max(...res) - Math.min(...res), `active resources ${res.join(',')}`).toBeLessThanOrEqual(4);
    expect(perCommand.heapPlusExternal, 'heap + external growth, bytes per command').toBeLessThan(LEAK_LIMIT.heapPlusExternal);
    expect(perCommand.rss, 'RSS growth, bytes per command').toBeLessThan(LEAK_LIMIT.rss);
    expect(leak.length).toBe(LEAK_BYTES > 0 ? CYCLES * COMMANDS_PER_CYCLE : 0);
  });
});
