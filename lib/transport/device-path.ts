/**
 * Which node to open for a user-given path. `/dev/sgN` is used as is; a SCSI
 * block device (`/dev/sdX`, or a symlink such as `/dev/disk/by-id/wwn-…`) is
 * mapped to its sg node through sysfs, because PR through sg needs only file
 * access while SG_IO on a block device needs CAP_SYS_RAWIO; without an sg node
 * the block device itself is used (SG_IO ioctl). Anything else is refused with
 * a DeviceError naming the path and the reason, before any I/O.
 */
import { existsSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { DeviceError } from '../errors';
import { toSyscallError } from './transport-common';
import { ArgumentTypeError } from '../invalid-argument';
import { diskOfPartition, followLink, isPartition, listDirectory, sysfsRoot, tryRealpath } from './sysfs';

/** How a device path was resolved. */
export interface ResolvedDevicePath {
  /** The path as the caller gave it. */
  requested: string;
  /** After symlinks. */
  resolved: string;
  /** The node that is opened. */
  openPath: string;
  /** 'sg': /dev/sgN (sg v3 async interface); 'block': SG_IO ioctl on the block device. */
  via: 'sg' | 'block';
  /** The sg node, when there is one. */
  sgPath?: string;
  /** The block device, when known. */
  blockPath?: string;
  /** SCSI address H:C:T:L from sysfs, when known. */
  hctl?: string;
}

/** Linux major:minor of a device number. */
export function majorMinor(rdev: number): string {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | ((Math.floor(rdev / 0x100000) & 0xfff) << 8);
  return `${major}:${minor}`;
}

function hctlOf(sysDevice: string | undefined): string | undefined {
  const m = sysDevice ? /(\d+:\d+:\d+:\d+)\/?$/.exec(sysDevice) : null;
  return m?.[1];
}

/**
 * realpath(3) and stat(2) of a user-given device path, with the errors
 * {@link resolveDevicePath} gives.
 * @throws ArgumentTypeError (ERR_INVALID_PATH), DeviceError (ERR_DEVICE_NOT_FOUND), SyscallError.
 */
export function statDevicePath(path: string): { resolved: string; st: Stats } {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ArgumentTypeError('ERR_INVALID_PATH', `device path must be a non-empty string, got ${typeof path === 'string' ? 'an empty string' : typeof path}`);
  }
  let resolved: string;
  let st: Stats;
  try {
    // .native: one realpath(3); the JS realpathSync lstat()s every component of a
    // path, and sysfs paths are long chains of symlinks.
    resolved = realpathSync.native(path);
    st = statSync(resolved);
  } catch (e) {
    const fsErr = e as NodeJS.ErrnoException;
    const fields = { errno: fsErr.errno, syscall: fsErr.syscall, cause: e };
    if (fsErr.code === 'ENOENT' || fsErr.code === 'ENOTDIR') {
      const link = readlinkOr(path);
      const why = link !== undefined ? `is a symbolic link to ${link}, which does not exist` : 'no such device';
      throw new DeviceError('ERR_DEVICE_NOT_FOUND', `${path}: ${why}`, { path }, fields);
    }
    if (typeof fsErr.code === 'string' && typeof fsErr.errno === 'number') {
      throw toSyscallError({ ...fsErr, code: fsErr.code, errno: fsErr.errno, syscall: fsErr.syscall ?? 'stat', message: fsErr.message, name: fsErr.name }, path);
    }
    throw new DeviceError('ERR_DEVICE_NOT_FOUND', `${path}: cannot access (${String(e)})`, { path }, fields);
  }
  return { resolved, st };
}

/**
 * Resolve `path` to the node scsi-pr should open (see the file comment).
 * @throws ArgumentTypeError (ERR_INVALID_PATH) for a non-string/empty path,
 *   DeviceError (ERR_DEVICE_NOT_FOUND, ERR_NOT_A_DEVICE, ERR_PARTITION, ERR_NOT_SCSI).
 */
export function resolveDevicePath(path: string): ResolvedDevicePath {
  const { resolved, st } = statDevicePath(path);
  const ctx = { path };
  const shown = resolved === path ? path : `${path} (-> ${resolved})`;
  if (st.isDirectory()) throw new DeviceError('ERR_NOT_A_DEVICE', `${shown} is a directory, not a SCSI device`, ctx);
  if (st.isFile()) throw new DeviceError('ERR_NOT_A_DEVICE', `${shown} is a regular file, not a SCSI device`, ctx);
  const mm = majorMinor(st.rdev);

  const sysfs = sysfsRoot();
  if (st.isCharacterDevice()) {
    const sys = followLink(join(sysfs, 'dev', 'char', mm));
    if (!sys || !/\/scsi_generic\/sg\d+$/.test(sys)) {
      throw new DeviceError('ERR_NOT_SCSI', `${shown} is character device ${mm}, not a SCSI generic (sg) device`, ctx);
    }
    const sysDevice = followLink(join(sys, 'device'));
    const block = sysDevice ? listDirectory(join(sysDevice, 'block'))[0] : undefined;
    return { requested: path, resolved, openPath: resolved, via: 'sg', sgPath: resolved, blockPath: block ? `/dev/${block}` : undefined, hctl: hctlOf(sysDevice) };
  }

  if (st.isBlockDevice()) {
    // Canonical first: `device` below is a link relative to the real directory.
    const sys = followLink(join(sysfs, 'dev', 'block', mm)) ?? join(sysfs, 'dev', 'block', mm);
    if (isPartition(sys)) {
      const parent = diskOfPartition(sys);
      const disk = parent ? `/dev/${parent}` : 'the whole disk';
      throw new DeviceError('ERR_PARTITION', `${shown} is a partition; persistent reservations apply to the whole logical unit: use ${disk}`, ctx);
    }
    const sysDevice = followLink(join(sys, 'device'));
    if (!sysDevice || !existsSync(join(sysDevice, 'scsi_device'))) {
      const name = tryRealpath(sys)?.split('/').pop() ?? mm;
      const hint = name.startsWith('dm-') ? " (a device-mapper map: open it with interface 'auto' or 'block-pr' for the block PR API, or use its paths)" : '';
      throw new DeviceError('ERR_NOT_SCSI', `${shown} is block device ${name}, not a SCSI disk${hint}`, ctx);
    }
    const sg = listDirectory(join(sysDevice, 'scsi_generic'))[0];
    const blockPath = resolved;
    if (sg && existsSync(`/dev/${sg}`)) {
      return { requested: path, resolved, openPath: `/dev/${sg}`, via: 'sg', sgPath: `/dev/${sg}`, blockPath, hctl: hctlOf(sysDevice) };
    }
    return { requested: path, resolved, openPath: resolved, via: 'block', blockPath, hctl: hctlOf(sysDevice) };
  }
  throw new DeviceError('ERR_NOT_A_DEVICE', `${shown} is not a device node`, ctx);
}

function readlinkOr(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}
