#!/usr/bin/env node
/**
 * `scsi-pr`: sg_persist-style persistent reservations on one device, fence /
 * unfence / status over many devices, and the boot-time service of the
 * original fence_scsi design. `scsi-pr --help` documents everything,
 * including the exit codes (lib/cli/cli-exit-codes.ts).
 */
import { open, type Device, type OpenOptions } from '../device';
import { assertPrOutOptions, type PrOutMethods } from '../device-pr-methods';
import type { PrOutMethod } from '../scsi/pr-service-actions';
import { DeviceError, ScsiPrError, SyscallError } from '../errors';
import { fence } from '../fencing/fence';
import type { ProgressEvent } from '../fencing/progress-event';
import { unfence } from '../fencing/unfence';
import { status } from '../fencing/fence-status';
import { DeviceDiscoveryError, sharedVolumeGroupDevices } from '../fencing/lvm-volume-groups';
import { packageVersion } from './package-version';
import { serviceStart, serviceStatus, serviceStop, type ServiceOptions } from '../fencing/service';
import { UsageError } from './scsi-pr/cli-args';
import { ExitCode, LsbExit, exitCodeFor, isPermissionError } from './scsi-pr/cli-exit-codes';
import {
  errorToJSON,
  formatFenceReport,
  formatReadFullStatus,
  formatReadKeys,
  formatReadReservation,
  formatReportCapabilities,
  formatServiceStart,
  formatServiceStatus,
  formatServiceStop,
  formatStatusReport,
  formatUnfenceReport,
  formatUnitAttentions,
  progressLine,
  toJSONText,
} from './scsi-pr/cli-output';
import { helpText } from './scsi-pr/cli-help';
import { formatStatusMatrix } from './scsi-pr/status-matrix';
import { SUBCOMMANDS, parseCommandLine, type MultiCliRequest, type PrInCliRequest, type PrOutCliRequest, type Scsi2CliRequest, type ServiceCliRequest } from './scsi-pr/scsi-pr-request';

/** Where the tool writes; injectable for tests. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal (live progress lines are shown only then). */
  stderrIsTTY: boolean;
  /** stdout is a terminal: `status` draws its matrix then (absent: not a terminal). */
  stdoutIsTTY?: boolean;
  /** Colours are welcome on stdout (a terminal, NO_COLOR unset or empty, TERM not dumb). */
  color?: boolean;
  /** stdout's width in columns, when known. */
  columns?: number;
}

/** NO_COLOR (https://no-color.org): present and not empty turns colours off. */
function colorWanted(env: NodeJS.ProcessEnv): boolean {
  return Boolean(process.stdout.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
}

const defaultIO: CliIO = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  stderrIsTTY: Boolean(process.stderr.isTTY),
  stdoutIsTTY: Boolean(process.stdout.isTTY),
  get color() {
    return colorWanted(process.env);
  },
  get columns() {
    return process.stdout.columns || Number.parseInt(process.env.COLUMNS ?? '', 10) || undefined;
  },
};

/** Run the tool; resolves with the exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIO = defaultIO): Promise<number> {
  const jsonWanted = argv.includes('--json');
  let req;
  try {
    req = parseCommandLine(argv);
  } catch (e) {
    const topic = argv[0] !== undefined && (SUBCOMMANDS as readonly string[]).includes(argv[0]) ? argv[0] : undefined;
    return fail(io, e, jsonWanted, ExitCode.USAGE, 'scsi-pr', topic);
  }
  try {
    switch (req.kind) {
      case 'help':
        io.out(helpText(req.topic));
        return ExitCode.OK;
      case 'version':
        io.out(`scsi-pr ${packageVersion()}\n`);
        return ExitCode.OK;
      case 'prin':
        return await runPrIn(req, io);
      case 'prout':
        return await runPrOut(req, io);
      case 'scsi2':
        return await runScsi2(req, io);
      case 'fence':
      case 'unfence':
      case 'status':
        return await runMulti(req, io);
      case 'service':
        return await runService(req, io);
    }
  } catch (e) {
    return fail(io, e, req.kind !== 'help' && req.kind !== 'version' && req.json, exitCodeFor(e));
  }
}

/** Report an error on stderr (and as JSON on stdout with --json); return `code`. */
function fail(io: CliIO, e: unknown, json: boolean, code: number, prefix = 'scsi-pr', helpTopic?: string): number {
  const message = e instanceof Error ? e.message : String(e);
  io.err(`${prefix}: ${message}\n`);
  if (e instanceof UsageError) io.err(`Try 'scsi-pr ${helpTopic ? `${helpTopic} ` : ''}--help' for more information.\n`);
  if (json) io.out(toJSONText({ ok: false, exitCode: code, error: errorToJSON(e) }));
  return code;
}

