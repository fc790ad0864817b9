#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Host CPU benchmark of the TypeScript layer (no lab, no devices, no root):
 * how much CPU the library itself spends per command, a figure that carries
 * over to hardware (the lab's UML guest makes every system call cost ~30 µs,
 * which hides it). Real `Device` objects from dist/ run over BenchTransport
 * (bench-fake-target.js), an in-process target that answers at once.
 *
 *   node scripts/bench/cpu-bench.js [--rounds N] [--completion microtask|immediate]
 *                                   [--instructions] [--json FILE] [--dist DIR]
 *
 * Cases, each measured with process.cpuUsage() (user + system, every thread of
 * the process: GC and compiler threads included) and wall time:
 *  - readKeys sequential: `await dev.readKeys()` one after another on one Device;
 *  - readKeys 64 in flight: one readKeys on each of 64 Devices at once, awaited
 *    together, again and again (a fan-out's shape);
 *  - fence per LU: `fence()` on 8, 64 and 256 LUs given as open Devices, node a
 *    (holding a type 5 reservation) fencing node b; the LUs are re-armed before
 *    every call (untimed: the CPU is read around each call).
 * Each case also runs WITHOUT the library: the same commands submitted straight
 * to the transports (readKeys: one fixed CDB; fence: the commands fence sent,
 * recorded once and replayed per LU). That is the fake's own cost; the
 * library's share is the library run minus the fake run of the same round.
 * Rounds are interleaved (every case once per round, the order rotated each
 * round) after a warm-up; the table gives medians and min–max over rounds.
 *
 * --instructions (a few minutes): instructions per command too, counted by
 * running the cases again under valgrind's callgrind (`node --single-threaded`,
 * so JIT compiles and GC run on the counted main thread, not on helper threads
 * whose share would depend on how slow valgrind makes the clock). Callgrind
 * dumps its counters at markers (a getegid call) around each run, so startup
 * and warm-up are not counted; library share = library run minus fake run, as
 * above; median and min–max of 3 runs (a high max is a run with a full GC).
 * This count is not disturbed by other processes on the machine, the CPU
 * times are. It also says whether hardware counters (`perf stat -e
 * instructions`) work here; they are not used (no machine of the project's
 * has them to test with).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
/** The build under test: dist/, or another copy of it (`--dist DIR`, for A/B comparisons of a change). */
const DIST = distArgument() ?? path.join(ROOT, 'dist');
const pr = require(DIST);
const { BenchLogicalUnit, BenchTransport } = require('./bench-fake-target.js');

const KEY_A = 0xaaaa0001n;
const KEY_B = 0xbbbb0002n;
const WE_RO = 5;
const NEXUS_A = 'iqn.2024-01.bench:a,i,0x23d000000001@1';
const NEXUS_B = 'iqn.2024-01.bench:b,i,0x23d000000001@1';
/** READ KEYS, allocation length 1024 (the library's default for it). */
const READ_KEYS_CDB = Buffer.from([0x5e, 0x00, 0, 0, 0, 0, 0, 0x04, 0x00, 0]);
const IN_FLIGHT = 64;
const FENCE_LU_COUNTS = [8, 64, 256];
/** Commands per readKeys measurement, and LUs fenced per fence measurement. */
const READ_KEYS_COMMANDS = 20_000;
const FENCE_LUS_PER_MEASURE = 4096;

/** @param {string[]} argv */
function parseArgs(argv) {
  const o = { rounds: 7, completion: /** @type {'microtask' | 'immediate'} */ ('microtask'), json: /** @type {string | undefined} */ (undefined), instructions: false, child: false, scale: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--rounds') o.rounds = Number(value());
    else if (a === '--completion') o.completion = /** @type {any} */ (value());
    else if (a === '--json') o.json = value();
    else if (a === '--instructions') o.instructions = true;
    else if (a === '--callgrind-child') o.child = true;
    else if (a === '--scale') o.scale = Number(value());
    else if (a === '--dist') value(); // read before anything is loaded (distArgument)
    else throw new Error(`unknown argument ${a} (see the header of ${__filename})`);
  }
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error('--rounds must be a positive integer');
  if (o.completion !== 'microtask' && o.completion !== 'immediate') throw new Error('--completion is microtask or immediate');
  return o;
}

