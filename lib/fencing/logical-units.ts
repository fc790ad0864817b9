/**
 * The logical units behind a list of devices, for multi-device operations
 * (fence, unfence, status): paths are opened, grouped by LU (WWN from sysfs,
 * else INQUIRY VPD 0x83, else the path; an NVMe namespace by its NGUID, EUI-64
 * or UUID), ordered deterministically by WWN, and
 * commands are tried on each LU's paths in turn when a path fails.
 */
import { Device, open, type OpenOptions } from '../device';
import { expandDevices, sysfsWwid } from '../transport/device-expansion';
import { DeviceClosedError, ScsiPrError, SyscallError, TimeoutError, TransportError } from '../errors';
import { ArgumentTypeError } from '../invalid-argument';
import { NvmeDevice } from '../nvme/nvme-device';
import { BlockPrDevice } from '../block-pr/block-pr-device';

/** One logical unit and the paths (I_T nexuses) through which this host sees it. */
export interface LogicalUnit {
  /** World-wide name ('naa.6001405…'), or 'path:<device>' when none could be read. */
  wwn: string;
  /** The device names the caller gave that lead to this LU. */
  names: string[];
  /**
   * Open paths: in path-name order at first; a path that fails (see
   * {@link isPathFailure}) moves to the end ({@link demotePath}), so the LU's
   * next commands start on a path that answered.
   */
  paths: Device[];
  /** Paths that could not be opened, with why. */
  unusable: Array<{ path: string; error: Error }>;
}

/** A device name or an already open Device (left open by the operation). */
export type DeviceInput = string | Device;

/** The opened set; `close()` closes what this module opened. */
export interface LogicalUnitSet {
  units: LogicalUnit[];
  close(): Promise<void>;
}

/** Errors after which another path of the same LU is worth trying. */
export function isPathFailure(e: unknown): boolean {
  return e instanceof TransportError || e instanceof SyscallError || e instanceof TimeoutError || e instanceof DeviceClosedError;
}

/** Out of file descriptors: the process's (EMFILE) or the system's (ENFILE) limit. */
function isFdExhaustion(e: unknown): e is SyscallError {
  return e instanceof SyscallError && (e.code === 'EMFILE' || e.code === 'ENFILE');
}

/**
 * Move `d` to the end of `lu.paths` (it just failed with a path failure): the
 * LU's later commands try the other paths first. Nothing is closed or dropped:
 * when every path has failed the order is back to the first failure's.
 */
export function demotePath(lu: LogicalUnit, d: Device): void {
  const i = lu.paths.indexOf(d);
  if (i >= 0 && i < lu.paths.length - 1) {
    lu.paths.splice(i, 1);
    lu.paths.push(d);
  }
}

/** A plain sg node name. */
const SG_NODE = /^\/dev\/sg\d+$/;

/** WWNs are fixed for a device's lifetime: read sysfs once per open Device. */
const wwnCache = new WeakMap<Device, string | null>();

function wwnOfDevice(d: Device): string | undefined {
  // An NVMe namespace: its NGUID / EUI-64 / UUID (the same for every node's controller).
  if (d instanceof NvmeDevice) return d.identity.wwn;
  // The block PR API: what sysfs names the device (a multipath map: its paths' common name).
  if (d instanceof BlockPrDevice) return d.identity.wwn;
  let w = wwnCache.get(d);
  if (w === undefined) {
    w = (d.info.sgPath && sysfsWwid(d.info.sgPath)) || (d.info.blockPath && sysfsWwid(d.info.blockPath)) || null;
    wwnCache.set(d, w);
  }
  return w ?? undefined;
}

/**
 * Open every path of `devices` (multipath maps expand to their SCSI paths,
 * symlinks resolve) and group them by logical unit, sorted by WWN.
 * Paths that fail to open are kept in `unusable` (an LU with no usable path is
 * still listed, so reports can name it) — except when the process runs out of
 * file descriptors (EMFILE, ENFILE): that is no property of a path, and an
 * operation over a random part of its paths would be a half-done one. Then every
 * path opened here is closed again and a SyscallError (code EMFILE / ENFILE)
 * says how many descriptors the operation needs; nothing was sent to any device.
 */
