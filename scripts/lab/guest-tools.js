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
async function tgtPortalFilter(p, down) {
  if (!Number.isInteger(p) || p < 1 || p > paths()) throw new RangeError(`lab: no portal ${p} (paths: ${paths()})`);
  const prio = String(100 + p);
  const addr = `127.0.0.${p}/32`;
  if (!down) {
    await run('tc', ['filter', 'del', 'dev', 'lo', 'parent', 'ffff:', 'prio', prio]); // fails harmlessly when there is none
    return;
  }
  for (const m of ['sch_ingress', 'cls_u32', 'act_gact']) await run('modprobe', [m]);
  await run('tc', ['qdisc', 'add', 'dev', 'lo', 'ingress']); // "exists" after the first time
  const filter = (/** @type {string[]} */ match) => sh('tc', ['filter', 'add', 'dev', 'lo', 'parent', 'ffff:', 'prio', prio, 'protocol', 'ip', 'u32', ...match, 'action', 'drop']);
  try {
    await filter(['match', 'ip', 'dst', addr, 'match', 'ip', 'dport', '3260', '0xffff']);
    await filter(['match', 'ip', 'src', addr, 'match', 'ip', 'sport', '3260', '0xffff']);
  } catch (e) {
    throw new Error(`lab (target tgt): portalDown(${p}): ${/** @type {Error} */ (e).message}`);
  }
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

module.exports = { map, logout, login, removeLun, restoreLun, addAcl, portalDown, portalUp, setNetem, resetReservations, initiatorIqn, waitFor, run };

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