function openOptions(timeoutMs: number | undefined): OpenOptions {
  return timeoutMs !== undefined ? { timeoutMs } : {};
}

// ---------------------------------------------------------------------------
// single device

async function runPrIn(req: PrInCliRequest, io: CliIO): Promise<number> {
  const dev = await open(req.device, openOptions(req.timeoutMs));
  try {
    let text: string;
    let result: object & { unitAttentions: Parameters<typeof formatUnitAttentions>[1] };
    switch (req.method) {
      case 'readKeys': {
        const r = await dev.readKeys();
        result = r;
        text = formatReadKeys(r);
        break;
      }
      case 'readReservation': {
        const r = await dev.readReservation();
        result = r;
        text = formatReadReservation(r);
        break;
      }
      case 'reportCapabilities': {
        const r = await dev.reportCapabilities();
        result = r;
        text = formatReportCapabilities(r);
        break;
      }
      case 'readFullStatus': {
        const r = await dev.readFullStatus();
        result = r;
        text = formatReadFullStatus(r);
        break;
      }
    }
    if (req.verbose) io.err(formatUnitAttentions(req.device, result.unitAttentions));
    io.out(req.json ? toJSONText({ device: req.device, action: req.action, ...result }) : text);
    return ExitCode.OK;
  } finally {
    await dev.close();
  }
}

/** Runs PR OUT method `method` with options built at run time (checked again here, before any I/O). */
function runPrOutMethod<M extends PrOutMethod>(dev: Device, method: M, options: object): ReturnType<PrOutMethods[M]> {
  assertPrOutOptions(method, options);
  const methods: PrOutMethods = dev;
  return methods[method](options) as ReturnType<PrOutMethods[M]>;
}

async function runPrOut(req: PrOutCliRequest, io: CliIO): Promise<number> {
  const dev = await open(req.device, openOptions(req.timeoutMs));
  try {
    const r = await runPrOutMethod(dev, req.method, req.options);
    if (req.verbose) {
      io.err(formatUnitAttentions(req.device, r.unitAttentions));
      io.err(`${req.device}: PR OUT ${r.action} done in ${r.durationMs} ms\n`);
    }
    if (req.json) io.out(toJSONText({ ok: true, device: req.device, action: req.action, durationMs: r.durationMs, unitAttentions: r.unitAttentions }));
    return ExitCode.OK;
  } finally {
    await dev.close();
  }
}

async function runScsi2(req: Scsi2CliRequest, io: CliIO): Promise<number> {
  const dev = await open(req.device, openOptions(req.timeoutMs));
  try {
    const call = req.timeoutMs !== undefined ? { timeoutMs: req.timeoutMs } : {};
    const r = req.action === 'reset' ? (await dev.reset(req.level!), undefined) : req.action === 'reserve6' ? await dev.reserve6(call) : await dev.release6(call);
    if (req.verbose && r) io.err(formatUnitAttentions(req.device, r.unitAttentions));
    if (req.json) io.out(toJSONText({ ok: true, device: req.device, action: req.action, ...(req.level ? { level: req.level } : {}), ...(r ? { durationMs: r.durationMs, unitAttentions: r.unitAttentions } : {}) }));
    return ExitCode.OK;
  } finally {
    await dev.close();
  }
}

