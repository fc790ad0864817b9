/**
 * The bad-input table of the core library, on the real kernel: every wrong call
 * must reject (never throw synchronously, never hang, never crash the process)
 * with the exact error class, its string `code` and a message that names the
 * offending option or path and says why — and must send NOTHING to the device.
 *
 * "Nothing sent" is checked two ways around every row:
 *  - the SCSI midlayer's per-device command counter (`iorequest_cnt` in sysfs) of
 *    every LUN 7 / LUN 8 device of every node and path (except the observer's)
 *    is unchanged;
 *  - a separate observer Device (node 2, LUN 7) reads the PR generation and key
 *    list before and after: both unchanged.
 * While the table runs, node 1 holds a Write Exclusive, Registrants Only
 * reservation on LUN 7 and node 2 is registered, so a bad PR OUT that slipped
 * through would change the generation.
 *
 * This file owns LUNs 7 and 8 only, and leaves them clean: no registrations,
 * no partition table, sd driver re-bound, loop/dm devices removed.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as pr from '../../lib';
import { labMap, dev, run, sgPersistKeys, SG_EXIT, type LabDevice, type LabMap } from './lab-env';

const LUN = 7; // the table's LUN (bad calls aim here)
const LUN_POS = 8; // positive resolution tests; also the sg-without-block-node fixture
const KEY1 = 0xbad1n; // node 1's registration + reservation holder on LUN 7
const KEY2 = 0xbad2n; // node 2's registration on LUN 7
const CLEANUP_KEY = '0xc1ea';
/** A call that has not settled after this long is reported as hung (no timing is asserted). */
const SETTLE_GUARD_MS = 10_000;
const ROOT = join(__dirname, '..', '..');
const DIST = join(ROOT, 'dist', 'index.js');

const T = pr.ArgumentTypeError;
const R = pr.ArgumentRangeError;
type ErrorClass = abstract new (...args: never[]) => Error;

/** Fixtures shared by the rows. */
interface Ctx {
  /** A fresh Device on node 1's LUN 7 sg node, opened for this row only. */
  d: pr.Device;
  map: LabMap;
  sg7: string;
  sd7: string;
  /** /dev/sdX1 on LUN 7 (an MBR written by beforeAll). */
  part7: string;
  /** sg node (node 3, LUN 8, path 1) whose sd driver was unbound: no block node. */
  sgNoBlock: string;
  loop: string;
  dm: string;
  scratch: string;
  /** A valid iSCSI TransportID (node 2's initiator port on LUN 7). */
  tid: pr.TransportId;
  /** An already-aborted signal. */
  aborted: AbortSignal;
}

interface Row {
  name: string;
  call: (c: Ctx) => unknown;
  cls: ErrorClass;
  code: string;
  /** Every pattern must match the message. */
  msg: (c: Ctx) => RegExp[];
  /** For device-level errors: the `path` property the error must carry. */
  path?: (c: Ctx) => string;
  /** Further checks on the error. */
  extra?: (e: Record<string, unknown>, c: Ctx) => void;
}

/** RegExp matching `s` literally. */
const lit = (s: string) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
const bad = <V>(v: unknown) => v as V;

function scratchPath(c: Ctx, name: string): string {
  return join(c.scratch, name);
}

// ---------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------

const KEY_ROWS: Row[] = [
  { name: 'key: 17 hex digits', call: (c) => c.d.register({ newKey: '12345678901234567' }), cls: R, code: 'ERR_INVALID_KEY', msg: () => [/^register: newKey "12345678901234567" is not a hex string of 1–16 digits/] },
  { name: "key: 'abc xyz' (sg_persist reads 0xabc)", call: (c) => c.d.register({ key: 'abc xyz', newKey: KEY1 }), cls: R, code: 'ERR_INVALID_KEY', msg: () => [/^register: key "abc xyz" is not a hex string/] },
  { name: "key: '-1'", call: (c) => c.d.reserve({ key: '-1', type: 'we-ro' }), cls: R, code: 'ERR_INVALID_KEY', msg: () => [/^reserve: key "-1" is not a hex string/] },
  { name: 'key: -1n', call: (c) => c.d.register({ newKey: -1n }), cls: R, code: 'ERR_INVALID_KEY', msg: () => [/^register: newKey -1n is out of range; expected a bigint 0–2\^64-1/] },
  { name: 'key: 2n**64n', call: (c) => c.d.preempt({ key: KEY1, preemptKey: 2n ** 64n, type: 'we-ro' }), cls: R, code: 'ERR_INVALID_KEY', msg: () => [/^preempt: preemptKey 18446744073709551616n is out of range/] },
  { name: "key: ''", call: (c) => c.d.register({ newKey: '' }), cls: R, code: 'ERR_INVALID_KEY', msg: () => [/^register: newKey "" is not a hex string/] },
  { name: "key: '0x'", call: (c) => c.d.clear({ key: '0x' }), cls: R, code: 'ERR_INVALID_KEY', msg: () => [/^clear: key "0x" is not a hex string/] },
  { name: 'key: 1.5', call: (c) => c.d.register({ newKey: 1.5 }), cls: R, code: 'ERR_INVALID_KEY', msg: () => [/^register: newKey 1\.5 is not a safe non-negative integer/] },
  { name: 'key: NaN', call: (c) => c.d.preemptAndAbort({ key: KEY1, preemptKey: NaN, type: 'we-ro' }), cls: R, code: 'ERR_INVALID_KEY', msg: () => [/^preemptAndAbort: preemptKey NaN is not a safe non-negative integer/] },
  { name: 'key: 2**53 (unsafe number)', call: (c) => c.d.register({ newKey: 2 ** 53 }), cls: R, code: 'ERR_INVALID_KEY', msg: () => [/^register: newKey 9007199254740992 is not a safe non-negative integer; pass a bigint or hex string/] },
  { name: 'key: 7-byte Buffer', call: (c) => c.d.registerAndIgnoreExistingKey({ newKey: Buffer.alloc(7) }), cls: R, code: 'ERR_INVALID_KEY', msg: () => [/^registerAndIgnoreExistingKey: newKey buffer has 7 bytes; expected exactly 8/] },
  { name: 'key: an object', call: (c) => c.d.register({ newKey: bad({}) }), cls: T, code: 'ERR_INVALID_KEY', msg: () => [/^register: newKey must be a bigint, hex string, safe integer or 8-byte Buffer; received an object$/] },
  { name: 'key: null', call: (c) => c.d.release({ key: bad(null), type: 'we-ro' }), cls: T, code: 'ERR_INVALID_KEY', msg: () => [/^release: key must be a bigint, .*; received null$/] },
  { name: 'key: a boolean', call: (c) => c.d.replaceLostReservation({ newKey: bad(true), type: 'we' }), cls: T, code: 'ERR_INVALID_KEY', msg: () => [/^replaceLostReservation: newKey must be a bigint, .*; received type boolean$/] },
];

