#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Runs inside the lab guest. Builds the device map (node -> LUN -> path -> sd/sg)
 * from sysfs: /sys/class/iscsi_session/session*, each session's SCSI devices
 * H:C:T:L with their block/ and scsi_generic/ children. The same map for both
 * targets: with tgt (LAB_TARGET=tgt) the controller LUN 0 is left out and
 * `lun` is tgt's LUN - 1 (0-based like LIO's), `path` comes from the portal.
 *
 *   node guest-map.js wait <map.json>   wait until every expected device exists, write map.json + map.env
 *   node guest-map.js print             print the current map as JSON
 */
const fs = require('node:fs');
const path = require('node:path');

const SESSIONS = '/sys/class/iscsi_session';

/** @param {string} p */
function readText(p) {
  try { return fs.readFileSync(p, 'utf8').trim(); } catch { return ''; }
}

/** @param {string} dir @param {RegExp} re */
function list(dir, re) {
  try { return fs.readdirSync(dir).filter((n) => re.test(n)); } catch { return []; }
}

/**
 * The initiator's sysfs does not show the ISID; LIO's ACL info file does
 * ("ISID: 0x00 02 3d 00 00 02"). Returns 12 hex digits or ''.
 * @param {string} target @param {number} tpgt @param {string} initiator
 */
function targetSideIsid(target, tpgt, initiator) {
  const info = readText(`/sys/kernel/config/target/iscsi/${target}/tpgt_${tpgt}/acls/${initiator}/info`);
  const m = /ISID: 0x([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2})/i.exec(info);
  return m ? m.slice(1).join('').toLowerCase() : '';
}

/** 'lio' (default) or 'tgt': which target the lab runs (LAB_TARGET). */
const labTarget = () => (process.env.LAB_TARGET === 'tgt' ? 'tgt' : 'lio');

/**
 * tgt's LUN 0 is its controller LUN (no block device); lab LUN i is tgt LUN i+1.
 * With LIO lab LUN i is LIO LUN i.
 */
const lunOffset = () => (labTarget() === 'tgt' ? 1 : 0);

/**
 * The ISID of a session. LIO shows it in its ACL info file. tgt shows it nowhere
 * (no READ FULL STATUS, no tgtadm field) and the initiator's sysfs has no `isid`
 * in this kernel, so for tgt it is open-iscsi's rule: OUI-format 00 02 3d, then
 * the 24-bit session id (sessionN -> 00023d00000N; LIO's ACL info files show
 * exactly these values in LIO labs). Returns 12 hex digits or ''.
 * @param {string} session @param {string} target @param {number} tpgt @param {string} initiator
 */
function sessionIsid(session, target, tpgt, initiator) {
  if (labTarget() === 'lio') return targetSideIsid(target, tpgt, initiator);
  const sid = Number(/^session(\d+)$/.exec(session)?.[1]);
  return Number.isInteger(sid) && sid < 0x1000000 ? `00023d${sid.toString(16).padStart(6, '0')}` : '';
}

/**
 * Unit serial number from the device's VPD page 0x80 in sysfs: bytes 4.. of the
 * page, trimmed (tgt pads it to 36 bytes with leading spaces).
 * @param {string} dir
 */
function unitSerial(dir) {
  let page;
  try { page = fs.readFileSync(path.join(dir, 'vpd_pg80')); } catch { return ''; }
  return page.subarray(4).toString('latin1').replace(/[^\x20-\x7e]/g, '').trim();
}

/**
 * The lab path of a session: LIO has one TPG per portal (path = tpgt - 1); tgt has
 * one TPG for every portal, so the path comes from the portal 127.0.0.<path+1>.
 * @param {number} tpgt @param {string} portal
 */
function pathOf(tpgt, portal) {
  if (labTarget() === 'lio') return tpgt - 1;
  const m = /^127\.0\.0\.(\d+):/.exec(portal);
  return m ? Number(m[1]) - 1 : tpgt - 1;
}

/**
 * Scan sysfs for every iSCSI session and its LUNs.
 * @returns {Array<{session: string, initiator: string, target: string, tpgt: number, portal: string, isid: string, state: string, hctl: string, lun: number, sd: string|null, sg: string|null, serial: string}>}
 */
function scan() {
  const out = [];
  for (const s of list(SESSIONS, /^session\d+$/)) {
    const sdir = path.join(SESSIONS, s);
    const dev = fs.realpathSync(path.join(sdir, 'device'));
    const conn = list(dev, /^connection\d+:\d+$/)[0];
    const cdir = conn ? path.join(dev, conn, 'iscsi_connection', conn) : '';
    const portal = cdir ? `${readText(path.join(cdir, 'persistent_address'))}:${readText(path.join(cdir, 'persistent_port'))}` : '';
    const base = {
      session: s,
      initiator: readText(path.join(sdir, 'initiatorname')),
      target: readText(path.join(sdir, 'targetname')),
      tpgt: Number(readText(path.join(sdir, 'tpgt'))),
      portal,
      isid: sessionIsid(s, readText(path.join(sdir, 'targetname')), Number(readText(path.join(sdir, 'tpgt'))), readText(path.join(sdir, 'initiatorname'))),
      state: readText(path.join(sdir, 'state')),
    };
    for (const t of list(dev, /^target\d+:\d+:\d+$/)) {
      for (const hctl of list(path.join(dev, t), /^\d+:\d+:\d+:\d+$/)) {
        const d = path.join(dev, t, hctl);
        const sd = list(path.join(d, 'block'), /^sd/)[0];
        const sg = list(path.join(d, 'scsi_generic'), /^sg\d+$/)[0];
        out.push({
          ...base,
          hctl,
          lun: Number(hctl.split(':')[3]),
          sd: sd ? `/dev/${sd}` : null,
          sg: sg ? `/dev/${sg}` : null,
          serial: unitSerial(d),
        });
      }
    }
  }
  return out;
}