// ---------------------------------------------------------------------------
// many devices

/** A device could not be opened at all (as opposed to a SCSI or transport failure). */
function isOpenFailure(e: unknown): boolean {
  return e instanceof DeviceError || (e instanceof SyscallError && e.syscall === 'open') || (e instanceof ScsiPrError && e.code === 'ERR_NO_PATH');
}

function progressReporter(io: CliIO, enabled: boolean): { onProgress?: (e: ProgressEvent) => void; end(): void } {
  if (!enabled || !io.stderrIsTTY) return { end() {} };
  let shown = false;
  return {
    onProgress: (e) => {
      shown = true;
      io.err(`\r\x1b[K${progressLine(e).replace(/ {2,}/g, ' ')}`);
    },
    end() {
      if (shown) io.err('\r\x1b[K');
      shown = false;
    },
  };
}

async function devicesOf(req: MultiCliRequest): Promise<{ devices: string[]; vgsOf: (d: string) => string[] }> {
  if (req.source.kind === 'devices') return { devices: req.source.devices, vgsOf: () => [] };
  const found = await sharedVolumeGroupDevices(req.source.volumeGroups.length > 0 ? { vgs: req.source.volumeGroups } : {});
  const vgs = new Map<string, string[]>();
  for (const f of found) vgs.set(f.device, [...(vgs.get(f.device) ?? []), f.vg]);
  if (vgs.size === 0) throw new DeviceError('ERR_DEVICE_NOT_FOUND', 'no device found: no clustered or shared LVM volume group on this host');
  return { devices: [...vgs.keys()], vgsOf: (d) => vgs.get(d) ?? [] };
}

async function runMulti(req: MultiCliRequest, io: CliIO): Promise<number> {
  let src;
  try {
    src = await devicesOf(req);
  } catch (e) {
    return fail(io, e, req.json, e instanceof DeviceDiscoveryError || e instanceof DeviceError ? ExitCode.DEVICE : exitCodeFor(e));
  }
  const progress = progressReporter(io, req.progress);
  const common = {
    devices: src.devices,
    key: req.key,
    ...(req.timeoutMs !== undefined ? { timeoutMs: req.timeoutMs } : {}),
    ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
  };
  try {
    if (req.kind === 'fence') {
      const r = await fence({ ...common, victimKey: req.victimKey!, type: req.type, ...(req.requireAbort ? { requireAbort: true } : {}) });
      progress.end();
      io.out(req.json ? toJSONText({ operation: 'fence', key: req.key, victimKey: req.victimKey, ...r }) : formatFenceReport(r, req.victimKey!));
      if (r.ok) return ExitCode.OK;
      if (r.lost) return ExitCode.RESERVATION_CONFLICT;
      if (r.devices.every((d) => isOpenFailure(d.error))) return ExitCode.DEVICE;
      return ExitCode.ERROR;
    }
    if (req.kind === 'unfence') {
      const r = await unfence({ ...common, type: req.type, ...(req.aptpl ? { aptpl: true } : {}) });
      progress.end();
      io.out(req.json ? toJSONText({ operation: 'unfence', key: req.key, ...r }) : formatUnfenceReport(r, req.key));
      if (r.ok) return ExitCode.OK;
      if (r.devices.every((d) => d.pathsRegistered === 0 && d.errors.length > 0 && d.errors.every(isOpenFailure))) return ExitCode.DEVICE;
      return ExitCode.ERROR;
    }
    const r = await status(common);
    progress.end(); // the live line is gone before the report starts (else a terminal glues them)
    const devices = r.devices.map((d) => ({ ...d, volumeGroups: src.vgsOf(d.device) }));
    const matrix = req.layout === 'matrix' || (req.layout === undefined && io.stdoutIsTTY === true);
    if (req.json) io.out(toJSONText({ operation: 'status', key: req.key, ...r, devices }));
    else if (matrix) io.out(formatStatusMatrix(r, { key: req.key, vgsOf: src.vgsOf, color: io.stdoutIsTTY === true && io.color === true, ...(io.columns ? { width: io.columns } : {}) }));
    else io.out(formatStatusReport(r, req.key, src.vgsOf));
    if (r.registeredEverywhere) return ExitCode.OK;
    if (r.devices.every((d) => !d.reachable)) return LsbExit.INSUFFICIENT_PRIVILEGE_OR_UNKNOWN;
    if (r.devices.every((d) => !d.registered)) return LsbExit.NOT_RUNNING;
    return ExitCode.ERROR;
  } finally {
    progress.end();
  }
}

