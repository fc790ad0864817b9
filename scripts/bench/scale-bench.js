#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Fence scaling benchmark, run INSIDE the lab (issue 14, benchmark 3). In one boot
 * (2 nodes x 256 LUNs, LIO, 2 paths each where the lab has them), time fence() from
 * node 1 or 2 on the first 8, 64 and 256 LUs at netem 0 and 10 ms, in interleaved
 * rounds (each round: 0 ms then 10 ms; each delay: 8, 64, 256). Beside every fence,
 * on the same LUs, the C reference: one PREEMPT AND ABORT per LU, all in flight
 * through the sg v3 async interface (sg-fanout.c, one path per LU).
 *
 *   node scripts/lab.js run --nodes 2 --luns 256 --paths 2 --lun-mb 1 --sg-only --timeout 1500 -- \
 *     node scripts/bench/scale-bench.js [--rounds 7] [--sizes 8,64,256] [--delays 0,10]
 *       [--json bench/fence-scaling.json] [--svg bench/fence-scaling.svg]
 *
 * (--sg-only: the 1024 SCSI devices boot in ~1.5-2.5 min instead of ~8 with sd attached;
 * the whole run takes ~4-6 min on the 2-core machine.) Smaller labs work too: sizes
 * above the lab's LUN count are left out.
 *
 * fence() gets the fencing node's open Devices, one per path of each LU (fence groups the paths
 * of an LU by WWN: 2 paths give 2 Devices and 1 LU). Between two timed fences the
 * reservations are re-armed, untimed, on the LUs the step uses: both nodes
 * registered on every path, one node holding a type 5 reservation on each (the
 * fencer of the last step: roles swap as in fence-bench), and every path of the
 * next fencer has answered a TEST UNIT READY, so no UNIT ATTENTION is left for
 * the timed commands.
 *
 * One warm-up pass (every size, both methods, not recorded) comes first; each
 * round also times one READ KEYS per delay (what one command costs in this lab).
 * netem sits on loopback (qdisc on lo), so it delays both directions: 10 ms netem
 * is a 20 ms round trip.
 *
 * Output: a table, the growth ratios t(256)/t(64) (goal at 10 ms: <= 1.3; at 0 ms
 * compare with 4 = linear), JSON in $SCSI_PR_LAB_RUN/scale-bench.json and
 * --json FILE, and an SVG plot made from that JSON by plot-svg.js (--svg FILE,
 * and fence-scaling.svg in the run directory).
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const pr = require(path.join(ROOT, 'dist'));
const { fence } = require(path.join(ROOT, 'dist', 'fencing', 'fence.js'));
const { cProgram } = require('./bench-stats.js');
const lab = require(path.join(ROOT, 'scripts', 'lab', 'guest-tools.js'));
const { renderFenceScalingSvg } = require('./plot-svg.js');

const KEY = [0xa1n, 0xb2n];
/** Scratch key for the initial clean-up (REGISTER AND IGNORE, then CLEAR). */
const SCRATCH_KEY = 0x5ca1eben;
const USAGE = 'usage: scale-bench.js [--rounds N (7)] [--sizes 8,64,256] [--delays 0,10] [--json FILE] [--svg FILE]';

/**
 * @typedef {object} BenchArgs
 * @property {number} rounds
 * @property {number[]} sizes
 * @property {number[]} delays
 * @property {string} [json]
 * @property {string} [svg]
 */

/** @param {string[]} argv @returns {BenchArgs} */
function parseArgs(argv) {
  /** @type {BenchArgs} */
  const a = { rounds: 7, sizes: [8, 64, 256], delays: [0, 10] };
  const list = (/** @type {string|undefined} */ s, /** @type {string} */ flag) => {
    const xs = String(s ?? '').split(',').map(Number);
    if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 0)) throw new RangeError(`${flag} needs a comma-separated list of integers`);
    return xs;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const v = () => argv[++i];
    if (flag === '--rounds') {
      a.rounds = Number(v());
      if (!Number.isInteger(a.rounds) || a.rounds < 1) throw new RangeError('--rounds needs an integer >= 1');
    } else if (flag === '--sizes') a.sizes = list(v(), flag).sort((x, y) => x - y);
    else if (flag === '--delays') a.delays = list(v(), flag);
    else if (flag === '--json') a.json = v();
    else if (flag === '--svg') a.svg = v();
    else throw new RangeError(`unknown option ${flag}\n${USAGE}`);
  }
  if (a.sizes.some((s) => s < 1)) throw new RangeError('--sizes must be >= 1');
  return a;
}

