/**
 * Reading sysfs: where it is mounted, attributes, directory listings and
 * links, all without I/O to any device. Every reader fails soft (undefined or
 * an empty list): a missing sysfs entry means "not that kind of device".
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';

/**
 * Where sysfs is mounted: `$SCSI_PR_SYSFS_ROOT`, else `/sys`. Read at every
 * call, so a test (or a caller) can point it at a fake tree at any time.
 */
export function sysfsRoot(): string {
  return process.env.SCSI_PR_SYSFS_ROOT ?? '/sys';
}

/** An attribute file's content, trimmed; undefined when it is missing, unreadable or empty. */
export function readAttribute(path: string): string | undefined {
  try {
    const v = readFileSync(path, 'utf8').trim();
    return v === '' ? undefined : v;
  } catch {
    return undefined;
  }
}

/** A directory's entries (no dot files), sorted by code unit; `[]` when it cannot be read. */
export function listDirectory(path: string): string[] {
  try {
    return readdirSync(path)
      .filter((n) => !n.startsWith('.'))
      .sort();
  } catch {
    return [];
  }
}

/**
 * realpath(3) of `path` (one system call: the JS realpathSync lstat()s every
 * component, and sysfs paths are long chains of symlinks), or undefined when
 * it does not resolve.
 */
export function tryRealpath(path: string): string | undefined {
  try {
    return realpathSync.native(path);
  } catch {
    return undefined;
  }
}

/**
 * realpath(3) in one call, as a promise: the default of the injectable
 * `realpath` options (/dev and sysfs are in memory, a thread-pool round trip
 * buys nothing).
 */
export async function realpathNative(path: string): Promise<string> {
  return realpathSync.native(path);
}

/**
 * `path` with the symlinks of its last component followed, or undefined when it
 * does not exist. sysfs links (`/sys/dev/char/M:m`, `…/device`) sit in canonical
 * directories and point at canonical ones, so following the last component
 * gives the canonical path with one readlink per hop, where realpath(3)
 * readlinks every component of a ten-component sysfs path.
 */
export function followLink(path: string): string | undefined {
  let current = path;
  for (let hop = 0; hop < 8; hop++) {
    let target: string;
    try {
      target = readlinkSync(current);
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EINVAL' ? current : undefined; // EINVAL: exists, not a link
    }
    current = resolvePath(dirname(current), target);
  }
  return tryRealpath(current);
}

/** The sysfs block directory `blockDir` (`…/class/block/sdb1`, `…/dev/block/8:17`) is a partition. */
export function isPartition(blockDir: string): boolean {
  return existsSync(join(blockDir, 'partition'));
}

/**
 * The disk a partition belongs to: a partition's sysfs directory sits inside
 * its disk's (`/sys/devices/…/block/sdb/sdb1` → `sdb`). Undefined when
 * `blockDir` does not resolve to such a place.
 */
export function diskOfPartition(blockDir: string): string | undefined {
  const real = tryRealpath(blockDir);
  if (!real) return undefined;
  const parent = basename(dirname(real));
  return parent !== '' && parent !== 'block' && parent !== basename(real) ? parent : undefined;
}

/** Kernel order for device names: shorter first (sdz before sdaa), then by code unit. */
export function compareKernelNames(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
