#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * System calls per SCSI command, run INSIDE the lab (2 nodes; node 0 fences node 1):
 *   node scripts/lab.js run --nodes 2 --luns 64 --timeout 1800 -- node scripts/bench/syscall-count.js [--json FILE]
 *     [--rounds R (3)] [--iterations N (200)] [--delay-ms D (0)] [--keep (the traces)]
 * Wall time under UML says little about hardware (every guest system call costs a host
 * context switch); the number of system calls per command carries over. Each case runs
 * under `strace -f -y` (every thread), and only the calls inside the measured region count:
 *   scsi-pr (a child node process): between two marker calls, access("/@scount-b-…") and
 *     access("/@scount-e-…"); the set-up (require, open, warm-up, arming) lies outside;
 *   C references: from after the last open of /dev/sg* to the write of the result to stdout.
 * Cases:
 *   (a) sequential READ KEYS on one LU: `await dev.readKeys()` N times  vs  sgio-loop.c (SG_IO ioctl)
 *   (b) a fan-out of PREEMPT AND ABORT on every LU, Promise.all  vs  sg-fanout.c preempt-and-abort
 *   (c) one whole fence() on every LU (open Devices)  vs  fence-protocol.c (the same three phases)
 * Commands = submissions counted in the trace (write(2) of an sg_io_hdr to /dev/sg*, or
 * ioctl SG_IO); clock reads (clock_gettime, gettimeofday, time) are counted apart: with a
 * vDSO they never enter the kernel, and strace only sees those that do.
 * Before each PREEMPT case both nodes are registered on every LU and node 1 holds a type 5
 * reservation (as fence-bench.js arms them).
 * strace slows each call ~100x, so more completions are ready at each wait than at full
 * speed; the scsi-pr cases therefore run again untraced, with the kernel's counters
 * (CPU time and minor page faults, /proc/self/io read- and write-type calls, the main
 * thread's voluntary context switches = blocking waits) and perf_hooks GC entries. Last, wall time untraced at netem 0 and 10 ms:
 * fence-protocol.c vs fence(). The JSON goes to --json FILE and, in the lab, to the run
 * directory (syscall-count.json), which the host sees.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { performance, PerformanceObserver } = require('node:perf_hooks');

const ROOT = path.resolve(__dirname, '..', '..');
const KEY = [0xa1n, 0xb2n];
const WARM_UP = 10;
const CLOCK_CALLS = new Set(['clock_gettime', 'clock_gettime64', 'gettimeofday', 'time']);

/** @param {string} name @param {string} [fallback] */
function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const started = Date.now();
/** A progress line on stderr, with the seconds since the start. @param {string} text */
const progress = (text) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${text}`);
/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/**
 * Both nodes registered on every LU; node 1 holds a type 5 reservation (node 0 releases
 * the one a fence left it first). Runs through scsi-pr.
 * @param {any[][]} devs  open Devices: [node 0's, node 1's], index = LU
 */
async function arm(devs) {
  await Promise.all(
    devs[0].map(async (d) => {
      const r = await d.readReservation();
      if (r.reservation && r.reservation.key === KEY[0]) await d.release({ key: KEY[0], type: r.reservation.type });
    }),
  );
  await Promise.all(devs[1].map((d) => d.registerAndIgnoreExistingKey({ newKey: KEY[1] })));
  await Promise.all(devs[0].map((d) => d.registerAndIgnoreExistingKey({ newKey: KEY[0] })));
  await Promise.all(
    devs[1].map(async (d) => {
      const r = await d.readReservation();
      if (!r.reservation) await d.reserve({ key: KEY[1], type: 5 });
    }),
  );
}

// ---- child: the scsi-pr side, traced ------------------------------------------------

/** A marker system call strace shows with its path: access(2) of a file that does not exist. */
function marker(/** @type {string} */ label) {
  try {
    fs.accessSync(`/@scount-${label}`);
  } catch {
    // ENOENT: the call is the marker
  }
}

/**
 * Kernel counters of this process: CPU time and minor page faults (all threads), read- and
 * write-type system calls (all threads), the main thread's context switches.
 */
function kernelCounters() {
  const io = fs.readFileSync('/proc/self/io', 'utf8');
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const num = (/** @type {string} */ text, /** @type {string} */ key) => Number(new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  const cpu = process.cpuUsage();
  return {
    cpuUs: cpu.user + cpu.system,
    minorFaults: process.resourceUsage().minorPageFault,
    syscr: num(io, 'syscr'),
    syscw: num(io, 'syscw'),
    voluntarySwitches: num(status, 'voluntary_ctxt_switches'),
    involuntarySwitches: num(status, 'nonvoluntary_ctxt_switches'),
  };
}

/** @typedef {{wallMs: number, cpuUs: number, minorFaults: number, syscr: number, syscw: number, voluntarySwitches: number, involuntarySwitches: number, gcs: number, gcMs: number, t0: number, t1: number, monotonicUs: number[]}} RegionCounters */
/* (t0, t1: performance.now(); monotonicUs: CLOCK_MONOTONIC µs, the clock of V8's --cpu-prof timestamps) */
/** @type {Record<string, RegionCounters>} */
const regionCounters = {};

/**
 * Runs `body` between markers `b-<label>` and `e-<label>`, and records its wall time and
 * kernel counters (read outside the markers).
 * @param {string} label @param {() => Promise<unknown>} body
 */
async function region(label, body) {
  const k0 = kernelCounters();
  const h0 = process.hrtime.bigint();
  const t0 = performance.now();
  marker(`b-${label}`);
  const out = await body();
  marker(`e-${label}`);
  const t1 = performance.now();
  const h1 = process.hrtime.bigint();
  const k1 = kernelCounters();
  regionCounters[label] = {
    wallMs: t1 - t0,
    cpuUs: k1.cpuUs - k0.cpuUs,
    minorFaults: k1.minorFaults - k0.minorFaults,
    syscr: k1.syscr - k0.syscr,
    syscw: k1.syscw - k0.syscw,
    voluntarySwitches: k1.voluntarySwitches - k0.voluntarySwitches,
    involuntarySwitches: k1.involuntarySwitches - k0.involuntarySwitches,
    gcs: 0,
    gcMs: 0,
    t0,
    t1,
    monotonicUs: [Number(h0 / 1000n), Number(h1 / 1000n)],
  };
  return out;
}

/**
 * The scsi-pr side of a case: set-up, then `rounds` measured regions; prints the regions'
 * counters as one JSON line.
 * @param {string} mode @param {{sgs: string[][], rounds: number, iterations: number}} o
 */
async function child(mode, o) {
  /** @type {{startTime: number, duration: number}[]} */
  const gcs = [];
  const gcWatch = new PerformanceObserver((list) => gcs.push(...list.getEntries()));
  gcWatch.observe({ entryTypes: ['gc'] });
  await childCases(mode, o);
  await new Promise((r) => setTimeout(r, 10)); // the last GC entries
  gcWatch.disconnect();
  for (const c of Object.values(regionCounters)) {
    const inside = gcs.filter((g) => g.startTime >= c.t0 && g.startTime < c.t1);
    c.gcs = inside.length;
    c.gcMs = inside.reduce((ms, g) => ms + g.duration, 0);
  }
  console.log(JSON.stringify(regionCounters));
}

/** @param {string} mode @param {{sgs: string[][], rounds: number, iterations: number}} o */
async function childCases(mode, o) {
  const pr = require(path.join(ROOT, 'dist'));
  const { fence } = require(path.join(ROOT, 'dist', 'fencing', 'fence.js'));
  if (mode === 'read-keys') {
    const dev = await pr.open(o.sgs[0][0]);
    for (let i = 0; i < WARM_UP; i++) await dev.readKeys();
    await region('empty', () => new Promise((r) => setImmediate(r)));
    for (let r = 0; r < o.rounds; r++) {
      await region(String(r), async () => {
        for (let i = 0; i < o.iterations; i++) await dev.readKeys();
      });
    }
    await dev.close();
    return;
  }
  const devs = [await Promise.all(o.sgs[0].map((p) => pr.open(p))), await Promise.all(o.sgs[1].map((p) => pr.open(p)))];
  await Promise.all(devs[0].map((/** @type {any} */ d) => d.readKeys())); // warm-up: the submit and completion paths
  for (let r = 0; r < o.rounds; r++) {
    await arm(devs);
    if (mode === 'fanout') {
      await region(String(r), () => Promise.all(devs[0].map((/** @type {any} */ d) => d.preemptAndAbort({ key: KEY[0], preemptKey: KEY[1], type: 5 }))));
    } else {
      const rep = /** @type {any} */ (await region(String(r), () => fence({ devices: devs[0], key: KEY[0], victimKey: KEY[1] })));
      if (!rep.ok) throw new Error(`fence failed: ${JSON.stringify(pr.toJSONSafe(rep))}`);
    }
  }
  for (const side of devs) for (const d of side) await d.close();
}

// ---- trace parsing ------------------------------------------------------------------

/**
 * @typedef {{calls: number, commands: number, clockReads: number, mainThread: number, otherThreads: number,
 *   threads: number, byName: Record<string, number>}} Count
 */

/** strace -f lines: `[PID ]name(args…` starts a call; `<… name resumed>` continues one. */
const CALL = /^(?:(\d+)\s+)?([a-z_][a-z0-9_]*)\((.*)$/;

/**
 * Counts the calls in `lines` (strace -f -y output of one region).
 * @param {string[]} lines @param {string} mainPid
 * @returns {Count}
 */
function count(lines, mainPid) {
  /** @type {Count} */
  const c = { calls: 0, commands: 0, clockReads: 0, mainThread: 0, otherThreads: 0, threads: 0, byName: {} };
  const pids = new Set();
  for (const line of lines) {
    const m = CALL.exec(line);
    if (!m) continue;
    const [, pid = mainPid, name, rest] = m;
    c.calls++;
    pids.add(pid);
    if (pid === mainPid) c.mainThread++;
    else c.otherThreads++;
    c.byName[name] = (c.byName[name] ?? 0) + 1;
    if (CLOCK_CALLS.has(name)) c.clockReads++;
    if ((name === 'write' && /^\d+<\/dev\/sg\d+>/.test(rest)) || (name === 'ioctl' && /^\d+<\/dev\/sg\d+>, SG_IO,/.test(rest))) c.commands++;
  }
  c.threads = pids.size;
  return c;
}

/** @param {string} file */
function readTrace(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const first = lines.map((l) => CALL.exec(l)).find(Boolean);
  return { lines, mainPid: first?.[1] ?? '' };
}

/**
 * The marked regions of a traced scsi-pr child.
 * @param {string} file @param {string[]} labels
 */
function nodeRegions(file, labels) {
  const { lines, mainPid } = readTrace(file);
  return labels.map((label) => {
    const b = lines.findIndex((l) => l.includes(`"/@scount-b-${label}"`));
    const e = lines.findIndex((l) => l.includes(`"/@scount-e-${label}"`));
    if (b < 0 || e < b) throw new Error(`${file}: no region ${label}`);
    return count(lines.slice(b + 1, e), mainPid);
  });
}

/** The measured region of a traced C reference: after its last /dev/sg open, before it prints. @param {string} file */
function cRegion(file) {
  const { lines, mainPid } = readTrace(file);
  let b = -1;
  lines.forEach((l, i) => {
    if (/^(?:\d+\s+)?open(at)?\(.*"\/dev\/sg\d+"/.test(l)) b = i;
  });
  const e = lines.findIndex((l, i) => i > b && /^(?:\d+\s+)?write\(1[<,]/.test(l));
  if (b < 0 || e < 0) throw new Error(`${file}: no region between the sg opens and the result`);
  return count(
    lines.slice(b + 1, e).filter((l) => !/^(?:\d+\s+)?getrusage\(/.test(l)), // fence-protocol's own CPU reading
    mainPid,
  );
}

// ---- parent ---------------------------------------------------------------------------

/**
 * Runs `cmd` under strace into `file`; throws with its output when it fails.
 * @param {string} file @param {string} cmd @param {string[]} args
 */
function traced(file, cmd, args) {
  const p = spawnSync('strace', ['-f', '-y', '-qq', '-o', file, cmd, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (p.status !== 0) throw new Error(`strace ${cmd} ${args.slice(0, 6).join(' ')} … exited ${p.status}: ${p.stdout}${p.stderr}`);
  return p.stdout;
}

/** System calls by kind; `other` is the rest (clock reads are `clockReads`). */
const CATEGORIES = {
  /** submitting, waiting for and reaping commands */
  io: ['read', 'write', 'ioctl', 'poll', 'ppoll', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2', 'epoll_ctl'],
  /** the allocator and V8's heap (GC) */
  memory: ['mmap', 'munmap', 'mprotect', 'madvise', 'brk', 'mremap'],
  /** waking or waiting for other threads (V8's GC and compiler helpers, libuv's pool) */
  futex: ['futex'],
};
/** @param {Count} c @param {string} kind */
function categoryCount(c, kind) {
  if (kind === 'other') {
    const known = new Set([...Object.values(CATEGORIES).flat(), ...CLOCK_CALLS]);
    return Object.entries(c.byName).reduce((k, [name, v]) => k + (known.has(name) ? 0 : v), 0);
  }
  return /** @type {Record<string, string[]>} */ (CATEGORIES)[kind].reduce((k, name) => k + (c.byName[name] ?? 0), 0);
}

/** Per-command figures of one region. @param {Count} c */
function perCommand(c) {
  const n = c.commands || 1;
  return {
    commands: c.commands,
    calls: c.calls,
    callsPerCommand: c.calls / n,
    clockReadsPerCommand: c.clockReads / n,
    withoutClockPerCommand: (c.calls - c.clockReads) / n,
    ioPerCommand: categoryCount(c, 'io') / n,
    memoryPerCommand: categoryCount(c, 'memory') / n,
    futexPerCommand: categoryCount(c, 'futex') / n,
    otherPerCommand: categoryCount(c, 'other') / n,
    mainThreadPerCommand: c.mainThread / n,
    otherThreadsPerCommand: c.otherThreads / n,
    threads: c.threads,
    top: Object.entries(c.byName)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([name, k]) => ({ name, perCommand: k / n, count: k })),
  };
}

/** The round with the median calls per command (its breakdown is shown). @param {Count[]} rounds */
function medianRound(rounds) {
  const per = rounds.map((c) => c.calls / (c.commands || 1));
  const m = median(per);
  return perCommand(rounds[per.indexOf(m)]);
}

/** Parses the one JSON line a child prints. @param {string} stdout @returns {Record<string, RegionCounters>} */
const childCounters = (stdout) => JSON.parse(stdout.trim().split('\n').pop() ?? '{}');

/** Per-command figures of untraced regions (median over the rounds' per-command values). @param {RegionCounters[]} rs @param {number} commands */
function untracedPerCommand(rs, commands) {
  const med = (/** @type {(r: RegionCounters) => number} */ f) => median(rs.map(f));
  return {
    commands,
    wallMs: med((r) => r.wallMs),
    cpuUsPerCommand: med((r) => r.cpuUs / commands),
    minorFaultsPerCommand: med((r) => r.minorFaults / commands),
    readWriteCallsPerCommand: med((r) => (r.syscr + r.syscw) / commands),
    voluntarySwitchesPerCommand: med((r) => r.voluntarySwitches / commands),
    gcs: med((r) => r.gcs),
    gcMs: med((r) => r.gcMs),
  };
}

async function main() {
  const mode = arg('--child');
  if (mode) return child(mode, JSON.parse(/** @type {string} */ (arg('--options'))));

  const { cProgram } = require('./bench-stats.js');
  const lab = require(path.join(ROOT, 'scripts', 'lab', 'guest-tools.js'));
  const pr = require(path.join(ROOT, 'dist'));
  const rounds = Number(arg('--rounds', '3'));
  const iterations = Number(arg('--iterations', '200'));
  const delayMs = Number(arg('--delay-ms', '0'));
  const jsonFile = arg('--json');
  if (spawnSync('strace', ['-V']).status !== 0) throw new Error('strace is not installed (Debian package strace)');
  const c = { sgioLoop: cProgram('sgio-loop'), fanout: cProgram('sg-fanout'), protocol: cProgram('fence-protocol') };

  const m = lab.map();
  const sgs = [0, 1].map((n) => m.nodes[n].luns.map((/** @type {any} */ l) => /** @type {string} */ (l.sg)));
  const luns = sgs[0].length;
  const fenceCommands = luns + (luns - 1) + 2 * luns; // arbiter + checks, fan-out, verifies
  await lab.resetReservations();
  await lab.setNetem({ delayMs });
  fs.mkdirSync(path.join(ROOT, '.lab'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, '.lab', 'syscall-count-'));
  const labels = Array.from({ length: rounds }, (_, r) => String(r));
  const childArgs = (/** @type {string} */ childMode) => [__filename, '--child', childMode, '--options', JSON.stringify({ sgs, rounds, iterations })];
  const nodeChild = (/** @type {string} */ childMode, /** @type {string} */ file) => traced(file, process.execPath, childArgs(childMode));
  const untracedChild = (/** @type {string} */ childMode) => {
    const p = spawnSync(process.execPath, childArgs(childMode), { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (p.status !== 0) throw new Error(`child ${childMode} exited ${p.status}: ${p.stdout}${p.stderr}`);
    return childCounters(p.stdout);
  };

  // scsi-pr: one traced child per case, every round inside it.
  progress('scsi-pr traced: sequential READ KEYS …\n');
  nodeChild('read-keys', path.join(dir, 'lib-read-keys.trace'));
  const [empty, ...libSeq] = nodeRegions(path.join(dir, 'lib-read-keys.trace'), ['empty', ...labels]);
  progress('scsi-pr traced: PREEMPT AND ABORT fan-out …\n');
  nodeChild('fanout', path.join(dir, 'lib-fanout.trace'));
  const libFan = nodeRegions(path.join(dir, 'lib-fanout.trace'), labels);
  progress('scsi-pr traced: fence() …\n');
  nodeChild('fence', path.join(dir, 'lib-fence.trace'));
  const libFence = nodeRegions(path.join(dir, 'lib-fence.trace'), labels);

  // The same children untraced: strace slows every call ~100x, so more completions are
  // ready at each wait than at full speed; the kernel's own counters show the difference.
  progress('scsi-pr untraced …\n');
  const untraced = { seq: untracedChild('read-keys'), fan: untracedChild('fanout'), fence: untracedChild('fence') };

  // C references: one traced process per round, armed by scsi-pr (untraced) before each.
  const devs = [await Promise.all(sgs[0].map((p) => pr.open(p))), await Promise.all(sgs[1].map((p) => pr.open(p)))];
  /** @type {Count[]} */ const cSeq = [];
  /** @type {Count[]} */ const cFan = [];
  /** @type {Count[]} */ const cFence = [];
  const keys = [KEY[0].toString(16), KEY[1].toString(16)];
  const protocolArgs = [keys[0], keys[1], '5', ...sgs[0]];
  for (let r = 0; r < rounds; r++) {
    progress(`C references traced, round ${r + 1}/${rounds}: sgio-loop …\n`);
    let f = path.join(dir, `c-sgio-loop-${r}.trace`);
    traced(f, c.sgioLoop, [sgs[0][0], String(iterations)]);
    cSeq.push(cRegion(f));
    progress(`C references traced, round ${r + 1}/${rounds}: arming, sg-fanout …\n`);
    await arm(devs);
    f = path.join(dir, `c-fanout-${r}.trace`);
    traced(f, c.fanout, ['preempt-and-abort', keys[0], keys[1], '5', ...sgs[0]]);
    cFan.push(cRegion(f));
    progress(`C references traced, round ${r + 1}/${rounds}: arming, fence-protocol …\n`);
    await arm(devs);
    f = path.join(dir, `c-fence-${r}.trace`);
    traced(f, c.protocol, protocolArgs);
    cFence.push(cRegion(f));
  }

  // Wall time, untraced: the C protocol and fence() at netem 0 and 10 ms.
  /** @type {Record<string, {netemDelayMs: number, c: any[], cMedianMs: number, fenceMs: number[], fenceMedianMs: number, fenceUntraced: ReturnType<typeof untracedPerCommand>}>} */
  const wall = {};
  for (const d of [0, 10]) {
    progress(`wall time, netem ${d} ms: fence-protocol …\n`);
    await lab.setNetem({ delayMs: d });
    const runs = [];
    for (let r = 0; r < rounds; r++) {
      await arm(devs);
      const p = spawnSync(c.protocol, protocolArgs, { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`fence-protocol exited ${p.status}: ${p.stdout}${p.stderr}`);
      runs.push(JSON.parse(p.stdout));
    }
    progress(`wall time, netem ${d} ms: fence() …\n`);
    const lib = d === delayMs ? untraced.fence : untracedChild('fence');
    const fenceMs = labels.map((l) => lib[l].wallMs);
    wall[`${d}ms`] = {
      netemDelayMs: d,
      c: runs,
      cMedianMs: median(runs.map((x) => x.wallUs / 1000)),
      fenceMs,
      fenceMedianMs: median(fenceMs),
      fenceUntraced: untracedPerCommand(labels.slice(1).map((l) => lib[l]), fenceCommands),
    };
  }
  progress('resetting the reservations …\n');
  for (const side of devs) for (const d of side) await d.close();
  await lab.setNetem({ delayMs: 0 });
  await lab.resetReservations();

  const cases = [
    { id: 'seq-lib', what: `(a) scsi-pr: await dev.readKeys() x${iterations}`, ...medianRound(libSeq), untraced: untracedPerCommand(labels.map((l) => untraced.seq[l]), iterations), rounds: libSeq },
    { id: 'seq-c-sgio', what: `(a) C sgio-loop (ioctl SG_IO) x${iterations}+${WARM_UP}`, ...medianRound(cSeq), rounds: cSeq },
    { id: 'fanout-lib', what: `(b) scsi-pr: Promise.all preemptAndAbort x${luns}`, ...medianRound(libFan), untraced: untracedPerCommand(labels.map((l) => untraced.fan[l]), luns), rounds: libFan },
    { id: 'fanout-c', what: `(b) C sg-fanout preempt-and-abort x${luns}`, ...medianRound(cFan), rounds: cFan },
    { id: 'fence-lib-first', what: '(c) scsi-pr: fence(), first call in the process', ...perCommand(libFence[0]), untraced: untracedPerCommand([untraced.fence['0']], fenceCommands), rounds: [libFence[0]] },
    {
      id: 'fence-lib',
      what: '(c) scsi-pr: fence(), later calls',
      ...medianRound(libFence.length > 1 ? libFence.slice(1) : libFence),
      untraced: untracedPerCommand(labels.slice(1).map((l) => untraced.fence[l]), fenceCommands),
      rounds: libFence.slice(1),
    },
    { id: 'fence-c', what: '(c) C fence-protocol (same three phases)', ...medianRound(cFence), rounds: cFence },
  ];
  const clockSyscallsSeen = cSeq.some((x) => x.clockReads > 0);
  const f2 = (/** @type {number} */ x) => x.toFixed(2).padStart(6);
  console.log(`system calls per SCSI command, strace -f (every thread), ${luns} LUs, netem ${delayMs} ms, the median of ${rounds} rounds:`);
  console.log(`  ${'case'.padEnd(50)} ${'cmds'.padStart(5)} ${'calls'.padStart(6)} ${'/cmd'.padStart(6)} ${'io'.padStart(6)} ${'clock'.padStart(6)} ${'memory'.padStart(6)} ${'futex'.padStart(6)} ${'other'.padStart(6)} ${'main'.padStart(6)} ${'thr'.padStart(3)}`);
  for (const x of cases) {
    console.log(
      `  ${x.what.padEnd(50)} ${String(x.commands).padStart(5)} ${String(x.calls).padStart(6)} ${f2(x.callsPerCommand)} ${f2(x.ioPerCommand)} ${f2(x.clockReadsPerCommand)} ${f2(x.memoryPerCommand)} ${f2(x.futexPerCommand)} ${f2(x.otherPerCommand)} ${f2(x.mainThreadPerCommand)} ${String(x.threads).padStart(3)}`,
    );
  }
  console.log('  (/cmd: every call per command; io: read/write/ioctl/poll/epoll; clock: clock_gettime/gettimeofday; memory: mmap/munmap/');
  console.log('   mprotect/madvise/brk; futex: thread wake-ups; main: the main thread\'s share of /cmd; thr: threads that made calls)');
  console.log('top calls per command:');
  for (const x of cases) console.log(`  ${x.id.padEnd(16)} ${x.top.map((t) => `${t.name} ${t.perCommand.toFixed(2)}`).join(', ')}`);
  console.log('scsi-pr untraced (kernel counters: /proc/self/io syscr+syscw, the main thread\'s voluntary context switches; perf_hooks GC entries):');
  for (const x of cases) {
    if (!('untraced' in x) || !x.untraced) continue;
    const u = x.untraced;
    console.log(
      `  ${x.id.padEnd(16)} ${u.wallMs.toFixed(1).padStart(8)} ms  CPU/cmd ${u.cpuUsPerCommand.toFixed(0).padStart(5)} µs  minor faults/cmd ${f2(u.minorFaultsPerCommand)}  read+write calls/cmd ${f2(u.readWriteCallsPerCommand)}  blocking waits/cmd ${f2(u.voluntarySwitchesPerCommand)}  GCs ${u.gcs} (${u.gcMs.toFixed(1)} ms)`,
    );
  }
  console.log(`empty scsi-pr region (markers around one setImmediate): ${empty.calls} calls (${Object.entries(empty.byName).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  console.log(`clock reads ${clockSyscallsSeen ? 'ARE' : 'are NOT'} system calls in this kernel (strace saw sgio-loop's 2 clock_gettime per run: ${cSeq.map((x) => x.clockReads).join(', ')})`);
  console.log('wall time, untraced, median:');
  for (const w of Object.values(wall)) {
    const med = (/** @type {string} */ k) => median(w.c.map((x) => x[k] / 1000)).toFixed(1);
    console.log(
      `  netem ${String(w.netemDelayMs).padStart(2)} ms: C fence-protocol ${w.cMedianMs.toFixed(1)} ms (phases ${med('phase1Us')} + ${med('phase2Us')} + ${med('phase3Us')} ms; CPU ${med('cpuUs')} ms, ${median(w.c.map((x) => x.minorFaults))} minor faults; ${w.c[0].commands} commands, ${w.c.map((x) => x.verified).join('/')} verified)`,
    );
    const u = w.fenceUntraced;
    console.log(
      `               fence() ${w.fenceMedianMs.toFixed(1)} ms (${w.fenceMs.map((x) => x.toFixed(0)).join(', ')}; the first is the process's first fence); after the first: CPU ${((u.cpuUsPerCommand * fenceCommands) / 1000).toFixed(1)} ms, ${(u.minorFaultsPerCommand * fenceCommands).toFixed(0)} minor faults, ${(u.voluntarySwitchesPerCommand * fenceCommands).toFixed(0)} blocking waits per fence, GCs ${u.gcs}`,
    );
  }
  const result = { luns, netemDelayMs: delayMs, rounds, iterations, clockReadsAreSyscalls: clockSyscallsSeen, emptyRegion: empty, cases, untraced, wall };
  const json = JSON.stringify(result, null, 2) + '\n';
  if (jsonFile) fs.writeFileSync(jsonFile, json);
  if (process.env.SCSI_PR_LAB_RUN) fs.writeFileSync(path.join(process.env.SCSI_PR_LAB_RUN, 'syscall-count.json'), json); // the host sees the run directory
  if (process.argv.includes('--keep')) console.log(`traces kept in ${dir}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