/** `--dist DIR`, read first: the library is loaded at the top. */
function distArgument() {
  const i = process.argv.indexOf('--dist');
  return i > 0 && process.argv[i + 1] ? path.resolve(process.argv[i + 1]) : undefined;
}

// ---- the fake SAN ------------------------------------------------------------

/**
 * `count` LUs, node a's path to each (a Device and its transport); node b is
 * only a registration in the LU model (it sends nothing).
 * @param {number} count @param {'microtask' | 'immediate'} completion
 */
function fakeSan(count, completion) {
  const lus = Array.from({ length: count }, (_, i) => new BenchLogicalUnit(i));
  const transports = lus.map((lu) => new BenchTransport(lu, NEXUS_A, completion));
  const devices = transports.map((t, i) => {
    const name = `/dev/bench/a/lu${i}`;
    return new pr.Device({ requested: name, resolved: name, openPath: name, via: 'sg', transport: 'sg-async' }, t, {});
  });
  /** Both nodes registered, a holds Write Exclusive – Registrants Only (set-up, untimed). */
  const arm = () => {
    for (const lu of lus) lu.arm([[NEXUS_A, KEY_A], [NEXUS_B, KEY_B]], NEXUS_A, WE_RO);
  };
  arm();
  return { lus, transports, devices, arm };
}

// ---- measuring ---------------------------------------------------------------

/** CPU (user + system) and wall microseconds of `work`. @param {() => Promise<void>} work */
async function measure(work) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await work();
  const c = process.cpuUsage(c0);
  return { cpuUs: c.user + c.system, wallUs: Number(process.hrtime.bigint() - t0) / 1000 };
}

/** @param {number[]} xs */
function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1] };
}

/** @param {{ transports: InstanceType<typeof BenchTransport>[] }} san */
function readKeysSubmitter(san) {
  const data = san.transports.map(() => Buffer.allocUnsafeSlow(1024));
  return (/** @type {number} */ i) => san.transports[i].submit({ cdb: READ_KEYS_CDB, direction: 'in', data: data[i], timeoutMs: 30_000 });
}

/**
 * The readKeys cases. Each returns a function running `commands` commands.
 * @param {'microtask' | 'immediate'} completion
 */
function readKeysCases(completion) {
  const one = fakeSan(1, completion);
  const many = fakeSan(IN_FLIGHT, completion);
  const submitOne = readKeysSubmitter(one);
  const submitMany = readKeysSubmitter(many);
  const dev = one.devices[0];
  const check = (/** @type {{ keys: bigint[] }} */ r) => {
    if (r.keys.length !== 2 || r.keys[1] !== KEY_B) throw new Error(`readKeys returned ${r.keys}`);
  };
  return {
    /** @param {number} commands */
    librarySequential: async (commands) => {
      let r;
      for (let i = 0; i < commands; i++) r = await dev.readKeys();
      check(/** @type {any} */ (r));
    },
    /** @param {number} commands */
    fakeSequential: async (commands) => {
      for (let i = 0; i < commands; i++) await submitOne(0);
    },
    /** @param {number} commands */
    libraryInFlight: async (commands) => {
      /** @type {any[]} */
      let rs = [];
      for (let n = 0; n < commands; n += IN_FLIGHT) rs = await Promise.all(many.devices.map((d) => d.readKeys()));
      check(rs[IN_FLIGHT - 1]);
    },
    /** @param {number} commands */
    fakeInFlight: async (commands) => {
      const all = Array.from({ length: IN_FLIGHT }, (_, i) => i);
      for (let n = 0; n < commands; n += IN_FLIGHT) await Promise.all(all.map(submitMany));
    },
  };
}

/**
 * fence() on `count` LUs, and the replay of its commands straight on the transports.
 * @param {number} count @param {'microtask' | 'immediate'} completion
 */