const TYPE_ROWS: Row[] = [
  { name: 'type: 0 (obsolete)', call: (c) => c.d.reserve({ key: KEY1, type: 0 }), cls: R, code: 'ERR_INVALID_RESERVATION_TYPE', msg: () => [/^reserve: type 0 is not a reservation type; expected 1, 3, 5, 6, 7, 8 or one of write-exclusive/] },
  { name: 'type: 2 (obsolete)', call: (c) => c.d.release({ key: KEY1, type: 2 }), cls: R, code: 'ERR_INVALID_RESERVATION_TYPE', msg: () => [/^release: type 2 is not a reservation type; expected 1, 3, 5/] },
  { name: 'type: 4 (obsolete)', call: (c) => c.d.preempt({ key: KEY1, preemptKey: KEY2, type: 4 }), cls: R, code: 'ERR_INVALID_RESERVATION_TYPE', msg: () => [/^preempt: type 4 is not a reservation type; expected 1, 3, 5/] },
  { name: 'type: 9 (reserved)', call: (c) => c.d.preemptAndAbort({ key: KEY1, preemptKey: KEY2, type: 9 }), cls: R, code: 'ERR_INVALID_RESERVATION_TYPE', msg: () => [/^preemptAndAbort: type 9 is not a reservation type; expected 1, 3, 5/] },
  { name: "type: 'write-exclusive-everyone'", call: (c) => c.d.reserve({ key: KEY1, type: 'write-exclusive-everyone' }), cls: R, code: 'ERR_INVALID_RESERVATION_TYPE', msg: () => [/^reserve: type "write-exclusive-everyone" is not a reservation type; expected .*write-exclusive-all-registrants/] },
  { name: 'type: null', call: (c) => c.d.reserve({ key: KEY1, type: bad(null) }), cls: T, code: 'ERR_INVALID_RESERVATION_TYPE', msg: () => [/^reserve: type must be a number or string; received null\. expected 1, 3, 5/] },
  { name: 'type: 2 on registerAndMove', call: (c) => c.d.registerAndMove({ key: KEY1, newKey: KEY2, transportId: c.tid, relativeTargetPortId: 1, type: 2 }), cls: R, code: 'ERR_INVALID_RESERVATION_TYPE', msg: () => [/^registerAndMove: type 2 is not a reservation type/] },
];