export async function openLogicalUnits(devices: readonly DeviceInput[], options: OpenOptions & { inquiryFallback?: boolean } = {}): Promise<LogicalUnitSet> {
  if (!Array.isArray(devices) || devices.length === 0) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', 'devices must be a non-empty array of device paths or Device objects');
  }
  for (const d of devices) {
    if (!(d instanceof Device) && (typeof d !== 'string' || d.length === 0)) {
      throw new ArgumentTypeError('ERR_INVALID_OPTION', `devices: ${JSON.stringify(d)} is neither a device path nor a Device`);
    }
  }
  const { inquiryFallback = true, ...openOptions } = options;
  const ours: Device[] = [];
  const entries: Array<{ name: string; device?: Device; error?: Error; path: string }> = [];
  // An sg node is one path of one LU: no partition, multipath or alias to expand,
  // and open() resolves it anyway (expanding it too would walk sysfs twice).
  const names = devices.filter((d): d is string => typeof d === 'string' && !SG_NODE.test(d));
  let expanded: Array<{ device: string; names?: string[]; paths: string[]; wwid?: string }> = [];
  try {
    expanded = names.length > 0 ? await expandDevices(names) : [];
  } catch {
    expanded = names.map((n) => ({ device: n, paths: [n] }));
  }
  const byName = new Map<string, string[]>();
  /** The LU's WWID per path, as expansion read it (every path of a multipath map shares it). */
  const wwidByPath = new Map<string, string>();
  for (const e of expanded) {
    for (const n of [e.device, ...(e.names ?? [])]) if (!byName.has(n)) byName.set(n, e.paths);
    if (e.wwid !== undefined) for (const p of e.paths) wwidByPath.set(p, e.wwid);
  }
  // The same path reached through two names (a map and one of its paths, two aliases) is opened once.
  const openedByPath = new Map<string, Promise<Device>>();
  await Promise.all(
    devices.map(async (d) => {
      if (d instanceof Device) {
        entries.push({ name: d.path, device: d, path: d.path });
        return;
      }
      const paths = byName.get(d) ?? [d];
      await Promise.all(
        paths.map(async (p) => {
          try {
            let pending = openedByPath.get(p);
            if (!pending) {
              pending = open(p, openOptions).then((dev) => {
                ours.push(dev);
                const wwid = wwidByPath.get(p);
                if (wwid !== undefined) wwnCache.set(dev, wwid); // read once, in expansion
                return dev;
              });
              openedByPath.set(p, pending);
            }
            entries.push({ name: d, device: await pending, path: p });
          } catch (e) {
            entries.push({ name: d, error: e as Error, path: p });
          }
        }),
      );
    }),
  );
  try {
    const exhausted = entries.filter((e) => isFdExhaustion(e.error));
    if (exhausted.length > 0) {
      const first = exhausted[0]!.error as SyscallError;
      const total = new Set(entries.map((e) => e.path)).size;
      throw new SyscallError(
        `cannot open ${exhausted.length} of ${total} device paths: out of file descriptors (${first.code}); the operation needs one descriptor per path at once (${total}), beyond the process's other files: raise the limit (ulimit -n, systemd LimitNOFILE=). Nothing was sent to any device`,
        { code: first.code, errno: first.errno, syscall: first.syscall },
        { path: exhausted[0]!.path },
      );
    }
    return await groupByLogicalUnit(entries, ours, inquiryFallback);
  } catch (e) {
    await Promise.all(ours.map((d) => d.close()));
    throw e;
  }
}

/** The opened paths grouped by WWN (sysfs, else INQUIRY), sorted by WWN. */
async function groupByLogicalUnit(entries: Array<{ name: string; device?: Device; error?: Error; path: string }>, ours: Device[], inquiryFallback: boolean): Promise<LogicalUnitSet> {
  const units = new Map<string, LogicalUnit>();
  for (const e of entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    let wwn: string | undefined;
    if (e.device) {
      wwn = wwnOfDevice(e.device);
      if (!wwn && inquiryFallback) {
        try {
          wwn = (await e.device.inquiry()).wwn;
          wwnCache.set(e.device, wwn ?? null);
        } catch {
          /* keep undefined */
        }
      }
    }
    const key = wwn ?? `path:${e.name}`;
    let lu = units.get(key);
    if (!lu) {
      lu = { wwn: key, names: [], paths: [], unusable: [] };
      units.set(key, lu);
    }
    if (!lu.names.includes(e.name)) lu.names.push(e.name);
    if (e.device && !lu.paths.includes(e.device)) lu.paths.push(e.device);
    if (e.error) lu.unusable.push({ path: e.path, error: e.error });
  }
  const sorted = [...units.values()].sort((a, b) => (a.wwn < b.wwn ? -1 : a.wwn > b.wwn ? 1 : 0));
  return {
    units: sorted,
    async close() {
      await Promise.all(ours.map((d) => d.close()));
    },
  };
}

/**
 * Run `fn` on the LU's paths in order until one does not fail with a path
 * failure (transport, syscall, timeout); a path that fails is demoted
 * ({@link demotePath}) and, with `onPathFailure`, reported. SCSI answers
 * (conflict, sense) are final. Throws the last error when every path failed.
 */
export async function onAnyPath<T>(lu: LogicalUnit, fn: (d: Device) => Promise<T>, onPathFailure?: (d: Device, e: unknown) => void): Promise<T> {
  let last: unknown;
  for (const d of [...lu.paths]) {
    try {
      return await fn(d);
    } catch (e) {
      last = e;
      if (!isPathFailure(e)) throw e;
      demotePath(lu, d);
      onPathFailure?.(d, e);
    }
  }
  throw last ?? noUsablePath(lu);
}

/**
 * Why an LU has no path to try: the first open failure, else ERR_NO_PATH. Built
 * only when about to be thrown: an Error's stack trace is most of what a fence
 * costs per LU in CPU (about 25 of 35 µs, scripts/bench/cpu-bench.js).
 */
export function noUsablePath(lu: LogicalUnit): Error {
  return lu.unusable[0]?.error ?? new ScsiPrError('ERR_NO_PATH', `${lu.names.join(', ')}: no usable path`, { path: lu.names[0] });
}

/** The LU's display name: the first name given for it. */
export function luName(lu: LogicalUnit): string {
  return lu.names[0] ?? lu.wwn;
}
