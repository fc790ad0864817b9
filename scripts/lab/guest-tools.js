#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Lab controls for tests and demos. Runs INSIDE the lab guest (SCSI_PR_LAB=1).
 * These shell out to iscsiadm/tc and write LIO configfs: they are test
 * scaffolding that changes the SAN, never part of scsi-pr's I/O path.
 *
 *   const lab = require('scripts/lab/guest-tools.js');
 *   lab.map()                      current device map (same shape as map.json)
 *   lab.logout(node) / lab.login(node)   new iSCSI session => new ISID, new sd/sg names
 *   lab.removeLun(lun) / lab.restoreLun(lun)
 *   lab.portalDown(path?) / lab.portalUp(path?)
 *   lab.setNetem({delayMs, lossPct})
 *   lab.addAcl(iqn, luns?)         an initiator ACL (e.g. for SPEC_I_PT TransportIDs)
 *
 * Faults (test/lab-faults), the same on both targets unless said:
 *   lab.sessionDrop(node, path) / lab.sessionRestore(node, path)
 *                                  log one node out of one portal (that path's devices go) / back in
 *   lab.targetRestart({downMs})    LIO: every TPG disabled, downMs, enabled again (PR state kept in the
 *                                  backstores); tgt: tgtd killed and started again, re-configured
 *                                  (tgt keeps PR state in memory: every registration is gone);
 *                                  both: resolves once every session is logged in again
 *   lab.sessionRecoveryTimeout(node, s)  the replacement timeout of the node's sessions (lab: 5 s)
 *   lab.portalBlackhole(path) / lab.portalRestore(path)
 *                                  drop every packet to and from 127.0.0.<path+1>:3260 (no RST, no FIN:
 *                                  commands time out) / pass them again
 *   lab.slowLun({delayMs}) / lab.slowLunRemove()
 *                                  one more LU behind its own target and portal 127.0.0.<P+1>, every
 *                                  node logged in, a netem delay on that portal's packets only
 *
 * Whatever runs a program or waits (logout, login, setNetem, resetReservations)
 * returns a Promise and never blocks the caller's event loop: vitest's worker
 * must keep answering its RPC while a lab test waits (its calls time out after
 * 60 s of a blocked loop, see test/lab/event-loop-watch.ts). The rest only
 * reads sysfs or writes configfs and stays synchronous — with LIO. With tgt
 * (LAB_TARGET=tgt) the SAN is changed by programs (tgtadm, tc), so removeLun,
 * restoreLun, addAcl, portalDown and portalUp return a Promise there: `await`
 * them (awaiting works for both targets; on LIO they return undefined, done).
 *
 * tgt differences: removeLun deletes tgt's logical unit (tgt keeps PR state in
 * the LU, so registrations and the reservation are gone after restoreLun, unlike
 * LIO, where the backstore keeps them); addAcl binds an initiator to the whole
 * target (tgt has no per-LUN ACLs: a LUN subset throws); portalDown drops every
 * packet to and from portal 127.0.0.<p>:3260 with a tc filter on loopback's
 * ingress (tgt's `tgtadm --op delete --mode portal` closes only the listening
 * socket, sessions stay up), portalUp removes the filter.
 *
 * CLI: node guest-tools.js <logout|login|remove-lun|restore-lun|portal-down|portal-up|netem|map> [args]
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { scan, buildMap } = require('./guest-map');

const CFG = '/sys/kernel/config/target';
/** tgt's target id in the lab (scripts/lab/guest-tgt.sh). */
const TGT_TID = '1';
const isTgt = () => process.env.LAB_TARGET === 'tgt';

function requireGuest() {
  if (process.env.SCSI_PR_LAB !== '1') throw new Error('lab tools run only inside the SAN lab guest (SCSI_PR_LAB=1)');
}

/**
 * @typedef {object} RunOptions
 * @property {number} [timeoutMs]  SIGKILL after this long (default 60 s); the result then has signal 'SIGKILL'
 * @property {string} [input]      written to its stdin (default: stdin closed)
 * @property {NodeJS.ProcessEnv} [env]
 * @property {string} [cwd]
 * @property {number} [uid]
 * @property {number} [gid]
 */

