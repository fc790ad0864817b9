#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Fencing benchmark, run INSIDE the lab (`npm run bench:fence`: 2 nodes x 64 LUNs).
 * Every reference runs in the same boot, interleaved with fence() round by round:
 *
 *   fence()            the library end to end, on open Devices (what a cluster
 *                      manager holding its devices does) and on paths (opened,
 *                      grouped by WWN and closed by fence);
 *   C protocol         scripts/bench/fence-protocol.c: fence's own protocol in C
 *                      (arbiter PREEMPT AND ABORT + READ KEYS everywhere else, the
 *                      fan-out, READ KEYS + READ RESERVATION per LU), each phase all
 *                      in flight: the goal is fence() <= 1.15x this at 10 ms netem
 *                      (the library adds no round trip and no serialisation);
 *   C fan-out          scripts/bench/sg-fanout.c: one PREEMPT AND ABORT per LU, all
 *                      in flight, nothing else: the floor. Goal at 10 ms: <= 3.5x
 *                      (fence has three round-trip phases);
 *   sg_persist loop    fence_scsi's way (a process per command, LU after LU), at
 *                      0 ms only.
 * at 0 ms (the lab's own cost: UML system calls, one CPU) and at 10 ms netem each
 * way (round trips dominate, as on a stretched SAN). The round trip is measured
 * too (a single READ KEYS), so each figure is also given in round trips.
 *
 * Then diagnostics for "a fan-out whose cost depends on what the process did
 * before it": the same 64-command PREEMPT AND ABORT fan-out through scsi-pr warm
 * in this process, right after netem was switched off and on again (a re-arm
 * with netem off, as an independent harness did), and in a fresh Node process
 * (cold code), each beside the C fan-out.
 *
 * Prints a table; `--json FILE` (and $SCSI_PR_LAB_RUN/fence-bench.json) gets
 * every round. Options: --rounds N (default 7), --delays 0,10,10/ssai0 (the last:
 * 10 ms with net.ipv4.tcp_slow_start_after_idle=0, Linux's default being 1: after an
 * idle spell TCP falls back to its initial window of 10 segments, so a burst of 64
 * commands, one segment each, needs several round trips; see the README).
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const pr = require(path.join(ROOT, 'dist'));
const { fence } = require(path.join(ROOT, 'dist', 'fencing', 'fence.js'));
const lab = require(path.join(ROOT, 'scripts', 'lab', 'guest-tools.js'));
const { cProgram, median, spread, argValue, writeJson } = require('./bench-stats.js');

const ROUNDS = Number(argValue('--rounds') ?? process.env.BENCH_ROUNDS ?? 7);
/** Netem delays (ms each way); `10/ssai0` runs that delay with net.ipv4.tcp_slow_start_after_idle=0. */
const DELAYS = (argValue('--delays') ?? '0,10,10/ssai0').split(',').map((x) => ({ label: x, delayMs: Number(x.split('/')[0]), noSlowStartAfterIdle: x.endsWith('/ssai0') }));
const SSAI = '/proc/sys/net/ipv4/tcp_slow_start_after_idle';
const KEY = [0xa1n, 0xb2n];
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;


/** The fresh-process fan-out: a child that opens the devices, preempts everywhere once, prints its own time. */
const CHILD = `
const pr = require(${JSON.stringify(path.join(ROOT, 'dist'))});
(async () => {
  const [key, victim, ...sgs] = process.argv.slice(1);
  const devs = await Promise.all(sgs.map((p) => pr.open(p)));
  const t0 = process.hrtime.bigint();
  await Promise.all(devs.map((d) => d.preemptAndAbort({ key: BigInt(key), preemptKey: BigInt(victim), type: 5 })));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  for (const d of devs) await d.close();
  console.log(JSON.stringify({ ms }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

async function main() {
  const map = lab.map();
  const sgs = [map.nodes[0].luns.map((/** @type {any} */ l) => l.sg), map.nodes[1].luns.map((/** @type {any} */ l) => l.sg)];
  await lab.resetReservations();
  await lab.setNetem({ delayMs: 0 });
  const devs = [await Promise.all(sgs[0].map((/** @type {string} */ p) => pr.open(p))), await Promise.all(sgs[1].map((/** @type {string} */ p) => pr.open(p)))];
  /** Both nodes registered everywhere; `holder` holds the type 5 reservation (not timed). */
  const setUp = async (/** @type {number} */ holder) => {
    await Promise.all(devs[0].map((/** @type {any} */ d) => d.registerAndIgnoreExistingKey({ newKey: KEY[0] })));
    await Promise.all(devs[1].map((/** @type {any} */ d) => d.registerAndIgnoreExistingKey({ newKey: KEY[1] })));
    await Promise.all(devs[holder].map((/** @type {any} */ d) => d.readReservation().then((/** @type {any} */ r) => (r.reservation ? null : d.reserve({ key: KEY[holder], type: 5 })))));
  };
  const fanC = cProgram('sg-fanout');
  const protoC = cProgram('fence-protocol');
  let holder = 0;
  await setUp(holder);
  /**
   * One timed step: the other node (`a`) fences the holder with `work`; then the roles
   * swap and both nodes are registered again (not timed). Returns what `work` measured
   * (its own figure) or the wall time around it (ms).
   * @param {(a: number, victim: number) => Promise<any> | any} work
   * @param {() => Promise<void>} [beforeWork] untimed, after the re-arm
   */
  const step = async (work, beforeWork) => {
    const a = 1 - holder;
    if (beforeWork) await beforeWork();
    const t0 = nowMs();
    const own = await work(a, holder);
    const ms = nowMs() - t0;
    holder = a;
    await setUp(holder);
    return own && typeof own === 'object' ? own : { ms: typeof own === 'number' ? own : ms };
  };
  const fenceWith = (/** @type {'paths' | 'devices'} */ how) => async (/** @type {number} */ a, /** @type {number} */ victim) => {
    const t0 = nowMs();
    const rep = await fence({ devices: how === 'paths' ? sgs[a] : devs[a], key: KEY[a], victimKey: KEY[victim] });
    const ms = nowMs() - t0;
    if (!rep.ok) throw new Error(`fence (${how}) failed: ${JSON.stringify(pr.toJSONSafe(rep.notFenced))}`);
    return { ms, phases: rep.phases };
  };
  /** A C program's own wall time (ms, without process start). */
  const cRun = (/** @type {string} */ prog, /** @type {string[]} */ args) => {
    const c = spawnSync(prog, args, { encoding: 'utf8' });
    if (c.status !== 0) throw new Error(`${path.basename(prog)} ${args.slice(0, 4).join(' ')}: exit ${c.status}: ${c.stdout}${c.stderr}`);
    const out = JSON.parse(c.stdout);
    return { ms: out.wallUs / 1000, ...out };
  };
  const hex = (/** @type {bigint} */ k) => k.toString(16);
  const cFanout = (/** @type {number} */ a, /** @type {number} */ victim) => cRun(fanC, ['preempt-and-abort', hex(KEY[a]), hex(KEY[victim]), '5', ...sgs[a]]);
  const cProtocol = (/** @type {number} */ a, /** @type {number} */ victim) => {
    const out = cRun(protoC, [hex(KEY[a]), hex(KEY[victim]), '5', ...sortedByWwn(sgs[a], devs[a])]);
    if (out.failed !== 0 || out.verified !== sgs[a].length) throw new Error(`fence-protocol: ${JSON.stringify(out)}`);
    return out;
  };
  const libFanout = async (/** @type {number} */ a, /** @type {number} */ victim) => {
    const t0 = nowMs();
    await Promise.all(devs[a].map((/** @type {any} */ d) => d.preemptAndAbort({ key: KEY[a], preemptKey: KEY[victim], type: 5 })));
    return nowMs() - t0;
  };
  const childFanout = (/** @type {number} */ a, /** @type {number} */ victim) => {
    const c = spawnSync(process.execPath, ['-e', CHILD, String(KEY[a]), String(KEY[victim]), ...sgs[a]], { encoding: 'utf8' });
    if (c.status !== 0) throw new Error(`child fan-out: ${c.stderr}`);
    return JSON.parse(c.stdout.trim()).ms;
  };
  /** fence_scsi's way: one process per command, LU after LU. */
  const processLoop = (/** @type {number} */ a, /** @type {number} */ victim) => {
    for (const sg of sgs[a]) {
      const steps = [
        ['sg_turs', [sg]],
        ['sg_persist', ['-n', '-i', '-k', sg]],
        ['sg_persist', ['-n', '-i', '-r', sg]],
        ['sg_persist', ['-n', '-o', '-A', '-K', `0x${hex(KEY[a])}`, '-S', `0x${hex(KEY[victim])}`, '-T', '5', sg]],
        ['sg_persist', ['-n', '-i', '-k', sg]],
      ];
      for (const [cmd, args] of steps) {
        const p = spawnSync(/** @type {string} */ (cmd), /** @type {string[]} */ (args));
        if (p.status !== 0 && p.status !== 6) throw new Error(`${cmd} ${args} failed: ${p.stderr}`);
      }
    }
  };
  /** One READ KEYS alone, 11 times: the round trip at this delay (median, ms). */
  const roundTrip = async () => {
    const xs = [];
    for (let i = 0; i < 11; i++) {
      const t0 = nowMs();
      await devs[0][0].readKeys();
      xs.push(nowMs() - t0);
    }
    return median(xs);
  };

  const byDelay = [];
  const ssaiDefault = fs.readFileSync(SSAI, 'utf8').trim();
  for (const { label, delayMs, noSlowStartAfterIdle } of DELAYS) {
    fs.writeFileSync(SSAI, noSlowStartAfterIdle ? '0' : ssaiDefault);
    await lab.setNetem({ delayMs });
    await setUp(holder);
    const rtt = await roundTrip();
    const rows = [];
    for (let r = 0; r < ROUNDS; r++) {
      const row = {
        fenceDevices: await step(fenceWith('devices')),
        fencePaths: await step(fenceWith('paths')),
        cProtocol: await step(cProtocol),
        cFanout: await step(cFanout),
        libFanout: await step(libFanout),
        libFanoutAfterQdiscChange: await step(libFanout, async () => {
          await lab.setNetem({ delayMs: 0 });
          await setUp(holder); // a re-arm with netem off, as the independent harness did
          await lab.setNetem({ delayMs });
        }),
        cFanoutAfterQdiscChange: await step(cFanout, async () => {
          await lab.setNetem({ delayMs: 0 });
          await setUp(holder); // a re-arm with netem off, as the independent harness did
          await lab.setNetem({ delayMs });
        }),
        libFanoutFreshProcess: await step(childFanout),
      };
      if (delayMs === 0 && r < 3) Object.assign(row, { sgPersistLoop: await step(processLoop) });
      rows.push(row);
    }
    const col = (/** @type {string} */ k) => rows.filter((x) => /** @type {any} */ (x)[k]).map((x) => /** @type {any} */ (x)[k].ms);
    const ratio = (/** @type {string} */ a, /** @type {string} */ b) => spread(rows.map((x) => /** @type {any} */ (x)[a].ms / /** @type {any} */ (x)[b].ms));
    const summary = Object.fromEntries(Object.keys(rows[0]).concat('sgPersistLoop').filter((k, i, all) => all.indexOf(k) === i && col(k).length > 0).map((k) => [k, spread(col(k))]));
    byDelay.push({
      label,
      netemDelayMs: delayMs,
      tcpSlowStartAfterIdle: Number(fs.readFileSync(SSAI, 'utf8').trim()),
      roundTripMs: rtt,
      rounds: rows,
      ms: summary,
      roundTrips: Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, v.median / rtt])),
      ratios: {
        fenceToCProtocol: ratio('fenceDevices', 'cProtocol'),
        fenceToCFanout: ratio('fenceDevices', 'cFanout'),
        fencePathsToCProtocol: ratio('fencePaths', 'cProtocol'),
        libFanoutToCFanout: ratio('libFanout', 'cFanout'),
        libFanoutAfterQdiscChangeToCFanout: ratio('libFanoutAfterQdiscChange', 'cFanoutAfterQdiscChange'),
        libFanoutFreshProcessToCFanout: ratio('libFanoutFreshProcess', 'cFanout'),
      },
      fencePhasesMedianMs: Object.fromEntries(Object.keys(rows[0].fenceDevices.phases).map((p) => [p, median(rows.map((x) => x.fenceDevices.phases[p]))])),
    });
  }
  for (const side of devs) for (const d of side) await d.close();
  fs.writeFileSync(SSAI, ssaiDefault);
  await lab.setNetem({ delayMs: 0 });
  await lab.resetReservations();

  const result = { when: new Date().toISOString(), luns: sgs[0].length, pathsPerLu: 1, roundsPerDelay: ROUNDS, byDelay };
  const f = (/** @type {{median: number, min: number, max: number}} */ s, d = 1) => `${s.median.toFixed(d)} (${s.min.toFixed(d)}-${s.max.toFixed(d)})`;
  for (const b of byDelay) {
    console.log(`fence on ${result.luns} LUNs, netem ${b.netemDelayMs} ms each way, tcp_slow_start_after_idle ${b.tcpSlowStartAfterIdle} (one READ KEYS: ${b.roundTripMs.toFixed(1)} ms), ${ROUNDS} rounds: median (min-max) ms, in round trips`);
    for (const [k, s] of Object.entries(b.ms)) console.log(`  ${k.padEnd(28)} ${f(s).padEnd(24)} ${(/** @type {any} */ (b.roundTrips)[k]).toFixed(1)} RTT`);
    console.log(`  fence() / C protocol          ${f(b.ratios.fenceToCProtocol, 2)}   (goal at 10 ms: <= 1.15)`);
    console.log(`  fence() / C fan-out           ${f(b.ratios.fenceToCFanout, 2)}   (goal at 10 ms: <= 3.5)`);
    console.log(`  fan-out via scsi-pr / C: warm ${f(b.ratios.libFanoutToCFanout, 2)}, after a qdisc change ${f(b.ratios.libFanoutAfterQdiscChangeToCFanout, 2)}, fresh process ${f(b.ratios.libFanoutFreshProcessToCFanout, 2)}`);
    console.log(`  fence() phases (median ms): ${Object.entries(b.fencePhasesMedianMs).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  }
  writeJson('fence-bench.json', result);
}

/**
 * The devices in fence()'s arbiter order (WWN order), so the C protocol's first device
 * is the same arbiter LU as fence's.
 * @param {string[]} paths @param {any[]} devices
 */
function sortedByWwn(paths, devices) {
  const wwn = (/** @type {string} */ p) => {
    const d = devices[paths.indexOf(p)];
    return String(pr.sysfsWwid(d.info.sgPath) ?? d.info.sgPath);
  };
  return [...paths].sort((a, b) => (wwn(a) < wwn(b) ? -1 : wwn(a) > wwn(b) ? 1 : 0));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
