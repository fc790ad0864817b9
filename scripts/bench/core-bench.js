#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Core benchmark, run INSIDE the lab (`npm run bench`): every figure is a ratio
 * measured in this one boot.
 *
 *  1. latency: `await dev.readKeys()` vs a raw C SG_IO loop (sgio-loop.c) on the
 *     same device, no added delay;
 *  2. fan-out: PREEMPT AND ABORT on every LUN at once from one process with 1 ms
 *     netem, vs a single-threaded C program with all commands in flight through
 *     the sg async interface (sg-fanout.c), vs a sequential loop of sg_persist
 *     processes (what fence_scsi does).
 *
 * Prints a table and writes JSON to $SCSI_PR_LAB_RUN/bench.json (and --out FILE).
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const pr = require(path.join(ROOT, 'dist'));
const lab = require(path.join(ROOT, 'scripts', 'lab', 'guest-tools.js'));

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const LAT_ITER = Number(process.env.BENCH_LAT_ITER ?? 2000);

/** Compile a reference C program into .lab/ (once). @param {string} name */
function cProgram(name) {
  const out = path.join(ROOT, '.lab', name);
  const src = path.join(__dirname, `${name}.c`);
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs) {
    execFileSync('gcc', ['-O2', '-Wall', '-o', out, src]);
  }
  return out;
}

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const nowUs = () => Number(process.hrtime.bigint()) / 1000;

async function latency() {
  lab.setNetem({ delayMs: 0 });
  const sg = lab.map().nodes[0].luns[0].sg;
  const loop = cProgram('sgio-loop');
  const dev = await pr.open(sg);
  for (let i = 0; i < 100; i++) await dev.readKeys();
  const rows = [];
  for (let r = 0; r < ROUNDS; r++) {
    const c = JSON.parse(execFileSync(loop, [sg, String(LAT_ITER)], { encoding: 'utf8' })).perCommandUs;
    const t0 = nowUs();
    for (let i = 0; i < LAT_ITER; i++) await dev.readKeys();
    const js = (nowUs() - t0) / LAT_ITER;
    rows.push({ cUs: c, scsiPrUs: js, ratio: js / c });
  }
  await dev.close();
  return { device: sg, iterations: LAT_ITER, rounds: rows, medianCUs: median(rows.map((x) => x.cUs)), medianScsiPrUs: median(rows.map((x) => x.scsiPrUs)), medianRatio: median(rows.map((x) => x.ratio)) };
}

async function fanout() {
  const map = lab.map();
  lab.setNetem({ delayMs: 1 });
  const n1 = map.nodes[0].luns.map((l) => l.sg);
  const n2 = map.nodes[1].luns.map((l) => l.sg);
  const KEY = [0xa1n, 0xb2n];
  const devs = [await Promise.all(n1.map((p) => pr.open(p))), await Promise.all(n2.map((p) => pr.open(p)))];
  // Start: both registered everywhere, node 1 holds a type 5 reservation.
  await Promise.all(devs[0].map((d) => d.registerAndIgnoreExistingKey({ newKey: KEY[0] })));
  await Promise.all(devs[1].map((d) => d.registerAndIgnoreExistingKey({ newKey: KEY[1] })));
  await Promise.all(devs[0].map((d) => d.readReservation().then((r) => (r.reservation ? null : d.reserve({ key: KEY[0], type: 5 })))));
  let holder = 0;
  /** The victim comes back (not timed): re-register on every LUN, absorbing the UA. */
  const reRegister = (victim) => Promise.all(devs[victim].map((d) => d.registerAndIgnoreExistingKey({ newKey: KEY[victim] })));
  const fanC = cProgram('sg-fanout');
  const rows = [];
  for (let r = 0; r < ROUNDS; r++) {
    // scsi-pr: the non-holder preempts the holder everywhere, concurrently.
    let attacker = 1 - holder;
    let t0 = nowUs();
    await Promise.all(devs[attacker].map((d) => d.preemptAndAbort({ key: KEY[attacker], preemptKey: KEY[holder], type: 5 })));
    const scsiPrUs = nowUs() - t0;
    await reRegister(holder);
    holder = attacker;

    // C all-in-flight: same work from the other side.
    attacker = 1 - holder;
    const c = spawnSync(fanC, ['preempt-and-abort', KEY[attacker].toString(16), KEY[holder].toString(16), '5', ...(attacker === 0 ? n1 : n2)], { encoding: 'utf8' });
    if (c.status !== 0) throw new Error(`sg-fanout failed (${c.status}): ${c.stdout} ${c.stderr}`);
    const cUs = JSON.parse(c.stdout).wallUs;
    await reRegister(holder);
    holder = attacker;

    // sg_persist processes, one after another (fence_scsi style).
    attacker = 1 - holder;
    t0 = nowUs();
    for (const sg of attacker === 0 ? n1 : n2) {
      const p = spawnSync('sg_persist', ['-n', '--out', '--preempt-abort', `--param-rk=0x${KEY[attacker].toString(16)}`, `--param-sark=0x${KEY[holder].toString(16)}`, '--prout-type=5', sg]);
      if (p.status !== 0 && p.status !== 6) throw new Error(`sg_persist failed on ${sg}: ${p.stderr}`);
    }
    const sgPersistUs = nowUs() - t0;
    await reRegister(holder);
    holder = attacker;
    rows.push({ scsiPrMs: scsiPrUs / 1000, cMs: cUs / 1000, sgPersistMs: sgPersistUs / 1000, ratioToC: scsiPrUs / cUs, sgPersistToScsiPr: sgPersistUs / scsiPrUs });
  }
  for (const side of devs) for (const d of side) await d.close();
  lab.setNetem({ delayMs: 0 });
  return {
    luns: n1.length,
    netemDelayMs: 1,
    rounds: rows,
    medianScsiPrMs: median(rows.map((x) => x.scsiPrMs)),
    medianCMs: median(rows.map((x) => x.cMs)),
    medianSgPersistMs: median(rows.map((x) => x.sgPersistMs)),
    medianRatioToC: median(rows.map((x) => x.ratioToC)),
    medianSgPersistToScsiPr: median(rows.map((x) => x.sgPersistToScsiPr)),
  };
}

async function main() {
  const result = { when: new Date().toISOString(), latency: await latency(), fanout: await fanout() };
  const l = result.latency;
  const f = result.fanout;
  console.log(`latency (readKeys, ${l.iterations} x ${l.rounds.length} rounds, no delay):`);
  console.log(`  C SG_IO loop ${l.medianCUs.toFixed(1)} us | scsi-pr ${l.medianScsiPrUs.toFixed(1)} us | ratio ${l.medianRatio.toFixed(2)} (median)`);
  console.log(`fan-out (PREEMPT AND ABORT on ${f.luns} LUNs, netem ${f.netemDelayMs} ms, ${f.rounds.length} rounds):`);
  console.log(`  C all-in-flight ${f.medianCMs.toFixed(1)} ms | scsi-pr ${f.medianScsiPrMs.toFixed(1)} ms | ratio ${f.medianRatioToC.toFixed(2)} | sg_persist loop ${f.medianSgPersistMs.toFixed(0)} ms (${f.medianSgPersistToScsiPr.toFixed(1)}x scsi-pr)`);
  const json = JSON.stringify(result, null, 2) + '\n';
  if (process.env.SCSI_PR_LAB_RUN) fs.writeFileSync(path.join(process.env.SCSI_PR_LAB_RUN, 'bench.json'), json);
  const i = process.argv.indexOf('--out');
  if (i > 0) fs.writeFileSync(process.argv[i + 1], json);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
