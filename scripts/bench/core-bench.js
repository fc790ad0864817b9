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
 *     processes (what fence_scsi does); plus, as a diagnostic, the same fan-out
 *     from this Node process through the addon alone (no TypeScript layer), which
 *     tells Node-in-UML costs from the library's own.
 *
 * Prints a table and writes JSON to $SCSI_PR_LAB_RUN/bench.json (and --json FILE).
 */

const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const pr = require(path.join(ROOT, 'dist'));
const { loadNative } = require(path.join(ROOT, 'dist', 'transport', 'native.js'));
const lab = require(path.join(ROOT, 'scripts', 'lab', 'guest-tools.js'));
const { cProgram, writeJson } = require('./bench-stats.js');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const LAT_ITER = Number(process.env.BENCH_LAT_ITER ?? 2000);


/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const nowUs = () => Number(process.hrtime.bigint()) / 1000;

async function latency() {
  await lab.setNetem({ delayMs: 0 });
  const sg = lab.map().nodes[0].luns[0].sg;
  const loop = cProgram('sgio-loop');
  const dev = await pr.open(sg);
  for (let i = 0; i < 100; i++) await dev.readKeys();
  // Diagnostic: the same READ KEYS through the addon alone (write, uv_poll, read; no TypeScript layer).
  const native = loadNative();
  const fd = native.openDevice(sg, true);
  /** @type {(v?: unknown) => void} */
  let wake = () => {};
  const poller = new native.SgPoller(fd, () => wake());
  const cdb = Buffer.from([0x5e, 0, 0, 0, 0, 0, 0, 0x04, 0, 0]);
  const dataIn = Buffer.alloc(1024);
  const sense = Buffer.alloc(96);
  const rawReadKeys = (/** @type {number} */ id) =>
    new Promise((resolve) => {
      wake = resolve;
      poller.write(id, cdb, native.DXFER.FROM_DEV, dataIn, sense, 30000);
    });
  const rows = [];
  let id = 1;
  for (let r = 0; r < ROUNDS; r++) {
    const c = JSON.parse(execFileSync(loop, [sg, String(LAT_ITER)], { encoding: 'utf8' })).perCommandUs;
    let t0 = nowUs();
    for (let i = 0; i < LAT_ITER; i++) await dev.readKeys();
    const js = (nowUs() - t0) / LAT_ITER;
    t0 = nowUs();
    for (let i = 0; i < LAT_ITER; i++) await rawReadKeys(id++);
    const raw = (nowUs() - t0) / LAT_ITER;
    rows.push({ cUs: c, scsiPrUs: js, rawAddonUs: raw, ratio: js / c });
  }
  poller.close();
  native.closeDevice(fd);
  await dev.close();
  return {
    device: sg,
    iterations: LAT_ITER,
    rounds: rows,
    medianCUs: median(rows.map((x) => x.cUs)),
    medianScsiPrUs: median(rows.map((x) => x.scsiPrUs)),
    medianRawAddonUs: median(rows.map((x) => x.rawAddonUs)),
    medianRatio: median(rows.map((x) => x.ratio)),
  };
}

async function fanout() {
  const map = lab.map();
  await lab.setNetem({ delayMs: 1 });
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
  // Diagnostic baseline: the same fan-out from this Node process through the addon
  // alone (no scsi-pr TypeScript layer): separates Node-in-UML from the library.
  const native = loadNative();
  const rawSides = [n1, n2].map((paths) => {
    const fds = paths.map((p) => native.openDevice(p, true));
    /** @type {{ fds: number[], pollers: any[], senses: Buffer[], left: number, done: (v?: unknown) => void }} */
    const side = { fds, pollers: [], senses: fds.map(() => Buffer.alloc(96)), left: 0, done: () => {} };
    side.pollers = fds.map((fd) => new native.SgPoller(fd, (/** @type {unknown} */ _err, /** @type {unknown[]} */ results) => {
      side.left -= results.length;
      if (side.left === 0) side.done();
    }));
    return side;
  });
  let packId = 1;
  const rawPreempt = (attacker, victim) => {
    const side = rawSides[attacker];
    const cdb = Buffer.from([0x5f, 0x05, 0x05, 0, 0, 0, 0, 0, 24, 0]);
    const param = Buffer.alloc(24);
    param.writeBigUInt64BE(KEY[attacker], 0);
    param.writeBigUInt64BE(KEY[victim], 8);
    return new Promise((resolve) => {
      side.left = side.fds.length;
      side.done = resolve;
      side.pollers.forEach((poller, i) => poller.write(packId++, cdb, native.DXFER.TO_DEV, param, side.senses[i], 30000));
    });
  };
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

    // The addon alone, from this process.
    attacker = 1 - holder;
    t0 = nowUs();
    await rawPreempt(attacker, holder);
    const rawAddonUs = nowUs() - t0;
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
    rows.push({ scsiPrMs: scsiPrUs / 1000, cMs: cUs / 1000, rawAddonMs: rawAddonUs / 1000, sgPersistMs: sgPersistUs / 1000, ratioToC: scsiPrUs / cUs, sgPersistToScsiPr: sgPersistUs / scsiPrUs });
  }
  for (const side of devs) for (const d of side) await d.close();
  for (const side of rawSides) {
    for (const poller of side.pollers) poller.close();
    for (const fd of side.fds) native.closeDevice(fd);
  }
  await lab.setNetem({ delayMs: 0 });
  return {
    luns: n1.length,
    netemDelayMs: 1,
    rounds: rows,
    medianScsiPrMs: median(rows.map((x) => x.scsiPrMs)),
    medianCMs: median(rows.map((x) => x.cMs)),
    medianRawAddonMs: median(rows.map((x) => x.rawAddonMs)),
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
  console.log(`  diagnostic: the addon alone from Node (no scsi-pr TypeScript) ${l.medianRawAddonUs.toFixed(1)} us = ${(l.medianRawAddonUs / l.medianCUs).toFixed(2)}x C`);
  console.log(`fan-out (PREEMPT AND ABORT on ${f.luns} LUNs, netem ${f.netemDelayMs} ms, ${f.rounds.length} rounds):`);
  console.log(`  C all-in-flight ${f.medianCMs.toFixed(1)} ms | scsi-pr ${f.medianScsiPrMs.toFixed(1)} ms | ratio ${f.medianRatioToC.toFixed(2)} | sg_persist loop ${f.medianSgPersistMs.toFixed(0)} ms (${f.medianSgPersistToScsiPr.toFixed(1)}x scsi-pr)`);
  console.log(`  diagnostic: the addon alone from Node (no scsi-pr TypeScript) ${f.medianRawAddonMs.toFixed(1)} ms = ${(f.medianRawAddonMs / f.medianCMs).toFixed(2)}x C`);
  writeJson('bench.json', result);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
