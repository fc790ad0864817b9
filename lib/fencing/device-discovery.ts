/**
 * Which devices to fence: the physical volumes of shared LVM volume groups
 * (what fence_scsi does when no devices are given), and the SCSI paths behind
 * each device (dm-multipath maps expand to their path devices), read from
 * sysfs without any I/O to the devices.
 *
 * Parsers are pure; the only process this module runs is `vgs`, through
 * `execFile` with an argument array (no shell), a timeout and `LC_ALL=C`.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ScsiPrError } from '../errors';
import { ArgumentRangeError, ArgumentTypeError, describeValue } from '../invalid-argument';

// ---------------------------------------------------------------------------
// LVM report parsing
// ---------------------------------------------------------------------------

/** One (volume group, physical volume) pair of a `vgs`/`lvs` report. */
export interface VgsRecord {
  /** VG name; `''` when the report had no vg_name column (fence_scsi's `vg_attr,pv_name`). */
  vg: string;
  /** vg_attr, e.g. `wz--ns` (6 characters; lvm2 ≥ 2.03.37 adds a 7th, persistent reservation `p`/`P`). */
  attr: string;
  /** PV device as LVM names it (`/dev/sdb`, `/dev/mapper/mpatha`, `/dev/dm-5`), or `[unknown]` / `unknown device` when missing. */
  pv: string;
  /** vg_attr character 6 is `c`: clustered VG (clvmd, lvm2 2.02). */
  clustered: boolean;
  /** vg_attr character 6 is `s`: shared VG (lvmlockd). */
  shared: boolean;
  /** The PV's device is not present on this host (LVM printed `[unknown]` or `unknown device`). */
  missing: boolean;
}

/** Options of the report parsers. */
export interface ReportParseOptions {
  /** Column separator passed to `--separator` (default `'|'`; fence_scsi uses `':'`). */
  separator?: string;
}

/**
 * Parses `vgs --noheadings --nosuffix --separator '|' -o vg_name,vg_attr,pv_name`
 * output (also the two-column `-o vg_attr,pv_name` form fence_scsi uses, with
 * its `separator: ':'`).
 *
 * vg_attr characters (vgs(8), lvm2 `vg_attr_dup()`): 1 (w)riteable/(r)ead-only,
 * 2 resi(z)eable, 3 e(x)ported, 4 (p)artial, 5 allocation policy
 * (c)ontiguous/c(l)ing/(n)ormal/(a)nywhere/(i)nherit, **6 (c)lustered /
 * (s)hared** (`c` for clvmd VGs, `s` for lvmlockd VGs, `-` for local ones),
 * 7 (lvm2 ≥ 2.03.37) persistent reservation required and (p) started / (P) not.
 *
 * Tolerated: leading blanks (`--noheadings`), blanks around fields, CRLF,
 * blank lines, LVM messages mixed into the text (lines without the separator
 * or starting like `WARNING:`), and an `lvs`-style devices column
 * (`/dev/sdb(0),/dev/sdc(0)`, see {@link parseLvsDevicesReport}).
 * Entries that are not device paths (RAID/thin sub-LVs such as
 * `lv_rimage_0(0)`) are skipped; `[unknown]` / `unknown device` become records
 * with `missing: true`. Each (vg, pv) pair is returned once, in report order.
 *
 * @throws ArgumentTypeError (`ERR_INVALID_OPTION`) when `text` is not a string.
 * @throws DeviceDiscoveryError (`ERR_MALFORMED_OUTPUT`) for a line that has the
 *   separator but is not a `vg|attr|pv` record.
 */
export function parseVgsReport(text: string, options: ReportParseOptions = {}): VgsRecord[] {
  return parseReport(text, options, 'vgs');
}

/**
 * Parses `lvs --noheadings --separator '|' -o vg_name,vg_attr,devices` (or
 * `-o vg_attr,devices`) output: one line per LV segment, the devices column a
 * comma-separated list of `device(first extent)`. Returns the distinct
 * (vg, pv) pairs, like {@link parseVgsReport}.
 *
 * An lvs report only names PVs that hold LV extents (an empty PV, a VG without
 * LVs and the PVs under RAID/thin sub-LVs, shown as `lv_rimage_0(0)` /
 * `pool_tdata(0)` unless `lvs -a`, are absent); prefer `vgs -o pv_name`.
 */
