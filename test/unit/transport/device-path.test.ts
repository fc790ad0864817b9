/**
 * resolveDevicePath() against the fake sysfs of test/fixtures/sysfs, pointed
 * at real device nodes of this machine (/dev/null and one block device) by
 * their major:minor: sg nodes used as they are, SCSI disks mapped to sg or
 * used through SG_IO, partitions, device-mapper and non-devices refused.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildFakeSysfs } from '../../fixtures/sysfs/fake-sysfs';

type Resolve = typeof import('../../../lib/transport/device-path').resolveDevicePath;

/** The fake sysfs (built once per file), and a scratch directory per test. */
let root: string;
let base: string;
let dir: string;
let resolve: Resolve;
const savedRoot = process.env.SCSI_PR_SYSFS_ROOT;
const EXTRA_SG = 'devices/platform/host2/session1/target2:0:0/2:0:0:4/scsi_generic';

/** major:minor of a device node, as sysfs spells it. */
function mm(path: string): string {
  const rdev = statSync(path).rdev;
  return `${Math.floor(rdev / 256) & 0xfff}:${(rdev & 0xff) | ((Math.floor(rdev / 0x100000) & 0xfff) << 8)}`;
}

/** A block device node of this machine (any: only its major:minor is used). */
function someBlockDevice(): string {
  const found = readdirSync('/dev')
    .map((n) => join('/dev', n))
    .find((p) => {
      try {
        return statSync(p).isBlockDevice();
      } catch {
        return false;
      }
    });
  if (!found) throw new Error('device-path tests need one block device node in /dev (e.g. /dev/loop0)');
  return found;
}

/** Point sysfs's dev/<kind>/<major:minor> of `node` at `target` (a path inside the fake tree). */
function mapNode(kind: 'char' | 'block', node: string, target: string): void {
  const at = join(root, 'dev', kind, mm(node));
  mkdirSync(dirname(at), { recursive: true });
  symlinkSync(join(root, target), at);
}

function failure(path: unknown): Error & { code?: string } {
  try {
    resolve(path as string);
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error(`${String(path)} resolved`);
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'scsi-pr-device-path-'));
  root = buildFakeSysfs(join(base, 'sys'));
  process.env.SCSI_PR_SYSFS_ROOT = root;
  vi.resetModules(); // loaded after SCSI_PR_SYSFS_ROOT points at the fake tree
  ({ resolveDevicePath: resolve } = await import('../../../lib/transport/device-path'));
});

beforeEach(() => {
  dir = mkdtempSync(join(base, 'scratch-'));
});

afterEach(() => {
  rmSync(join(root, 'dev'), { recursive: true, force: true });
  rmSync(join(root, EXTRA_SG), { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

afterAll(() => {
  if (savedRoot === undefined) delete process.env.SCSI_PR_SYSFS_ROOT;
  else process.env.SCSI_PR_SYSFS_ROOT = savedRoot;
  rmSync(base, { recursive: true, force: true });
});

describe('resolveDevicePath', () => {
  it('uses an sg node as it is, with its disk and H:C:T:L from sysfs', async () => {
    mapNode('char', '/dev/null', 'class/scsi_generic/sg1');
    expect(resolve('/dev/null')).toEqual({ requested: '/dev/null', resolved: '/dev/null', openPath: '/dev/null', via: 'sg', sgPath: '/dev/null', blockPath: '/dev/sdb', hctl: '2:0:0:1' });
  });

  it('follows a symlink (e.g. /dev/disk/by-id/…) to the node first', async () => {
    mapNode('char', '/dev/null', 'class/scsi_generic/sg1');
    const link = join(dir, 'wwn-0x6001405aaaa');
    symlinkSync('/dev/null', link);
    expect(resolve(link)).toMatchObject({ requested: link, resolved: '/dev/null', openPath: '/dev/null', via: 'sg' });
  });

  it('uses SG_IO on a SCSI disk that has no sg node', async () => {
    const disk = someBlockDevice();
    mapNode('block', disk, 'block/sdz');
    expect(resolve(disk)).toEqual({ requested: disk, resolved: disk, openPath: disk, via: 'block', blockPath: disk, hctl: '2:0:0:4' });
  });

  it('falls back to SG_IO when sysfs names an sg node that /dev does not have', async () => {
    const disk = someBlockDevice();
    mkdirSync(join(root, EXTRA_SG, 'sg4095'), { recursive: true });
    mapNode('block', disk, 'block/sdz');
    expect(resolve(disk)).toMatchObject({ via: 'block', openPath: disk });
  });

  it('refuses a partition and names the whole disk', async () => {
    const disk = someBlockDevice();
    mapNode('block', disk, 'class/block/sda1');
    const e = failure(disk);
    expect(e.code).toBe('ERR_PARTITION');
    expect(e.message).toMatch(/is a partition; .* use \/dev\/sda$/);
  });

  it('refuses a device-mapper device and names the block PR API or its paths', async () => {
    const disk = someBlockDevice();
    mapNode('block', disk, 'block/dm-3');
    const e = failure(disk);
    expect(e.code).toBe('ERR_NOT_SCSI');
    expect(e.message).toMatch(/is block device dm-3, not a SCSI disk \(a device-mapper map: open it with interface 'auto' or 'block-pr' for the block PR API, or use its paths\)$/);
  });

  it('refuses a character device that is not an sg node', async () => {
    const e = failure('/dev/null');
    expect(e.code).toBe('ERR_NOT_SCSI');
    expect(e.message).toBe(`/dev/null is character device ${mm('/dev/null')}, not a SCSI generic (sg) device`);
  });

  it('refuses missing paths, dangling links, directories, regular files and non-strings before any I/O', async () => {
    expect(failure(join(dir, 'nope'))).toMatchObject({ code: 'ERR_DEVICE_NOT_FOUND', message: `${join(dir, 'nope')}: no such device` });
    const dangling = join(dir, 'dangling');
    symlinkSync(join(dir, 'gone'), dangling);
    expect(failure(dangling).message).toBe(`${dangling}: is a symbolic link to ${join(dir, 'gone')}, which does not exist`);
    expect(failure(dir)).toMatchObject({ code: 'ERR_NOT_A_DEVICE' });
    const file = join(dir, 'file');
    writeFileSync(file, '');
    expect(failure(file).message).toBe(`${file} is a regular file, not a SCSI device`);
    expect(failure('')).toMatchObject({ code: 'ERR_INVALID_PATH', name: 'ArgumentTypeError' });
    expect(failure(42)).toMatchObject({ code: 'ERR_INVALID_PATH' });
  });
});