/**
 * Turn the scan into the map consumers use.
 * @param {ReturnType<typeof scan>} devices
 */
function buildMap(devices) {
  const nodes = Number(process.env.LAB_NODES);
  const prefix = process.env.LAB_INITIATOR_PREFIX || '';
  const offset = lunOffset();
  const flat = devices
    // Only the lab target: a fault test may log the nodes in to another one (guest-tools.js slowLun).
    .filter((d) => d.initiator.startsWith(prefix) && d.lun >= offset && (!process.env.LAB_TARGET_IQN || d.target === process.env.LAB_TARGET_IQN))
    .map((d) => ({ node: Number(d.initiator.slice(prefix.length)), path: pathOf(d.tpgt, d.portal), ...d, lun: d.lun - offset }))
    .sort((a, b) => a.node - b.node || a.lun - b.lun || a.path - b.path);
  return {
    // kind and lunOffset (lab LUN + lunOffset = the target's LUN number, as in hctl) are tgt additions.
    target: { kind: labTarget(), lunOffset: offset, iqn: process.env.LAB_TARGET_IQN, portals: Array.from({ length: Number(process.env.LAB_PATHS) }, (_, i) => `127.0.0.${i + 1}:3260`) },
    options: {
      nodes, luns: Number(process.env.LAB_LUNS), paths: Number(process.env.LAB_PATHS),
      lunMb: Number(process.env.LAB_LUN_MB), delayMs: Number(process.env.LAB_DELAY_MS || 0),
      ...(process.env.LAB_SG_ONLY ? { sgOnly: true } : {}),
    },
    nodes: Array.from({ length: nodes }, (_, i) => ({
      node: i + 1,
      iqn: `${prefix}${i + 1}`,
      iface: `node${i + 1}`,
      luns: flat.filter((d) => d.node === i + 1 && d.path === 0).map(({ lun, sd, sg, hctl, serial, session, isid }) => ({ lun, sd, sg, hctl, serial, session, isid, transportId: `${prefix}${i + 1},i,0x${isid}` })),
    })),
    devices: flat,
  };
}

/** @param {ReturnType<typeof buildMap>} map */
function toEnv(map) {
  const lines = [];
  for (const d of map.devices) {
    const k = `LAB_N${d.node}_L${d.lun}${d.path ? `_P${d.path}` : ''}`;
    lines.push(`export ${k}_SG=${d.sg ?? ''}`, `export ${k}_SD=${d.sd ?? ''}`);
  }
  return lines.join('\n') + '\n';
}

function main() {
  const [cmd, out] = process.argv.slice(2);
  if (cmd === 'print') {
    process.stdout.write(JSON.stringify(buildMap(scan()), null, 2) + '\n');
    return;
  }
  if (cmd !== 'wait' || !out) {
    console.error('usage: guest-map.js wait <map.json> | print');
    process.exit(2);
  }
  const expected = Number(process.env.LAB_NODES) * Number(process.env.LAB_LUNS) * Number(process.env.LAB_PATHS);
  // 60 s; above 64 LUNs 150 ms per expected device (2 x 256 x 2 = 1024 devices: 154 s).
  const deadline = Date.now() + Number(process.env.LAB_DEVICE_WAIT_MS || (Number(process.env.LAB_LUNS) > 64 ? Math.max(60000, expected * 150) : 60000));
  for (;;) {
    const map = buildMap(scan());
    // --sg-only labs (LAB_SG_ONLY) load no sd_mod: their devices have an sg node and no sd.
    const ready = map.devices.filter((d) => d.sg && (d.sd || process.env.LAB_SG_ONLY));
    if (ready.length >= expected) {
      fs.writeFileSync(out, JSON.stringify(map, null, 2) + '\n');
      fs.writeFileSync(out.replace(/\.json$/, '.env'), toEnv(map));
      for (const d of map.devices) {
        if (d.serial && d.sd) {
          try { fs.symlinkSync(`../../${path.basename(/** @type {string} */ (d.sd))}`, `/dev/disk/by-id/scsi-lab-n${d.node}-p${d.path}-${d.serial}`); } catch { /* already there */ }
        }
      }
      return;
    }
    if (Date.now() > deadline) {
      console.error(`lab: ${ready.length}/${expected} devices appeared`);
      process.exit(1);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

if (require.main === module) main();
module.exports = { scan, buildMap, labTarget, lunOffset };
