#!/usr/bin/env node
/**
 * fence_scsi_pr_check — the watchdog daemon's check that this node still has
 * its key on every device of fence_scsi_pr's state (see
 * fence-agent/registration-check.ts). Link it into /etc/watchdog.d; link
 * fence_scsi_pr_check_hardreboot (fence-scsi-pr-check-hardreboot.ts) instead
 * for the hard-reboot mode.
 */
import { open } from '../device';
import { loadNative } from '../transport/native';
import { readState } from './fence-agent/fence-agent-state';
import { runCheck, type CheckDeps } from './fence-agent/registration-check';

/** The real world of the check: the state file, READ KEYS through the library, reboot(2) through the addon. */
export function realCheckDeps(): CheckDeps {
  return {
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
    rebootNow: () => loadNative().rebootNow(),
  };
}

/**
 * Run the check as a program with `argv` (the arguments after the script);
 * `hardReboot` adds `--hard-reboot` (the fence_scsi_pr_check_hardreboot bin).
 * Sets process.exitCode.
 */
export function checkMain(argv: readonly string[], hardReboot = false): Promise<void> {
  return runCheck(hardReboot ? ['--hard-reboot', ...argv] : argv, realCheckDeps()).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`fence_scsi_pr_check: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 0; // an internal error is no evidence of a fence
    },
  );
}

if (require.main === module) void checkMain(process.argv.slice(2));