export function parseLvsDevicesReport(text: string, options: ReportParseOptions = {}): VgsRecord[] {
  return parseReport(text, options, 'lvs');
}

const ATTR = /^[rw-][z-][x-][p-][A-Za-z-][cs-][A-Za-z-]{0,4}$/;
const MESSAGE = /^(?:WARNING|Warning|ERROR|Error|[A-Z][a-z']+)(?=[\s:]|$)/;
const UNKNOWN_PV = new Set(['[unknown]', 'unknown device']);

function parseReport(text: string, options: ReportParseOptions, kind: 'vgs' | 'lvs'): VgsRecord[] {
  if (typeof text !== 'string') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${kind} output must be a string; received ${describeValue(text)}`);
  }
  const sep = options.separator ?? '|';
  if (typeof sep !== 'string' || sep.length === 0 || /\s/.test(sep)) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `separator must be a non-blank string; received ${describeValue(sep)}`);
  }
  const out: VgsRecord[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const fields = line.split(sep).map((f) => f.trim());
    const record = fields.length === 3 ? { vg: fields[0]!, attr: fields[1]!, list: fields[2]! } : fields.length === 2 ? { vg: '', attr: fields[0]!, list: fields[1]! } : undefined;
    if (!record || !ATTR.test(record.attr) || (fields.length === 3 && !/^[^\s]+$/.test(record.vg))) {
      if (!line.includes(sep) || MESSAGE.test(line)) continue; // an LVM message, not a record
      throw new DeviceDiscoveryError('ERR_MALFORMED_OUTPUT', `${kind} output line ${i + 1} is not a "vg${sep}vg_attr${sep}${kind === 'vgs' ? 'pv_name' : 'devices'}" record: ${JSON.stringify(line.slice(0, 200))}`);
    }
    const flag = record.attr[5];
    for (const item of record.list.split(',')) {
      const pv = item.trim().replace(/\(\d+\)$/, '').trim();
      const missing = UNKNOWN_PV.has(pv);
      if (pv === '' || (!missing && !pv.startsWith('/'))) continue; // thin LV (no devices) or a sub-LV
      const key = `${record.vg}\0${pv}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ vg: record.vg, attr: record.attr, pv, clustered: flag === 'c', shared: flag === 's', missing });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Running vgs
// ---------------------------------------------------------------------------

/** What a {@link Runner} reports for a process that ran. */
export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit status; `null` when the process was ended by a signal. */
  exitCode: number | null;
  /** The signal that ended the process, if any. */
  signal?: NodeJS.Signals | null;
}

/** Options handed to a {@link Runner}. */
export interface RunOptions {
  /** Kill the process (SIGKILL) after this many milliseconds. */
  timeoutMs: number;
  /** Environment of the process. */
  env: NodeJS.ProcessEnv;
}

/**
 * Runs `file` with `args` (no shell). Resolves for every process that ran,
 * whatever its exit status; rejects with an errno-style Error (`code`
 * `'ENOENT'`, `'EACCES'`, …) when it could not be started, and with code
 * `'ETIMEDOUT'` when it was killed by the timeout.
 */
export type Runner = (file: string, args: readonly string[], options: RunOptions) => Promise<RunResult>;

