/**
 * The physical volumes of shared LVM volume groups: what fence_scsi fences
 * when it is given no devices. The report parsers are pure; the only process
 * run is `vgs`, through a {@link Runner} (argument array, no shell, a timeout,
 * `LC_ALL=C`).
 */
import { ScsiPrError } from '../errors';
import { ArgumentRangeError, ArgumentTypeError, describeValue } from '../invalid-argument';
import { realpathNative } from '../transport/sysfs';
import { execFileRunner, type RunResult, type Runner } from './command-runner';

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
  /** Raised by scsi-pr; public so that wrappers and tests can make one. */
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
