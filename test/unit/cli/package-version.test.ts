import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageVersion } from '../../../lib/cli/package-version';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'scsi-pr-version-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('packageVersion', () => {
  it("is this repository's package.json version, from the sources", () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(packageVersion()).toBe(pkg.version);
  });

  it('walks up past other packages to scsi-pr (installed layout)', () => {
    const installed = join(tmp, 'app', 'node_modules', 'scsi-pr');
    mkdirSync(join(installed, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(tmp, 'app', 'package.json'), JSON.stringify({ name: 'app', version: '7.0.0' }));
    writeFileSync(join(installed, 'package.json'), JSON.stringify({ name: 'scsi-pr', version: '1.2.3' }));
    writeFileSync(join(installed, 'dist', 'package.json'), '{ not json');
    expect(packageVersion(join(installed, 'dist', 'cli'))).toBe('1.2.3');
  });

  it("is 'unknown' when no scsi-pr package.json is above", () => {
    const lone = join(tmp, 'lone', 'dist', 'cli');
    mkdirSync(lone, { recursive: true });
    writeFileSync(join(tmp, 'lone', 'package.json'), JSON.stringify({ name: 'other', version: '1.0.0' }));
    expect(packageVersion(lone)).toBe('unknown');
  });
});