/** The default {@link Runner}: `child_process.execFile`, UTF-8, 16 MiB output limit. */
export const execFileRunner: Runner = (file, args, options) =>
  new Promise<RunResult>((resolve, reject) => {
    execFile(
      file,
      [...args],
      { timeout: options.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', env: options.env, windowsHide: true },
      (error: ExecFileException | null, stdout: string, stderr: string) => {
        if (!error) {
          resolve({ stdout, stderr, exitCode: 0, signal: null });
          return;
        }
        if (typeof error.code === 'number') {
          resolve({ stdout, stderr, exitCode: error.code, signal: null });
          return;
        }
        if (error.killed && error.code == null) {
          reject(Object.assign(new Error(`${file} did not finish within ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
          return;
        }
        if (error.code == null && error.signal) {
          resolve({ stdout, stderr, exitCode: null, signal: error.signal });
          return;
        }
        reject(error);
      },
    );
  });

/** Codes of {@link DeviceDiscoveryError}. */
export type DeviceDiscoveryErrorCode =
  | 'ERR_LVM_NOT_INSTALLED'
  | 'ERR_COMMAND_FAILED'
  | 'ERR_COMMAND_TIMEOUT'
  | 'ERR_MALFORMED_OUTPUT'
  | 'ERR_VG_NOT_FOUND'
  | 'ERR_VG_NOT_SHARED'
  | 'ERR_PV_MISSING';

/** Device discovery failed: vgs missing or failing, unexpected output, a named VG not usable. */
export class DeviceDiscoveryError extends ScsiPrError {
  declare readonly code: DeviceDiscoveryErrorCode;
  /** The command line that was run (for display only; it was run without a shell). */
  readonly command?: string;
  /** Its exit status, when it ran. */
  readonly exitCode?: number | null;
  /** Its standard error, when it ran. */
  readonly stderr?: string;
  constructor(code: DeviceDiscoveryErrorCode, message: string, fields: { command?: string; exitCode?: number | null; stderr?: string; cause?: unknown } = {}) {
    super(code, message, {}, fields.cause !== undefined ? { cause: fields.cause } : undefined);
    if (fields.command !== undefined) this.command = fields.command;
    if (fields.exitCode !== undefined) this.exitCode = fields.exitCode;
    if (fields.stderr !== undefined) this.stderr = fields.stderr;
  }
}

/** Options of {@link sharedVolumeGroupDevices}. */
export interface SharedVolumeGroupOptions {
  /** Only these VGs (each must exist and be clustered or shared). Default: every clustered/shared VG. */
  vgs?: string[];
  /** How to run vgs (default {@link execFileRunner}). */
  run?: Runner;
  /** The vgs binary (default `'vgs'`, looked up in PATH). */
  vgsPath?: string;
  /** Timeout for vgs in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Extra arguments appended to the vgs command line (e.g. `['--config', 'devices { … }']`). */
  extraArgs?: string[];
  /** Skip PVs whose device is missing on this host instead of failing (default false). */
  allowMissingPvs?: boolean;
  /** Resolves a PV path to its device (default `fs.realpathSync.native`; the PV path itself when that fails). */
  realpath?: (path: string) => Promise<string>;
}

/** A PV of a clustered or shared VG. */
export interface SharedVolumeGroupDevice {
  vg: string;
  /** The PV as LVM names it. */
  pv: string;
  /** The PV after symlinks (`/dev/mapper/mpatha` → `/dev/dm-3`). */
  device: string;
}

/** The vgs arguments used by {@link sharedVolumeGroupDevices} (before `--shared` and `extraArgs`). */
export const VGS_ARGS: readonly string[] = Object.freeze([
  '--noheadings',
  '--nosuffix',
  '--separator',
  '|',
  '--nolocking',
  '--sort',
  'vg_name,pv_name',
  '-o',
  'vg_name,vg_attr,pv_name',
]);

/**
 * The physical volumes of this host's clustered (clvmd) and shared (lvmlockd)
 * volume groups — the devices fence_scsi fences when it is given none.
 *
 * Runs `vgs --noheadings --nosuffix --separator | --nolocking --sort
 * vg_name,pv_name -o vg_name,vg_attr,pv_name --shared` with `LC_ALL=C` and
 * `LVM_SUPPRESS_FD_WARNINGS=1`:
 * - `--nolocking`, like fence_scsi's `locking_type = 0`: unfencing runs before
 *   the lock manager (dlm/sanlock, lvmlockd) is up;
 * - `--shared`: without it, lvm2 silently omits shared VGs on a host that does
 *   not use lvmlockd (verified with lvm2 2.03.16; fence_scsi's own command has
 *   this blind spot). If this vgs rejects `--shared` (lvm2 older than
 *   lvmlockd), it is run again without it.
 *
 * Clustered VGs only show up with lvm2 2.02 (2.03 removed clvmd and skips
 * them with a message on stderr).
 *
 * @returns One entry per PV, sorted by VG then PV name.
 * @throws ArgumentTypeError (`ERR_INVALID_OPTION`) for invalid options.
 * @throws DeviceDiscoveryError — `ERR_LVM_NOT_INSTALLED` (vgs not found: lvm2 is
 *   not installed), `ERR_COMMAND_TIMEOUT`, `ERR_COMMAND_FAILED` (could not run, or
 *   non-zero exit; `stderr` attached), `ERR_MALFORMED_OUTPUT`, `ERR_VG_NOT_FOUND` /
 *   `ERR_VG_NOT_SHARED` for a VG named in `options.vgs`, `ERR_PV_MISSING` when a
 *   PV of a selected VG is missing and `allowMissingPvs` is not set.
 */
export async function sharedVolumeGroupDevices(options: SharedVolumeGroupOptions = {}): Promise<SharedVolumeGroupDevice[]> {
  if (typeof options !== 'object' || options === null) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `options must be an object; received ${describeValue(options)}`);
  }
  const { vgs: wanted, run = execFileRunner, vgsPath = 'vgs', timeoutMs = 30_000, extraArgs = [], allowMissingPvs = false, realpath = realpathNative } = options;
  if (wanted !== undefined && (!Array.isArray(wanted) || wanted.some((v) => typeof v !== 'string' || v === ''))) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', 'vgs must be an array of volume group names');
  }
  if (typeof run !== 'function') throw new ArgumentTypeError('ERR_INVALID_OPTION', 'run must be a function');
  if (typeof vgsPath !== 'string' || vgsPath === '') throw new ArgumentTypeError('ERR_INVALID_OPTION', 'vgsPath must be a non-empty string');
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ArgumentRangeError('ERR_INVALID_OPTION', `timeoutMs must be a positive number; received ${describeValue(timeoutMs)}`);
  }
  if (!Array.isArray(extraArgs) || extraArgs.some((a) => typeof a !== 'string')) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', 'extraArgs must be an array of strings');
  }

  const env = { ...process.env, LC_ALL: 'C', LVM_SUPPRESS_FD_WARNINGS: '1' };
  const attempt = async (args: string[]): Promise<RunResult & { command: string }> => {
    const command = [vgsPath, ...args].map(shellQuote).join(' ');
    try {
      return { ...(await run(vgsPath, args, { timeoutMs, env })), command };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT') {
        throw new DeviceDiscoveryError('ERR_LVM_NOT_INSTALLED', `cannot run ${vgsPath}: not found — lvm2 is not installed (or not in PATH; set vgsPath)`, { command, cause: e });
      }
      if (code === 'ETIMEDOUT') {
        throw new DeviceDiscoveryError('ERR_COMMAND_TIMEOUT', `${vgsPath} did not finish within ${timeoutMs} ms (hung device or lock?)`, { command, cause: e });
      }
      throw new DeviceDiscoveryError('ERR_COMMAND_FAILED', `cannot run ${vgsPath}: ${(e as Error)?.message ?? String(e)}`, { command, cause: e });
    }
  };
  let result = await attempt([...VGS_ARGS, '--shared', ...extraArgs]);
  if (result.exitCode !== 0 && /--shared\b/.test(result.stderr)) {
    // lvm2 without lvmlockd support: "unrecognized option '--shared'" (or "does not accept option").
    result = await attempt([...VGS_ARGS, ...extraArgs]);
  }
  if (result.exitCode !== 0) {
    const how = result.exitCode === null ? `was killed by ${result.signal ?? 'a signal'}` : `exited with status ${result.exitCode}`;
    const why = firstLines(result.stderr);
    throw new DeviceDiscoveryError('ERR_COMMAND_FAILED', `${vgsPath} ${how}${why ? `: ${why}` : ''}`, { command: result.command, exitCode: result.exitCode, stderr: result.stderr });
  }

  let records: VgsRecord[];
  try {
    records = parseVgsReport(result.stdout);
  } catch (e) {
    if (e instanceof DeviceDiscoveryError) {
      throw new DeviceDiscoveryError(e.code, e.message, { command: result.command, exitCode: result.exitCode, stderr: result.stderr });
    }
    throw e;
  }
  if (wanted) {
    for (const name of wanted) {
      const r = records.filter((x) => x.vg === name);
      if (r.length === 0) {
        throw new DeviceDiscoveryError('ERR_VG_NOT_FOUND', `volume group ${JSON.stringify(name)} not found by ${vgsPath}`, { command: result.command, exitCode: result.exitCode, stderr: result.stderr });
      }
      if (!r[0]!.clustered && !r[0]!.shared) {
        throw new DeviceDiscoveryError('ERR_VG_NOT_SHARED', `volume group ${JSON.stringify(name)} is neither clustered nor shared (vg_attr ${r[0]!.attr})`, { command: result.command });
      }
    }
  }
  const selected = records.filter((r) => (r.clustered || r.shared) && (!wanted || wanted.includes(r.vg)));
  const missing = selected.filter((r) => r.missing);
  if (missing.length > 0 && !allowMissingPvs) {
    const vgs = [...new Set(missing.map((r) => r.vg))].join(', ');
    throw new DeviceDiscoveryError('ERR_PV_MISSING', `${missing.length} physical volume(s) of ${vgs} are missing on this host; these devices cannot be fenced from here (set allowMissingPvs to skip them)`, {
      command: result.command,
      stderr: result.stderr,
    });
  }
  return Promise.all(
    selected
      .filter((r) => !r.missing)
      .map(async (r) => {
        let device = r.pv;
        try {
          device = await realpath(r.pv);
        } catch {
          /* keep the PV path: open() will report it */
        }
        return { vg: r.vg, pv: r.pv, device };
      }),
  );
}

// ---------------------------------------------------------------------------
// sysfs: multipath, partitions, WWIDs
// ---------------------------------------------------------------------------

function defaultSysfsRoot(): string {
  return process.env.SCSI_PR_SYSFS_ROOT ?? '/sys';
}

function readAttr(path: string): string | undefined {
  try {
    const v = readFileSync(path, 'utf8').trim();
    return v === '' ? undefined : v;
  } catch {
    return undefined;
  }
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}

/** realpath(3) in one call, as a promise (the shape the injectable option takes). */
async function realpathNative(path: string): Promise<string> {
  return realpathSync.native(path);
}

function realpathOr(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

/** Kernel order for device names: shorter first (sdz before sdaa), then by code unit. */
function compareNames(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

const DM = /^dm-\d+$/;

/** The dm-N whose dm/name is `name`, by scanning sysfs. */
function dmByName(name: string, root: string): string | undefined {
  for (const dm of listDir(join(root, 'block')).filter((n) => DM.test(n)).sort(compareNames)) {
    if (readAttr(join(root, 'block', dm, 'dm', 'name')) === name) return dm;
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
    const uuid = readAttr(join(root, 'block', name, 'dm', 'uuid'));
    if (uuid && /^part\d+-/.test(uuid)) {
      const slaves = listDir(join(root, 'block', name, 'slaves'));
      return slaves.length === 1 ? slaves[0] : undefined;
    }
    return undefined;
  }
  const cls = join(root, 'class', 'block', name);
  if (!existsSync(join(cls, 'partition'))) return undefined;
  const parent = basename(dirname(realpathOr(cls)));
  return parent && parent !== name && parent !== 'block' ? parent : undefined;
}

/** The path devices of dm-N when it is a multipath map (or a kpartx partition of one); undefined otherwise. */
function mpathSlaves(dm: string, root: string, depth: number): string[] | undefined {
  if (depth > 8) return undefined;
  const uuid = readAttr(join(root, 'block', dm, 'dm', 'uuid'));
  if (!uuid) return undefined;
  const slaves = listDir(join(root, 'block', dm, 'slaves')).sort(compareNames);
  if (/^part\d+-mpath-/.test(uuid)) {
    return slaves.length === 1 && DM.test(slaves[0]!) ? mpathSlaves(slaves[0]!, root, depth + 1) : undefined;
  }
  if (!uuid.startsWith('mpath-')) return undefined;
  const out: string[] = [];
  for (const s of slaves) {
    const sub = DM.test(s) ? mpathSlaves(s, root, depth + 1) : undefined;
    for (const p of sub ?? [`/dev/${s}`]) if (!out.includes(p)) out.push(p);
  }
  return out.sort((a, b) => compareNames(basename(a), basename(b)));
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
 * @param sysfsRoot Where sysfs is mounted (default `$SCSI_PR_SYSFS_ROOT` or `/sys`).
 * @throws ArgumentTypeError (`ERR_INVALID_PATH`) when `device` is not a non-empty string.
 */
export function multipathPaths(device: string, sysfsRoot: string = defaultSysfsRoot()): string[] {
  checkPath(device, 'device');
  return multipathPathsOfReal(device, realpathOr(device), sysfsRoot);
}

/** {@link multipathPaths} with `device`'s symlinks already resolved to `real`. */
function multipathPathsOfReal(device: string, real: string, sysfsRoot: string): string[] {
  const name = kernelName(real, sysfsRoot);
  if (!DM.test(name)) return [device];
  return mpathSlaves(name, sysfsRoot, 0) ?? [device];
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
 * @param sysfsRoot Where sysfs is mounted (default `$SCSI_PR_SYSFS_ROOT` or `/sys`).
 * @returns The trimmed WWID, or undefined when sysfs has none (dm devices, old kernels, no such device).
 * @throws ArgumentTypeError (`ERR_INVALID_PATH`) when the path is not a non-empty string.
 */
export function sysfsWwid(blockOrSgPath: string, sysfsRoot: string = defaultSysfsRoot()): string | undefined {
  checkPath(blockOrSgPath, 'device path');
  return sysfsWwidOfReal(realpathOr(blockOrSgPath), sysfsRoot);
}

/** {@link sysfsWwid} of a path whose symlinks are already resolved. */
function sysfsWwidOfReal(real: string, sysfsRoot: string): string | undefined {
  let name = basename(real);
  if (/^sg\d+$/.test(name)) return readAttr(join(sysfsRoot, 'class', 'scsi_generic', name, 'device', 'wwid'));
  name = wholeDiskOf(name, sysfsRoot) ?? name;
  return readAttr(join(sysfsRoot, 'block', name, 'device', 'wwid')) ?? readAttr(join(sysfsRoot, 'block', name, 'wwid'));
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
  const { sysfsRoot = defaultSysfsRoot(), realpath = realpathNative, wholeDisk = true, order = 'input' } = options;
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
      let kname = kernelName(real, sysfsRoot);
      if (wholeDisk) kname = wholeDiskOf(kname, sysfsRoot) ?? kname;
      if (kname !== basename(real) || DM.test(kname)) resolved = `/dev/${kname}`;
    }
    const existing = byKey.get(resolved);
    if (existing) {
      if (!existing.names.includes(name)) existing.names.push(name);
      continue;
    }
    const paths = found ? [...new Set(multipathPathsOfReal(resolved, resolved, sysfsRoot))] : [name];
    const entry: ExpandedDevice = { device: name, names: [name], resolved, paths };
    const wwid = found ? sysfsWwidOfReal(paths[0] ?? resolved, sysfsRoot) : undefined;
    if (wwid !== undefined) entry.wwid = wwid;
    byKey.set(resolved, entry);
  }
  const out = [...byKey.values()];
  if (order === 'wwid') {
    out.sort((a, b) => (a.wwid === b.wwid ? 0 : a.wwid === undefined ? 1 : b.wwid === undefined ? -1 : a.wwid < b.wwid ? -1 : 1));
  }
  return out;
}

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------


function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function firstLines(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 3)
    .join(' / ');
}
