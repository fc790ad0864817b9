/**
 * Option validation of `open` and of the Device methods, without a device: a
 * Device over a fake transport that records every submission. Each wrong call
 * must reject with the exact class and code and submit nothing. (The lab file
 * test/lab/bad-input.test.ts runs the full table against the real kernel.)
 */
import { describe, it, expect } from 'vitest';
import * as pr from '../../lib';
import type { RawResult } from '../../lib';
import type { ResetLevel, ScsiTransport, TransportCommand } from '../../lib/transport/scsi-transport';

class RecordingTransport implements ScsiTransport {
  readonly kind = 'sg-async' as const;
  readonly submitted: TransportCommand[] = [];
  inFlight = 0;
  closed = false;
  submit(command: TransportCommand): Promise<RawResult> {
    this.submitted.push(command);
    // GOOD, nothing transferred past what was asked; READ CAPACITY would say 512-byte blocks.
    const data = command.direction === 'in' ? command.data : null;
    if (data && command.cdb[0] === 0x25) data.writeUInt32BE(0xfff, 0), data.writeUInt32BE(512, 4);
    return Promise.resolve({ status: 0, hostStatus: 0, driverStatus: 0, sense: Buffer.alloc(0), resid: 0, durationMs: 0, data });
  }
  readonly resets: Array<[ResetLevel, boolean]> = [];
  reset(level: ResetLevel, escalate: boolean): Promise<void> {
    this.resets.push([level, escalate]);
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
  }
}

function fakeDevice(): { d: pr.Device; t: RecordingTransport } {
  const t = new RecordingTransport();
  const d = new pr.Device({ requested: '/dev/sg-fake', resolved: '/dev/sg-fake', openPath: '/dev/sg-fake', via: 'sg', sgPath: '/dev/sg-fake', transport: 'sg-async' }, t, {});
  return { d, t };
}

const T = pr.ArgumentTypeError;
const R = pr.ArgumentRangeError;
const bad = <V>(v: unknown) => v as V;
const TID: pr.TransportId = { protocol: 'iscsi', name: 'iqn.2024-01.lab:n2', isid: '23d000000001' };

type Row = [name: string, call: (d: pr.Device) => Promise<unknown>, cls: typeof T | typeof R, code: string, msg: RegExp];

const ROWS: Row[] = [
  ['key 17 hex digits', (d) => d.register({ newKey: '12345678901234567' }), R, 'ERR_INVALID_KEY', /^register: newKey "12345678901234567"/],
  ["key 'abc xyz'", (d) => d.reserve({ key: 'abc xyz', type: 1 }), R, 'ERR_INVALID_KEY', /^reserve: key "abc xyz"/],
  ['key -1n', (d) => d.clear({ key: -1n }), R, 'ERR_INVALID_KEY', /^clear: key -1n is out of range/],
  ['key NaN', (d) => d.preemptAndAbort({ key: 1, preemptKey: NaN, type: 'we' }), R, 'ERR_INVALID_KEY', /^preemptAndAbort: preemptKey NaN/],
  ['key object', (d) => d.register({ newKey: bad({}) }), T, 'ERR_INVALID_KEY', /received an object$/],
  ['type 4', (d) => d.preempt({ key: 1, preemptKey: 2, type: 4 }), R, 'ERR_INVALID_RESERVATION_TYPE', /^preempt: type 4 is not a reservation type/],
  ['type null', (d) => d.reserve({ key: 1, type: bad(null) }), T, 'ERR_INVALID_RESERVATION_TYPE', /^reserve: type must be a number or string; received null/],
  ['type with clear', (d) => d.clear(bad({ key: 1, type: 1 })), R, 'ERR_INVALID_OPTION', /^clear: option "type" does not apply to CLEAR/],
  ['{newkey} typo', (d) => d.register(bad({ newkey: 1 })), R, 'ERR_INVALID_OPTION', /^register: option "newkey" is not an option of REGISTER/],
  ['registerAndMove two TransportIDs', (d) => d.registerAndMove({ key: 1, newKey: 2, transportId: bad([TID, TID]), relativeTargetPortId: 1 }), R, 'ERR_INVALID_OPTION', /not an array$/],
  ['registerAndMove relativeTargetPortId 70000 (no type: validated before READ RESERVATION)', (d) => d.registerAndMove({ key: 1, newKey: 2, transportId: TID, relativeTargetPortId: 70000 }), R, 'ERR_INVALID_OPTION', /relativeTargetPortId 70000 is out of range/],
  ['empty transportIds', (d) => d.register({ newKey: 1, transportIds: [] }), R, 'ERR_INVALID_OPTION', /transportIds is empty/],
  ['timeoutMs 0', (d) => d.register({ newKey: 1, timeoutMs: 0 }), R, 'ERR_INVALID_OPTION', /^register: timeoutMs must be an integer from 1 to 3600000 ms, got 0$/],
  ['timeoutMs 1.5 on readKeys', (d) => d.readKeys({ timeoutMs: 1.5 }), R, 'ERR_INVALID_OPTION', /^readKeys: timeoutMs .* got 1\.5$/],
  ['signal {}', (d) => d.testUnitReady({ signal: bad({}) }), T, 'ERR_INVALID_OPTION', /^testUnitReady: signal must be an AbortSignal$/],
  ['readKeys({timeoutMS}) typo', (d) => d.readKeys(bad({ timeoutMS: 5 })), R, 'ERR_INVALID_OPTION', /"timeoutMS"/],
  ["timeoutMs '100' is a type error", (d) => d.register({ newKey: 1, timeoutMs: bad('100') }), T, 'ERR_INVALID_OPTION', /timeoutMs/],
  ['execute 3-byte cdb', (d) => d.execute({ cdb: Buffer.alloc(3), direction: 'none' }), R, 'ERR_INVALID_OPTION', /^execute: .*cdb/],
  ["execute direction 'sideways'", (d) => d.execute({ cdb: Buffer.alloc(6), direction: bad('sideways') }), R, 'ERR_INVALID_OPTION', /^execute: .*direction/],
  ['execute allocationLength -1', (d) => d.execute({ cdb: Buffer.alloc(6), direction: 'in', allocationLength: -1 }), R, 'ERR_INVALID_OPTION', /^execute: .*allocationLength/],
  ['readBlocks lba -1', (d) => d.readBlocks(-1), R, 'ERR_INVALID_OPTION', /^readBlocks: lba must be an integer from 0 to 4294967295, got -1$/],
];

