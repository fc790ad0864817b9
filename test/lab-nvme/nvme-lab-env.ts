/**
 * Access to the NVMe lab from lab-nvme tests, and nvme-cli as the reference peer.
 * The tests run INSIDE the QEMU guest (`npm run test:lab-nvme` boots it: nvmet
 * over the loop transport, one host NQN + host ID + controller per node and
 * path); outside the lab they fail loudly, never skip.
 *
 * Every nvme-cli call runs asynchronously (execFile, with a timeout): a lab test
 * must never block vitest's worker (see test/lab/event-loop-watch.ts).
 *
 * Facts about the guest's nvme-cli (Debian 12: nvme-cli 2.3, libnvme 1.3), seen in the lab:
 * - `resv-report --eds -o json` prints `{"gen", "rtype", "regctl", "ptpls", "regctlext": [{"cntlid",
 *   "rcsts", "rkey", "hostid"}]}`, `rkey` a decimal JSON number (a 64-bit key would lose
 *   precision in JSON.parse: it is read from the text), `hostid` 32 lowercase hex digits;
 *   nvmet reports `cntlid` 65535 (dynamic controllers) whatever the controller;
 * - without `--eds`, nvmet refuses the report (Host Identifier Inconsistent Format, 0x6018);
 * - an NVMe status is a message on stderr ending in `(0x4083)` (Reservation Conflict; a
 *   refused write shows 0x6083, DNR and More set) and exit status 1.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** One namespace as one node sees it on path 0 (`map.nodes[i].namespaces[j]`). */
export interface NvmeLabNamespace {
  /** Lab namespace index (0-based; NSID = ns + 1). */
  ns: number;
  nsid: number;
  /** Block device, e.g. `/dev/nvme0n1`. */
  block: string;
  /** Generic char device, e.g. `/dev/ng0n1`. */
  generic: string;
  nguid: string;
  wwid: string;
  /** Controller name, e.g. `nvme0`. */
  controller: string;
  /** The controller's CNTLID (sysfs). */
  cntlid: number;
}

/** One node: its host NQN and host ID (UUID form, as sysfs prints it). */
export interface NvmeLabNode {
  node: number;
  hostnqn: string;
  hostid: string;
  controllers: string[];
  namespaces: NvmeLabNamespace[];
}

/** One device of `map.devices` (every node, namespace and path). */
export interface NvmeLabDevice extends NvmeLabNamespace {
  node: number;
  path: number;
  hostnqn: string;
  hostid: string;
  subsysnqn: string;
  state: string;
}

/** The NVMe lab's device map (scripts/lab/guest-nvme-map.js). */
export interface NvmeLabMap {
  target: { kind: 'nvmet'; subsysnqn: string };
  options: { nodes: number; namespaces: number; luns: number; paths: number; lunMb: number };
  nodes: NvmeLabNode[];
  devices: NvmeLabDevice[];
}

/** The current NVMe lab map. Throws (test failure) outside the NVMe lab. */
export function nvmeLabMap(): NvmeLabMap {
  const file = process.env.SCSI_PR_LAB_MAP;
  if (process.env.SCSI_PR_LAB !== '1' || !file || process.env.LAB_TARGET !== 'nvmet') {
    throw new Error(
      'lab-nvme tests must run inside the NVMe lab: use `npm run test:lab-nvme` ' +
        '(boots the QEMU guest; node scripts/lab.js run --target nvmet ... -- npx vitest run --project lab-nvme)',
    );
  }
  const map = JSON.parse(readFileSync(file, 'utf8')) as NvmeLabMap;
  if (map.target?.kind !== 'nvmet') throw new Error(`${file} is not an NVMe lab map (target ${JSON.stringify(map.target)})`);
  return map;
}

/** Device of `node` (1-based) for lab namespace `nsIndex` (0-based) on `path`. */
export function ns(map: NvmeLabMap, node: number, nsIndex: number, path = 0): NvmeLabDevice {
  const d = map.devices.find((x) => x.node === node && x.ns === nsIndex && x.path === path);
  if (!d) throw new Error(`NVMe lab has no device for node ${node} namespace ${nsIndex} path ${path}`);
  return d;
}

