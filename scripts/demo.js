#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * `npm run demo`: a fencing story on the SAN lab, told with scsi-pr. Runs
 * INSIDE the lab guest (the npm script boots it): 3 cluster nodes, each with
 * its own iSCSI session (I_T nexus) to every shared LUN.
 */
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const pr = require(path.join(ROOT, 'dist'));
const lab = require(path.join(ROOT, 'scripts', 'lab', 'guest-tools.js'));

const KEYS = [0x5c5c0001n, 0x5c5c0002n, 0x5c5c0003n]; // one key per node (cluster 0x5c5c, node id)
const tty = process.stdout.isTTY;
const bold = (/** @type {string} */ s) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const red = (/** @type {string} */ s) => (tty ? `\x1b[31m${s}\x1b[0m` : s);
const green = (/** @type {string} */ s) => (tty ? `\x1b[32m${s}\x1b[0m` : s);
let stepNo = 0;
const step = (/** @type {string} */ s) => console.log(`\n${bold(`${++stepNo}. ${s}`)}`);

/** Try a one-block WRITE from every device of a node; returns 'ok' or the error code per LUN. */
async function writeFrom(/** @type {any[]} */ devs) {
  return Promise.all(devs.map((d) => d.writeBlocks(0, Buffer.alloc(512, 0x5a)).then(() => 'ok', (/** @type {any} */ e) => e.code)));
}

function summarize(/** @type {string[]} */ outcomes) {
  const ok = outcomes.filter((o) => o === 'ok').length;
  return ok === outcomes.length ? green(`all ${ok} WRITEs succeeded`) : red(`${outcomes.length - ok}/${outcomes.length} WRITEs refused (${[...new Set(outcomes.filter((o) => o !== 'ok'))].join(', ')})`);
}

