/** The installed scsi-pr's version, for the `--version` output of both CLIs. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The `version` field of scsi-pr's package.json, found by walking up from
 * `from` (default: this file's directory — lib/cli in the sources, dist/cli
 * once built, node_modules/scsi-pr/dist/cli once installed). A package.json of
 * another package on the way is skipped.
 *
 * @returns The version, or `'unknown'` when no scsi-pr package.json is found.
 */
export function packageVersion(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'scsi-pr' && typeof pkg.version === 'string' && pkg.version !== '') return pkg.version;
    } catch {
      /* none here (or not JSON): look further up */
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