/** Host ID of `node` as the Reservation Report's extended data shows it: 32 lowercase hex digits. */
export function hostIdOf(map: NvmeLabMap, node: number): string {
  const n = map.nodes.find((x) => x.node === node);
  if (!n || !n.hostid) throw new Error(`NVMe lab has no host ID for node ${node}`);
  const hex = n.hostid.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error(`node ${node}: unexpected host ID ${JSON.stringify(n.hostid)}`);
  return hex;
}

/** What an nvme-cli run returned. */
export interface NvmeCliResult {
  /** Exit status (-1: killed, e.g. by the timeout). */
  status: number;
  stdout: string;
  stderr: string;
}

/** nvme-cli calls are killed after this long. */
const NVME_TIMEOUT_MS = 60_000;

/** Runs `nvme <args>` without blocking the event loop; never rejects. */
export function nvme(args: string[], timeoutMs = NVME_TIMEOUT_MS): Promise<NvmeCliResult> {
  return new Promise((resolve) => {
    execFile('nvme', args, { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (err as NodeJS.ErrnoException & { code?: unknown }).code : 0;
      resolve({ status: typeof code === 'number' ? code : -1, stdout, stderr });
    });
  });
}

/** The NVMe status code nvme-cli printed (`…(0x4083)`), or undefined. */
export function nvmeStatusOf(r: NvmeCliResult): number | undefined {
  const m = /NVMe status:.*\(0x([0-9a-f]+)\)/i.exec(`${r.stderr}\n${r.stdout}`);
  return m ? parseInt(m[1]!, 16) : undefined;
}

/** Whether nvme-cli reported Reservation Conflict (status code 0x83, whatever the DNR/More bits). */
export function isReservationConflict(r: NvmeCliResult): boolean {
  const s = nvmeStatusOf(r);
  return r.status !== 0 && s !== undefined && (s & 0x7ff) === 0x83;
}

/** One registrant of the Reservation Report (extended data structure). */
export interface NvmeRegistrant {
  /** Host ID, 32 lowercase hex digits. */
  hostId: string;
  key: bigint;
  /** RCSTS bit 0: holds the reservation (every registrant, for the All Registrants types). */
  holds: boolean;
  /** As reported (nvmet: 0xffff, dynamic controller). */
  cntlid: number;
}

/** The Reservation Report as nvme-cli reads it. */
export interface NvmeReport {
  generation: number;
  /** NVMe reservation type: 0 none, 1 WE, 2 EA, 3 WE-RO, 4 EA-RO, 5 WE-AR, 6 EA-AR. */
  rtype: number;
  registrants: NvmeRegistrant[];
}

/** `nvme resv-report --eds -o json <dev>`, parsed; throws when nvme-cli fails. */
export async function nvmeReport(dev: string): Promise<NvmeReport> {
  const r = await nvme(['resv-report', '--eds', '-o', 'json', dev]);
  if (r.status !== 0) throw new Error(`nvme resv-report --eds ${dev}: exit ${r.status}: ${r.stderr}${r.stdout}`);
  // Keys are 64-bit: quote them before JSON.parse turns them into doubles.
  const text = r.stdout.replace(/"rkey"\s*:\s*(\d+)/g, '"rkey":"$1"');
  let j: { gen: number; rtype: number; regctlext?: Array<{ cntlid: number; rcsts: number; rkey: string; hostid: string }> };
  try {
    j = JSON.parse(text) as typeof j;
  } catch (e) {
    throw new Error(`cannot parse nvme resv-report output of ${dev}: ${(e as Error).message}\n${r.stdout}`);
  }
  return {
    generation: j.gen,
    rtype: j.rtype,
    registrants: (j.regctlext ?? []).map((g) => ({
      hostId: String(g.hostid).toLowerCase(),
      key: BigInt(g.rkey),
      holds: (g.rcsts & 1) === 1,
      cntlid: g.cntlid,
    })),
  };
}

const hex = (k: bigint): string => `0x${k.toString(16)}`;

