#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * `npm run lab -- repl`: a node REPL inside the lab guest with scsi-pr loaded.
 * In scope: pr (the library), map (node -> LUN -> sd/sg), lab (guest tools),
 * dev(node, lun) -> opened Device (cached), and top-level await.
 */
const path = require('node:path');
const repl = require('node:repl');

const ROOT = path.resolve(__dirname, '..', '..');
const pr = require(path.join(ROOT, 'dist'));
const lab = require('./guest-tools');

const map = lab.map();
/** @type {Map<string, any>} */
const opened = new Map();
/** Open (once) the Device of lab node `node` (1-based) for `lun`. @param {number} node @param {number} lun */
async function dev(node, lun = 0) {
  const k = `${node}:${lun}`;
  if (!opened.has(k)) {
    const l = map.nodes[node - 1]?.luns.find((/** @type {any} */ x) => x.lun === lun);
    if (!l) throw new RangeError(`no lab device for node ${node} LUN ${lun}`);
    opened.set(k, await pr.open(l.sg));
  }
  return opened.get(k);
}

console.log(`scsi-pr lab REPL — ${map.nodes.length} nodes x ${map.options.luns} LUNs`);
for (const n of map.nodes) console.log(`  node ${n.node} (${n.iqn}): ${n.luns.map((/** @type {any} */ l) => `L${l.lun}=${l.sg}`).join(' ')}`);
console.log(`In scope: pr, map, lab, dev(node, lun). Try:
  d = await dev(1, 0)
  await d.register({ newKey: 0x1a2bn })
  await d.readKeys()
  await pr.readFullStatus(map.nodes[1].luns[0].sg)
Exit with .exit or Ctrl-D (the lab then halts).`);
const r = repl.start({ prompt: 'scsi-pr> ', useGlobal: false });
Object.assign(r.context, { pr, map, lab, dev });
r.on('exit', async () => {
  for (const d of opened.values()) await d.close();
  process.exit(0);
});
