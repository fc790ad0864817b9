#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Lab boot 1 of the APTPL power-loss test (runs inside the guest; see
 * aptpl-power-loss.test.ts): registrations with APTPL on LUN 0, a reservation,
 * and a registration without APTPL on LUN 1. Writes what it did to $OUT.
 */
const fs = require('node:fs');
const path = require('node:path');
const ROOT = path.resolve(__dirname, '..', '..', '..');
const pr = require(path.join(ROOT, 'dist'));
const lab = require(path.join(ROOT, 'scripts', 'lab', 'guest-tools.js'));

(async () => {
  const map = lab.map();
  await lab.resetReservations();
  const lun0 = [0, 1, 2].map((n) => map.nodes[n].luns[0].sg);
  const n1 = await pr.open(lun0[0]);
  const n2 = await pr.open(lun0[1]);
  const n1lun1 = await pr.open(map.nodes[0].luns[1].sg);
  await n1.register({ newKey: 0xa1n, aptpl: true });
  await n2.register({ newKey: 0xb2n, aptpl: true });
  await n1.reserve({ key: 0xa1n, type: 'write-exclusive-registrants-only' });
  await n1lun1.register({ newKey: 0xc1n }); // no APTPL: must not survive
  const keys = await n2.readKeys();
  const reservation = await n2.readReservation();
  const caps = await n2.readFullStatus().then(() => n2.reportCapabilities());
  const lun1Keys = await n1lun1.readKeys();
  for (const d of [n1, n2, n1lun1]) await d.close();
  fs.writeFileSync(
    /** @type {string} */ (process.env.OUT),
    JSON.stringify(pr.toJSONSafe({ keys: keys.keys, reservation: reservation.reservation, ptplActivated: caps.persistThroughPowerLossActivated, lun1Keys: lun1Keys.keys, isids: [0, 1, 2].map((n) => map.nodes[n].luns[0].isid) })),
  );
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
