#!/usr/bin/env node
/**
 * fence_scsi_pr — a Pacemaker/fence-agents fence agent for SCSI-3 persistent
 * reservations, built on scsi-pr (SG_IO, no sg_persist, no child processes).
 *
 * Options come from the command line (`fence_scsi_pr -o off -n node3
 * -d /dev/sdb,/dev/sdc`) or, with no arguments, as `name=value` lines on
 * standard input (how Pacemaker's fencer calls agents). See
 * `fence_scsi_pr -o metadata` and `fence_scsi_pr -h`.
 */
import { readFileSync } from 'node:fs';
import { runAgent } from './fence-agent/fence-agent-run';

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // No stdin (closed) or a TTY that was hung up: no options.
    if (code === 'EAGAIN' || code === 'EOF' || code === 'ENXIO' || code === 'EBADF') return '';
    throw e;
  }
}

runAgent({
  argv: process.argv.slice(2),
  readStdin,
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`Failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