async function main() {
  let map = lab.map();
  const luns = map.options.luns;
  console.log(bold('scsi-pr demo: I/O fencing with SCSI-3 persistent reservations'));
  console.log(`SAN lab: LIO iSCSI target ${map.target.iqn}, ${luns} shared LUNs, ${map.nodes.length} cluster nodes`);
  for (const n of map.nodes) console.log(`  node ${n.node}: ${n.iqn} -> ${n.luns.map((l) => l.sg).join(' ')}`);

  /** @type {any[][]} */
  let nodes = await Promise.all(map.nodes.map((n) => Promise.all(n.luns.map((l) => pr.open(l.sg)))));
  const id = await nodes[0][0].inquiry();
  console.log(`LUN 0 is ${id.vendor} ${id.product} ${id.revision}, serial ${id.serialNumber}, ${id.wwn}`);

  step('Every node unfences: pr.unfence() registers its key on every LUN; the first takes a Write Exclusive, Registrants Only reservation');
  for (let i = 0; i < nodes.length; i++) {
    const u = await pr.unfence({ devices: nodes[i], key: KEYS[i] });
    console.log(`  node ${i + 1}: ${u.ok ? green('unfenced') : red('FAILED')} on ${u.devices.length} LUNs in ${u.durationMs.toFixed(1)} ms (${u.devices.filter((d) => d.reservation === 'reserved').length} reservations taken)`);
  }
  const keys = await nodes[1][0].readKeys();
  const res = await nodes[1][0].readReservation();
  console.log(`  LUN 0 keys: ${keys.keys.map(pr.formatKey).join(', ')} (generation ${keys.generation})`);
  console.log(`  LUN 0 reservation: holder ${res.reservation ? pr.formatKey(res.reservation.key) : 'none'}, ${res.reservation ? pr.reservationTypeLabel(res.reservation.type) : ''}`);

  step('All nodes write to the shared LUNs (registrants may write)');
  for (let i = 0; i < nodes.length; i++) console.log(`  node ${i + 1}: ${summarize(await writeFrom(nodes[i]))}`);

  step(`Node 3 stops answering. Node 1 fences it: pr.fence() removes key ${pr.formatKey(KEYS[2])} from all ${luns} LUNs`);
  const report = await pr.fence({ devices: nodes[0], key: KEYS[0], victimKey: KEYS[2] });
  const p = report.phases;
  console.log(`  ${report.ok ? green(`${report.fenced.length}/${luns} LUNs verified fenced`) : red(`NOT fenced: ${report.notFenced.join(', ')}`)} in ${report.durationMs.toFixed(1)} ms, one process, no child processes`);
  console.log(`  check ${p.check.toFixed(1)} ms (our key on every LUN) | arbiter ${p.arbiter.toFixed(1)} ms (first LUN by WWN) | fan-out ${p.preempt.toFixed(1)} ms | verify ${p.verify.toFixed(1)} ms`);
  const d0 = report.devices[0];
  console.log(`  e.g. ${d0.device}: ${d0.outcome}, generation ${d0.generationBefore} -> ${d0.generationAfter}, reservation held by ${d0.reservation ? pr.formatKey(d0.reservation.key) : 'nobody'}`);
  const after = await nodes[0][0].readKeys();
  console.log(`  LUN 0 keys now: ${after.keys.map(pr.formatKey).join(', ')} (generation ${after.generation})`);

  step('Node 3 tries to write: the array itself refuses');
  console.log(`  node 3: ${summarize(await writeFrom(nodes[2]))}`);
  for (let i = 0; i < 2; i++) console.log(`  node ${i + 1}: ${summarize(await writeFrom(nodes[i]))}`);
  const ua = (await Promise.all(nodes[2].map((d) => d.readKeys()))).flatMap((r) => r.unitAttentions);
  if (ua.length) console.log(`  (node 3 saw ${ua.length} UNIT ATTENTION(s), e.g. ${pr.formatSense(ua[0])}; scsi-pr retried them)`);

  step('Node 3, still running, tries to fence node 1 back: it finds its own key gone and stops');
  const back = await pr.fence({ devices: nodes[2], key: KEYS[2], victimKey: KEYS[0] });
  console.log(`  node 3's fence: lost=${back.lost}, ok=${back.ok} — ${back.devices[0].error ? back.devices[0].error.message : ''}`);

  step('Cross-check with sg_persist (sg3_utils) from node 2');
  const sg = spawnSync('sg_persist', ['-n', '-k', map.nodes[1].luns[0].sg], { encoding: 'utf8' });
  console.log(sg.stdout.trimEnd().split('\n').map((l) => `  | ${l}`).join('\n'));

  step('Node 3 is repaired: its iSCSI session comes back (new ISID) and it unfences itself');
  await Promise.all(nodes[2].map((d) => d.close()));
  await lab.logout(3);
  map = await lab.login(3);
  const node3 = map.nodes[2];
  console.log(`  node 3 is now ${node3.luns[0].transportId} on ${node3.luns.map((/** @type {any} */ l) => l.sg).join(' ')}`);
  nodes[2] = await Promise.all(node3.luns.map((/** @type {any} */ l) => pr.open(l.sg)));
  const again = await pr.unfence({ devices: nodes[2], key: KEYS[2] });
  console.log(`  node 3 unfence: ${again.ok ? green('ok') : red('FAILED')}; ${summarize(await writeFrom(nodes[2]))}`);
  const st = await pr.status({ devices: nodes[1], key: KEYS[1] });
  console.log(`  status from node 2: registered on ${st.devices.filter((d) => d.registered).length}/${st.devices.length} LUNs, ${st.devices[0].keys.length} keys on LUN 0, reservation held by ${st.devices[0].reservation ? pr.formatKey(st.devices[0].reservation.key) : 'nobody'}`);

  step('Clean up: node 1 clears every LUN');
  await Promise.all(nodes[0].map((d) => d.clear({ key: KEYS[0] })));
  console.log(`  LUN 0 keys: ${(await nodes[0][0].readKeys()).keys.length} registered`);
  for (const devs of nodes) for (const d of devs) await d.close();
  console.log(`\n${bold('Done.')} Try it yourself: npm run lab -- repl`);
}

main().catch((e) => {
  console.error(red(`demo failed: ${e && e.stack ? e.stack : e}`));
  process.exit(1);
});
