/**
 * From the device names a user gives to the SCSI paths commands go to, read
 * from sysfs without any I/O to the devices: symlinks resolved, partitions
 * mapped to their whole disk, dm-multipath maps expanded to their path
 * devices, WWIDs for a stable order.
 */
import { basename, join } from 'node:path';
import { ArgumentRangeError, ArgumentTypeError, describeValue } from '../invalid-argument';
import { compareKernelNames, diskOfPartition, isPartition, listDirectory, readAttribute, realpathNative, sysfsRoot, tryRealpath } from './sysfs';

const DM = /^dm-\d+$/;

/** The dm-N whose dm/name is `name`, by scanning sysfs. */
function dmByName(name: string, root: string): string | undefined {
  for (const dm of listDirectory(join(root, 'block')).filter((n) => DM.test(n)).sort(compareKernelNames)) {
    if (readAttribute(join(root, 'block', dm, 'dm', 'name')) === name) return dm;
  }
  return undefined;
}

/**
 * The kernel name of a device path whose symlinks are resolved: `/dev/mapper/NAME`
 * becomes `dm-N` (by dm/name in sysfs when the node is not a link), anything else
 * its basename.
 */
function kernelName(real: string, root: string): string {
  const base = basename(real);
  if (DM.test(base)) return base;
  if (real.startsWith('/dev/mapper/')) return dmByName(base, root) ?? base;
  return base;
}

/** The whole disk of a partition (`sdb1` → `sdb`, kpartx `dm-6` → `dm-3`), else undefined. */
function wholeDiskOf(name: string, root: string): string | undefined {
  if (DM.test(name)) {
    const uuid = readAttribute(join(root, 'block', name, 'dm', 'uuid'));
    if (uuid && /^part\d+-/.test(uuid)) {
      const slaves = listDirectory(join(root, 'block', name, 'slaves'));
      return slaves.length === 1 ? slaves[0] : undefined;
    }
    return undefined;
  }
  const blockDir = join(root, 'class', 'block', name);
  return isPartition(blockDir) ? diskOfPartition(blockDir) : undefined;
}

/** The path devices of dm-N when it is a multipath map (or a kpartx partition of one); undefined otherwise. */
function mpathSlaves(dm: string, root: string, depth: number): string[] | undefined {
  if (depth > 8) return undefined;
  const uuid = readAttribute(join(root, 'block', dm, 'dm', 'uuid'));
  if (!uuid) return undefined;
  const slaves = listDirectory(join(root, 'block', dm, 'slaves')).sort(compareKernelNames);
  if (/^part\d+-mpath-/.test(uuid)) {
    return slaves.length === 1 && DM.test(slaves[0]!) ? mpathSlaves(slaves[0]!, root, depth + 1) : undefined;
  }
  if (!uuid.startsWith('mpath-')) return undefined;
  const out: string[] = [];
  for (const s of slaves) {
    const sub = DM.test(s) ? mpathSlaves(s, root, depth + 1) : undefined;
    for (const p of sub ?? [`/dev/${s}`]) if (!out.includes(p)) out.push(p);
  }
  return out.sort((a, b) => compareKernelNames(basename(a), basename(b)));
}

function checkPath(path: unknown, what: string): asserts path is string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ArgumentTypeError('ERR_INVALID_PATH', `${what} must be a non-empty string; received ${describeValue(path)}`);
  }
}

/**
 * The SCSI path devices behind a dm-multipath device.
 *
 * `device` may be `/dev/dm-N`, `/dev/mapper/NAME` (resolved to dm-N through the
 * symlink, else by matching `/sys/block/dm-*\/dm/name`) or any symlink to
 * them. When `/sys/block/dm-N/dm/uuid` starts with `mpath-`, the entries of
 * `/sys/block/dm-N/slaves/` are returned as `/dev/sdX`, sorted in kernel name
 * order (sdz before sdaa); a map with no paths left gives `[]`. A kpartx
 * partition of a map (uuid `partN-mpath-…`) gives the map's paths, since
 * reservations belong to the whole logical unit. Any other device (a SCSI
 * disk, an LVM or crypt dm device, a path that does not exist) gives
 * `[device]` unchanged.
 *
 * @param root Where sysfs is mounted (default: `$SCSI_PR_SYSFS_ROOT` or `/sys`).
 * @throws ArgumentTypeError (`ERR_INVALID_PATH`) when `device` is not a non-empty string.
 */
export function multipathPaths(device: string, root: string = sysfsRoot()): string[] {
  checkPath(device, 'device');
  return multipathPathsOfReal(device, tryRealpath(device) ?? device, root);
}

/** {@link multipathPaths} with `device`'s symlinks already resolved to `real`. */
function multipathPathsOfReal(device: string, real: string, root: string): string[] {
  const name = kernelName(real, root);
  if (!DM.test(name)) return [device];
  return mpathSlaves(name, root, 0) ?? [device];
}

/**
 * The kernel's WWID of a SCSI device (`device/wwid`, e.g.
 * `naa.600140512345678901234567890abcde`, `t10.…`, `eui.…`), read from sysfs
 * without any I/O to the device, for ordering devices deterministically.
 *
 * `/dev/sgN` reads `/sys/class/scsi_generic/sgN/device/wwid`; a block device
 * reads `/sys/block/NAME/device/wwid` (NVMe: `/sys/block/NAME/wwid`); a
 * partition reads its disk's. Symlinks (`/dev/disk/by-id/…`) are resolved first.
 *
 * @param root Where sysfs is mounted (default: `$SCSI_PR_SYSFS_ROOT` or `/sys`).
 * @returns The trimmed WWID, or undefined when sysfs has none (dm devices, old kernels, no such device).
 * @throws ArgumentTypeError (`ERR_INVALID_PATH`) when the path is not a non-empty string.
 */
