#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * The SAN lab launcher: boots a User-Mode Linux guest on the host filesystem,
 * builds an iSCSI target (LIO, or tgt with --target tgt) with L LUNs on 127.0.0.1
 * and N open-iscsi initiator nodes, then runs a command (or a REPL) inside it and halts.
 * See `node scripts/lab.js --help`.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { ensureLabPrereqs, PrereqError, ROOT, LAB_DIR } = require('./lab/prereqs');
const { ensureNvmeKernel } = require('./lab/nvme-kernel');

const USAGE = `usage: scsi-pr-lab <run|repl|check> [options] [-- command args...]

  run  -- CMD...   boot the lab, run CMD inside the guest, print its output, exit with its status
  repl             boot the lab and open a node REPL with scsi-pr loaded and the device map in scope
  check            boot a 1x1 lab and report the boot-to-ready time

options:
  --target T       lio (default: the kernel's LIO target) or tgt (Debian's user-space tgtd 1.0.85;
                   lab LUN i is tgt LUN i+1, tgt's LUN 0 being its controller LUN), or nvmet: the NVMe
                   lab, a QEMU guest (software emulation) with a Debian kernel >= 6.19 fetched at set-up,
                   the kernel's NVMe target over the loop transport with --luns namespaces (lab namespace
                   i is NSID i+1) and one host NQN + controller per node and path (/dev/nvme<C>n<N>,
                   /dev/ng<C>n<N>); --sg-only, --cmdsn-depth, --delay-ms, --loss-pct, --dbroot do not apply
  --nodes N        initiator nodes, 1-8 (default 2); node i logs in as iqn …:node<i>
  --luns L         LUNs, 1-256 with LIO, 1-64 with tgt (default 4): rd_mcp backstores, unit serial
                   scsiprlab<NNNN>; above 64 use a small --lun-mb (256 LUNs x 2 paths x 2 nodes = 1024
                   SCSI devices in the guest: see --mem)
  --paths P        target portals 127.0.0.1..P (default 1); P=2 gives every node two paths per LUN
  --lun-mb MB      size of each LUN (default 8)
  --cmdsn-depth D  LIO's CmdSN window per session (commands a node may have in flight on one path),
                   1-512; open-iscsi's cmds_max is raised to hold it. Default: LIO's 64 and open-iscsi's
                   128 up to 64 LUNs; 512 (cmds_max 1024) above, so that a fan-out over 256 LUNs is not
                   held back by the window (LIO only)
  --sg-only        no sd driver in the guest: LUNs get /dev/sgN only (map sd: null); boots big labs
                   much faster (no disk probe, partition scan or I/O scheduler per device)
  --delay-ms D     netem delay on loopback in ms (default 0; benchmarks use 1)
  --loss-pct X     netem packet loss in percent (default 0)
  --dbroot DIR     LIO dbroot (APTPL files) on a host directory kept across boots (default: guest tmpfs; LIO only)
  --mem MB         guest memory (default 384 + LUNs x lun-mb; above 64 LUNs + 1/4 MB per SCSI device)
  --timeout S      kill the guest after S seconds and fail (default 600)
  --env K=V        pass an environment variable into the guest (repeatable)
  --verbose        show the guest console (kernel, set-up) as it boots
  --json           with check: print the result as JSON

Inside the guest: SCSI_PR_LAB=1, LAB_TARGET=lio|tgt|nvmet, SCSI_PR_LAB_MAP=<map.json> (node -> LUN -> sd/sg;
nvmet: node -> namespace -> block/generic), LAB_N<node>_L<lun>_SG / _SD per device (nvmet:
LAB_N<node>_NS<ns> and LAB_N<node>_NS<ns>_NG) (_P<path> suffix for paths > 0), and
scripts/lab/guest-tools.js for logout/login, LUN remove/restore, portal down/up, netem.
Exit status: the command's; 123 the guest rebooted (reboot(2) ended the command; the
second boot halted at once); 124 guest timed out; 125 the lab could not start.`;

/**
 * Most LUNs the lab builds. LIO: 256 (lun_0..lun_255, single-level LUN numbers;
 * the initiator finds them with REPORT LUNS, bounded by iscsi_tcp's max_lun,
 * 2^32-1 here; measured: 2 nodes x 256 LUNs x 2 paths boots, see --sg-only).
 * tgt: 64, as before (its set-up runs two tgtadm processes per LUN, ~35 ms each
 * in UML, and was never measured beyond 64).
 */
