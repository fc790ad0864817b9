/**
 * Device expansion over a fake sysfs tree (test/fixtures/sysfs/fake-sysfs.ts):
 * multipath maps to their paths, WWIDs, partitions to whole disks, merging
 * names of one device, and $SCSI_PR_SYSFS_ROOT read at call time.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { multipathPaths, expandDevices, sysfsWwid } from '../../../lib/transport/device-expansion';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import { buildFakeSysfs, WWID } from '../../fixtures/sysfs/fake-sysfs';
import { thrown, rejection } from '../support/thrown';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'scsi-pr-expansion-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
describe('sysfs helpers (fake sysfs tree)', () => {
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

  describe('multipathPaths', () => {
    it('dm-N of a multipath map: its path devices, sorted', () => {
      expect(multipathPaths('/dev/dm-3', sys)).toEqual(['/dev/sdb', '/dev/sdc']);
      expect(multipathPaths('/dev/dm-4', sys)).toEqual(['/dev/sdd', '/dev/sde']);
    });

    it('/dev/mapper/NAME is found through dm/name', () => {
      expect(multipathPaths('/dev/mapper/mpatha', sys)).toEqual(['/dev/sdb', '/dev/sdc']);
      expect(multipathPaths('/dev/mapper/mpathb', sys)).toEqual(['/dev/sdd', '/dev/sde']);
    });

    it('kernel name order: sdz before sdaa', () => {
      expect(multipathPaths('/dev/mapper/mpathd', sys)).toEqual(['/dev/sdz', '/dev/sdaa']);
    });

    it('a kpartx partition of a map gives the map’s paths', () => {
      expect(multipathPaths('/dev/dm-6', sys)).toEqual(['/dev/sdb', '/dev/sdc']);
      expect(multipathPaths('/dev/mapper/mpatha1', sys)).toEqual(['/dev/sdb', '/dev/sdc']);
    });

    it('a map with no paths left: []', () => {
      expect(multipathPaths('/dev/mapper/mpathc', sys)).toEqual([]);
    });

    it('non-multipath devices are returned unchanged', () => {
      expect(multipathPaths('/dev/dm-5', sys)).toEqual(['/dev/dm-5']); // LVM LV
      expect(multipathPaths('/dev/mapper/vg_db-data', sys)).toEqual(['/dev/mapper/vg_db-data']);
      expect(multipathPaths('/dev/sdb', sys)).toEqual(['/dev/sdb']);
      expect(multipathPaths('/dev/sg1', sys)).toEqual(['/dev/sg1']);
      expect(multipathPaths('/dev/dm-99', sys)).toEqual(['/dev/dm-99']);
      expect(multipathPaths('/dev/mapper/nosuch', sys)).toEqual(['/dev/mapper/nosuch']);
      expect(multipathPaths('/dev/dm-3', join(sys, 'nonexistent'))).toEqual(['/dev/dm-3']);
    });

    it('defaults to $SCSI_PR_SYSFS_ROOT, read at call time', () => {
      process.env.SCSI_PR_SYSFS_ROOT = sys;
      expect(multipathPaths('/dev/mapper/mpatha')).toEqual(['/dev/sdb', '/dev/sdc']);
    });

    it('validates its argument', () => {
      for (const bad of [undefined, '', 3, null]) {
        const e = thrown(() => multipathPaths(bad as never, sys));
        expect(e).toBeInstanceOf(ArgumentTypeError);
        expect(e.code).toBe('ERR_INVALID_PATH');
      }
    });
  });

  describe('sysfsWwid', () => {
    it('block devices, through device/wwid', () => {
      expect(sysfsWwid('/dev/sdb', sys)).toBe(WWID.a);
      expect(sysfsWwid('/dev/sdc', sys)).toBe(WWID.a);
      expect(sysfsWwid('/dev/sdd', sys)).toBe(WWID.b);
    });

    it('sg nodes, through class/scsi_generic/sgN/device/wwid', () => {
      expect(sysfsWwid('/dev/sg1', sys)).toBe(WWID.a);
      expect(sysfsWwid('/dev/sg3', sys)).toBe(WWID.b);
      expect(sysfsWwid('/dev/sg5', sys)).toBe(WWID.f);
    });

    it('trims; t10 WWIDs keep their inner blanks', () => {
      expect(sysfsWwid('/dev/sda', sys)).toBe(WWID.sda.trim());
      expect(sysfsWwid('/dev/sg0', sys)).toBe(WWID.sda.trim());
    });

    it('partitions give their disk’s WWID; NVMe reads block/NAME/wwid', () => {
      expect(sysfsWwid('/dev/sdf1', sys)).toBe(WWID.f);
      expect(sysfsWwid('/dev/nvme0n1', sys)).toBe(WWID.nvme);
    });

    it('undefined when sysfs has none', () => {
      expect(sysfsWwid('/dev/dm-3', sys)).toBeUndefined();
      expect(sysfsWwid('/dev/sdq', sys)).toBeUndefined();
      expect(sysfsWwid('/dev/sg42', sys)).toBeUndefined();
      expect(sysfsWwid('/dev/sdb', join(sys, 'nonexistent'))).toBeUndefined();
    });

    it('resolves symlinks such as /dev/disk/by-id first', () => {
      const dev = join(tmp, 'dev');
      mkdirSync(join(dev, 'disk', 'by-id'), { recursive: true });
      writeFileSync(join(dev, 'sdd'), '');
      symlinkSync('../../sdd', join(dev, 'disk', 'by-id', 'wwn-0x6001405bbbbbbbbbbbbbbbbbbbbbbbbb'));
      expect(sysfsWwid(join(dev, 'disk', 'by-id', 'wwn-0x6001405bbbbbbbbbbbbbbbbbbbbbbbbb'), sys)).toBe(WWID.b);
    });

    it('defaults to $SCSI_PR_SYSFS_ROOT and validates its argument', () => {
      process.env.SCSI_PR_SYSFS_ROOT = sys;
      expect(sysfsWwid('/dev/sg2')).toBe(WWID.a);
      expect(thrown(() => sysfsWwid('' as never)).code).toBe('ERR_INVALID_PATH');
    });
  });

  describe('expandDevices', () => {
    const links: Record<string, string> = {
      '/dev/disk/by-id/dm-uuid-mpath-36001405aaaaaaaaaaaaaaaaaaaaaaaaa': '/dev/dm-3',
      '/dev/disk/by-id/wwn-0x6001405fffffffffffffffffffffffff': '/dev/sdf',
      '/dev/disk/by-id/wwn-0x6001405fffffffffffffffffffffffff-part1': '/dev/sdf1',
      '/dev/mapper/mpatha': '/dev/dm-3',
      '/dev/mapper/mpatha1': '/dev/dm-6',
    };
    const realpath = async (p: string): Promise<string> => {
      if (p.startsWith('/dev/missing')) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return links[p] ?? p;
    };

    it('expands multipath maps and keeps plain disks', async () => {
      expect(await expandDevices(['/dev/mapper/mpatha', '/dev/sdf', '/dev/dm-4'], { sysfsRoot: sys, realpath })).toEqual([
        { device: '/dev/mapper/mpatha', names: ['/dev/mapper/mpatha'], resolved: '/dev/dm-3', paths: ['/dev/sdb', '/dev/sdc'], wwid: WWID.a },
        { device: '/dev/sdf', names: ['/dev/sdf'], resolved: '/dev/sdf', paths: ['/dev/sdf'], wwid: WWID.f },
        { device: '/dev/dm-4', names: ['/dev/dm-4'], resolved: '/dev/dm-4', paths: ['/dev/sdd', '/dev/sde'], wwid: WWID.b },
      ]);
    });

    it('merges names that lead to the same device, in input order', async () => {
      const r = await expandDevices(['/dev/disk/by-id/dm-uuid-mpath-36001405aaaaaaaaaaaaaaaaaaaaaaaaa', '/dev/sdf', '/dev/mapper/mpatha', '/dev/dm-3', '/dev/mapper/mpatha'], { sysfsRoot: sys, realpath });
      expect(r.map((e) => [e.device, e.names, e.paths])).toEqual([
        ['/dev/disk/by-id/dm-uuid-mpath-36001405aaaaaaaaaaaaaaaaaaaaaaaaa', ['/dev/disk/by-id/dm-uuid-mpath-36001405aaaaaaaaaaaaaaaaaaaaaaaaa', '/dev/mapper/mpatha', '/dev/dm-3'], ['/dev/sdb', '/dev/sdc']],
        ['/dev/sdf', ['/dev/sdf'], ['/dev/sdf']],
      ]);
    });

    it('partitions become their whole disk (also kpartx maps)', async () => {
      const r = await expandDevices(['/dev/disk/by-id/wwn-0x6001405fffffffffffffffffffffffff-part1', '/dev/mapper/mpatha1', '/dev/sdf'], { sysfsRoot: sys, realpath });
      expect(r.map((e) => [e.resolved, e.names, e.paths])).toEqual([
        ['/dev/sdf', ['/dev/disk/by-id/wwn-0x6001405fffffffffffffffffffffffff-part1', '/dev/sdf'], ['/dev/sdf']],
        ['/dev/dm-3', ['/dev/mapper/mpatha1'], ['/dev/sdb', '/dev/sdc']],
      ]);
      const raw = await expandDevices(['/dev/sdf1'], { sysfsRoot: sys, realpath, wholeDisk: false });
      expect(raw).toEqual([{ device: '/dev/sdf1', names: ['/dev/sdf1'], resolved: '/dev/sdf1', paths: ['/dev/sdf1'], wwid: WWID.f }]);
    });

    it('a map and one of its paths stay two entries (paths may overlap)', async () => {
      const r = await expandDevices(['/dev/sdb', '/dev/mapper/mpatha'], { sysfsRoot: sys, realpath });
      expect(r.map((e) => [e.device, e.paths])).toEqual([
        ['/dev/sdb', ['/dev/sdb']],
        ['/dev/mapper/mpatha', ['/dev/sdb', '/dev/sdc']],
      ]);
    });

    it('names that cannot be resolved are kept for open() to report', async () => {
      expect(await expandDevices(['/dev/missing-disk', '/dev/sdd'], { sysfsRoot: sys, realpath })).toEqual([
        { device: '/dev/missing-disk', names: ['/dev/missing-disk'], resolved: '/dev/missing-disk', paths: ['/dev/missing-disk'] },
        { device: '/dev/sdd', names: ['/dev/sdd'], resolved: '/dev/sdd', paths: ['/dev/sdd'], wwid: WWID.b },
      ]);
    });

    it("a map without paths has paths [] (the caller decides)", async () => {
      expect(await expandDevices(['/dev/mapper/mpathc'], { sysfsRoot: sys, realpath })).toEqual([{ device: '/dev/mapper/mpathc', names: ['/dev/mapper/mpathc'], resolved: '/dev/dm-7', paths: [] }]);
    });

    it("order: 'wwid' sorts by WWID, devices without one last (stable)", async () => {
      const r = await expandDevices(['/dev/missing-b', '/dev/mapper/mpathd', '/dev/sdf', '/dev/missing-a', '/dev/dm-4', '/dev/sda', '/dev/mapper/mpatha'], { sysfsRoot: sys, realpath, order: 'wwid' });
      expect(r.map((e) => e.device)).toEqual(['/dev/mapper/mpatha', '/dev/dm-4', '/dev/mapper/mpathd', '/dev/sdf', '/dev/sda', '/dev/missing-b', '/dev/missing-a']);
      const input = await expandDevices(['/dev/sdf', '/dev/mapper/mpatha'], { sysfsRoot: sys, realpath });
      expect(input.map((e) => e.device)).toEqual(['/dev/sdf', '/dev/mapper/mpatha']);
    });

    it('uses fs.promises.realpath by default (real symlinks)', async () => {
      const dir = join(tmp, 'dev2');
      mkdirSync(join(dir, 'by-id'), { recursive: true });
      writeFileSync(join(dir, 'sde'), '');
      symlinkSync('../sde', join(dir, 'by-id', 'wwn-0x6001405bbbbbbbbbbbbbbbbbbbbbbbbb'));
      const r = await expandDevices([join(dir, 'by-id', 'wwn-0x6001405bbbbbbbbbbbbbbbbbbbbbbbbb'), join(dir, 'sde')], { sysfsRoot: sys });
      expect(r).toHaveLength(1);
      expect(r[0]!.resolved).toBe(join(dir, 'sde'));
      expect(r[0]!.names).toHaveLength(2);
      expect(r[0]!.wwid).toBe(WWID.b);
      expect(await expandDevices([])).toEqual([]);
    });

    it('validates arguments', async () => {
      expect((await rejection(expandDevices('/dev/sdb' as never))).code).toBe('ERR_INVALID_OPTION');
      expect((await rejection(expandDevices(['/dev/sdb', ''] as never))).code).toBe('ERR_INVALID_PATH');
      expect((await rejection(expandDevices([3] as never))).code).toBe('ERR_INVALID_PATH');
      expect(await rejection(expandDevices(['/dev/sdb'], { order: 'name' as never }))).toBeInstanceOf(ArgumentRangeError);
    });
  });
});
