#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Runs inside the lab guest (from guest-init.sh): configures LIO through
 * configfs — LAB_LUNS rd_mcp backstores (unit serial scsiprlab<NNNN>) behind one
 * iSCSI target with LAB_PATHS portals (127.0.0.1..P:3260) and one ACL per node
 * mapping every LUN. One process doing plain mkdir/symlink/write system calls:
 * a shell would fork a mkdir and an ln per mapped LUN (~35 ms each in UML).
 *
 * APTPL: LIO writes <dbroot>/pr/aptpl_<unit serial> while persist-through-power-
 * loss is active but never reads it back itself (rtslib/targetcli do). Like them,
 * each saved registration is written to the backstore's pr/res_aptpl_metadata
 * before the LUN is exported (LIO refuses it afterwards); LIO re-activates it when
 * the matching ACL mapping appears. With `--dbroot` on a host directory this is
 * what makes registrations and the reservation survive a lab reboot.
 */
const fs = require('node:fs');

const CFG = '/sys/kernel/config/target';
const env = (/** @type {string} */ k) => {
  const v = process.env[k];
  if (v === undefined || v === '') throw new Error(`${k} is not set`);
  return v;
};
const luns = Number(env('LAB_LUNS'));
const paths = Number(env('LAB_PATHS'));
const nodes = Number(env('LAB_NODES'));
const pages = Number(env('LAB_LUN_MB')) * 256;
const tiqn = env('LAB_TARGET_IQN');
const prefix = env('LAB_INITIATOR_PREFIX');
/** CmdSN window per session (LAB_CMDSN_DEPTH, set by lab.js above 64 LUNs or --cmdsn-depth); empty: LIO's default (64). */
const cmdsnDepth = process.env.LAB_CMDSN_DEPTH || '';

/** @param {string} file @param {string} value */
const write = (file, value) => fs.writeFileSync(file, value);
const dbroot = process.env.LAB_DBROOT || '/run/lio-dbroot';

/**
 * The registrations LIO saved for a unit serial: one `key=value` list per
 * PR_REG_START … PR_REG_END block of <dbroot>/pr/aptpl_<serial> (none without a file).
 * @param {string} serial
 */
function savedRegistrations(serial) {
  let text;
  try {
    text = fs.readFileSync(`${dbroot}/pr/aptpl_${serial}`, 'utf8');
  } catch {
    return [];
  }
  const blocks = [];
  /** @type {string[] | null} */
  let block = null;
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line.startsWith('PR_REG_START')) block = [];
    else if (line.startsWith('PR_REG_END')) {
      if (block && block.length > 0) blocks.push(block.join(','));
      block = null;
    } else if (block && line.includes('=')) block.push(line);
  }
  return blocks;
}

for (let l = 0; l < luns; l++) {
  const bs = `${CFG}/core/rd_mcp_${l}/lun${l}`;
  fs.mkdirSync(bs, { recursive: true });
  write(`${bs}/control`, `rd_pages=${pages}`);
  write(`${bs}/enable`, '1');
  const serial = `scsiprlab${String(l).padStart(4, '0')}`;
  write(`${bs}/wwn/vpd_unit_serial`, serial);
  const saved = savedRegistrations(serial);
  for (const registration of saved) write(`${bs}/pr/res_aptpl_metadata`, registration);
  if (saved.length > 0) console.error(`guest-lio: LUN ${l}: ${saved.length} APTPL registration(s) replayed from ${dbroot}/pr/aptpl_${serial}`);
}
for (let p = 1; p <= paths; p++) {
  const tpg = `${CFG}/iscsi/${tiqn}/tpgt_${p}`;
  fs.mkdirSync(`${tpg}/np/127.0.0.${p}:3260`, { recursive: true });
  write(`${tpg}/attrib/authentication`, '0');
  write(`${tpg}/attrib/generate_node_acls`, '0');
  // ACLs take their queue depth (the session's CmdSN window) from the TPG's default when created.
  if (cmdsnDepth) write(`${tpg}/attrib/default_cmdsn_depth`, cmdsnDepth);
  for (let l = 0; l < luns; l++) {
    fs.mkdirSync(`${tpg}/lun/lun_${l}`, { recursive: true });
    fs.symlinkSync(`${CFG}/core/rd_mcp_${l}/lun${l}`, `${tpg}/lun/lun_${l}/lio`);
  }
  for (let n = 1; n <= nodes; n++) {
    const acl = `${tpg}/acls/${prefix}${n}`;
    fs.mkdirSync(acl, { recursive: true });
    for (let l = 0; l < luns; l++) {
      fs.mkdirSync(`${acl}/lun_${l}`);
      fs.symlinkSync(`${tpg}/lun/lun_${l}`, `${acl}/lun_${l}/map`);
    }
  }
  write(`${tpg}/enable`, '1');
}
