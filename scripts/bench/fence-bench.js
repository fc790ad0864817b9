#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Fencing benchmark, run INSIDE the lab (`npm run bench:fence`: 2 nodes x 64 LUNs,
 * 1 ms netem). Ratios from one boot:
 *   fence() end to end (check + arbiter + fan-out + verify), with devices given as
 *   paths (opened and closed by fence) and as already open Devices,
 *   vs (a) one PREEMPT AND ABORT fan-out at the lab's limit (sg-fanout.c, all in flight),
 *   vs (a') the same C program running fence's four fan-outs back to back,
 *   vs (b) a fence_scsi-style sequential loop of processes per device:
 *       sg_turs, sg_persist -k, sg_persist -r, sg_persist --preempt-abort, sg_persist -k.
 * Then fence() vs (a) again with 10 ms netem, where round trips rather than the
 * per-command cost of UML system calls dominate.
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const pr = require(path.join(ROOT, 'dist'));
const { fence } = require(path.join(ROOT, 'dist', 'fencing', 'fence.js'));
const lab = require(path.join(ROOT, 'scripts', 'lab', 'guest-tools.js'));

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SLOW_DELAY_MS = 10;
const KEY = [0xa1n, 0xb2n];

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

function cProgram(/** @type {string} */ name) {
  const out = path.join(ROOT, '.lab', name);
  const src = path.join(__dirname, `${name}.c`);
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs) execFileSync('gcc', ['-O2', '-Wall', '-o', out, src]);
  return out;
}

