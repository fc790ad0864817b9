/**
 * The sysfs readers over a fake sysfs tree: the root read at every call,
 * soft failures, link following, partitions and their disk, kernel name order.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareKernelNames, diskOfPartition, followLink, isPartition, listDirectory, readAttribute, realpathNative, sysfsRoot, tryRealpath } from '../../../lib/transport/sysfs';
import { buildFakeSysfs, WWID } from '../../fixtures/sysfs/fake-sysfs';

let sys: string;
const saved = process.env.SCSI_PR_SYSFS_ROOT;
beforeAll(() => {
  sys = buildFakeSysfs(mkdtempSync(join(tmpdir(), 'scsi-pr-sysfs-')));
});
afterAll(() => {
  rmSync(sys, { recursive: true, force: true });
});
afterEach(() => {
  if (saved === undefined) delete process.env.SCSI_PR_SYSFS_ROOT;
  else process.env.SCSI_PR_SYSFS_ROOT = saved;
});

describe('sysfsRoot', () => {
  it('is $SCSI_PR_SYSFS_ROOT, read at every call, else /sys', () => {
    delete process.env.SCSI_PR_SYSFS_ROOT;
    expect(sysfsRoot()).toBe('/sys');
    process.env.SCSI_PR_SYSFS_ROOT = sys;
    expect(sysfsRoot()).toBe(sys);
  });
});

describe('readers', () => {
  it('readAttribute trims, and gives undefined for a missing or empty attribute', () => {
    expect(readAttribute(join(sys, 'block', 'dm-3', 'dm', 'name'))).toBe('mpatha');
    expect(readAttribute(join(sys, 'class', 'scsi_generic', 'sg0', 'device', 'wwid'))).toBe(WWID.sda.trim());
    expect(readAttribute(join(sys, 'block', 'sdq', 'device', 'wwid'))).toBeUndefined();
  });

  it('listDirectory sorts by code unit and gives [] for a missing directory', () => {
    expect(listDirectory(join(sys, 'block', 'dm-3', 'slaves'))).toEqual(['sdb', 'sdc']);
    expect(listDirectory(join(sys, 'block', 'dm-8', 'slaves'))).toEqual(['sdaa', 'sdz']);
    expect(listDirectory(join(sys, 'nonexistent'))).toEqual([]);
  });

  it('tryRealpath, realpathNative and followLink agree on a link; a missing path gives undefined (or a rejection)', async () => {
    const link = join(sys, 'class', 'block', 'sdf1');
    const real = tryRealpath(link);
    expect(real).toMatch(/\/devices\/platform\/host2\/session1\/target2:0:0\/2:0:0:3\/block\/sdf\/sdf1$/);
    expect(await realpathNative(link)).toBe(real);
    expect(followLink(link)).toBe(real);
    expect(followLink(real!)).toBe(real);
    expect(tryRealpath(join(sys, 'nonexistent'))).toBeUndefined();
    expect(followLink(join(sys, 'nonexistent'))).toBeUndefined();
    await expect(realpathNative(join(sys, 'nonexistent'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('partitions', () => {
  it('isPartition and diskOfPartition: the partition directory sits in its disk’s', () => {
    expect(isPartition(join(sys, 'class', 'block', 'sdf1'))).toBe(true);
    expect(diskOfPartition(join(sys, 'class', 'block', 'sdf1'))).toBe('sdf');
    expect(diskOfPartition(join(sys, 'class', 'block', 'sda1'))).toBe('sda');
    expect(isPartition(join(sys, 'class', 'block', 'sdf'))).toBe(false);
    expect(diskOfPartition(join(sys, 'class', 'block', 'nosuch1'))).toBeUndefined();
  });
});

describe('compareKernelNames', () => {
  it('orders shorter names first, then by code unit (sdz before sdaa)', () => {
    expect(['sdaa', 'sdb', 'sdz', 'sda'].sort(compareKernelNames)).toEqual(['sda', 'sdb', 'sdz', 'sdaa']);
  });
});