// ---------------------------------------------------------------------------
// service

async function runService(req: ServiceCliRequest, io: CliIO): Promise<number> {
  const options: ServiceOptions = {
    ...(req.key !== undefined ? { key: req.key } : {}),
    ...(req.interface !== undefined ? { interface: req.interface } : {}),
    ...(req.volumeGroups.length > 0 ? { volumeGroups: req.volumeGroups } : {}),
    ...(req.devices.length > 0 ? { devices: req.devices } : {}),
    ...(req.timeoutMs !== undefined ? { timeoutMs: req.timeoutMs } : {}),
  };
  const prefix = 'scsi-pr service';
  const setupFailure = (e: unknown): number => {
    let code: number = LsbExit.GENERIC;
    if (req.action === 'status') code = LsbExit.INSUFFICIENT_PRIVILEGE_OR_UNKNOWN;
    else if (e instanceof DeviceDiscoveryError && e.code === 'ERR_LVM_NOT_INSTALLED') code = LsbExit.NOT_INSTALLED;
    else if (e instanceof ScsiPrError && e.code === 'ERR_NO_DEVICES') code = LsbExit.NOT_CONFIGURED;
    else if (isPermissionError(e)) code = LsbExit.INSUFFICIENT_PRIVILEGE_OR_UNKNOWN;
    else if (exitCodeFor(e) === ExitCode.USAGE) code = LsbExit.INVALID_ARGUMENT;
    return fail(io, e, req.json, code, prefix);
  };
  const allPermission = (errors: unknown[]): boolean => errors.length > 0 && errors.every(isPermissionError);
  try {
    if (req.action === 'start') {
      const r = await serviceStart({ ...options, ...(req.aptpl ? { aptpl: true } : {}) });
      if (req.json) io.out(toJSONText(r));
      io.err(formatServiceStart(r));
      if (r.ok) return LsbExit.OK;
      return allPermission(r.devices.flatMap((d) => d.errors)) ? LsbExit.INSUFFICIENT_PRIVILEGE_OR_UNKNOWN : LsbExit.GENERIC;
    }
    if (req.action === 'stop') {
      const r = await serviceStop(options);
      if (req.json) io.out(toJSONText(r));
      io.err(formatServiceStop(r));
      if (r.ok) return LsbExit.OK;
      return allPermission(r.devices.flatMap((d) => d.errors)) ? LsbExit.INSUFFICIENT_PRIVILEGE_OR_UNKNOWN : LsbExit.GENERIC;
    }
    const r = await serviceStatus(options);
    io.out(req.json ? toJSONText(r) : formatServiceStatus(r));
    if (r.registeredEverywhere) return LsbExit.OK;
    if (r.devices.length > 0 && r.unknown) return LsbExit.INSUFFICIENT_PRIVILEGE_OR_UNKNOWN;
    if (r.registeredNowhere) return LsbExit.NOT_RUNNING;
    return LsbExit.GENERIC;
  } catch (e) {
    return setupFailure(e);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`scsi-pr: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = ExitCode.ERROR;
    },
  );
}