/** @param {number[]} xs */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** @param {number[]} xs */
const stats = (xs) => ({ medianMs: round2(median(xs)), minMs: round2(Math.min(...xs)), maxMs: round2(Math.max(...xs)), n: xs.length });
const round2 = (/** @type {number} */ x) => Math.round(x * 100) / 100;
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Run a program without blocking the event loop; resolves with its output.
 * @param {string} cmd @param {string[]} args
 * @returns {Promise<{status: number | null, stdout: string, stderr: string}>}
 */
function runProgram(cmd, args) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b) => (stdout += b));
    c.stderr.on('data', (b) => (stderr += b));
    c.on('error', reject);
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * Run `fn` on every item, at most `limit` at a time (a 1024-wide burst of PR OUTs
 * would only queue in the initiator; a bounded window keeps re-arming predictable).
 * @template T @param {T[]} items @param {number} limit @param {(x: T) => Promise<unknown>} fn
 */
async function eachLimited(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Which fence() was measured (fence.ts changes while this benchmark stays): the
 * repository's HEAD, whether lib/fencing differs from it, and a digest of the
 * dist/fencing/fence.js that ran.
 */
function measuredFence() {
  const git = (/** @type {string[]} */ a) => {
    try { return execFileSync('git', ['-C', ROOT, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return undefined; }
  };
  const js = path.join(ROOT, 'dist', 'fencing', 'fence.js');
  return {
    gitHead: git(['rev-parse', '--short=12', 'HEAD']),
    libFencingChanged: (git(['status', '--porcelain', '--', 'lib/fencing']) ?? '') !== '',
    distFenceJsSha256: require('node:crypto').createHash('sha256').update(fs.readFileSync(js)).digest('hex').slice(0, 16),
    distFenceJsBuilt: fs.statSync(js).mtime.toISOString(),
  };
}

/** Lab facts for the JSON: size, memory, boot time (guest-init.sh's ready-ms). */
function labFacts(/** @type {any} */ map) {
  const run = process.env.SCSI_PR_LAB_RUN;
  let readyMs;
  try { readyMs = Number(fs.readFileSync(path.join(/** @type {string} */ (run), 'ready-ms'), 'utf8').trim()); } catch { /* not in a lab run dir */ }
  const memTotalKb = Number(/MemTotal:\s+(\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1]);
  return {
    target: map.target.kind,
    nodes: map.options.nodes,
    luns: map.options.luns,
    paths: map.options.paths,
    sgOnly: Boolean(map.options.sgOnly),
    lunMb: map.options.lunMb,
    scsiDevices: map.devices.length,
    guestMemMb: Math.round(memTotalKb / 1024),
    readyMs,
    kernel: fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const started = nowMs();
  const map = lab.map();
  const labInfo = labFacts(map);
  const lunCount = map.options.luns;
  const sizes = args.sizes.filter((s) => s <= lunCount);
  if (sizes.length < args.sizes.length) console.log(`scale-bench: the lab has ${lunCount} LUNs: sizes ${args.sizes.filter((s) => s > lunCount).join(', ')} left out`);
  if (sizes.length === 0) throw new Error(`no size fits the lab's ${lunCount} LUNs`);
  const maxLuns = sizes[sizes.length - 1];
  const pathsPerLu = map.options.paths;

  /** @type {string[][][]} sgPaths[node index][lun] = the sg nodes of that LU, path 0 first. */
  const sgPaths = [1, 2].map((node) =>
    Array.from({ length: maxLuns }, (_, lun) => {
      const ds = map.devices.filter((/** @type {any} */ d) => d.node === node && d.lun === lun).sort((/** @type {any} */ a, /** @type {any} */ b) => a.path - b.path);
      if (ds.length !== pathsPerLu || ds.some((/** @type {any} */ d) => !d.sg)) throw new Error(`node ${node} LUN ${lun}: ${ds.length} of ${pathsPerLu} paths have an sg node`);
      return ds.map((/** @type {any} */ d) => /** @type {string} */ (d.sg));
    }),
  );
  /** devs[node index][lun][path] */
  const devs = await Promise.all(sgPaths.map((side) => Promise.all(side.map((lu) => Promise.all(lu.map((p) => pr.open(p)))))));
  const all = (/** @type {number} */ n) => devs[n].flat();

  console.log(`scale-bench: ${labInfo.target}, ${labInfo.nodes} nodes x ${lunCount} LUNs x ${pathsPerLu} path(s) = ${labInfo.scsiDevices} SCSI devices, guest ${labInfo.guestMemMb} MB, lab ready in ${labInfo.readyMs} ms`);
  console.log(`scale-bench: ${args.rounds} rounds x delays ${args.delays.join('/')} ms x sizes ${sizes.join('/')} (fence with ${pathsPerLu} path(s) per LU; C fan-out with 1)`);

  // Clean start on the LUs used (a fresh boot has no PR state; a re-used dbroot might).
  await lab.setNetem({ delayMs: 0 });
  await eachLimited(devs[0].map((lu) => lu[0]), 64, async (d) => {
    await d.registerAndIgnoreExistingKey({ newKey: SCRATCH_KEY });
    await d.clear({ key: SCRATCH_KEY });
  });

  /** Which node holds the type 5 reservation on each LU (both are registered on every path). */
  const holderOf = new Array(maxLuns).fill(0);
  /** A TEST UNIT READY until it passes (the library retries UNIT ATTENTIONs; a few tries for stacked ones). */
  const drain = async (/** @type {any} */ d) => {
    for (let i = 0; ; i++) {
      try {
        await d.testUnitReady();
        return;
      } catch (e) {
        if (i >= 4) throw e;
      }
    }
  };
  /** Register node `n` on every path of the LUs `lus` (REGISTER AND IGNORE EXISTING KEY: idempotent). */
  const register = (/** @type {number} */ n, /** @type {number[]} */ lus) =>
    eachLimited(lus.flatMap((lu) => devs[n][lu]), 128, (d) => d.registerAndIgnoreExistingKey({ newKey: KEY[n] }));
  const firstLus = (/** @type {number} */ n) => Array.from({ length: n }, (_, i) => i);

  // Both nodes registered on every path, lab node 1 (index 0) holding type 5 everywhere.
  await register(0, firstLus(maxLuns));
  await register(1, firstLus(maxLuns));
  await eachLimited(firstLus(maxLuns), 128, (lu) => devs[0][lu][0].reserve({ key: KEY[0], type: 5 }));

  /**
   * Untimed, before a step on the first `n` LUs: one holder on all of them (LU 0's:
   * it preempts the other node where a smaller step left that one holding, and the
   * other node registers again there), then a TEST UNIT READY on every path of the
   * fencer to be, so no UNIT ATTENTION waits for the timed commands.
   * @param {number} n @returns {Promise<number>} the holder
   */
  const armFor = async (n) => {
    const h = holderOf[0];
    const o = 1 - h;
    const odd = firstLus(n).filter((lu) => holderOf[lu] !== h);
    await eachLimited(odd, 128, (lu) => devs[h][lu][0].preempt({ key: KEY[h], preemptKey: KEY[o], type: 5 }));
    await register(o, odd);
    for (const lu of odd) holderOf[lu] = h;
    await eachLimited(firstLus(n).flatMap((lu) => devs[o][lu]), 128, drain);
    return h;
  };

  const fanC = cProgram('sg-fanout');

  /** One command's round trip at the current delay: median of 5 READ KEYS, one after the other, on one path. */
  const oneCommandMs = async () => {
    const xs = [];
    for (let i = 0; i < 5; i++) {
      const t0 = nowMs();
      await devs[0][0][0].readKeys();
      xs.push(nowMs() - t0);
    }
    return median(xs);
  };

  /** @type {Array<{round: number, delayMs: number, luns: number, method: 'fence'|'c-fanout', ms: number, fenceReportMs?: number, phases?: Record<string, number>}>} */
  const samples = [];
  /**
   * One timed step on the first `n` LUs: the node that does not hold their
   * reservations removes the holder's key (so roles swap from step to step, as in
   * fence-bench); then, untimed, the victim registers again on every path there.
   * @param {'fence'|'c-fanout'} method @param {number} n
   */
  const step = async (method, n) => {
    const victim = await armFor(n);
    const a = 1 - victim;
    /** @type {{ms: number, fenceReportMs?: number, phases?: Record<string, number>}} */
    let r;
    if (method === 'fence') {
      const devices = devs[a].slice(0, n).flat();
      const t0 = nowMs();
      const rep = await fence({ devices, key: KEY[a], victimKey: KEY[victim] });
      const ms = nowMs() - t0;
      if (!rep.ok) throw new Error(`fence on ${n} LUNs failed: ${JSON.stringify(pr.toJSONSafe(rep.notFenced))} ${JSON.stringify(pr.toJSONSafe(rep.devices.filter((/** @type {any} */ d) => !d.ok).slice(0, 3)))}`);
      if (rep.devices.length !== n) throw new Error(`fence saw ${rep.devices.length} LUs for ${n} LUNs x ${pathsPerLu} paths: paths were not grouped by WWN`);
      r = { ms, fenceReportMs: rep.durationMs, phases: rep.phases };
    } else {
      const sgs = sgPaths[a].slice(0, n).map((lu) => lu[0]);
      const c = await runProgram(fanC, ['preempt-and-abort', KEY[a].toString(16), KEY[victim].toString(16), '5', ...sgs]);
      if (c.status !== 0) throw new Error(`sg-fanout on ${n} LUNs exited ${c.status}: ${c.stdout}${c.stderr}`);
      r = { ms: JSON.parse(c.stdout).wallUs / 1000 };
    }
    for (let lu = 0; lu < n; lu++) holderOf[lu] = a;
    await register(victim, firstLus(n)); // the preempt removed its registrations (and this consumes their UNIT ATTENTIONs)
    return r;
  };

  // Warm-up, not recorded: every path's first commands, WWN look-ups, JIT.
  for (const n of sizes) for (const method of /** @type {const} */ (['fence', 'c-fanout'])) await step(method, n);

  /** @type {Array<{round: number, delayMs: number, ms: number}>} */
  const oneCommand = [];
  for (let round = 1; round <= args.rounds; round++) {
    const t0 = nowMs();
    const line = [];
    for (const delayMs of args.delays) {
      await lab.setNetem({ delayMs });
      oneCommand.push({ round, delayMs, ms: round2(await oneCommandMs()) });
      for (const n of sizes) {
        for (const method of /** @type {const} */ (['fence', 'c-fanout'])) {
          const r = await step(method, n);
          samples.push({ round, delayMs, luns: n, method, ms: round2(r.ms), ...(r.fenceReportMs !== undefined ? { fenceReportMs: round2(r.fenceReportMs) } : {}), ...(r.phases ? { phases: r.phases } : {}) });
          line.push(`${delayMs}ms/${n}/${method === 'fence' ? 'f' : 'c'} ${r.ms.toFixed(1)}`);
        }
      }
    }
    console.log(`round ${round}/${args.rounds} (${((nowMs() - t0) / 1000).toFixed(1)} s): ${line.join('  ')}`);
  }
  await lab.setNetem({ delayMs: 0 });
  for (const d of [...all(0), ...all(1)]) await d.close();

  /** @type {Array<{delayMs: number, luns: number, fence: ReturnType<typeof stats>, cFanout: ReturnType<typeof stats>, fencePhasesMedianMs: Record<string, number>, fenceOverOneCommand: number}>} */
  const summary = [];
  /** Median single READ KEYS per delay: one command, one round trip (at 0 ms netem mostly UML CPU). */
  const roundTripMs = Object.fromEntries(args.delays.map((d) => [d, round2(median(oneCommand.filter((x) => x.delayMs === d).map((x) => x.ms)))]));
  for (const delayMs of args.delays) {
    for (const n of sizes) {
      const of = (/** @type {'fence'|'c-fanout'} */ m) => samples.filter((s) => s.delayMs === delayMs && s.luns === n && s.method === m);
      const fences = of('fence');
      /** @type {Record<string, number>} */
      const phases = {};
      for (const k of Object.keys(fences[0]?.phases ?? {})) phases[k] = round2(median(fences.map((s) => Number(s.phases?.[k] ?? 0))));
      const fenceStats = stats(fences.map((s) => s.ms));
      summary.push({ delayMs, luns: n, fence: fenceStats, cFanout: stats(of('c-fanout').map((s) => s.ms)), fencePhasesMedianMs: phases, fenceOverOneCommand: round2(fenceStats.medianMs / roundTripMs[delayMs]) });
    }
  }
  /** t(big)/t(small) of the medians, per delay, when both sizes ran. */
  const growth = [];
  const [small, big] = sizes.includes(64) && sizes.includes(256) ? [64, 256] : [sizes[Math.max(0, sizes.length - 2)], sizes[sizes.length - 1]];
  for (const delayMs of args.delays) {
    const row = (/** @type {number} */ n) => summary.find((s) => s.delayMs === delayMs && s.luns === n);
    const s = row(small);
    const b = row(big);
    if (!s || !b || small === big) continue;
    growth.push({
      delayMs, fromLuns: small, toLuns: big, lunRatio: big / small,
      fence: round2(b.fence.medianMs / s.fence.medianMs),
      cFanout: round2(b.cFanout.medianMs / s.cFanout.medianMs),
    });
  }
  const result = {
    benchmark: 'fence-scaling',
    date: new Date().toISOString(),
    lab: labInfo,
    measuredFence: measuredFence(),
    netem: 'qdisc on lo: the delay applies in both directions (10 ms = 20 ms round trip)',
    rounds: args.rounds,
    sizes,
    delaysMs: args.delays,
    pathsPerLuFence: pathsPerLu,
    pathsPerLuCFanout: 1,
    goals: { at10msMaxGrowth64to256: 1.3, at0msLinearGrowth64to256: 4 },
    oneReadKeysMs: roundTripMs,
    summary,
    growth,
    benchWallS: 0,
    samples,
  };
  result.benchWallS = Math.round((nowMs() - started) / 100) / 10;

  console.log(`\none READ KEYS (median): ${args.delays.map((d) => `${roundTripMs[d]} ms at ${d} ms netem`).join(', ')}`);
  console.log(`median (min-max) ms over ${args.rounds} rounds; fence with ${pathsPerLu} path(s) per LU, C = one PREEMPT AND ABORT per LU, all in flight:`);
  console.log('delay  LUNs   fence()                     C fan-out                   fence/READ KEYS  fence phases (median ms)');
  for (const s of summary) {
    const cell = (/** @type {ReturnType<typeof stats>} */ x) => `${x.medianMs.toFixed(1)} (${x.minMs.toFixed(1)}-${x.maxMs.toFixed(1)})`.padEnd(28);
    console.log(`${String(s.delayMs).padStart(3)} ms ${String(s.luns).padStart(5)}   ${cell(s.fence)}${cell(s.cFanout)}${`${s.fenceOverOneCommand.toFixed(1)}x`.padEnd(17)}${Object.entries(s.fencePhasesMedianMs).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  for (const g of growth) {
    const issueGoal = g.delayMs === 10 && g.fromLuns === 64 && g.toLuns === 256; // issue 14's goal
    const goal = issueGoal ? `goal <= 1.3: ${g.fence <= 1.3 ? 'met' : 'NOT met'}` : `linear would be ${g.lunRatio}: ${g.fence <= g.lunRatio ? 'at most linear' : 'worse than linear'}`;
    console.log(`growth at ${g.delayMs} ms netem, t(${g.toLuns})/t(${g.fromLuns}): fence ${g.fence.toFixed(2)} (${goal}); C fan-out ${g.cFanout.toFixed(2)}`);
  }
  console.log(`benchmark wall ${result.benchWallS} s`);

  const json = JSON.stringify(result, null, 2) + '\n';
  const svg = renderFenceScalingSvg(result);
  if (process.env.SCSI_PR_LAB_RUN) {
    fs.writeFileSync(path.join(process.env.SCSI_PR_LAB_RUN, 'scale-bench.json'), json);
    fs.writeFileSync(path.join(process.env.SCSI_PR_LAB_RUN, 'fence-scaling.svg'), svg);
  }
  if (args.json) {
    fs.mkdirSync(path.dirname(path.resolve(args.json)), { recursive: true });
    fs.writeFileSync(args.json, json);
  }
  if (args.svg) {
    fs.mkdirSync(path.dirname(path.resolve(args.svg)), { recursive: true });
    fs.writeFileSync(args.svg, svg);
    console.log(`plot: ${args.svg} (${svg.length} bytes)`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