const LIO_MAX_LUNS = 256;
const TGT_MAX_LUNS = 64;
/** Most namespaces the NVMe lab builds (one nvmet subsystem; never measured beyond). */
const NVMET_MAX_LUNS = 64;

/** Exit status of a run whose guest rebooted: UML booted it again and guest-init.sh halted that boot. */
const REBOOTED = 123;

/**
 * @typedef {object} LabOptions
 * @property {'lio'|'tgt'|'nvmet'} [target]  the target implementation (default 'lio'); nvmet is the NVMe lab (QEMU)
 * @property {number} [nodes]
 * @property {number} [luns]
 * @property {number} [paths]
 * @property {number} [lunMb]
 * @property {boolean} [sgOnly]  no sd_mod: sg nodes only
 * @property {number} [cmdsnDepth]  LIO CmdSN window per session (default 64, or 512 above 64 LUNs)
 * @property {number} [delayMs]
 * @property {number} [lossPct]
 * @property {string} [dbroot]
 * @property {number} [memMb]
 * @property {number} [timeoutS]
 * @property {Record<string,string>} [env]
 * @property {boolean} [verbose]
 * @property {boolean} [interactive]
 * @property {(chunk: string) => void} [onOutput]  receives the command's output (default: process.stdout)
 */

/** @param {string} name @param {number} v @param {number} lo @param {number} hi */
function checkInt(name, v, lo, hi) {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`--${name} must be an integer from ${lo} to ${hi}, got ${v}`);
  return v;
}

