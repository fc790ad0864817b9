#!/usr/bin/env node
/**
 * fence_scsi_pr_check_hardreboot — fence_scsi_pr_check with `--hard-reboot`
 * always on: on evidence that this node was fenced it calls reboot(2) at once
 * (no sync, no clean shutdown) instead of exiting 1 for the watchdog daemon's
 * own reboot. A bin of its own, like fence-agents' fence_scsi_check_hardreboot,
 * because the daemon runs /etc/watchdog.d programs with `test` or
 * `repair CODE` only: a link there cannot pass a flag. The mode comes from
 * this file, not from the name a link is given.
 */
import { checkMain } from './fence-scsi-pr-check';

void checkMain(process.argv.slice(2), true);