const OPTION_ROWS: Row[] = [
  { name: 'option: type with clear', call: (c) => c.d.clear(bad({ key: KEY1, type: 'we-ro' })), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^clear: option "type" does not apply to CLEAR; accepted options: key$/] },
  { name: 'option: transportIds with registerAndIgnoreExistingKey', call: (c) => c.d.registerAndIgnoreExistingKey(bad({ newKey: KEY1, transportIds: [c.tid] })), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^registerAndIgnoreExistingKey: option "transportIds" does not apply to REGISTER AND IGNORE EXISTING KEY; accepted options: newKey, aptpl, allTargetPorts$/] },
  { name: 'option: two TransportIDs for registerAndMove (array)', call: (c) => c.d.registerAndMove({ key: KEY1, newKey: KEY2, transportId: bad([c.tid, c.tid]), relativeTargetPortId: 1 }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^registerAndMove: option transportId must be exactly one TransportID, not an array$/] },
  { name: 'option: transportIds (plural) for registerAndMove', call: (c) => c.d.registerAndMove(bad({ key: KEY1, newKey: KEY2, transportIds: [c.tid, c.tid], relativeTargetPortId: 1 })), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^registerAndMove: option "transportIds" does not apply to REGISTER AND MOVE; accepted options: key, newKey, transportId,/] },
  { name: "option: aptpl: 'yes'", call: (c) => c.d.register({ newKey: KEY1, aptpl: bad('yes') }), cls: T, code: 'ERR_INVALID_OPTION', msg: () => [/^register: option aptpl must be a boolean; received string$/] },
  { name: 'option: allTargetPorts: 1', call: (c) => c.d.registerAndIgnoreExistingKey({ newKey: KEY1, allTargetPorts: bad(1) }), cls: T, code: 'ERR_INVALID_OPTION', msg: () => [/^registerAndIgnoreExistingKey: option allTargetPorts must be a boolean; received number$/] },
  { name: 'option: {newkey: 1} (typo)', call: (c) => c.d.register(bad({ newkey: 1 })), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^register: option "newkey" is not an option of REGISTER; accepted options: key, newKey, aptpl, allTargetPorts, transportIds$/] },
  { name: 'option: key with replaceLostReservation', call: (c) => c.d.replaceLostReservation(bad({ key: KEY1, newKey: KEY1, type: 'we' })), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^replaceLostReservation: option "key" does not apply to REPLACE LOST RESERVATION; accepted options: newKey, type$/] },
  { name: 'option: relativeTargetPortId: 70000', call: (c) => c.d.registerAndMove({ key: KEY1, newKey: KEY2, transportId: c.tid, relativeTargetPortId: 70000 }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^registerAndMove: option relativeTargetPortId 70000 is out of range; expected an integer 0–65535$/] },
  { name: 'option: registerAndMove newKey 0', call: (c) => c.d.registerAndMove({ key: KEY1, newKey: 0, transportId: c.tid, relativeTargetPortId: 1 }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^registerAndMove: option newKey must not be 0/] },
  { name: 'option: missing newKey', call: (c) => c.d.register(bad({ key: KEY1 })), cls: T, code: 'ERR_INVALID_OPTION', msg: () => [/^register: option newKey is required$/] },
  { name: 'option: missing type', call: (c) => c.d.reserve(bad({ key: KEY1 })), cls: T, code: 'ERR_INVALID_OPTION', msg: () => [/^reserve: option type is required$/] },
  { name: 'option: options null', call: (c) => c.d.register(bad(null)), cls: T, code: 'ERR_INVALID_OPTION', msg: () => [/^register: options must be an object$/] },
  { name: 'option: empty transportIds', call: (c) => c.d.register({ newKey: KEY1, transportIds: [] }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^register: option transportIds is empty; omit it or give at least one TransportID$/] },
  { name: 'option: transportIds not an array', call: (c) => c.d.register({ newKey: KEY1, transportIds: bad(c.tid) }), cls: T, code: 'ERR_INVALID_OPTION', msg: () => [/^register: option transportIds must be an array of TransportIDs$/] },
  {
    name: 'option: malformed iSCSI TransportID buffer (length 44, 24 bytes present)',
    call: (c) => c.d.register({ newKey: KEY1, transportIds: [Buffer.from([0x05, 0, 0, 40, ...Buffer.from('iqn.x\0\0\0'), ...Buffer.alloc(12)])] }),
    cls: R, code: 'ERR_INVALID_TRANSPORT_ID',
    msg: () => [/^register: transportIds\[0\]: TransportID buffer is not a valid TransportID: iSCSI TransportID at offset 0 claims 44 bytes but only 24 are present$/],
  },
  { name: 'option: iSCSI TransportID name with a space', call: (c) => c.d.register({ newKey: KEY1, transportIds: [{ protocol: 'iscsi', name: 'iqn.2024-01.lab node2' }] }), cls: R, code: 'ERR_INVALID_TRANSPORT_ID', msg: () => [/^register: transportIds\[0\]: iscsi TransportID name "iqn\.2024-01\.lab node2" contains whitespace, a control character or a comma$/] },
  { name: 'option: iSCSI TransportID isid with 0x', call: (c) => c.d.registerAndMove({ key: KEY1, newKey: KEY2, relativeTargetPortId: 1, transportId: { protocol: 'iscsi', name: 'iqn.2024-01.lab:n2', isid: '0x23d000000' } }), cls: R, code: 'ERR_INVALID_TRANSPORT_ID', msg: () => [/^registerAndMove: transportId: iscsi TransportID isid "0x23d000000" is not 1–12 hex digits \(without 0x\)$/] },
  // protocol 'nvme' is a TransportId of the type (NVMe hosts in an NvmeDevice's report) but has no SCSI encoding.
  { name: "option: TransportID protocol 'nvme' on a SCSI device", call: (c) => c.d.register({ newKey: KEY1, transportIds: [bad({ protocol: 'nvme', nqn: 'x' })] }), cls: R, code: 'ERR_INVALID_TRANSPORT_ID', msg: () => [/^register: transportIds\[0\]: an NVMe host \(protocol nvme\) is not a SCSI TransportID and has no encoding$/] },
  { name: 'option: TransportID protocol fc', call: (c) => c.d.register({ newKey: KEY1, transportIds: [bad({ protocol: 'fc', wwpn: 'x' })] }), cls: R, code: 'ERR_INVALID_TRANSPORT_ID', msg: () => [/^register: transportIds\[0\]: TransportID protocol "fc" is not one of /] },
  { name: 'option: timeoutMs: 0', call: (c) => c.d.register({ newKey: KEY1, timeoutMs: 0 }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^register: timeoutMs must be an integer from 1 to 3600000 ms, got 0$/] },
  { name: 'option: timeoutMs: -5', call: (c) => c.d.readKeys({ timeoutMs: -5 }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^readKeys: timeoutMs must be an integer from 1 to 3600000 ms, got -5$/] },
  { name: 'option: timeoutMs: 1.5', call: (c) => c.d.preemptAndAbort({ key: KEY1, preemptKey: KEY2, type: 'we-ro', timeoutMs: 1.5 }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^preemptAndAbort: timeoutMs must be an integer from 1 to 3600000 ms, got 1\.5$/] },
  // A string is the wrong TYPE (invalid-argument.ts: TypeError = wrong type).
  { name: "option: timeoutMs: '100' (a string)", call: (c) => c.d.register({ newKey: KEY1, timeoutMs: bad('100') }), cls: T, code: 'ERR_INVALID_OPTION', msg: () => [/^register: timeoutMs must be a number of milliseconds, got "100" \(string\)$/] },
  { name: 'option: signal: {}', call: (c) => c.d.reserve({ key: KEY1, type: 'we-ro', signal: bad({}) }), cls: T, code: 'ERR_INVALID_OPTION', msg: () => [/^reserve: signal must be an AbortSignal$/] },
  // PR IN calls refuse unknown option names too: a typo must not silently keep the 30 s default.
  { name: 'option: readKeys({timeoutMS}) (typo)', call: (c) => c.d.readKeys(bad({ timeoutMS: 1000 })), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^readKeys: /, /"timeoutMS"/] },
];

const OPEN_ROWS: Row[] = [
  { name: 'open: unknown option', call: (c) => pr.open(c.sg7, bad({ bogus: true })), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^open: unknown option "bogus" \(allowed: timeoutMs, retries, interface\)$/] },
  { name: "open: interface: 'scsi'", call: (c) => pr.open(c.sg7, { interface: bad('scsi') }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^open: interface must be 'auto', 'sg', 'block' or 'block-pr', got "scsi"$/] },
  { name: 'open: interface: 1', call: (c) => pr.open(c.sg7, { interface: bad(1) }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^open: interface must be 'auto', 'sg', 'block' or 'block-pr', got 1$/] },
  { name: 'open: retries.unitAttention: -1', call: (c) => pr.open(c.sg7, { retries: { unitAttention: -1 } }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^open: retries\.unitAttention must be an integer 0\.\.1000, got -1$/] },
  { name: 'open: retries: {attempts: 3} (unknown)', call: (c) => pr.open(c.sg7, { retries: bad({ attempts: 3 }) }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^open: unknown retries option "attempts" \(allowed: unitAttention, busy, busyBackoffMs\)$/] },
  { name: 'open: retries: 5', call: (c) => pr.open(c.sg7, { retries: bad(5) }), cls: T, code: 'ERR_INVALID_OPTION', msg: () => [/^open: retries must be an object$/] },
  { name: "open: retries.busy: '3' (a string)", call: (c) => pr.open(c.sg7, { retries: { busy: bad('3') } }), cls: T, code: 'ERR_INVALID_OPTION', msg: () => [/^open: retries\.busy must be a number, got "3" \(string\)$/] },
  { name: 'open: timeoutMs: 0', call: (c) => pr.open(c.sg7, { timeoutMs: 0 }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^open: timeoutMs must be an integer from 1 to 3600000 ms, got 0$/] },
  { name: 'open: options null', call: (c) => pr.open(c.sg7, bad(null)), cls: T, code: 'ERR_INVALID_OPTION', msg: () => [/^open: options must be an object$/] },
  { name: 'open: one-shot readKeys with open.interface: nvme', call: (c) => pr.readKeys(c.sg7, { open: { interface: bad('nvme') } }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^open: interface must be 'auto', 'sg', 'block' or 'block-pr', got "nvme"$/] },
  {
    name: "open: interface: 'block' on an sg node without a block device",
    call: (c) => pr.open(c.sgNoBlock, { interface: 'block' }),
    cls: pr.DeviceError, code: 'ERR_NOT_A_DEVICE',
    msg: (c) => [new RegExp(`^${lit(c.sgNoBlock).source} has no block device`), /interface: 'block'/],
    path: (c) => c.sgNoBlock,
  },
];