async function main() {
  const map = lab.map();
  const sgs = [map.nodes[0].luns.map((/** @type {any} */ l) => l.sg), map.nodes[1].luns.map((/** @type {any} */ l) => l.sg)];
  await lab.resetReservations();
  await lab.setNetem({ delayMs: 1 });
  const devs = [await Promise.all(sgs[0].map((/** @type {string} */ p) => pr.open(p))), await Promise.all(sgs[1].map((/** @type {string} */ p) => pr.open(p)))];
  /** Both nodes registered everywhere; `holder` holds the type 5 reservation. */
  const setUp = async (/** @type {number} */ holder) => {
    await Promise.all(devs[0].map((/** @type {any} */ d) => d.registerAndIgnoreExistingKey({ newKey: KEY[0] })));
    await Promise.all(devs[1].map((/** @type {any} */ d) => d.registerAndIgnoreExistingKey({ newKey: KEY[1] })));
    await Promise.all(devs[holder].map((/** @type {any} */ d) => d.readReservation().then((/** @type {any} */ r) => (r.reservation ? null : d.reserve({ key: KEY[holder], type: 5 })))));
  };
  const fanC = cProgram('sg-fanout');
  let holder = 0;
  await setUp(holder);
  /**
   * One timed step: the other node (`a`) removes the holder's key with `work`; then
   * the roles swap and both nodes are registered again. Returns milliseconds.
   * @param {(a: number, victim: number) => Promise<number | void> | number | void} work  may return its own measurement
   */
  const step = async (work) => {
    const a = 1 - holder;
    const t0 = nowMs();
    const own = await work(a, holder);
    const ms = typeof own === 'number' ? own : nowMs() - t0;
    holder = a;
    await setUp(holder);
    return ms;
  };
  const fenceWith = (/** @type {'paths' | 'devices'} */ how) => async (/** @type {number} */ a, /** @type {number} */ victim) => {
    const rep = await fence({ devices: how === 'paths' ? sgs[a] : devs[a], key: KEY[a], victimKey: KEY[victim] });
    if (!rep.ok) throw new Error(`fence (${how}) failed: ${JSON.stringify(pr.toJSONSafe(rep.notFenced))}`);
  };
  /** One C all-in-flight fan-out of `action` on node `a`'s LUNs; its own wall time (ms, without process start). */
  const cRun = (/** @type {string} */ action, /** @type {number} */ a, /** @type {number} */ victim) => {
    const c = spawnSync(fanC, [action, KEY[a].toString(16), KEY[victim].toString(16), '5', ...sgs[a]], { encoding: 'utf8' });
    if (c.status !== 0) throw new Error(`sg-fanout ${action}: ${c.stdout}${c.stderr}`);
    return JSON.parse(c.stdout).wallUs / 1000;
  };
  /** (a) C all-in-flight PREEMPT AND ABORT. */
  const cFanout = (/** @type {number} */ a, /** @type {number} */ victim) => cRun('preempt-and-abort', a, victim);
  /** (a') the same C program doing fence()'s four fan-outs one after the other (no decisions between them). */
  const cFenceSteps = (/** @type {number} */ a, /** @type {number} */ victim) =>
    ['read-keys', 'preempt-and-abort', 'read-keys', 'read-reservation'].reduce((ms, action) => ms + cRun(action, a, victim), 0);
  /** (b) fence_scsi-style process loop. */
  const processLoop = (/** @type {number} */ a, /** @type {number} */ victim) => {
    for (const sg of sgs[a]) {
      const steps = [
        ['sg_turs', [sg]],
        ['sg_persist', ['-n', '-i', '-k', sg]],
        ['sg_persist', ['-n', '-i', '-r', sg]],
        ['sg_persist', ['-n', '-o', '-A', `-K 0x${KEY[a].toString(16)}`, `-S 0x${KEY[victim].toString(16)}`, '-T 5', sg].flatMap((x) => x.split(' '))],
        ['sg_persist', ['-n', '-i', '-k', sg]],
      ];
      for (const [cmd, args] of steps) {
        const p = spawnSync(/** @type {string} */ (cmd), /** @type {string[]} */ (args));
        if (p.status !== 0 && p.status !== 6) throw new Error(`${cmd} ${args} failed: ${p.stderr}`);
      }
    }
  };
  const rows = [];
  for (let r = 0; r < ROUNDS; r++) {
    rows.push({
      fencePathsMs: await step(fenceWith('paths')),
      fenceDevicesMs: await step(fenceWith('devices')),
      cFanoutMs: await step(cFanout),
      cFenceStepsMs: await step(cFenceSteps),
      processLoopMs: await step(processLoop),
    });
  }
  // Where round trips, not per-command CPU, dominate: the same fence vs C fan-out at 10 ms.
  await lab.setNetem({ delayMs: SLOW_DELAY_MS });
  const slowRows = [];
  for (let r = 0; r < ROUNDS; r++) slowRows.push({ fenceDevicesMs: await step(fenceWith('devices')), cFanoutMs: await step(cFanout) });
  for (const side of devs) for (const d of side) await d.close();
  await lab.setNetem({ delayMs: 0 });
  await lab.resetReservations();
  const m = (/** @type {string} */ k) => median(rows.map((x) => x[k]));
  const result = {
    luns: sgs[0].length,
    netemDelayMs: 1,
    rounds: rows,
    medianFencePathsMs: m('fencePathsMs'),
    medianFenceDevicesMs: m('fenceDevicesMs'),
    medianCFanoutMs: m('cFanoutMs'),
    medianProcessLoopMs: m('processLoopMs'),
    medianCFenceStepsMs: m('cFenceStepsMs'),
    minFenceDevicesMs: Math.min(...rows.map((x) => x.fenceDevicesMs)),
    minFencePathsMs: Math.min(...rows.map((x) => x.fencePathsMs)),
    slowLink: {
      netemDelayMs: SLOW_DELAY_MS,
      rounds: slowRows,
      medianFenceDevicesMs: median(slowRows.map((x) => x.fenceDevicesMs)),
      medianCFanoutMs: median(slowRows.map((x) => x.cFanoutMs)),
    },
  };
  const rA = result.medianFenceDevicesMs / result.medianCFanoutMs;
  const rAp = result.medianFencePathsMs / result.medianCFanoutMs;
  const rB = result.medianProcessLoopMs / result.medianFencePathsMs;
  console.log(`fence on ${result.luns} LUNs, netem 1 ms, ${ROUNDS} rounds (medians):`);
  console.log(`  fence(), open Devices     ${result.medianFenceDevicesMs.toFixed(1)} ms  = ${rA.toFixed(2)}x the C fan-out`);
  console.log(`  fence(), paths            ${result.medianFencePathsMs.toFixed(1)} ms  = ${rAp.toFixed(2)}x the C fan-out`);
  console.log(`  (a) C all-in-flight       ${result.medianCFanoutMs.toFixed(1)} ms  (one PREEMPT AND ABORT per LUN, nothing else)`);
  console.log(`  (a') C, fence's 4 fan-outs  ${result.medianCFenceStepsMs.toFixed(1)} ms  (READ KEYS, PREEMPT AND ABORT, READ KEYS, READ RESERVATION; fence() = ${(result.medianFenceDevicesMs / result.medianCFenceStepsMs).toFixed(2)}x this)`);
  console.log(`  (b) fence_scsi-style loop ${result.medianProcessLoopMs.toFixed(0)} ms  = ${rB.toFixed(0)}x fence() with paths`);
  console.log(`  fastest round: open Devices ${result.minFenceDevicesMs.toFixed(1)} ms, paths ${result.minFencePathsMs.toFixed(1)} ms`);
  const slow = result.slowLink;
  const rS = slow.medianFenceDevicesMs / slow.medianCFanoutMs;
  console.log(`netem ${SLOW_DELAY_MS} ms (round trips dominate): fence(), open Devices ${slow.medianFenceDevicesMs.toFixed(1)} ms vs C fan-out ${slow.medianCFanoutMs.toFixed(1)} ms = ${rS.toFixed(2)}x`);
  const json = JSON.stringify({ ...result, ratioDevicesToC: rA, ratioPathsToC: rAp, processLoopToFencePaths: rB, slowLinkRatioDevicesToC: rS }, null, 2) + '\n';
  if (process.env.SCSI_PR_LAB_RUN) fs.writeFileSync(path.join(process.env.SCSI_PR_LAB_RUN, 'fence-bench.json'), json);
  const i = process.argv.indexOf('--out');
  if (i > 0) fs.writeFileSync(process.argv[i + 1], json);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
