#!/usr/bin/env node
/**
 * fence_scsi_pr_check — the watchdog daemon's check that this node still has
 * its key on every device of fence_scsi_pr's state (see
 * fence-agent/registration-check.ts). Link it into /etc/watchdog.d.
 */
import { open } from '../device';
import { readState } from './fence-agent/fence-agent-state';
import { runCheck } from './fence-agent/registration-check';

runCheck(process.argv.slice(2), {
  readState: () => readState(process.env),
  async readKeys(device, timeoutMs) {
    const d = await open(device, { timeoutMs });
    try {
      return (await d.readKeys()).keys;
    } finally {
      await d.close();
    }
  },
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  stderr: (t) => process.stderr.write(t),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`fence_scsi_pr_check: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 0; // an internal error is no evidence of a fence
  },
);
