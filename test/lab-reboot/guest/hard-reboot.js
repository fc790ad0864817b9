#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * The guest side of hard-reboot.test.ts (runs inside the lab guest, never on
 * the host: the last step reboots the machine it runs on). Node 1 and node 2
 * are unfenced through fence_scsi_pr (state files under $OUT), then:
 *
 * - not fenced: the hard-reboot check (both the bin and the flag) exits 0;
 * - node 2 fences node 1 (fence_scsi_pr -o off);
 * - the check without the flag exits 1 (the evidence is there);
 * - a state whose only device cannot be read: exit 0, no reboot;
 * - reboot(2) refused (CAP_SYS_BOOT dropped from the bounding set): exit 1
 *   with the reason;
 * - then $OUT/before-reboot.json is written and fence_scsi_pr_check_hardreboot
 *   runs with its stderr in $OUT/check.stderr. It should never return: the
 *   guest reboots, and guest-init.sh halts the second boot.
 *
 * Every step's result is a file in $OUT (hostfs writes reach the host at once).
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const ROOT = path.resolve(__dirname, '..', '..', '..');
const lab = require(path.join(ROOT, 'scripts', 'lab', 'guest-tools.js'));

const OUT = /** @type {string} */ (process.env.OUT);
const AGENT = path.join(ROOT, 'dist', 'cli', 'fence-scsi-pr.js');
const CHECK = path.join(ROOT, 'dist', 'cli', 'fence-scsi-pr-check.js');
const HARD = path.join(ROOT, 'dist', 'cli', 'fence-scsi-pr-check-hardreboot.js');
const K1 = '0x4b1d0001';
const K2 = '0x4b1d0002';

/** @param {string} name */
const stateDir = (name) => path.join(OUT, `state-${name}`);
/** @param {string} name @param {unknown} value */
const record = (name, value) => fs.writeFileSync(path.join(OUT, `${name}.json`), JSON.stringify(value, null, 2) + '\n');

/** Run a program with SCSI_PR_STATE_DIR=state-<state>; resolves with status, output and time. */
async function step(/** @type {string} */ state, /** @type {string} */ cmd, /** @type {string[]} */ args) {
  const t0 = performance.now();
  const r = await lab.run(cmd, args, { env: { ...process.env, SCSI_PR_STATE_DIR: stateDir(state) }, timeoutMs: 120_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: Math.round(performance.now() - t0) };
}

/** A set-up step that did not end as it must: record what ran and stop (exit 2) before any reboot. */
function need(/** @type {Record<string, any>} */ steps, /** @type {string} */ name, /** @type {number} */ status) {
  if (steps[name].status === status) return;
  record('steps', steps);
  console.error(`hard-reboot guest: step ${name} exited ${steps[name].status}, not ${status}:\n${steps[name].stderr}`);
  process.exit(2);
}

(async () => {
  record('run', { runDir: process.env.SCSI_PR_LAB_RUN });
  const map = lab.map();
  const sds = (/** @type {number} */ n) => map.nodes[n - 1].luns.map((/** @type {{sd: string}} */ l) => l.sd).join(',');
  const steps = {};
  steps.on1 = await step('node1', process.execPath, [AGENT, '-o', 'on', '-n', 'node1', '-k', K1, '-d', sds(1)]);
  steps.on2 = await step('node2', process.execPath, [AGENT, '-o', 'on', '-n', 'node2', '-k', K2, '-d', sds(2)]);
  need(steps, 'on1', 0);
  need(steps, 'on2', 0);
  steps.state1 = JSON.parse(fs.readFileSync(path.join(stateDir('node1'), 'fence_scsi_pr.state'), 'utf8'));
  steps.notFencedBin = await step('node1', process.execPath, [HARD, 'test', '--retries', '0']);
  steps.notFencedFlag = await step('node1', process.execPath, [CHECK, '--hard-reboot', 'test', '--retries', '0']);
  steps.notFencedRepair = await step('node1', process.execPath, [HARD, 'repair', '1', '--retries', '0']);
  record('steps', steps);
  steps.off = await step('node2', process.execPath, [AGENT, '-o', 'off', '-n', 'node1', '-k', K2, '--nodes', `node1:${K1},node2:${K2}`]);
  need(steps, 'off', 0);
  steps.fencedNoFlag = await step('node1', process.execPath, [CHECK, 'test', '--retries', '0']);
  need(steps, 'fencedNoFlag', 1); // no evidence: the reboot step would prove nothing
  fs.mkdirSync(stateDir('unreadable'), { recursive: true });
  fs.writeFileSync(path.join(stateDir('unreadable'), 'fence_scsi_pr.state'), JSON.stringify({ ...steps.state1, devices: ['/dev/sd-no-such-device'] }));
  steps.unreadable = await step('unreadable', process.execPath, [HARD, 'test', '--retries', '0']);
  steps.rebootRefused = await step('node1', 'setpriv', ['--bounding-set', '-sys_boot', process.execPath, HARD, 'test', '--retries', '0']);
  record('steps', steps);

  // The real thing: nothing after spawnSync should run.
  record('before-reboot', { atMs: Date.now() });
  const err = fs.openSync(path.join(OUT, 'check.stderr'), 'w');
  const r = spawnSync(process.execPath, [HARD, 'test', '--retries', '1', '--retry-delay-ms', '200'], {
    env: { ...process.env, SCSI_PR_STATE_DIR: stateDir('node1') },
    stdio: ['ignore', err, err],
  });
  record('check-returned', { status: r.status, signal: r.signal, atMs: Date.now() });
  process.exit(3);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