const PATH_ROWS: Row[] = [
  { name: 'path: /dev/null (char device, not sg)', call: () => pr.open('/dev/null'), cls: pr.DeviceError, code: 'ERR_NOT_SCSI', msg: () => [/^\/dev\/null is character device 1:3, not a SCSI generic \(sg\) device$/], path: () => '/dev/null' },
  { name: 'path: /dev (a directory)', call: () => pr.open('/dev'), cls: pr.DeviceError, code: 'ERR_NOT_A_DEVICE', msg: () => [/^\/dev is a directory, not a SCSI device$/], path: () => '/dev' },
  { name: 'path: /etc/hostname (a regular file)', call: () => pr.open('/etc/hostname'), cls: pr.DeviceError, code: 'ERR_NOT_A_DEVICE', msg: () => [/^\/etc\/hostname is a regular file, not a SCSI device$/], path: () => '/etc/hostname' },
  { name: 'path: /dev/sdzz (missing)', call: () => pr.open('/dev/sdzz'), cls: pr.DeviceError, code: 'ERR_DEVICE_NOT_FOUND', msg: () => [/^\/dev\/sdzz: no such device$/], path: () => '/dev/sdzz' },
  { name: "path: ''", call: () => pr.open(''), cls: T, code: 'ERR_INVALID_PATH', msg: () => [/^device path must be a non-empty string, got an empty string$/] },
  { name: 'path: a number', call: () => pr.open(bad(42)), cls: T, code: 'ERR_INVALID_PATH', msg: () => [/^device path must be a non-empty string, got number$/] },
  { name: 'path: undefined', call: () => pr.open(bad(undefined)), cls: T, code: 'ERR_INVALID_PATH', msg: () => [/^device path must be a non-empty string, got undefined$/] },
  // The hint names the whole disk, found from the partition's canonical sysfs directory
  // (transport/device-path.ts), not from the /sys/dev/block/M:m link.
  {
    name: 'path: a partition (/dev/sdX1)',
    call: (c) => pr.open(c.part7),
    cls: pr.DeviceError, code: 'ERR_PARTITION',
    msg: (c) => [new RegExp(`^${lit(c.part7).source} is a partition; persistent reservations apply to the whole logical unit: use ${lit(c.sd7).source}$`)],
    path: (c) => c.part7,
  },
  {
    name: 'path: a symlink to a partition',
    call: (c) => pr.open(scratchPath(c, 'part-link')),
    cls: pr.DeviceError, code: 'ERR_PARTITION',
    msg: (c) => [lit(`${scratchPath(c, 'part-link')} (-> ${c.part7}) is a partition`), new RegExp(`use ${lit(c.sd7).source}$`)],
    path: (c) => scratchPath(c, 'part-link'),
  },
  {
    name: 'path: one-shot register on a partition',
    call: (c) => pr.register(c.part7, { newKey: KEY1 }),
    cls: pr.DeviceError, code: 'ERR_PARTITION',
    msg: (c) => [lit(`${c.part7} is a partition`)],
    path: (c) => c.part7,
  },
  {
    name: 'path: a symlink to a directory',
    call: (c) => pr.open(scratchPath(c, 'dir-link')),
    cls: pr.DeviceError, code: 'ERR_NOT_A_DEVICE',
    msg: (c) => [new RegExp(`^${lit(`${scratchPath(c, 'dir-link')} (-> /dev) is a directory, not a SCSI device`).source}$`)],
    path: (c) => scratchPath(c, 'dir-link'),
  },
  {
    name: 'path: a dangling symlink',
    call: (c) => pr.open(scratchPath(c, 'dangling-link')),
    cls: pr.DeviceError, code: 'ERR_DEVICE_NOT_FOUND',
    msg: (c) => [new RegExp(`^${lit(scratchPath(c, 'dangling-link')).source}: is a symbolic link to /dev/sdzz-gone, which does not exist$`)],
    path: (c) => scratchPath(c, 'dangling-link'),
  },
  {
    name: 'path: a loop device',
    call: (c) => pr.open(c.loop),
    cls: pr.DeviceError, code: 'ERR_NOT_SCSI',
    msg: (c) => [new RegExp(`^${lit(`${c.loop} is block device ${basename(c.loop)}, not a SCSI disk`).source}$`)],
    path: (c) => c.loop,
  },
  {
    name: "path: a device-mapper device (via a /dev/mapper-style link) with interface 'sg'",
    call: (c) => pr.open(scratchPath(c, 'mapper-link'), { interface: 'sg' }),
    cls: pr.DeviceError, code: 'ERR_NOT_SCSI',
    msg: (c) => [lit(`${scratchPath(c, 'mapper-link')} (-> ${c.dm}) is block device ${basename(c.dm)}, not a SCSI disk (a device-mapper map: open it with interface 'auto' or 'block-pr' for the block PR API, or use its paths)`)],
    path: (c) => scratchPath(c, 'mapper-link'),
  },
  {
    // The map opens (a BlockPrDevice); this kernel (UML 6.1) has no IOC_PR_READ_KEYS: refused before any I/O.
    name: 'path: one-shot readKeys on a device-mapper map, kernel before 6.19',
    call: (c) => pr.readKeys(scratchPath(c, 'mapper-link')),
    cls: pr.KernelFeatureError, code: 'ERR_KERNEL_TOO_OLD',
    msg: (c) => [new RegExp(`^${lit(scratchPath(c, 'mapper-link')).source}: IOC_PR_READ_KEYS needs Linux 6\\.19 or later \\(IOC_PR_READ_KEYS\\); this kernel is 6\\.1\\.`)],
    path: (c) => scratchPath(c, 'mapper-link'),
  },
  {
    // A map over a loop device: the kernel refuses PR for want of pr_ops below the map (EOPNOTSUPP).
    name: 'path: one-shot register on a device-mapper map over a loop device',
    call: (c) => pr.register(scratchPath(c, 'mapper-link'), { newKey: KEY1 }),
    cls: pr.SyscallError, code: 'ENOTSUP',
    msg: (c) => [new RegExp(`^${lit(scratchPath(c, 'mapper-link')).source}: IOC_PR_REGISTER: `)],
    path: (c) => scratchPath(c, 'mapper-link'),
  },
  { name: 'path: one-shot register on /dev/null', call: () => pr.register('/dev/null', { newKey: KEY1 }), cls: pr.DeviceError, code: 'ERR_NOT_SCSI', msg: () => [/^\/dev\/null is character device/], path: () => '/dev/null' },
];