export function sysfsWwid(blockOrSgPath: string, root: string = sysfsRoot()): string | undefined {
  checkPath(blockOrSgPath, 'device path');
  return sysfsWwidOfReal(tryRealpath(blockOrSgPath) ?? blockOrSgPath, root);
}

/** {@link sysfsWwid} of a path whose symlinks are already resolved. */
function sysfsWwidOfReal(real: string, root: string): string | undefined {
  let name = basename(real);
  if (/^sg\d+$/.test(name)) return readAttribute(join(root, 'class', 'scsi_generic', name, 'device', 'wwid'));
  name = wholeDiskOf(name, root) ?? name;
  return readAttribute(join(root, 'block', name, 'device', 'wwid')) ?? readAttribute(join(root, 'block', name, 'wwid'));
}

/** Options of {@link expandDevices}. */
export interface ExpandDevicesOptions {
  /** Where sysfs is mounted (default `$SCSI_PR_SYSFS_ROOT` or `/sys`). */
  sysfsRoot?: string;
  /** Resolves symlinks (default `fs.realpathSync.native`: /dev and sysfs are in memory, a thread-pool round trip buys nothing). */
  realpath?: (path: string) => Promise<string>;
  /** Map partitions to their whole disk (`/dev/sdb1` → `/dev/sdb`, kpartx maps → the multipath map). Default true. */
  wholeDisk?: boolean;
  /** `'input'` (default): the order the devices were given; `'wwid'`: by WWID, devices without one last. */
  order?: 'input' | 'wwid';
}

/** One distinct device of {@link expandDevices}. */
export interface ExpandedDevice {
  /** The name as the caller gave it (the first one, when several lead to the same device). */
  device: string;
  /** Every given name that leads to this device, in input order. */
  names: string[];
  /** The device after symlinks and partition → whole disk (`/dev/sdb`, `/dev/dm-3`). */
  resolved: string;
  /** The paths to send commands to: a multipath map's SCSI paths, else `[resolved]`. */
  paths: string[];
  /** WWID from sysfs (of the first path), when known. */
  wwid?: string;
}

/**
 * Turns a list of user-given device names into distinct devices and their
 * paths: symlinks (`/dev/disk/by-id/wwn-…`, `/dev/mapper/…`) are resolved,
 * partitions become their whole disk, dm-multipath maps expand to their SCSI
 * paths ({@link multipathPaths}), and names leading to the same device are
 * merged into one entry (see `names`). Paths are unique within an entry; the
 * same path can appear under two entries when the caller named both a map and
 * one of its paths.
 *
 * A name that cannot be resolved (does not exist) is kept as its own entry
 * with `paths: [name]`, so that opening it reports the problem.
 *
 * @throws ArgumentTypeError (`ERR_INVALID_OPTION`) when `devices` is not an array,
 *   (`ERR_INVALID_PATH`) for an entry that is not a non-empty string.
 */
export async function expandDevices(devices: string[], options: ExpandDevicesOptions = {}): Promise<ExpandedDevice[]> {
  if (!Array.isArray(devices)) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `devices must be an array of device paths; received ${describeValue(devices)}`);
  }
  for (const d of devices) checkPath(d, 'each device');
  const { sysfsRoot: root = sysfsRoot(), realpath = realpathNative, wholeDisk = true, order = 'input' } = options;
  if (order !== 'input' && order !== 'wwid') {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `order must be 'input' or 'wwid'; received ${describeValue(order)}`);
  }
  const resolvedNames = await Promise.all(
    devices.map(async (d) => {
      try {
        return { name: d, real: await realpath(d), found: true };
      } catch {
        return { name: d, real: d, found: false };
      }
    }),
  );
  const byKey = new Map<string, ExpandedDevice>();
  for (const { name, real, found } of resolvedNames) {
    let resolved = real;
    if (found && real.startsWith('/dev/')) {
      // `real` is resolved already (the device nodes below are not links): no second realpath(3).
      let kname = kernelName(real, root);
      if (wholeDisk) kname = wholeDiskOf(kname, root) ?? kname;
      if (kname !== basename(real) || DM.test(kname)) resolved = `/dev/${kname}`;
    }
    const existing = byKey.get(resolved);
    if (existing) {
      if (!existing.names.includes(name)) existing.names.push(name);
      continue;
    }
    const paths = found ? [...new Set(multipathPathsOfReal(resolved, resolved, root))] : [name];
    const entry: ExpandedDevice = { device: name, names: [name], resolved, paths };
    const wwid = found ? sysfsWwidOfReal(paths[0] ?? resolved, root) : undefined;
    if (wwid !== undefined) entry.wwid = wwid;
    byKey.set(resolved, entry);
  }
  const out = [...byKey.values()];
  if (order === 'wwid') {
    out.sort((a, b) => (a.wwid === b.wwid ? 0 : a.wwid === undefined ? 1 : b.wwid === undefined ? -1 : a.wwid < b.wwid ? -1 : 1));
  }
  return out;
}
