#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Lab boot 2 of the APTPL power-loss test: a fresh guest on the same --dbroot.
 * Records what scsi-pr and sg_persist see on LUN 0 (APTPL) and LUN 1 (no
 * APTPL), and whether each node's WRITE goes through, to $OUT.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const ROOT = path.resolve(__dirname, '..', '..', '..');
const pr = require(path.join(ROOT, 'dist'));
const lab = require(path.join(ROOT, 'scripts', 'lab', 'guest-tools.js'));

/** @param {string} cmd @param {string[]} args */
const run = (cmd, args) => {
  const p = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr };
};

(async () => {
  const map = lab.map();
  const lun0 = [0, 1, 2].map((n) => map.nodes[n].luns[0].sg);
  const obs = await pr.open(lun0[1]);
  const keys = await obs.readKeys();
  const reservation = await obs.readReservation();
  const fullStatus = await obs.readFullStatus();
  const caps = await obs.reportCapabilities();
  await obs.close();
  const lun1 = await pr.open(map.nodes[0].luns[1].sg);
  const lun1Keys = await lun1.readKeys();
  await lun1.close();
  const sg = {
    keys: run('sg_persist', ['-n', '-i', '-k', lun0[1]]),
    reservation: run('sg_persist', ['-n', '-i', '-r', lun0[1]]),
    fullStatus: run('sg_persist', ['-n', '-i', '-s', lun0[1]]),
    capabilities: run('sg_persist', ['-n', '-i', '-c', lun0[1]]),
    lun1Keys: run('sg_persist', ['-n', '-i', '-k', map.nodes[0].luns[1].sg]),
  };
  // WRITE(10) of one block at LBA 0 from each node (sg_raw exit 24 = RESERVATION CONFLICT;
  // 6 = UNIT ATTENTION, e.g. the power-on one of a fresh nexus: sent again).
  const write = (/** @type {string} */ d) => {
    let status = null;
    for (let i = 0; i < 4 && (status === null || status === 6); i++) status = run('sg_raw', ['-s', '512', '-i', '/dev/zero', d, '2a', '00', '00', '00', '00', '00', '00', '00', '01', '00']).status;
    return status;
  };
  const writes = lun0.map(write);
  fs.writeFileSync(
    /** @type {string} */ (process.env.OUT),
    JSON.stringify(
      pr.toJSONSafe({
        keys: keys.keys,
        generation: keys.generation,
        reservation: reservation.reservation,
        registrations: fullStatus.registrations,
        ptplActivated: caps.persistThroughPowerLossActivated,
        lun1Keys: lun1Keys.keys,
        isids: [0, 1, 2].map((n) => map.nodes[n].luns[0].isid),
        sg,
        writes,
      }),
    ),
  );
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