const closed = async (c: Ctx) => {
  await c.d.close();
  return c.d;
};
const CLOSED_ROWS: Row[] = [
  { name: 'closed: readKeys', call: async (c) => (await closed(c)).readKeys(), cls: pr.DeviceClosedError, code: 'ERR_DEVICE_CLOSED', msg: (c) => [new RegExp(`^${lit(c.sg7).source}: device is closed$`)], path: (c) => c.sg7 },
  { name: 'closed: register', call: async (c) => (await closed(c)).register({ newKey: KEY1 }), cls: pr.DeviceClosedError, code: 'ERR_DEVICE_CLOSED', msg: (c) => [new RegExp(`^${lit(c.sg7).source}: device is closed$`)], path: (c) => c.sg7 },
  { name: 'closed: preemptAndAbort', call: async (c) => (await closed(c)).preemptAndAbort({ key: KEY1, preemptKey: KEY2, type: 'we-ro' }), cls: pr.DeviceClosedError, code: 'ERR_DEVICE_CLOSED', msg: (c) => [lit(`${c.sg7}: device is closed`)], path: (c) => c.sg7 },
  { name: 'closed: registerAndMove (type read first)', call: async (c) => (await closed(c)).registerAndMove({ key: KEY1, newKey: KEY2, transportId: c.tid, relativeTargetPortId: 1 }), cls: pr.DeviceClosedError, code: 'ERR_DEVICE_CLOSED', msg: (c) => [lit(`${c.sg7}: device is closed`)], path: (c) => c.sg7 },
  { name: 'closed: inquiry', call: async (c) => (await closed(c)).inquiry(), cls: pr.DeviceClosedError, code: 'ERR_DEVICE_CLOSED', msg: (c) => [lit(`${c.sg7}: device is closed`)], path: (c) => c.sg7 },
  { name: 'closed: one-shot readKeys on a closed Device', call: async (c) => pr.readKeys(await closed(c)), cls: pr.DeviceClosedError, code: 'ERR_DEVICE_CLOSED', msg: (c) => [lit(`${c.sg7}: device is closed`)], path: (c) => c.sg7 },
];

const causeIsReason = (e: Record<string, unknown>, c: Ctx) => expect.soft(e.cause, 'cause is the signal reason').toBe(c.aborted.reason);
const ABORT_ROWS: Row[] = [
  { name: 'aborted: readKeys', call: (c) => c.d.readKeys({ signal: c.aborted }), cls: pr.AbortError, code: 'ABORT_ERR', msg: (c) => [new RegExp(`^${lit(c.sg7).source}: aborted before submission$`)], path: (c) => c.sg7, extra: causeIsReason },
  { name: 'aborted: registerAndIgnoreExistingKey (would change the generation)', call: (c) => c.d.registerAndIgnoreExistingKey({ newKey: 0xbad9n, signal: c.aborted }), cls: pr.AbortError, code: 'ABORT_ERR', msg: (c) => [lit(`${c.sg7}: aborted before submission`)], path: (c) => c.sg7, extra: causeIsReason },
  { name: 'aborted: preemptAndAbort', call: (c) => c.d.preemptAndAbort({ key: KEY1, preemptKey: KEY2, type: 'we-ro', signal: c.aborted }), cls: pr.AbortError, code: 'ABORT_ERR', msg: (c) => [lit(`${c.sg7}: aborted before submission`)], path: (c) => c.sg7 },
  { name: 'aborted: registerAndMove (type read first)', call: (c) => c.d.registerAndMove({ key: KEY1, newKey: KEY2, transportId: c.tid, relativeTargetPortId: 1, signal: c.aborted }), cls: pr.AbortError, code: 'ABORT_ERR', msg: (c) => [lit(`${c.sg7}: aborted before submission`)], path: (c) => c.sg7 },
  { name: 'aborted: one-shot readKeys on a path', call: (c) => pr.readKeys(c.sg7, { signal: c.aborted }), cls: pr.AbortError, code: 'ABORT_ERR', msg: (c) => [lit(`${c.sg7}: aborted before submission`)], path: (c) => c.sg7 },
  {
    name: "aborted: readKeys through interface: 'block' (SG_IO ioctl)",
    call: async (c) => {
      const b = await pr.open(c.sd7, { interface: 'block' });
      try {
        return await b.readKeys({ signal: c.aborted });
      } finally {
        await b.close();
      }
    },
    cls: pr.AbortError, code: 'ABORT_ERR', msg: (c) => [new RegExp(`^${lit(c.sd7).source}: aborted before submission$`)], path: (c) => c.sd7,
  },
];

const TUR = Buffer.alloc(6); // TEST UNIT READY
const LOW_LEVEL_ROWS: Row[] = [
  // Device.execute checks its request before the transport sees it (device-options.ts): a short
  // CDB, an unknown direction and a negative allocationLength are argument errors, nothing is sent.
  { name: 'execute: 3-byte cdb', call: (c) => c.d.execute({ cdb: Buffer.alloc(3), direction: 'none' }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^execute: /, /cdb/] },
  { name: "execute: direction 'sideways'", call: (c) => c.d.execute({ cdb: TUR, direction: bad('sideways') }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^execute: /, /direction/] },
  { name: 'execute: allocationLength -1', call: (c) => c.d.execute({ cdb: Buffer.from([0x12, 0, 0, 0, 96, 0]), direction: 'in', allocationLength: -1 }), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^execute: /, /allocationLength/] },
  // The LBA and data are checked before READ CAPACITY is sent; a non-Buffer `data` is a wrong
  // type (ArgumentTypeError), not a range error.
  { name: 'readBlocks: lba -1', call: (c) => c.d.readBlocks(-1), cls: R, code: 'ERR_INVALID_OPTION', msg: () => [/^readBlocks: lba must be an integer from 0 to 4294967295, got -1$/] },
  { name: "writeBlocks: data 'zz' (not a Buffer)", call: (c) => c.d.writeBlocks(0, bad('zz')), cls: T, code: 'ERR_INVALID_OPTION', msg: () => [/^writeBlocks: data must be/] },
];