/** @param {string} s */
function shellQuote(s) {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const FORWARD_ENV = /^(PATH|CI|TERM|LANG|LC_\w+|NODE_\w+|SCSI_PR_\w+|VITEST\w*|FORCE_COLOR|NO_COLOR)$/;

/**
 * Boot the lab, run `argv` in the guest, halt. Resolves with the command's
 * exit status and where the run left its files; rejects only on host-side errors.
 * @param {LabOptions} o
 * @param {string[]} argv
 * @returns {Promise<{status: number, reason?: string, rebooted?: boolean, readyMs?: number, wallMs: number, runDir: string, map?: any}>}
 */
async function runLab(o, argv) {
  const target = o.target ?? 'lio';
  if (target !== 'lio' && target !== 'tgt' && target !== 'nvmet') throw new RangeError(`--target must be lio, tgt or nvmet, got ${target}`);
  if (target === 'nvmet') {
    const notNvme = [['sgOnly', '--sg-only'], ['cmdsnDepth', '--cmdsn-depth'], ['delayMs', '--delay-ms'], ['lossPct', '--loss-pct'], ['dbroot', '--dbroot']]
      .filter(([k]) => /** @type {any} */ (o)[k] !== undefined && /** @type {any} */ (o)[k] !== false && /** @type {any} */ (o)[k] !== 0);
    if (notNvme.length > 0) throw new RangeError(`${notNvme.map(([, f]) => f).join(', ')}: not an option of the NVMe lab (--target nvmet): it has no iSCSI, no network and no LIO`);
  }
  if (target === 'tgt' && o.dbroot) throw new RangeError('--dbroot is LIO\'s APTPL store: tgt 1.0.85 refuses APTPL, so --dbroot needs --target lio');
  const nodes = checkInt('nodes', o.nodes ?? 2, 1, 8);
  if (target === 'tgt' && Number.isInteger(o.luns) && /** @type {number} */ (o.luns) > TGT_MAX_LUNS && /** @type {number} */ (o.luns) <= LIO_MAX_LUNS) {
    throw new RangeError(`--luns ${o.luns}: the tgt lab builds at most ${TGT_MAX_LUNS} LUNs; up to ${LIO_MAX_LUNS} needs --target lio`);
  }
  const luns = checkInt('luns', o.luns ?? 4, 1, target === 'tgt' ? TGT_MAX_LUNS : target === 'nvmet' ? NVMET_MAX_LUNS : LIO_MAX_LUNS);
  const paths = checkInt('paths', o.paths ?? 1, 1, 4);
  const lunMb = checkInt('lun-mb', o.lunMb ?? 8, 1, 1024);
  if (target === 'tgt' && o.cmdsnDepth !== undefined) throw new RangeError('--cmdsn-depth sets LIO\'s CmdSN window: it needs --target lio');
  // Above 64 LUNs one fan-out puts a command per LUN on each session: LIO's default window
  // (64) and open-iscsi's cmds_max (128) would queue it. Up to 64 LUNs both stay the defaults.
  const cmdsnDepth = o.cmdsnDepth ?? (luns > 64 ? 512 : undefined);
  if (cmdsnDepth !== undefined) checkInt('cmdsn-depth', cmdsnDepth, 1, 512);
  const cmdsMax = cmdsnDepth === undefined ? undefined : Math.max(128, 2 ** Math.ceil(Math.log2(2 * cmdsnDepth)));
  const delayMs = o.delayMs ?? 0;
  const lossPct = o.lossPct ?? 0;
  if (!(delayMs >= 0 && delayMs <= 1000)) throw new RangeError('--delay-ms must be 0..1000');
  if (!(lossPct >= 0 && lossPct <= 100)) throw new RangeError('--loss-pct must be 0..100');
  // Above 64 LUNs also 1/4 MB per SCSI device (2 x 256 x 2 devices: sense buffers, sysfs
  // nodes, I/O scheduler requests: 570 MB used of 2 GB at 1 MB per LUN, 56 MB left of 640).
  const memMb = checkInt('mem', o.memMb ?? (target === 'nvmet' ? 1024 : 384) + luns * lunMb + (luns > 64 ? Math.ceil((nodes * luns * paths) / 4) : 0), 128, 16384);
  const timeoutS = o.timeoutS ?? 600;
  if (!o.interactive && argv.length === 0) throw new RangeError('nothing to run: give a command after --');

  const { shim } = ensureLabPrereqs();
  const nvmeKernel = target === 'nvmet' ? ensureNvmeKernel() : undefined;
  const id = `${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const runDir = path.join(LAB_DIR, 'runs', id);
  fs.mkdirSync(runDir, { recursive: true });
  if (o.dbroot) fs.mkdirSync(o.dbroot, { recursive: true });

  const env = {
    LAB_TARGET: target,
    LAB_NODES: nodes, LAB_LUNS: luns, LAB_PATHS: paths, LAB_LUN_MB: lunMb,
    LAB_CMDSN_DEPTH: cmdsnDepth ?? '', LAB_CMDS_MAX: cmdsMax ?? '', LAB_SG_ONLY: o.sgOnly ? '1' : '',
    LAB_DELAY_MS: delayMs, LAB_LOSS_PCT: lossPct, LAB_DBROOT: o.dbroot ? path.resolve(o.dbroot) : '',
    LAB_TARGET_IQN: 'iqn.2003-01.org.linux-iscsi.scsi-pr-lab:target',
    LAB_INITIATOR_PREFIX: 'iqn.2026-11.org.scsi-pr.lab:node',
    LAB_SUBSYS_NQN: 'nqn.2026-12.org.scsi-pr.lab:subsys', LAB_HOST_NQN_PREFIX: 'nqn.2026-12.org.scsi-pr.lab:node',
    LAB_NVME_MODULES: nvmeKernel?.modules ?? '',
    LAB_SCRIPTS: path.join(ROOT, 'scripts', 'lab'), LAB_ROOT: ROOT,
    LAB_INTERACTIVE: o.interactive ? '1' : '',
    LAB_HOST_TTY: process.stdout.isTTY && !o.onOutput ? '1' : '',
  };
  fs.writeFileSync(path.join(runDir, 'config.env'),
    Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(String(v))}`).join('\n') + '\n');
  const fwd = Object.entries(process.env).filter(([k]) => FORWARD_ENV.test(k));
  const extra = Object.entries(o.env ?? {});
  fs.writeFileSync(path.join(runDir, 'cmd.sh'), [
    ...[...fwd, ...extra].map(([k, v]) => `export ${k}=${shellQuote(String(v))}`),
    `cd ${shellQuote(process.cwd())}`,
    o.interactive
      ? `exec node ${shellQuote(path.join(ROOT, 'scripts', 'lab', 'repl.js'))}`
      : `exec ${argv.map(shellQuote).join(' ')}`,
  ].join('\n') + '\n');

  const umid = `scsi-pr-lab-${id}`;
  const started = Date.now();
  const child = nvmeKernel
    ? spawn('qemu-system-x86_64', qemuArgs(nvmeKernel, runDir, memMb, o), {
      cwd: runDir,
      stdio: [o.interactive ? 'inherit' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    })
    : spawn('/usr/bin/linux.uml', [
      `mem=${memMb}M`, 'rootfstype=hostfs', 'rootflags=/', 'rw',
      `init=${path.join(ROOT, 'scripts', 'lab', 'guest-init.sh')}`,
      `LAB_RUN=${runDir}`, `umid=${umid}`, o.verbose ? 'loglevel=6' : 'loglevel=1',
      'con=null', o.interactive ? 'con0=fd:0,fd:1' : 'con0=null,fd:1',
    ], {
      cwd: runDir,
      env: { ...process.env, LD_PRELOAD: shim, TMPDIR: fs.existsSync('/dev/shm') ? '/dev/shm' : '/tmp' },
      stdio: [o.interactive ? 'inherit' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
  const consoleLog = fs.createWriteStream(path.join(runDir, 'console.log'));
  // UML puts the host terminal in raw mode for an interactive guest: give it CR LF.
  const out = o.onOutput ?? (o.interactive ? (s) => process.stdout.write(s.replace(/\n/g, '\r\n')) : (s) => process.stdout.write(s));
  let ready = false;
  let pending = '';
  /** @param {Buffer} buf */
  const onData = (buf) => {
    consoleLog.write(buf);
    const text = buf.toString('utf8').replace(/\r\n/g, '\n').replace(/^(Halting\.|reboot: System halted)\n?/gm, '');
    if (ready || o.verbose || o.interactive) {
      if (!ready && !o.verbose) {
        pending += text;
        const i = pending.indexOf('=== scsi-pr lab ready');
        if (i < 0) return;
        const j = pending.indexOf('\n', i);
        ready = true;
        if (j >= 0) out(pending.slice(j + 1));
        pending = '';
        return;
      }
      out(text);
      return;
    }
    pending += text;
    const i = pending.indexOf('=== scsi-pr lab ready');
    if (i >= 0) {
      const j = pending.indexOf('\n', i);
      if (j >= 0) { ready = true; out(pending.slice(j + 1)); pending = ''; }
    } else if (pending.length > 65536) {
      pending = pending.slice(-4096);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', (b) => consoleLog.write(b));

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, timeoutS * 1000);
  const onSignal = () => killGroup(child.pid);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? s)));
  clearTimeout(timer);
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  killGroup(child.pid); // UML leaves helper processes behind when it dies abnormally
  await new Promise((r) => consoleLog.end(r));
  fs.rmSync(path.join(process.env.HOME ?? '/root', '.uml', umid), { recursive: true, force: true });

  const wallMs = Date.now() - started;
  const statusText = readOr(path.join(runDir, 'status'), '');
  const readyMs = Number(readOr(path.join(runDir, 'ready-ms'), 'NaN'));
  const map = fs.existsSync(path.join(runDir, 'map.json')) ? JSON.parse(fs.readFileSync(path.join(runDir, 'map.json'), 'utf8')) : undefined;
  const base = { wallMs, runDir, map, readyMs: Number.isFinite(readyMs) ? readyMs : undefined };
  if (timedOut) return { ...base, status: 124, reason: `guest timed out after ${timeoutS} s and was killed (console: ${path.join(runDir, 'console.log')})` };
  if (/^\d+$/.test(statusText)) return { ...base, status: Number(statusText) };
  if (statusText === 'rebooted') return { ...base, status: REBOOTED, rebooted: true };
  const tail = readOr(path.join(runDir, 'console.log'), '').split('\n').slice(-15).join('\n');
  const why = statusText.startsWith('setup-failed') ? statusText : `guest ended without a status (UML exit ${code})`;
  return { ...base, status: 125, reason: `${why}\n--- guest console (last lines) ---\n${tail}\n--- guest set-up log: ${path.join(runDir, 'guest.log')}` };
}

/**
 * The NVMe lab's QEMU command line: software emulation (no KVM here), two vCPUs,
 * the host's root shared over virtio-9p, the serial port as the console on stdio.
 * @param {{vmlinuz: string, initrd: string}} k @param {string} runDir @param {number} memMb @param {LabOptions} o
 */
function qemuArgs(k, runDir, memMb, o) {
  const cmdline = [
    'console=ttyS0', 'panic=-1', o.verbose ? 'loglevel=6' : 'quiet loglevel=1',
    `lab_init=${path.join(ROOT, 'scripts', 'lab', 'guest-nvme-init.sh')}`, `lab_run=${runDir}`,
  ].join(' ');
  return [
    '-machine', 'q35', '-accel', 'tcg,thread=multi', '-smp', '2', '-m', String(memMb), '-no-reboot',
    '-display', 'none', '-serial', o.interactive ? 'mon:stdio' : 'stdio', '-monitor', 'none',
    '-kernel', k.vmlinuz, '-initrd', k.initrd, '-append', cmdline,
    '-fsdev', 'local,id=hostroot,path=/,security_model=passthrough,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    '-nic', 'none',
  ];
}

/** @param {string} f @param {string} d */
function readOr(f, d) {
  try { return fs.readFileSync(f, 'utf8').trim(); } catch { return d; }
}

/** @param {number|undefined} pid */
function killGroup(pid) {
  if (!pid) return;
  try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
}

/** @param {string[]} argv */
function parseArgs(argv) {
  const dd = argv.indexOf('--');
  const own = dd >= 0 ? argv.slice(0, dd) : argv;
  const cmd = dd >= 0 ? argv.slice(dd + 1) : [];
  /** @type {LabOptions & {json?: boolean}} */
  const o = { env: {} };
  const [verb, ...rest] = own;
  const num = (/** @type {string} */ flag, /** @type {string|undefined} */ v) => {
    if (v === undefined || v === '' || Number.isNaN(Number(v))) throw new RangeError(`${flag} needs a number`);
    return Number(v);
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const v = () => rest[++i];
    switch (a) {
      case '--target': {
        const t = v();
        if (t !== 'lio' && t !== 'tgt' && t !== 'nvmet') throw new RangeError(`--target must be lio, tgt or nvmet, got ${t}`);
        o.target = t;
        break;
      }
      case '--nodes': o.nodes = num(a, v()); break;
      case '--luns': o.luns = num(a, v()); break;
      case '--paths': o.paths = num(a, v()); break;
      case '--lun-mb': o.lunMb = num(a, v()); break;
      case '--cmdsn-depth': o.cmdsnDepth = num(a, v()); break;
      case '--delay-ms': o.delayMs = num(a, v()); break;
      case '--loss-pct': o.lossPct = num(a, v()); break;
      case '--mem': o.memMb = num(a, v()); break;
      case '--timeout': o.timeoutS = num(a, v()); break;
      case '--dbroot': o.dbroot = v(); break;
      case '--env': {
        const kv = v() ?? '';
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new RangeError('--env needs K=V');
        /** @type {Record<string,string>} */ (o.env)[kv.slice(0, eq)] = kv.slice(eq + 1);
        break;
      }
      case '--sg-only': o.sgOnly = true; break;
      case '--verbose': o.verbose = true; break;
      case '--json': o.json = true; break;
      case '-h': case '--help': return { verb: 'help', o, cmd };
      default: throw new RangeError(`unknown option ${a}`);
    }
  }
  return { verb, o, cmd };
}

async function main() {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`scsi-pr-lab: ${e instanceof Error ? e.message : e}\n\n${USAGE}`);
    return 2;
  }
  const { verb, o, cmd } = parsed;
  try {
    if (verb === 'help' || verb === undefined) { console.log(USAGE); return verb ? 0 : 2; }
    if (verb === 'run') {
      const r = await runLab(o, cmd);
      if (r.reason) console.error(`scsi-pr-lab: ${r.reason}`);
      else if (r.rebooted) console.error(`scsi-pr-lab: the guest rebooted (reboot(2)) before the command ended; its second boot halted at once (exit ${REBOOTED}); wall ${r.wallMs} ms`);
      else if (process.env.SCSI_PR_LAB_QUIET !== '1') console.error(`scsi-pr-lab: ${o.target ?? 'lio'}: ${o.nodes ?? 2} nodes x ${o.luns ?? 4} LUNs ready in ${r.readyMs} ms; command exited ${r.status}; wall ${r.wallMs} ms`);
      return r.status;
    }
    if (verb === 'repl') {
      const r = await runLab({ ...o, interactive: true }, []);
      if (r.reason) console.error(`scsi-pr-lab: ${r.reason}`);
      return r.status;
    }
    if (verb === 'check') {
      const r = await runLab({ nodes: 1, luns: 1, ...o }, ['true']);
      if (o.json) console.log(JSON.stringify({ target: o.target ?? 'lio', status: r.status, readyMs: r.readyMs, wallMs: r.wallMs, reason: r.reason }));
      else if (r.reason) console.error(`scsi-pr-lab: ${r.reason}`);
      else console.log(`lab ok (${o.target ?? 'lio'}): ready in ${r.readyMs} ms (guest clock), ${r.wallMs} ms wall`);
      return r.status;
    }
    console.error(`scsi-pr-lab: unknown command ${verb}\n\n${USAGE}`);
    return 2;
  } catch (e) {
    if (e instanceof PrereqError || e instanceof RangeError) {
      console.error(`scsi-pr-lab: ${e.message}`);
      return e instanceof RangeError ? 2 : 125;
    }
    throw e;
  }
}

if (require.main === module) main().then((c) => process.exit(c));
module.exports = { runLab, USAGE };