describe('Device: a wrong call rejects before anything is submitted', () => {
  it.each(ROWS)('%s', async (_name, call, cls, code, msg) => {
    const { d, t } = fakeDevice();
    const p = call(d);
    expect(p).toBeInstanceOf(Promise);
    const e = await p.then(
      (v) => {
        throw new Error(`resolved instead of rejecting: ${JSON.stringify(pr.toJSONSafe(v)).slice(0, 200)}`);
      },
      (err: unknown) => err as Error & { code?: string },
    );
    expect.soft(e.constructor.name, e.message).toBe(cls.name);
    expect.soft(e.code).toBe(code);
    expect.soft(e.message).toMatch(msg);
    expect.soft(t.submitted.map((c) => c.cdb.toString('hex')), 'CDBs submitted').toEqual([]);
  });

  it('calls on a closed Device reject with DeviceClosedError and submit nothing', async () => {
    const { d, t } = fakeDevice();
    await d.close();
    await d.close(); // idempotent
    expect(t.closed).toBe(true);
    for (const call of [() => d.readKeys(), () => d.register({ newKey: 1 }), () => d.inquiry(), () => d.registerAndMove({ key: 1, newKey: 2, transportId: TID, relativeTargetPortId: 1 })]) {
      await expect(call()).rejects.toMatchObject({ name: 'DeviceClosedError', code: 'ERR_DEVICE_CLOSED', path: '/dev/sg-fake', message: '/dev/sg-fake: device is closed' });
    }
    expect(t.submitted).toEqual([]);
  });
});

describe('open: options are validated before the path is looked at', () => {
  const cases: Array<[string, unknown, typeof T | typeof R, RegExp]> = [
    ['unknown option', { bogus: true }, R, /^open: unknown option "bogus" \(allowed: timeoutMs, retries, interface\)$/],
    ["interface 'scsi'", { interface: 'scsi' }, R, /^open: interface must be 'auto', 'sg', 'block' or 'block-pr', got "scsi"$/],
    ['retries.unitAttention -1', { retries: { unitAttention: -1 } }, R, /^open: retries\.unitAttention must be an integer 0\.\.1000, got -1$/],
    ['retries unknown field', { retries: { attempts: 1 } }, R, /^open: unknown retries option "attempts"/],
    ['retries not an object', { retries: 5 }, T, /^open: retries must be an object$/],
    ['timeoutMs 0', { timeoutMs: 0 }, R, /^open: timeoutMs must be an integer from 1 to 3600000 ms, got 0$/],
    ['options null', null, T, /^open: options must be an object$/],
  ];
  it.each(cases)('%s', async (_name, options, cls, msg) => {
    // The path does not exist: an option error must win over any path error.
    const e = await pr.open('/dev/scsi-pr-no-such-device', options as pr.OpenOptions).then(
      () => {
        throw new Error('resolved');
      },
      (err: unknown) => err as Error & { code?: string },
    );
    expect(e.constructor.name).toBe(cls.name);
    expect(e.code).toBe('ERR_INVALID_OPTION');
    expect(e.message).toMatch(msg);
  });
});

describe('Device: SCSI-2 and resets', () => {
  it('reserve6 and release6 send RESERVE(6) and RELEASE(6) with no data', async () => {
    const { d, t } = fakeDevice();
    expect(await d.reserve6()).toMatchObject({ action: 'reserve6', unitAttentions: [] });
    expect(await d.release6()).toMatchObject({ action: 'release6' });
    expect(t.submitted.map((c) => [c.cdb.toString('hex'), c.direction, c.data])).toEqual([
      ['160000000000', 'none', null],
      ['170000000000', 'none', null],
    ]);
  });

  it('reset passes the level and escalation on, and refuses a bad level or option before anything is sent', async () => {
    const { d, t } = fakeDevice();
    await d.reset('device');
    await d.reset('host', { escalate: true });
    expect(t.resets).toEqual([
      ['device', false],
      ['host', true],
    ]);
    await expect(d.reset(bad('lun'))).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', message: expect.stringMatching(/^reset: level must be one of device, target, bus, host/) });
    await expect(d.reset('device', bad({ escalate: 'yes' }))).rejects.toBeInstanceOf(pr.ArgumentTypeError);
    await expect(d.reset('device', bad({ force: true }))).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    expect(t.resets).toHaveLength(2);
    await d.close();
    await expect(d.reset('device')).rejects.toBeInstanceOf(pr.DeviceClosedError);
  });
});