const ROWS: Row[] = [...KEY_ROWS, ...TYPE_ROWS, ...OPTION_ROWS, ...OPEN_ROWS, ...PATH_ROWS, ...CLOSED_ROWS, ...ABORT_ROWS, ...LOW_LEVEL_ROWS];

// ---------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------

type Outcome =
  | { kind: 'sync-throw'; error: unknown }
  | { kind: 'not-a-promise'; value: unknown }
  | { kind: 'rejected'; error: unknown }
  | { kind: 'resolved'; value: unknown }
  | { kind: 'hung' };

/** Run `fn`, classify how it settled. A call that never settles is reported, not awaited forever. */
async function settle(fn: () => unknown): Promise<Outcome> {
  let p: unknown;
  try {
    p = fn();
  } catch (error) {
    return { kind: 'sync-throw', error };
  }
  if (!(p instanceof Promise)) return { kind: 'not-a-promise', value: p };
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'hung' }), SETTLE_GUARD_MS);
  });
  try {
    return await Promise.race([
      p.then(
        (value): Outcome => ({ kind: 'resolved', value }),
        (error): Outcome => ({ kind: 'rejected', error }),
      ),
      guard,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function describeOutcome(o: Outcome): string {
  switch (o.kind) {
    case 'sync-throw':
      return `threw synchronously instead of returning a rejected promise: ${String(o.error)}`;
    case 'not-a-promise':
      return `returned a non-promise: ${String(o.value)}`;
    case 'resolved':
      return `resolved instead of rejecting: ${JSON.stringify(pr.toJSONSafe(o.value)).slice(0, 300)}`;
    case 'hung':
      return `did not settle within ${SETTLE_GUARD_MS} ms`;
    case 'rejected': {
      const e = o.error as Record<string, unknown> | undefined;
      return `rejected with ${(e?.constructor as { name?: string } | undefined)?.name} code=${String(e?.code)}: ${String(e?.message)}`;
    }
  }
}

/** `iorequest_cnt` (commands dispatched by the SCSI midlayer) of each SCSI device. */
function commandCounts(hctls: string[]): Record<string, number> {
  return Object.fromEntries(hctls.map((h) => [h, parseInt(readFileSync(`/sys/bus/scsi/devices/${h}/iorequest_cnt`, 'utf8').trim(), 16)]));
}

/** sg_persist with UNIT ATTENTIONs retried (sg_persist itself does not). */
async function sgPersist(sg: string, ...args: string[]): Promise<void> {
  let r = await run('sg_persist', ['-n', ...args, sg]);
  for (let i = 0; i < 4 && r.status === SG_EXIT.UNIT_ATTENTION; i++) r = await run('sg_persist', ['-n', ...args, sg]);
  if (r.status !== 0) throw new Error(`sg_persist ${args.join(' ')} ${sg}: exit ${r.status}: ${r.stderr}`);
}

async function sgPersistKeysRetry(sg: string): Promise<string[]> {
  for (let i = 0; ; i++) {
    try {
      return await sgPersistKeys(sg);
    } catch (e) {
      if (i >= 3) throw e;
    }
  }
}

async function sh(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Write `sector` (512 bytes) at LBA 0 of a block device, then make the kernel re-read the partition table. */
async function writeSector0(sd: string, sector: Buffer): Promise<void> {
  const fd = openSync(sd, 'r+');
  try {
    writeSync(fd, sector, 0, 512, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  await sh('blockdev', ['--rereadpt', sd]);
}

/** An MBR with one Linux partition (LBA 2048, 4096 sectors). */
function mbrWithOnePartition(): Buffer {
  const b = Buffer.alloc(512);
  const e = 446;
  b[e + 4] = 0x83;
  b.writeUInt32LE(2048, e + 8);
  b.writeUInt32LE(4096, e + 12);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

/** Paths of the fds of this process that point at `target`. */
function fdsOpenOn(target: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === target) out.push(fd);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** Run a script with the compiled library in a child node process; returns its status and output. */
async function child(script: string, args: string[]): Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }> {
  const r = await run(process.execPath, ['-e', script, DIST, ...args]);
  return { status: r.signal ? null : r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

describe('bad input: every wrong call rejects with a typed, explained error and sends nothing', () => {
  let map: LabMap;
  let n1: LabDevice;
  let n2: LabDevice;
  let noBlock: LabDevice;
  let obs: pr.Device;
  let ctx: Omit<Ctx, 'd'>;
  let watched: string[];
  const crashes: unknown[] = [];
  const onCrash = (e: unknown) => crashes.push(e);
  const cleanups: Array<[string, () => void | Promise<void>]> = [];
  const messages: string[] = [];

  beforeAll(async () => {
    map = labMap();
    n1 = dev(map, 1, LUN);
    n2 = dev(map, 2, LUN);
    noBlock = dev(map, 3, LUN_POS, 1);
    expect(existsSync(DIST), `${DIST} missing: run \`npx tsc -p tsconfig.json\` before the lab`).toBe(true);
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);

    const scratch = join(ROOT, '.lab', `bad-input-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
    mkdirSync(scratch, { recursive: true });
    cleanups.push(['remove scratch dir', () => rmSync(scratch, { recursive: true, force: true })]);

    // LUNs 7 and 8 start clean.
    for (const l of [LUN, LUN_POS]) expect(await sgPersistKeysRetry(dev(map, 1, l).sg), `LUN ${l} must start without registrations`).toEqual([]);
    cleanups.push(['clear PR state of LUNs 7 and 8', async () => {
      for (const l of [LUN, LUN_POS]) {
        const sg = dev(map, 1, l).sg;
        await sgPersist(sg, '--out', '--register-ignore', `--param-sark=${CLEANUP_KEY}`);
        await sgPersist(sg, '--out', '--clear', `--param-rk=${CLEANUP_KEY}`);
        expect(await sgPersistKeysRetry(sg), `LUN ${l} left clean`).toEqual([]);
      }
    }]);

    // A partition on node 1's /dev/sdX of LUN 7 (no sfdisk in the lab: the MBR is written directly).
    const part7 = `${n1.sd}1`;
    cleanups.push(['wipe the partition table of LUN 7', async () => {
      await writeSector0(n1.sd, Buffer.alloc(512));
      await waitFor(`${part7} to disappear`, () => !existsSync(part7));
    }]);
    await writeSector0(n1.sd, mbrWithOnePartition());
    await waitFor(`${part7} to appear`, () => existsSync(part7));
    symlinkSync(part7, join(scratch, 'part-link'));
    symlinkSync('/dev', join(scratch, 'dir-link'));
    symlinkSync('/dev/sdzz-gone', join(scratch, 'dangling-link'));

    // A loop device, and a device-mapper device on it.
    await sh('modprobe', ['loop']);
    await sh('modprobe', ['dm-mod']);
    const img = join(scratch, 'loop.img');
    writeFileSync(img, Buffer.alloc(4 << 20));
    const loop = await sh('losetup', ['-f', '--show', img]);
    cleanups.push(['detach the loop device', async () => void (await sh('losetup', ['-d', loop]))]);
    const dmName = `scsipr-badinput-${process.pid}`;
    await sh('dmsetup', ['create', dmName, '--table', `0 8192 linear ${loop} 0`]);
    cleanups.push(['remove the dm device', async () => void (await sh('dmsetup', ['remove', dmName]))]);
    const dm = `/dev/dm-${await sh('dmsetup', ['info', '-c', '--noheadings', '-o', 'minor', dmName])}`;
    await waitFor(`${dm} to appear`, () => existsSync(dm));
    symlinkSync(dm, join(scratch, 'mapper-link'));

    // An sg node without a block node: unbind sd from node 3's LUN 8 path 1 device.
    cleanups.push(['re-bind sd to ' + noBlock.hctl, async () => {
      if (!existsSync(`/sys/bus/scsi/devices/${noBlock.hctl}/block`)) writeFileSync('/sys/bus/scsi/drivers/sd/bind', noBlock.hctl);
      await waitFor(`${noBlock.sd} to come back`, () => existsSync(noBlock.sd));
    }]);
    writeFileSync('/sys/bus/scsi/drivers/sd/unbind', noBlock.hctl);
    await waitFor(`${noBlock.sd} to go away`, () => !existsSync(noBlock.sd));

    // PR state that a leaked PR OUT would change: node 1 holds WE-RO, node 2 is registered.
    await sgPersist(n1.sg, '--out', '--register', `--param-sark=0x${KEY1.toString(16)}`);
    await sgPersist(n2.sg, '--out', '--register', `--param-sark=0x${KEY2.toString(16)}`);
    await sgPersist(n1.sg, '--out', '--reserve', `--param-rk=0x${KEY1.toString(16)}`, '--prout-type=5');

    obs = await pr.open(n2.sg);
    cleanups.push(['close the observer', () => obs.close()]);
    watched = map.devices.filter((d) => (d.lun === LUN || d.lun === LUN_POS) && !(d.node === 2 && d.lun === LUN && d.path === 0)).map((d) => d.hctl);
    expect(watched.length).toBe(map.options.nodes * map.options.paths * 2 - 1);

    const node2 = map.nodes.find((n) => n.node === 2)!;
    ctx = {
      map,
      sg7: n1.sg,
      sd7: n1.sd,
      part7,
      sgNoBlock: noBlock.sg,
      loop,
      dm,
      scratch,
      tid: { protocol: 'iscsi', name: node2.iqn, isid: n2.isid },
      aborted: AbortSignal.abort(),
    };
  });

  afterAll(async () => {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    if (messages.length) console.log(`bad-input messages (${messages.length}):\n${messages.join('\n')}`);
    const failures: string[] = [];
    for (const [what, fn] of cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        failures.push(`${what}: ${(e as Error).message}`);
      }
    }
    expect(failures, 'clean-up').toEqual([]);
  });

  it('the fixtures are what the table assumes', async () => {
    const keys = await obs.readKeys();
    expect(keys.keys).toEqual([KEY1, KEY2]);
    const res = await obs.readReservation();
    expect(res.reservation).toMatchObject({ key: KEY1, type: 5 });
    expect(existsSync(noBlock.sd)).toBe(false);
    expect(existsSync(noBlock.sg)).toBe(true);
    expect(ROWS.length).toBeGreaterThanOrEqual(45);
  });

  it("an sg node without a block device still opens with interface 'auto' and 'sg'", async () => {
    for (const iface of ['auto', 'sg'] as const) {
      const d = await pr.open(noBlock.sg, { interface: iface });
      try {
        expect(d.info).toMatchObject({ openPath: noBlock.sg, via: 'sg', transport: 'sg-async', hctl: noBlock.hctl });
        expect(d.info.blockPath).toBeUndefined();
        expect(Array.isArray((await d.readKeys()).keys)).toBe(true);
      } finally {
        await d.close();
      }
    }
  });

  it.each(ROWS)('$name', async (row) => {
    const d = await pr.open(ctx.sg7);
    const c: Ctx = { ...ctx, d };
    try {
      const beforeCounts = commandCounts(watched);
      const before = await obs.readKeys();

      const outcome = await settle(() => row.call(c));

      const afterCounts = commandCounts(watched);
      const after = await obs.readKeys();

      expect(outcome.kind, describeOutcome(outcome)).toBe('rejected');
      const e = (outcome as { error: Record<string, unknown> & Error }).error;
      messages.push(`  [${row.name}] ${(e?.constructor as { name?: string })?.name} ${String(e?.code)}: ${String(e?.message)}`);
      expect.soft((e?.constructor as { name?: string })?.name, describeOutcome(outcome)).toBe(row.cls.name);
      expect.soft(e, describeOutcome(outcome)).toBeInstanceOf(row.cls);
      expect.soft(e?.code, describeOutcome(outcome)).toBe(row.code);
      for (const re of row.msg(c)) expect.soft(String(e?.message), 'message').toMatch(re);
      if (row.path) expect.soft(e?.path, 'error.path').toBe(row.path(c));
      row.extra?.(e, c);

      expect.soft(afterCounts, 'SCSI commands dispatched to LUN 7/8 devices by the bad call').toEqual(beforeCounts);
      expect.soft(after.generation, 'PR generation of LUN 7').toBe(before.generation);
      expect.soft(after.keys, 'registered keys of LUN 7').toEqual(before.keys);
      expect.soft(crashes, 'uncaught exceptions / unhandled rejections').toEqual([]);

      // The handle is still usable after a refused call.
      if (!d.isClosed) await expect(d.testUnitReady()).resolves.toMatchObject({ unitAttentions: [] });
    } finally {
      await d.close();
    }
  });

  it('SyscallError: open(2) refused (EACCES) for a user without rw on the sg node', async () => {
    const script = `
      process.setgid(65534); process.setuid(65534);
      const pr = require(process.argv[1]);
      pr.open(process.argv[2]).then(
        (d) => { console.log(JSON.stringify({ opened: true })); return d.close(); },
        (e) => console.log(JSON.stringify({ name: e.constructor.name, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, message: e.message })));`;
    const r = await child(script, [n1.sg]);
    expect(r.status, r.stderr).toBe(0);
    const e = JSON.parse(r.stdout.trim());
    messages.push(`  [EACCES] ${e.name} ${e.code}: ${e.message}`);
    // errno is negative, as on Node's own fs errors.
    expect(e).toEqual({ name: 'SyscallError', code: 'EACCES', errno: -13, syscall: 'open', path: n1.sg, message: `EACCES: permission denied, open '${n1.sg}'` });
  });

  it("a bad CDB through interface: 'block' rejects and does not leak the fd", async () => {
    const b = await pr.open(n1.sd, { interface: 'block' });
    expect(fdsOpenOn(n1.sd)).toHaveLength(1);
    const outcome = await settle(() => b.execute({ cdb: Buffer.alloc(3), direction: 'none' }));
    expect(outcome.kind, describeOutcome(outcome)).toBe('rejected');
    await b.close();
    // Guards a fixed bug: the SG_IO transport counted the command as running before the native
    // call threw, so close() waited forever for it and never closed the fd.
    expect(fdsOpenOn(n1.sd), `fds still open on ${n1.sd} after close()`).toEqual([]);
  });

  it('a bad CDB queued behind 16 commands in flight rejects; the process does not crash', async () => {
    // 16 TEST UNIT READYs fill the sg queue; the 17th (a 3-byte CDB) waits in the library's FIFO
    // and is written from the completion callback. A timer keeps the child alive so that a call
    // that never settles shows up as "hung" instead of a silent exit.
    const script = `
      const pr = require(process.argv[1]);
      const guard = setTimeout(() => { console.log(JSON.stringify({ hung: true, settled })); process.exit(3); }, 5000);
      let settled = [];
      (async () => {
        const d = await pr.open(process.argv[2]);
        const calls = [];
        for (let i = 0; i < 16; i++) calls.push(d.execute({ cdb: Buffer.alloc(6), direction: 'none' }));
        calls.push(d.execute({ cdb: Buffer.alloc(3), direction: 'none' }));
        calls.forEach((c, i) => c.then(() => settled.push(i + ':ok'), (e) => settled.push(i + ':' + e.constructor.name)));
        const r = await Promise.allSettled(calls);
        await d.close();
        clearTimeout(guard);
        console.log(JSON.stringify({ ok: r.slice(0, 16).filter((x) => x.status === 'fulfilled').length, last: r[16].status, error: r[16].reason && String(r[16].reason) }));
      })();`;
    const r = await child(script, [dev(map, 1, LUN_POS).sg]);
    const out = r.stdout.trim();
    // Guards a fixed bug: a native RangeError thrown while writing a queued command from the
    // completion callback was dropped by the addon, and the 17th promise never settled.
    expect(out, `child exit ${r.status} ${r.signal ?? ''}: ${out} ${r.stderr.slice(0, 800)}`).not.toMatch(/"hung":true/);
    expect(r.status, `child exit ${r.status} ${r.signal ?? ''}: ${r.stderr.slice(0, 800)}`).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ ok: 16, last: 'rejected' });
  });
});

describe('paths that resolve (LUN 8)', () => {
  let map: LabMap;
  let d8: LabDevice;
  beforeAll(() => {
    map = labMap();
    d8 = dev(map, 1, LUN_POS);
  });

  it('/dev/sdX maps to its sg node (sg v3 async)', async () => {
    const d = await pr.open(d8.sd);
    try {
      expect(d.info).toMatchObject({ requested: d8.sd, resolved: d8.sd, openPath: d8.sg, via: 'sg', sgPath: d8.sg, blockPath: d8.sd, hctl: d8.hctl, transport: 'sg-async' });
      expect(d.info.sgVersion).toBeGreaterThanOrEqual(30000);
      expect((await d.readKeys()).keys).toEqual([]);
    } finally {
      await d.close();
    }
  });

  it('a /dev/disk/by-id symlink resolves to the disk and its sg node', async () => {
    const link = `/dev/disk/by-id/scsi-lab-n1-p0-${d8.serial}`;
    expect(readlinkSync(link)).toBe(`../../${basename(d8.sd)}`);
    const d = await pr.open(link);
    try {
      expect(d.path).toBe(link);
      expect(d.info).toMatchObject({ requested: link, resolved: d8.sd, openPath: d8.sg, via: 'sg', transport: 'sg-async', hctl: d8.hctl });
      const viaLink = await pr.readKeys(link);
      expect(viaLink.keys).toEqual([]);
    } finally {
      await d.close();
    }
  });

  it("interface: 'sg' on /dev/sdX gives the sg node", async () => {
    const d = await pr.open(d8.sd, { interface: 'sg' });
    try {
      expect(d.info).toMatchObject({ openPath: d8.sg, via: 'sg', transport: 'sg-async' });
    } finally {
      await d.close();
    }
  });

  it("interface: 'block' uses SG_IO on the block device; PR IN and OUT work through it (root has CAP_SYS_RAWIO)", async () => {
    const b = await pr.open(d8.sd, { interface: 'block' });
    try {
      expect(b.info).toMatchObject({ requested: d8.sd, openPath: d8.sd, via: 'block', blockPath: d8.sd, transport: 'sg-io-ioctl' });
      const before = await b.readKeys();
      expect(before.keys).toEqual([]);
      await b.register({ newKey: 0x8b1n });
      const during = await b.readKeys();
      expect(during.keys).toEqual([0x8b1n]);
      expect(during.generation).toBe(before.generation + 1);
      expect(await sgPersistKeysRetry(d8.sg)).toEqual(['0x8b1']);
      await b.register({ key: 0x8b1n, newKey: 0 });
      expect((await b.readKeys()).keys).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it("interface: 'block' given the sg path opens its block device", async () => {
    const b = await pr.open(d8.sg, { interface: 'block' });
    try {
      expect(b.info).toMatchObject({ requested: d8.sg, openPath: d8.sd, via: 'block', sgPath: d8.sg, blockPath: d8.sd, transport: 'sg-io-ioctl' });
      expect((await b.readKeys()).keys).toEqual([]);
    } finally {
      await b.close();
    }
  });
});
