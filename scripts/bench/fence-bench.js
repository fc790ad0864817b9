#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Fencing benchmark, run INSIDE the lab (`npm run bench:fence`: 2 nodes x 64 LUNs,
 * 1 ms netem). Ratios from one boot:
 *   fence() end to end (check + arbiter + fan-out + verify), with devices given as
 *   paths (opened and closed by fence) and as already open Devices,
 *   vs (a) one PREEMPT AND ABORT fan-out at the lab's limit (sg-fanout.c, all in flight),
 *   vs (b) a fence_scsi-style sequential loop of processes per device:
 *       sg_turs, sg_persist -k, sg_persist -r, sg_persist --preempt-abort, sg_persist -k.
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const pr = require(path.join(ROOT, 'dist'));
const { fence } = require(path.join(ROOT, 'dist', 'fence.js'));
const lab = require(path.join(ROOT, 'scripts', 'lab', 'guest-tools.js'));

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
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
  lab.resetReservations();
  lab.setNetem({ delayMs: 1 });
  const devs = [await Promise.all(sgs[0].map((/** @type {string} */ p) => pr.open(p))), await Promise.all(sgs[1].map((/** @type {string} */ p) => pr.open(p)))];
  /** Both nodes registered everywhere; `holder` holds the type 5 reservation. */
  const setUp = async (/** @type {number} */ holder) => {
    await Promise.all(devs[0].map((/** @type {any} */ d) => d.registerAndIgnoreExistingKey({ newKey: KEY[0] })));
    await Promise.all(devs[1].map((/** @type {any} */ d) => d.registerAndIgnoreExistingKey({ newKey: KEY[1] })));
    await Promise.all(devs[holder].map((/** @type {any} */ d) => d.readReservation().then((/** @type {any} */ r) => (r.reservation ? null : d.reserve({ key: KEY[holder], type: 5 })))));
  };
  const fanC = cProgram('sg-fanout');
  const rows = [];
  let holder = 0;
  await setUp(holder);
  for (let r = 0; r < ROUNDS; r++) {
    const row = {};
    // fence() with paths
    let a = 1 - holder;
    let t0 = nowMs();
    let rep = await fence({ devices: sgs[a], key: KEY[a], victimKey: KEY[holder] });
    row.fencePathsMs = nowMs() - t0;
    if (!rep.ok) throw new Error(`fence (paths) failed: ${JSON.stringify(pr.toJSONSafe(rep.notFenced))}`);
    holder = a;
    await setUp(holder);
    // fence() with open Devices
    a = 1 - holder;
    t0 = nowMs();
    rep = await fence({ devices: devs[a], key: KEY[a], victimKey: KEY[holder] });
    row.fenceDevicesMs = nowMs() - t0;
    if (!rep.ok) throw new Error('fence (devices) failed');
    holder = a;
    await setUp(holder);
    // (a) C all-in-flight PREEMPT AND ABORT
    a = 1 - holder;
    const c = spawnSync(fanC, ['preempt-and-abort', KEY[a].toString(16), KEY[holder].toString(16), '5', ...sgs[a]], { encoding: 'utf8' });
    if (c.status !== 0) throw new Error(`sg-fanout: ${c.stdout}${c.stderr}`);
    row.cFanoutMs = JSON.parse(c.stdout).wallUs / 1000;
    holder = a;
    await setUp(holder);
    // (b) fence_scsi-style process loop
    a = 1 - holder;
    t0 = nowMs();
    for (const sg of sgs[a]) {
      const steps = [
        ['sg_turs', [sg]],
        ['sg_persist', ['-n', '-i', '-k', sg]],
        ['sg_persist', ['-n', '-i', '-r', sg]],
        ['sg_persist', ['-n', '-o', '-A', `-K 0x${KEY[a].toString(16)}`, `-S 0x${KEY[holder].toString(16)}`, '-T 5', sg].flatMap((x) => x.split(' '))],
        ['sg_persist', ['-n', '-i', '-k', sg]],
      ];
      for (const [cmd, args] of steps) {
        const p = spawnSync(/** @type {string} */ (cmd), /** @type {string[]} */ (args));
        if (p.status !== 0 && p.status !== 6) throw new Error(`${cmd} ${args} failed: ${p.stderr}`);
      }
    }
    row.processLoopMs = nowMs() - t0;
    holder = a;
    await setUp(holder);
    rows.push(row);
  }
  for (const side of devs) for (const d of side) await d.close();
  lab.setNetem({ delayMs: 0 });
  lab.resetReservations();
  const m = (/** @type {string} */ k) => median(rows.map((x) => x[k]));
  const result = {
    luns: sgs[0].length,
    netemDelayMs: 1,
    rounds: rows,
    medianFencePathsMs: m('fencePathsMs'),
    medianFenceDevicesMs: m('fenceDevicesMs'),
    medianCFanoutMs: m('cFanoutMs'),
    medianProcessLoopMs: m('processLoopMs'),
  };
  const rA = result.medianFenceDevicesMs / result.medianCFanoutMs;
  const rAp = result.medianFencePathsMs / result.medianCFanoutMs;
  const rB = result.medianProcessLoopMs / result.medianFencePathsMs;
  console.log(`fence on ${result.luns} LUNs, netem 1 ms, ${ROUNDS} rounds (medians):`);
  console.log(`  fence(), open Devices     ${result.medianFenceDevicesMs.toFixed(1)} ms  = ${rA.toFixed(2)}x the C fan-out`);
  console.log(`  fence(), paths            ${result.medianFencePathsMs.toFixed(1)} ms  = ${rAp.toFixed(2)}x the C fan-out`);
  console.log(`  (a) C all-in-flight       ${result.medianCFanoutMs.toFixed(1)} ms  (one PREEMPT AND ABORT per LUN, nothing else)`);
  console.log(`  (b) fence_scsi-style loop ${result.medianProcessLoopMs.toFixed(0)} ms  = ${rB.toFixed(0)}x fence() with paths`);
  const json = JSON.stringify({ ...result, ratioDevicesToC: rA, ratioPathsToC: rAp, processLoopToFencePaths: rB }, null, 2) + '\n';
  if (process.env.SCSI_PR_LAB_RUN) fs.writeFileSync(path.join(process.env.SCSI_PR_LAB_RUN, 'fence-bench.json'), json);
  const i = process.argv.indexOf('--out');
  if (i > 0) fs.writeFileSync(process.argv[i + 1], json);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