async function fenceCase(count, completion) {
  const san = fakeSan(count, completion);
  const fenceOnce = async () => {
    const rep = await pr.fence({ devices: san.devices, key: KEY_A, victimKey: KEY_B });
    if (!rep.ok || rep.fenced.length !== count) throw new Error(`fence on ${count} LUs: ${JSON.stringify(pr.toJSONSafe ? pr.toJSONSafe(rep) : rep.notFenced)}`);
  };
  // First call: fence reads each Device's WWN once (INQUIRY; cached per Device). Then record one steady-state call.
  await fenceOnce();
  san.arm();
  /** @type {import('./bench-fake-target.js').BenchTransport['recorder'][]} */
  const recorded = san.transports.map((t) => (t.recorder = []));
  await fenceOnce();
  for (const t of san.transports) t.recorder = null;
  const perLu = recorded.map((r) => /** @type {NonNullable<typeof r>} */ (r));
  const commandsPerLu = perLu.reduce((n, r) => n + r.length, 0) / count;
  const byName = perLu[1 % count].map((c) => commandName(c.cdb)).join(', ');
  return {
    count,
    commandsPerLu,
    /** `reps` fence calls, each on freshly armed LUs; CPU and wall summed over the calls only. */
    library: async (/** @type {number} */ reps) => {
      let cpuUs = 0;
      let wallUs = 0;
      for (let i = 0; i < reps; i++) {
        san.arm();
        const m = await measure(fenceOnce);
        cpuUs += m.cpuUs;
        wallUs += m.wallUs;
      }
      return { cpuUs, wallUs };
    },
    /** The same commands straight on the transports: per LU in fence's order, every LU at once. */
    fake: async (/** @type {number} */ reps) => {
      let cpuUs = 0;
      let wallUs = 0;
      for (let i = 0; i < reps; i++) {
        san.arm();
        const m = await measure(() => Promise.all(perLu.map(async (commands, lu) => {
          const t = san.transports[lu];
          for (const c of commands) {
            const raw = await t.submit({ cdb: c.cdb, direction: c.direction, data: c.data, timeoutMs: 30_000 });
            if (raw.status !== 0) throw new Error(`replay on LU ${lu}: status ${raw.status}`);
          }
        })).then(() => undefined));
        cpuUs += m.cpuUs;
        wallUs += m.wallUs;
      }
      return { cpuUs, wallUs };
    },
    sequence: byName,
  };
}

/** @param {Buffer} cdb */
function commandName(cdb) {
  if (cdb[0] === 0x5e) return ['READ KEYS', 'READ RESERVATION', 'REPORT CAPABILITIES', 'READ FULL STATUS'][cdb[1] & 0x1f] ?? 'PR IN ?';
  if (cdb[0] === 0x5f) return { 4: 'PREEMPT', 5: 'PREEMPT AND ABORT' }[cdb[1] & 0x1f] ?? 'PR OUT ?';
  if (cdb[0] === 0x12) return 'INQUIRY';
  return `opcode ${cdb[0]}`;
}

// ---- instructions ------------------------------------------------------------

/** Whether `perf stat -e instructions` counts here, and why not. */
function perfInstructions() {
  const p = spawnSync('perf', ['stat', '-x,', '-e', 'instructions:u', '--', 'true'], { encoding: 'utf8' });
  if (p.error) return { available: false, why: 'perf is not installed (Debian package linux-perf, binary /usr/bin/perf)' };
  const line = p.stderr.split('\n').find((l) => l.includes('instructions')) ?? '';
  if (/not supported|not counted/.test(line) || p.status !== 0) {
    const pmu = fs.existsSync('/sys/bus/event_source/devices/cpu') || fs.readdirSync('/sys/bus/event_source/devices').some((d) => d.startsWith('cpu'));
    let paranoid = '?';
    try {
      paranoid = fs.readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8').trim();
    } catch {}
    return {
      available: false,
      why: `perf stat -e instructions:u: ${line.split(',').slice(0, 3).join(' ').trim() || p.stderr.trim()}; perf_event_paranoid=${paranoid}; ${pmu ? 'a cpu PMU is listed' : 'the kernel lists no hardware PMU (/sys/bus/event_source/devices has no cpu: a VM without a virtual PMU)'}`,
    };
  }
  return { available: true, why: '' };
}

/** Marker: with `--dump-before=getegid`, callgrind dumps its counters at every call (Node's startup calls it too, before any of ours). */
const mark = () => process.getegid?.();