/**
 * Run a program without blocking the event loop; resolves with its exit status and output
 * (status is -1 when a signal ended it).
 * @param {string} cmd @param {string[]} args @param {RunOptions} [o]
 * @returns {Promise<{status: number, signal: NodeJS.Signals | null, stdout: string, stderr: string}>}
 */
function run(cmd, args, o = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: o.env, cwd: o.cwd, uid: o.uid, gid: o.gid });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {}); // a child that exits without reading its stdin
    child.stdin.end(o.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, signal, stdout, stderr });
    });
  });
}

/** Like {@link run}, but a non-zero exit is an error. @param {string} cmd @param {string[]} args */
async function sh(cmd, args) {
  const r = await run(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Run `fn` over `items`, at most `limit` at a time. @template T @param {T[]} items @param {number} limit @param {(t: T) => Promise<void>} fn */
async function eachLimited(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const env = (/** @type {string} */ k) => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`${k} is not set: not inside the lab?`);
  return v;
};
const tpgDir = (/** @type {number} */ p) => `${CFG}/iscsi/${env('LAB_TARGET_IQN')}/tpgt_${p}`;
const paths = () => Number(env('LAB_PATHS'));
const iqnOf = (/** @type {number} */ node) => `${env('LAB_INITIATOR_PREFIX')}${node}`;

/** The current map (re-read from sysfs), also written back to SCSI_PR_LAB_MAP. */
function map() {
  requireGuest();
  const m = buildMap(scan());
  if (process.env.SCSI_PR_LAB_MAP) fs.writeFileSync(process.env.SCSI_PR_LAB_MAP, JSON.stringify(m, null, 2) + '\n');
  return m;
}

/**
 * Poll sysfs every 50 ms until `pred` holds; resolves with the fresh map.
 * @param {(m: ReturnType<typeof buildMap>) => boolean} pred @param {number} [timeoutMs]
 */
async function waitFor(pred, timeoutMs = 30000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = buildMap(scan());
    if (pred(m)) return map();
    if (Date.now() > end) throw new Error('lab: timed out waiting for the SAN to settle');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Log node `node` out of every portal (its devices disappear). @param {number} node */
async function logout(node) {
  requireGuest();
  await sh('iscsiadm', ['-m', 'node', '-T', env('LAB_TARGET_IQN'), '-I', `node${node}`, '--logout']);
  return waitFor((m) => !m.devices.some((d) => d.node === node));
}

/** Log node `node` back in (a new session: new ISID, new sd/sg names). @param {number} node */
async function login(node) {
  requireGuest();
  await sh('iscsiadm', ['-m', 'node', '-T', env('LAB_TARGET_IQN'), '-I', `node${node}`, '--login']);
  const want = Number(env('LAB_LUNS')) * paths();
  return waitFor((m) => m.devices.filter((d) => d.node === node && d.sd && d.sg).length >= want);
}

/**
 * Unmap LUN `lun` from every portal and ACL; the backstore (and its PR state) stays.
 * All or nothing: if LIO refuses (EBUSY — an ACL named in a SPEC_I_PT REGISTER keeps
 * a configfs dependency on its LUN mapping until reboot), what was removed is put
 * back and the error says so.
 * @param {number} lun
 */
function removeLun(lun) {
  requireGuest();
  if (isTgt()) return tgtRemoveLun(lun);
  try {
    unmapLun(lun);
  } catch (e) {
    restoreLun(lun);
    const busy = /** @type {NodeJS.ErrnoException} */ (e).code === 'EBUSY';
    throw new Error(`lab: cannot remove LUN ${lun}${busy ? ' (LIO keeps it busy after a SPEC_I_PT REGISTER named one of its ACLs; use another LUN or reboot the lab)' : ''}: ${/** @type {Error} */ (e).message}`);
  }
}

/** @param {number} lun */
function unmapLun(lun) {
  for (let p = 1; p <= paths(); p++) {
    const tpg = tpgDir(p);
    for (const acl of fs.readdirSync(`${tpg}/acls`)) {
      const d = `${tpg}/acls/${acl}/lun_${lun}`;
      if (fs.existsSync(d)) {
        for (const l of fs.readdirSync(d)) if (fs.lstatSync(`${d}/${l}`).isSymbolicLink()) fs.unlinkSync(`${d}/${l}`);
        fs.rmdirSync(d);
      }
    }
    const d = `${tpg}/lun/lun_${lun}`;
    if (fs.existsSync(`${d}/lio`)) fs.unlinkSync(`${d}/lio`);
    if (fs.existsSync(d)) fs.rmdirSync(d);
  }
}

/** Map LUN `lun` again for every node ACL. @param {number} lun */
function restoreLun(lun) {
  requireGuest();
  if (isTgt()) return tgtRestoreLun(lun);
  for (let p = 1; p <= paths(); p++) {
    const tpg = tpgDir(p);
    fs.mkdirSync(`${tpg}/lun/lun_${lun}`, { recursive: true });
    if (!fs.existsSync(`${tpg}/lun/lun_${lun}/lio`)) fs.symlinkSync(`${CFG}/core/rd_mcp_${lun}/lun${lun}`, `${tpg}/lun/lun_${lun}/lio`);
    for (const acl of fs.readdirSync(`${tpg}/acls`)) mapAclLun(tpg, acl, lun);
  }
}

/** @param {string} tpg @param {string} acl @param {number} lun */
function mapAclLun(tpg, acl, lun) {
  const d = `${tpg}/acls/${acl}/lun_${lun}`;
  fs.mkdirSync(d, { recursive: true });
  if (!fs.readdirSync(d).some((l) => fs.lstatSync(`${d}/${l}`).isSymbolicLink())) fs.symlinkSync(`${tpg}/lun/lun_${lun}`, `${d}/map`);
}

/** Create an initiator ACL on every portal, mapping `luns` (default all). @param {string} iqn @param {number[]} [luns] */
function addAcl(iqn, luns) {
  requireGuest();
  const all = Array.from({ length: Number(env('LAB_LUNS')) }, (_, i) => i);
  if (isTgt()) {
    if (luns && !all.every((l) => luns.includes(l))) {
      return Promise.reject(new Error(`lab (target tgt): addAcl(${iqn}, [${luns.join(', ')}]): tgt ACLs cover the whole target, not single LUNs; call addAcl(iqn) for all LUNs`));
    }
    return tgtadm(['--op', 'bind', '--mode', 'target', '--tid', TGT_TID, '--initiator-name', iqn]).then(() => undefined);
  }
  for (let p = 1; p <= paths(); p++) {
    const tpg = tpgDir(p);
    fs.mkdirSync(`${tpg}/acls/${iqn}`, { recursive: true });
    for (const l of luns ?? all) mapAclLun(tpg, iqn, l);
  }
}

/** Disable portal `p` (1-based): its sessions drop; commands fail after the replacement timeout (5 s). @param {number} [p] */
function portalDown(p = 1) {
  requireGuest();
  if (isTgt()) return tgtPortalFilter(p, true);
  fs.writeFileSync(`${tpgDir(p)}/enable`, '0');
}

/** Re-enable portal `p`; iscsid reconnects the sessions by itself. @param {number} [p] */
function portalUp(p = 1) {
  requireGuest();
  if (isTgt()) return tgtPortalFilter(p, false);
  fs.writeFileSync(`${tpgDir(p)}/enable`, '1');
}

/** Run tgtadm (iSCSI driver); a failure is an Error naming tgt. @param {string[]} args */
async function tgtadm(args) {
  const r = await run('tgtadm', ['--lld', 'iscsi', ...args]);
  if (r.status !== 0) throw new Error(`lab (target tgt): tgtadm ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** tgt: lab LUN `lun` is tgt LUN lun+1 (tgt's LUN 0 is its controller). @param {number} lun */
function tgtLun(lun) {
  if (!Number.isInteger(lun) || lun < 0 || lun >= Number(env('LAB_LUNS'))) throw new RangeError(`lab: no LUN ${lun}`);
  return String(lun + 1);
}

/**
 * tgt: delete the logical unit (its file stays). tgt keeps PR state in the LU:
 * registrations and the reservation are lost, unlike LIO's removeLun.
 * @param {number} lun
 */
async function tgtRemoveLun(lun) {
  const l = tgtLun(lun);
  // TGTADM_LUN_ACTIVE while commands are queued on it: try a few times.
  for (let i = 0; ; i++) {
    try {
      await tgtadm(['--op', 'delete', '--mode', 'logicalunit', '--tid', TGT_TID, '--lun', l]);
      return;
    } catch (e) {
      if (i >= 20 || !/active|busy/i.test(/** @type {Error} */ (e).message)) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** tgt: create the logical unit again on the same file, with the same serial. @param {number} lun */
async function tgtRestoreLun(lun) {
  const l = tgtLun(lun);
  const serial = `scsiprlab${String(lun).padStart(4, '0')}`;
  const show = await tgtadm(['--op', 'show', '--mode', 'target']);
  if (new RegExp(`^\\s*LUN: ${l}$`, 'm').test(show)) return; // not removed
  await tgtadm(['--op', 'new', '--mode', 'logicalunit', '--tid', TGT_TID, '--lun', l, '-b', `/run/lab/tgt/lun${lun}.img`]);
  await tgtadm(['--op', 'update', '--mode', 'logicalunit', '--tid', TGT_TID, '--lun', l, '--params', `scsi_sn=${serial},scsi_id=${serial}`]);
}

/**
 * tgt: drop (down) or pass again (up) every packet to and from portal
 * 127.0.0.<p>:3260, with u32 filters on loopback's ingress qdisc (modules
 * sch_ingress, cls_u32, act_gact). The sessions on that portal stall, the
 * initiator's NOP-Out times out, and after the replacement timeout their commands
 * fail — as with LIO's disabled TPG. Filter priority 100+p names the portal.
 * @param {number} p @param {boolean} down
 */
function tgtPortalFilter(p, down) {
  return portalFilter(p, down, 100).catch((e) => {
    if (e instanceof RangeError) throw e;
    throw new Error(`lab (target tgt): portalDown(${p}): ${/** @type {Error} */ (e).message}`);
  });
}

/**
 * Drop (down) or pass again (up) every packet to and from 127.0.0.<p>:3260 with
 * two u32 filters on loopback's ingress at priority `base`+p.
 * @param {number} p 1-based portal @param {boolean} down @param {number} base
 */
async function portalFilter(p, down, base) {
  if (!Number.isInteger(p) || p < 1 || p > paths()) throw new RangeError(`lab: no portal ${p} (paths: ${paths()})`);
  const prio = String(base + p);
  const addr = `127.0.0.${p}/32`;
  if (!down) {
    await run('tc', ['filter', 'del', 'dev', 'lo', 'parent', 'ffff:', 'prio', prio]); // fails harmlessly when there is none
    return;
  }
  for (const m of ['sch_ingress', 'cls_u32', 'act_gact']) await run('modprobe', [m]);
  await run('tc', ['qdisc', 'add', 'dev', 'lo', 'ingress']); // "exists" after the first time
  const filter = (/** @type {string[]} */ match) => sh('tc', ['filter', 'add', 'dev', 'lo', 'parent', 'ffff:', 'prio', prio, 'protocol', 'ip', 'u32', ...match, 'action', 'drop']);
  await filter(['match', 'ip', 'dst', addr, 'match', 'ip', 'dport', '3260', '0xffff']);
  await filter(['match', 'ip', 'src', addr, 'match', 'ip', 'sport', '3260', '0xffff']);
}

/** Every node's sessions to the lab target are logged in (sysfs state), and `want` devices per node have sd and sg. */
async function waitLoggedIn(timeoutMs = 60000) {
  const want = Number(env('LAB_LUNS')) * paths();
  return waitFor(
    (m) => m.devices.every((d) => d.state === 'LOGGED_IN') && m.nodes.every((n) => m.devices.filter((d) => d.node === n.node && d.sd && d.sg).length >= want),
    timeoutMs,
  );
}

/** The iscsiadm node-record arguments of lab node `node`'s session through path `p` (0-based). @param {number} node @param {number} p */
function portalRecord(node, p) {
  if (!Number.isInteger(p) || p < 0 || p >= paths()) throw new RangeError(`lab: no path ${p} (paths: ${paths()})`);
  return ['-m', 'node', '-T', env('LAB_TARGET_IQN'), '-p', `127.0.0.${p + 1}:3260`, '-I', `node${node}`];
}

/**
 * Log node `node` out of portal `p` (0-based path) only: that session's devices
 * disappear (open fds of them fail), the node's other paths stay. A clean iSCSI
 * logout; the session's registrations stay at the target (a new login is a new
 * I_T nexus with a new ISID, unregistered).
 * @param {number} node @param {number} p
 */
async function sessionDrop(node, p) {
  requireGuest();
  await sh('iscsiadm', [...portalRecord(node, p), '--logout']);
  return waitFor((m) => !m.devices.some((d) => d.node === node && d.path === p));
}

/** Log node `node` in through portal `p` again (new ISID) and wait for its devices. @param {number} node @param {number} p */
async function sessionRestore(node, p) {
  requireGuest();
  const r = await run('iscsiadm', [...portalRecord(node, p), '--login']);
  // 15 = "session exists": already logged in (e.g. a drop that did not happen)
  if (r.status !== 0 && r.status !== 15) throw new Error(`lab: login node${node} path ${p} failed (${r.status}): ${r.stderr || r.stdout}`);
  const want = Number(env('LAB_LUNS'));
  return waitFor((m) => m.devices.filter((d) => d.node === node && d.path === p && d.sd && d.sg).length >= want);
}

/**
 * Restart the target under the sessions. LIO: every TPG's `enable` 0, `downMs`
 * (default 1000), then 1 — the sessions drop and iscsid reconnects them (same
 * ISIDs); LIO keeps PR state in the backstores, so registrations and
 * reservations survive. tgt: tgtd is killed (SIGKILL, as a crash) and started
 * again by guest-tgt.sh (same target, LUNs, files, ACLs, portals) after
 * `downMs` (its portals black-holed from just after the kill until it is
 * configured, so that no login meets a half-configured tgtd); tgt keeps PR state in memory only, so every registration and
 * reservation is gone afterwards (as after a power loss without APTPL, which
 * tgt does not support). Resolves once every session is logged in again.
 * @param {{downMs?: number}} [o]
 */
async function targetRestart(o = {}) {
  requireGuest();
  const downMs = o.downMs ?? 1000;
  if (isTgt()) {
    // Killed at once (before this function's first await: a caller's progress event
    // lands the fault where it wants it), then the portals are black-holed while
    // tgtd is down and being configured again: a login that reached a tgtd without
    // its target yet would be refused ("target not found") and iscsid might give
    // the session up; a refused connection or no answer, it keeps retrying.
    const pidFile = '/run/lab/tgt/tgtd.pid';
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    for (let p = 1; p <= paths(); p++) await portalFilter(p, true, 300);
    for (let i = 0; i < 100 && fs.existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readProc(`/proc/${pid}/status`)); i++) await sleep(50);
    await sleep(downMs);
    const r = await run('bash', [path.join(__dirname, 'guest-tgt.sh')], { env: process.env, timeoutMs: 120_000 });
    for (let p = 1; p <= paths(); p++) await portalFilter(p, false, 300);
    if (r.status !== 0) throw new Error(`lab (target tgt): restarting tgtd failed (${r.status}): ${r.stderr}`);
  } else {
    for (let p = 1; p <= paths(); p++) fs.writeFileSync(`${tpgDir(p)}/enable`, '0');
    await sleep(downMs);
    for (let p = 1; p <= paths(); p++) fs.writeFileSync(`${tpgDir(p)}/enable`, '1');
  }
  return waitLoggedIn(120_000);
}

/**
 * Set the iSCSI replacement (recovery) timeout, in seconds, of every session of
 * node `node` to the lab target (sysfs recovery_tmo; the lab logs in with 5):
 * how long a session in recovery holds its commands before failing them. A
 * test that restarts the target raises it to keep the commands in flight until
 * the target is back. Resolves with the previous value.
 * @param {number} node @param {number} seconds
 */
async function sessionRecoveryTimeout(node, seconds) {
  requireGuest();
  const sessions = new Set(map().devices.filter((/** @type {any} */ d) => d.node === node).map((/** @type {any} */ d) => d.session));
  let previous = NaN;
  for (const s of sessions) {
    const f = `/sys/class/iscsi_session/${s}/recovery_tmo`;
    previous = Number(fs.readFileSync(f, 'utf8').trim());
    fs.writeFileSync(f, String(seconds));
  }
  return previous;
}

/** @param {string} f */
function readProc(f) {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Black-hole portal `p` (0-based path): every packet to and from
 * 127.0.0.<p+1>:3260 is dropped (tc u32 filters on loopback's ingress, priority
 * 200+p), for both targets. Unlike portalDown on LIO (TPG disabled: the
 * connections are reset at once), nothing answers: commands on those sessions
 * time out, the initiator's NOP-Outs time out, and after the replacement
 * timeout (5 s in the lab) the session's commands fail fast.
 * @param {number} p
 */
async function portalBlackhole(p) {
  requireGuest();
  await portalFilter(p + 1, true, 200);
}

/** Let portal `p`'s packets through again; iscsid then recovers the sessions (same ISIDs). @param {number} p */
async function portalRestore(p) {
  requireGuest();
  await portalFilter(p + 1, false, 200);
}

/** The slow LU's target IQN, portal address and backing names. */
const SLOW = {
  iqn: () => `${env('LAB_TARGET_IQN')}-slow`,
  addr: () => `127.0.0.${paths() + 1}`,
  serial: 'scsiprslowffff',
};

/**
 * One more LU, slow: its own target (LIO: backstore rd_mcp_900/lunslow, target
 * <lab iqn>-slow, TPG 1; tgt: tid 2, LUN 1) on its own portal
 * 127.0.0.<P+1>:3260, every lab node logged in to it (a static node record,
 * no discovery: the lab target's records are not touched), and a netem delay
 * of `delayMs` on every packet to or from that address (a prio qdisc on
 * loopback's root with netem under its 4th band, u32 filters on the address),
 * so every command to this LU takes about 2 x delayMs and the lab LUNs none.
 * iSCSI delays are per session, not per LU: a separate target and portal is
 * how one LU gets its own delay. Its WWN sorts after every lab LUN's (LIO NAA
 * from the serial's hex digits: cffff… > cab…; tgt naa.30000002… > naa.30000001…),
 * so it is never the arbiter. Uses loopback's root qdisc: not with setNetem.
 * Resolves with `{ wwn?: string, devices: [{ node, sg, sd }] }`.
 * @param {{delayMs: number}} o
 */
async function slowLun(o) {
  requireGuest();
  const iqn = SLOW.iqn();
  const addr = SLOW.addr();
  const nodes = Number(env('LAB_NODES'));
  if (isTgt()) {
    await tgtadm(['--op', 'new', '--mode', 'portal', '--param', `portal=${addr}:3260`]);
    await tgtadm(['--op', 'new', '--mode', 'target', '--tid', '2', '-T', iqn]);
    await sh('truncate', ['-s', '8M', '/run/lab/tgt/slow.img']);
    await tgtadm(['--op', 'new', '--mode', 'logicalunit', '--tid', '2', '--lun', '1', '-b', '/run/lab/tgt/slow.img']);
    await tgtadm(['--op', 'update', '--mode', 'logicalunit', '--tid', '2', '--lun', '1', '--params', `scsi_sn=${SLOW.serial},scsi_id=${SLOW.serial}`]);
    for (let n = 1; n <= nodes; n++) await tgtadm(['--op', 'bind', '--mode', 'target', '--tid', '2', '--initiator-name', iqnOf(n)]);
  } else {
    const bs = `${CFG}/core/rd_mcp_900/lunslow`;
    fs.mkdirSync(bs, { recursive: true });
    fs.writeFileSync(`${bs}/control`, 'rd_pages=2048');
    fs.writeFileSync(`${bs}/enable`, '1');
    fs.writeFileSync(`${bs}/wwn/vpd_unit_serial`, SLOW.serial);
    const tpg = `${CFG}/iscsi/${iqn}/tpgt_1`;
    fs.mkdirSync(`${tpg}/np/${addr}:3260`, { recursive: true });
    fs.writeFileSync(`${tpg}/attrib/authentication`, '0');
    fs.writeFileSync(`${tpg}/attrib/generate_node_acls`, '0');
    fs.mkdirSync(`${tpg}/lun/lun_0`, { recursive: true });
    fs.symlinkSync(bs, `${tpg}/lun/lun_0/lio`);
    for (let n = 1; n <= nodes; n++) {
      fs.mkdirSync(`${tpg}/acls/${iqnOf(n)}/lun_0`, { recursive: true });
      fs.symlinkSync(`${tpg}/lun/lun_0`, `${tpg}/acls/${iqnOf(n)}/lun_0/map`);
    }
    fs.writeFileSync(`${tpg}/enable`, '1');
  }
  for (let n = 1; n <= nodes; n++) {
    const rec = ['-m', 'node', '-T', iqn, '-p', `${addr}:3260`, '-I', `node${n}`];
    await sh('iscsiadm', [...rec, '-o', 'new']);
    await sh('iscsiadm', [...rec, '--login']);
  }
  const end = Date.now() + 60_000;
  for (;;) {
    const devices = scan()
      .filter((d) => d.target === iqn && d.sg && d.sd && d.serial === SLOW.serial)
      .map((d) => ({ node: Number(d.initiator.slice(env('LAB_INITIATOR_PREFIX').length)), sg: /** @type {string} */ (d.sg), sd: /** @type {string} */ (d.sd) }));
    if (devices.length >= nodes) {
      // The delay goes on once the devices are there: a login and a SCSI scan are dozens of round trips.
      for (const m of ['sch_prio', 'sch_netem', 'cls_u32']) await run('modprobe', [m]);
      await sh('tc', ['qdisc', 'replace', 'dev', 'lo', 'root', 'handle', '1:', 'prio', 'bands', '4', 'priomap', ...'1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1'.split(' ')]);
      await sh('tc', ['qdisc', 'add', 'dev', 'lo', 'parent', '1:4', 'handle', '40:', 'netem', 'delay', `${o.delayMs}ms`]);
      await sh('tc', ['filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'dst', `${addr}/32`, 'flowid', '1:4']);
      await sh('tc', ['filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '2', 'u32', 'match', 'ip', 'src', `${addr}/32`, 'flowid', '1:4']);
      return { devices: devices.sort((a, b) => a.node - b.node) };
    }
    if (Date.now() > end) throw new Error(`lab: the slow LU's devices did not appear (${devices.length}/${nodes})`);
    await sleep(50);
  }
}

/** Undo {@link slowLun}: log every node out, delete the records, the target, the qdisc. Safe to call when parts are missing. */
async function slowLunRemove() {
  requireGuest();
  const iqn = SLOW.iqn();
  const addr = SLOW.addr();
  await run('tc', ['qdisc', 'del', 'dev', 'lo', 'root']); // first: a logout is round trips too
  for (let n = 1; n <= Number(env('LAB_NODES')); n++) {
    const rec = ['-m', 'node', '-T', iqn, '-p', `${addr}:3260`, '-I', `node${n}`];
    await run('iscsiadm', [...rec, '--logout']);
    await run('iscsiadm', [...rec, '-o', 'delete']);
  }
  if (isTgt()) {
    await run('tgtadm', ['--lld', 'iscsi', '--op', 'delete', '--mode', 'target', '--tid', '2', '--force']);
    await run('tgtadm', ['--lld', 'iscsi', '--op', 'delete', '--mode', 'portal', '--param', `portal=${addr}:3260`]);
    return;
  }
  const tpg = `${CFG}/iscsi/${iqn}/tpgt_1`;
  if (!fs.existsSync(tpg)) return;
  fs.writeFileSync(`${tpg}/enable`, '0');
  for (const acl of fs.readdirSync(`${tpg}/acls`)) {
    const d = `${tpg}/acls/${acl}/lun_0`;
    if (fs.existsSync(`${d}/map`)) fs.unlinkSync(`${d}/map`);
    if (fs.existsSync(d)) fs.rmdirSync(d);
    fs.rmdirSync(`${tpg}/acls/${acl}`);
  }
  if (fs.existsSync(`${tpg}/lun/lun_0/lio`)) fs.unlinkSync(`${tpg}/lun/lun_0/lio`);
  if (fs.existsSync(`${tpg}/lun/lun_0`)) fs.rmdirSync(`${tpg}/lun/lun_0`);
  if (fs.existsSync(`${tpg}/np/${addr}:3260`)) fs.rmdirSync(`${tpg}/np/${addr}:3260`);
  fs.rmdirSync(tpg);
  fs.rmdirSync(`${CFG}/iscsi/${iqn}`);
  fs.rmdirSync(`${CFG}/core/rd_mcp_900/lunslow`);
  fs.rmdirSync(`${CFG}/core/rd_mcp_900`);
}

/** Set (or clear, with 0/0) netem delay and loss on loopback. @param {{delayMs?: number, lossPct?: number}} o */
async function setNetem(o) {
  requireGuest();
  const delay = o.delayMs ?? 0;
  const loss = o.lossPct ?? 0;
  await run('modprobe', ['sch_netem']);
  if (delay === 0 && loss === 0) {
    await run('tc', ['qdisc', 'del', 'dev', 'lo', 'root']); // fails harmlessly when there is none
    return;
  }
  await sh('tc', ['qdisc', 'replace', 'dev', 'lo', 'root', 'netem', 'delay', `${delay}ms`, 'loss', `${loss}%`]);
}

/**
 * Wipe persistent-reservation state on LUNs (default: all) from node 1, path 0:
 * REGISTER AND IGNORE EXISTING KEY with a scratch key, then CLEAR; then drain
 * pending UNIT ATTENTIONs on every node's devices of those LUNs (TEST UNIT READY).
 * Uses sg3_utils (independent of scsi-pr). With `drain: false` the UNIT ATTENTIONs
 * are left for the next command, which then must retry them (scsi-pr does).
 * @param {number[]} [luns]
 * @param {{drain?: boolean}} [o]
 */
async function resetReservations(luns, o = {}) {
  requireGuest();
  const m = map();
  const all = luns ?? m.nodes[0].luns.map((/** @type {any} */ l) => l.lun);
  const firstPaths = all.map((/** @type {number} */ lun) => {
    const d = m.devices.find((x) => x.node === 1 && x.lun === lun && x.path === 0);
    if (!d || !d.sg) throw new Error(`lab: node 1 has no device for LUN ${lun}`);
    return d.sg;
  });
  // LUNs are independent: a few at a time (UML has one CPU; the gain is overlapping round trips).
  await eachLimited(firstPaths, 4, async (sg) => {
    for (const args of [['--register-ignore', '--param-sark=0x5c7a7c4'], ['--clear', '--param-rk=0x5c7a7c4']]) {
      let r;
      for (let i = 0; i < 5; i++) {
        r = await run('sg_persist', ['-n', '--out', ...args, sg]);
        if (r.status !== 6) break; // 6 = UNIT ATTENTION: retry
      }
      if (!r || r.status !== 0) throw new Error(`lab: sg_persist ${args.join(' ')} ${sg} failed (${r?.status}): ${r?.stderr}`);
    }
  });
  if (o.drain === false) return;
  // Drain the UNIT ATTENTIONs this (and earlier files' work) left on every node's
  // devices of these LUNs, so tools without UA retry (sg_persist) start clean.
  const drain = m.devices.filter((x) => all.includes(x.lun) && x.sg).map((x) => x.sg);
  await eachLimited(drain, 4, async (sg) => {
    for (let i = 0; i < 8; i++) {
      if ((await run('sg_turs', [sg])).status === 0) break;
    }
  });
}

/** The initiator IQN of lab node `node`. */
const initiatorIqn = iqnOf;

module.exports = {
  map, logout, login, removeLun, restoreLun, addAcl, portalDown, portalUp, setNetem, resetReservations, initiatorIqn, waitFor, run,
  sessionDrop, sessionRestore, sessionRecoveryTimeout, targetRestart, portalBlackhole, portalRestore, slowLun, slowLunRemove, waitLoggedIn,
};

if (require.main === module) {
  const [cmd, a, b] = process.argv.slice(2);
  const n = Number(a);
  /** @type {Record<string, () => unknown>} */
  const cmds = {
    map: () => map(),
    logout: () => logout(n),
    login: () => login(n),
    'remove-lun': () => removeLun(n),
    'restore-lun': () => restoreLun(n),
    'portal-down': () => portalDown(a ? n : 1),
    'portal-up': () => portalUp(a ? n : 1),
    netem: () => setNetem({ delayMs: Number(a ?? 0), lossPct: Number(b ?? 0) }),
    'reset-reservations': () => resetReservations(a ? a.split(',').map(Number) : undefined),
    'session-drop': () => sessionDrop(n, Number(b)),
    'session-restore': () => sessionRestore(n, Number(b)),
    'target-restart': () => targetRestart({ downMs: a ? n : undefined }),
    'portal-blackhole': () => portalBlackhole(n),
    'portal-restore': () => portalRestore(n),
    'slow-lun': () => slowLun({ delayMs: n }),
    'slow-lun-remove': () => slowLunRemove(),
  };
  const f = cmds[cmd];
  if (!f) {
    console.error(`usage: guest-tools.js <${Object.keys(cmds).join('|')}> [args]`);
    process.exit(2);
  }
  Promise.resolve(f()).then(
    (r) => {
      if (r !== undefined) console.log(JSON.stringify(r, null, 2));
    },
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}

