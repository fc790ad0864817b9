#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Runs inside the lab guest (from guest-init.sh): configures LIO through
 * configfs — LAB_LUNS rd_mcp backstores (unit serial scsiprlab<NNNN>) behind one
 * iSCSI target with LAB_PATHS portals (127.0.0.1..P:3260) and one ACL per node
 * mapping every LUN. One process doing plain mkdir/symlink/write system calls:
 * a shell would fork a mkdir and an ln per mapped LUN (~35 ms each in UML).
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

/** @param {string} file @param {string} value */
const write = (file, value) => fs.writeFileSync(file, value);

for (let l = 0; l < luns; l++) {
  const bs = `${CFG}/core/rd_mcp_${l}/lun${l}`;
  fs.mkdirSync(bs, { recursive: true });
  write(`${bs}/control`, `rd_pages=${pages}`);
  write(`${bs}/enable`, '1');
  write(`${bs}/wwn/vpd_unit_serial`, `scsiprlab${String(l).padStart(4, '0')}`);
}
for (let p = 1; p <= paths; p++) {
  const tpg = `${CFG}/iscsi/${tiqn}/tpgt_${p}`;
  fs.mkdirSync(`${tpg}/np/127.0.0.${p}:3260`, { recursive: true });
  write(`${tpg}/attrib/authentication`, '0');
  write(`${tpg}/attrib/generate_node_acls`, '0');
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