/** Cases counted under callgrind, and how many runs of each side. */
const CALLGRIND_CASES = ['readKeys-seq', `readKeys-${IN_FLIGHT}`, ...FENCE_LU_COUNTS.map((n) => `fence${n}`)];
const CALLGRIND_RUNS = 3;

/**
 * Child under callgrind: per case, a warm-up, a marker, then each run of the
 * library and of the fake followed by a marker, so each run's instructions are
 * exactly one dump. Prints the units (commands or LUs) per run of each case.
 * @param {number} scale
 */
async function callgrindChild(scale) {
  const completion = 'microtask';
  /** @type {Array<{ which: string, units: number, commandsPerLu?: number }>} */
  const plan = [];
  const rk = readKeysCases(completion);
  for (const which of CALLGRIND_CASES) {
    /** @type {() => Promise<unknown>} */ let lib;
    /** @type {() => Promise<unknown>} */ let fake;
    /** @type {() => Promise<unknown>} */ let warmUp;
    /** @type {number} */ let units;
    /** @type {number | undefined} */ let commandsPerLu;
    if (which.startsWith('fence')) {
      const c = await fenceCase(Number(which.slice(5)), completion);
      const reps = Math.max(1, Math.round((256 * scale) / c.count));
      const warmUpReps = Math.max(reps, Math.round(2048 / c.count));
      units = reps * c.count;
      commandsPerLu = c.commandsPerLu;
      lib = () => c.library(reps);
      fake = () => c.fake(reps);
      warmUp = () => c.library(warmUpReps).then(() => c.fake(warmUpReps));
    } else {
      const n = Math.round(1024 * scale);
      units = n;
      const seq = which === 'readKeys-seq';
      lib = () => (seq ? rk.librarySequential : rk.libraryInFlight)(n);
      fake = () => (seq ? rk.fakeSequential : rk.fakeInFlight)(n);
      warmUp = () => (seq ? rk.librarySequential : rk.libraryInFlight)(8192).then(() => (seq ? rk.fakeSequential : rk.fakeInFlight)(8192));
    }
    await warmUp();
    mark();
    for (const f of [lib, fake]) {
      for (let r = 0; r < CALLGRIND_RUNS; r++) {
        await f();
        mark();
      }
    }
    plan.push({ which, units, commandsPerLu });
  }
  process.stdout.write(JSON.stringify(plan) + '\n');
}