/** `nvme resv-register`: `rrega` 0 register, 1 unregister, 2 replace; `iekey` ignores the current key. */
export function nvmeRegister(dev: string, o: { crkey?: bigint; nrkey?: bigint; rrega: 0 | 1 | 2; iekey?: boolean }): Promise<NvmeCliResult> {
  const args = ['resv-register', dev, `--rrega=${o.rrega}`];
  if (o.crkey !== undefined) args.push(`--crkey=${hex(o.crkey)}`);
  if (o.nrkey !== undefined) args.push(`--nrkey=${hex(o.nrkey)}`);
  if (o.iekey) args.push('--iekey');
  return nvme(args);
}

/** `nvme resv-acquire`: `racqa` 0 acquire, 1 preempt, 2 preempt and abort; `rtype` the NVMe type (1–6). */
export function nvmeAcquire(dev: string, o: { crkey: bigint; prkey?: bigint; rtype: number; racqa: 0 | 1 | 2 }): Promise<NvmeCliResult> {
  const args = ['resv-acquire', dev, `--crkey=${hex(o.crkey)}`, `--rtype=${o.rtype}`, `--racqa=${o.racqa}`];
  if (o.prkey !== undefined) args.push(`--prkey=${hex(o.prkey)}`);
  return nvme(args);
}

/** `nvme resv-release`: `rrela` 0 release (`rtype` as held), 1 clear. */
export function nvmeRelease(dev: string, o: { crkey: bigint; rtype?: number; rrela: 0 | 1 }): Promise<NvmeCliResult> {
  const args = ['resv-release', dev, `--crkey=${hex(o.crkey)}`, `--rrela=${o.rrela}`];
  if (o.rtype !== undefined) args.push(`--rtype=${o.rtype}`);
  return nvme(args);
}

/** Logical block size of a namespace (block or generic device), from sysfs. */
async function blockSize(dev: string): Promise<number> {
  const name = basename(dev).replace(/^ng(\d+n\d+)$/, 'nvme$1');
  const n = Number((await readFile(`/sys/block/${name}/queue/logical_block_size`, 'utf8')).trim());
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${dev}: cannot read its logical block size`);
  return n;
}

/**
 * Writes one block of zeros at `lba` through `nvme write` (an NVMe Write the
 * target checks against the reservation). `'ok'`, or `'reservation-conflict'`
 * when the target refused it with Reservation Conflict; throws on anything else.
 */
export async function nvmeWrite(dev: string, lba = 0): Promise<'ok' | 'reservation-conflict'> {
  const size = await blockSize(dev);
  const r = await nvme(['write', dev, `--start-block=${lba}`, '--block-count=0', `--data-size=${size}`, '--data=/dev/zero']);
  if (r.status === 0) return 'ok';
  if (isReservationConflict(r)) return 'reservation-conflict';
  throw new Error(`nvme write ${dev}: exit ${r.status}: ${r.stderr}${r.stdout}`);
}

/** Key wipeNamespace registers (then clears) with. */
export const WIPE_KEY = 0x5749_5045_0000_0001n;

/**
 * Removes every registration and the reservation of the namespace through
 * `dev` (a device of any node, usually node 1), whatever state a failed run
 * left: the node registers {@link WIPE_KEY} (Replace with IEKEY when it is
 * already registered with another key, Register when it is not), then Release
 * with the Clear action. Throws unless the report afterwards is empty.
 */
export async function wipeNamespace(dev: string): Promise<void> {
  let reg = await nvmeRegister(dev, { nrkey: WIPE_KEY, rrega: 2, iekey: true });
  if (reg.status !== 0) reg = await nvmeRegister(dev, { nrkey: WIPE_KEY, rrega: 0 });
  if (reg.status !== 0) throw new Error(`wipe ${dev}: cannot register: ${reg.stderr}${reg.stdout}`);
  const clear = await nvmeRelease(dev, { crkey: WIPE_KEY, rrela: 1 });
  if (clear.status !== 0) throw new Error(`wipe ${dev}: clear failed: ${clear.stderr}${clear.stdout}`);
  const after = await nvmeReport(dev);
  if (after.rtype !== 0 || after.registrants.length !== 0) {
    throw new Error(`wipe ${dev}: the namespace still has registrations or a reservation: ${JSON.stringify(after, (_, v: unknown) => (typeof v === 'bigint' ? hex(v) : v))}`);
  }
}