/** Instructions per unit (command or LU) under callgrind, library and fake, per case. @param {number} scale */
function callgrindCounts(scale) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpu-bench-cg-'));
  try {
    const out = path.join(dir, 'cg.out');
    const p = spawnSync(
      'valgrind',
      ['--tool=callgrind', `--callgrind-out-file=${out}`, '--dump-before=getegid', process.execPath, '--single-threaded', __filename, '--callgrind-child', '--scale', String(scale), '--dist', DIST],
      { encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    if (p.status !== 0) throw new Error(`valgrind exited ${p.status}: ${p.stderr.slice(-2000)}`);
    /** @type {Array<{ which: string, units: number, commandsPerLu?: number }>} */
    const plan = JSON.parse(p.stdout.trim().split('\n').pop() ?? '[]');
    // <out>.1 … <out>.K, one per getegid call in call order; <out> itself is the rest, at exit.
    const totals = fs
      .readdirSync(dir)
      .filter((f) => /^cg\.out\.\d+$/.test(f))
      .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()))
      .map((f) => {
        const m = /^totals: (\d+)/m.exec(fs.readFileSync(path.join(dir, f), 'utf8'));
        if (!m) throw new Error(`callgrind dump ${f} has no totals line`);
        return Number(m[1]);
      });
    const perCase = 1 + 2 * CALLGRIND_RUNS;
    const ours = totals.slice(-plan.length * perCase);
    if (ours.length !== plan.length * perCase) throw new Error(`callgrind: ${totals.length} dumps, expected at least ${plan.length * perCase}`);
    /** @type {Record<string, any>} */
    const cases = {};
    plan.forEach((c, i) => {
      const runs = ours.slice(i * perCase + 1, (i + 1) * perCase).map((t) => t / c.units);
      const lib = runs.slice(0, CALLGRIND_RUNS);
      const fake = runs.slice(CALLGRIND_RUNS);
      cases[c.which] = { units: c.units, runs: CALLGRIND_RUNS, library: stats(lib), fake: stats(fake), libraryShare: stats(lib.map((l, k) => l - fake[k])), commandsPerLu: c.commandsPerLu };
    });
    return cases;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** @param {number} scale */
function instructionCounts(scale) {
  const perf = perfInstructions();
  const result = { perf, method: /** @type {string} */ (''), cases: /** @type {Record<string, any>} */ ({}) };
  const vg = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  if (vg.error) {
    result.method = 'none: no hardware counter and valgrind is not installed (Debian package valgrind)';
    return result;
  }
  result.method = `${vg.stdout.trim()} --tool=callgrind, node --single-threaded (software count of the x86 instructions executed, all threads; JIT and GC on the main thread; microtask completion)`;
  process.stderr.write('  callgrind: every case again under valgrind (a few minutes) …\n');
  result.cases = callgrindCounts(scale);
  return result;
}

// ---- main --------------------------------------------------------------------

/** @param {number} x */
const f1 = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2));
/** @param {{ median: number, min: number, max: number }} s */
const cell = (s) => `${f1(s.median)} (${f1(s.min)}–${f1(s.max)})`;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.child) return callgrindChild(o.scale);
  const started = process.hrtime.bigint();
  const loadBefore = os.loadavg()[0];
  const rk = readKeysCases(o.completion);
  /** @type {Array<Awaited<ReturnType<typeof fenceCase>>>} */
  const fences = [];
  for (const n of FENCE_LU_COUNTS) fences.push(await fenceCase(n, o.completion));

  /** Every timed case: name, unit, units per measurement, the measurement. */
  /** @type {Array<{ name: string, side: 'library' | 'fake', unit: string, units: number, run: () => Promise<{ cpuUs: number, wallUs: number }> }>} */
  const cases = [
    { name: 'readKeys sequential', side: 'library', unit: 'command', units: READ_KEYS_COMMANDS, run: () => measure(() => rk.librarySequential(READ_KEYS_COMMANDS)) },
    { name: 'readKeys sequential', side: 'fake', unit: 'command', units: READ_KEYS_COMMANDS, run: () => measure(() => rk.fakeSequential(READ_KEYS_COMMANDS)) },
    { name: `readKeys ${IN_FLIGHT} in flight`, side: 'library', unit: 'command', units: READ_KEYS_COMMANDS, run: () => measure(() => rk.libraryInFlight(READ_KEYS_COMMANDS)) },
    { name: `readKeys ${IN_FLIGHT} in flight`, side: 'fake', unit: 'command', units: READ_KEYS_COMMANDS, run: () => measure(() => rk.fakeInFlight(READ_KEYS_COMMANDS)) },
  ];
  for (const f of fences) {
    const reps = Math.max(1, Math.round(FENCE_LUS_PER_MEASURE / f.count));
    cases.push({ name: `fence ${f.count} LUs`, side: 'library', unit: 'LU', units: reps * f.count, run: () => f.library(reps) });
    cases.push({ name: `fence ${f.count} LUs`, side: 'fake', unit: 'LU', units: reps * f.count, run: () => f.fake(reps) });
  }
  // Warm-up: every case twice (JIT tiers, buffer pools), untimed.
  for (let w = 0; w < 2; w++) for (const c of cases) await c.run();

  /** @type {Map<string, { library: Array<{ cpuUs: number, wallUs: number }>, fake: Array<{ cpuUs: number, wallUs: number }> }>} */
  const samples = new Map();
  for (let r = 0; r < o.rounds; r++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(k + 2 * r) % cases.length]; // rotate by one library/fake pair per round
      const m = await c.run();
      let s = samples.get(c.name);
      if (!s) samples.set(c.name, (s = { library: [], fake: [] }));
      s[c.side].push({ cpuUs: m.cpuUs / c.units, wallUs: m.wallUs / c.units });
    }
  }
  // Round r's library sample minus round r's fake sample: the library's share, paired per round.
  const rows = [...samples].map(([name, s]) => {
    const c = cases.find((x) => x.name === name);
    const f = fences.find((x) => name === `fence ${x.count} LUs`);
    const share = s.library.map((l, i) => l.cpuUs - s.fake[i].cpuUs);
    const shareWall = s.library.map((l, i) => l.wallUs - s.fake[i].wallUs);
    return {
      name,
      unit: c?.unit ?? '',
      unitsPerMeasure: c?.units ?? 0,
      commandsPerUnit: f ? f.commandsPerLu : 1,
      commandSequencePerLu: f?.sequence,
      libraryCpuUs: stats(s.library.map((x) => x.cpuUs)),
      libraryWallUs: stats(s.library.map((x) => x.wallUs)),
      fakeCpuUs: stats(s.fake.map((x) => x.cpuUs)),
      fakeWallUs: stats(s.fake.map((x) => x.wallUs)),
      libraryShareCpuUs: stats(share),
      libraryShareWallUs: stats(shareWall),
      libraryShareCpuUsPerCommand: stats(share.map((x) => x / (f ? f.commandsPerLu : 1))),
    };
  });

  console.log(`CPU of the TypeScript layer per command over a fake transport (${o.completion} completion), ${o.rounds} interleaved rounds: median (min–max), µs`);
  const loadAfter = os.loadavg()[0];
  console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}; CPU = process.cpuUsage() user+system, all threads; load average ${loadBefore.toFixed(1)} -> ${loadAfter.toFixed(1)}`);
  if (Math.max(loadBefore, loadAfter) > os.cpus().length - 0.5) console.log('warning: other processes compete for the CPUs: caches and frequency are shared, expect a wider spread (the instruction counts of --instructions are not affected)');
  console.log('');
  const header = ['case', 'per', 'cmds', 'library CPU', 'fake CPU', 'library share CPU', 'share/cmd', 'library wall', 'fake wall'];
  const table = rows.map((x) => [x.name, x.unit, x.commandsPerUnit.toFixed(2), cell(x.libraryCpuUs), cell(x.fakeCpuUs), cell(x.libraryShareCpuUs), cell(x.libraryShareCpuUsPerCommand), cell(x.libraryWallUs), cell(x.fakeWallUs)]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  const line = (/** @type {string[]} */ t) => t.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  console.log(line(header));
  for (const t of table) console.log(line(t));
  for (const x of rows) if (x.commandSequencePerLu) console.log(`\n${x.name}: commands per LU (one LU, steady state): ${x.commandSequencePerLu}`);

  const result = {
    when: new Date().toISOString(),
    node: process.version,
    cpu: `${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}`,
    commit: gitHead(),
    dist: DIST,
    completion: o.completion,
    rounds: o.rounds,
    loadAverage: [loadBefore, loadAfter],
    method: 'process.cpuUsage() (user+system, all threads) and hrtime around each measurement; library share = library run minus the fake-only run of the same round; medians and min-max over interleaved rounds after 2 warm-up passes',
    rows,
    /** @type {any} */
    instructions: undefined,
    elapsedS: 0,
  };
  if (o.instructions) {
    console.log('\ninstructions:');
    const ic = instructionCounts(o.scale);
    result.instructions = ic;
    console.log(`  hardware counters (perf stat): ${ic.perf.available ? 'available (not used)' : `no. ${ic.perf.why}`}`);
    console.log(`  method: ${ic.method}`);
    for (const [which, c] of Object.entries(ic.cases)) {
      const per = which.startsWith('fence') ? 'LU' : 'command';
      console.log(`  ${which.padEnd(13)} per ${per}: library ${c.library.median.toFixed(0)} (${c.library.min.toFixed(0)}–${c.library.max.toFixed(0)}), fake ${c.fake.median.toFixed(0)}, library share ${c.libraryShare.median.toFixed(0)} (${c.libraryShare.min.toFixed(0)}–${c.libraryShare.max.toFixed(0)})${c.commandsPerLu ? `, ${(c.libraryShare.median / c.commandsPerLu).toFixed(0)} per command` : ''}`);
    }
  }
  result.elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`\n(${result.elapsedS.toFixed(1)} s)`);
  if (o.json) fs.writeFileSync(o.json, JSON.stringify(result, null, 2) + '\n');
}

function gitHead() {
  const p = spawnSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' });
  return p.status === 0 ? p.stdout.trim() : undefined;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
