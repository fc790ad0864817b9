/**
 * SgAsyncChannel over a fake addon: completions matched by pack id, at most
 * SG_MAX_QUEUE outstanding (the rest FIFO), the watchdog deadline, aborts and
 * close settling at once while the kernel keeps the buffers, syscall errors.
 * Fresh modules per test: the watchdog's ticker is module state and must run
 * on fake timers here.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TransportCommand } from '../../../lib/transport/scsi-transport';
import { FakeNative, syscallError, type FakePoller } from '../support/fake-native';
import { fixedSense } from '../support/spc-bytes';
import { settle } from '../support/event-loop';

type Modules = {
  SgAsyncChannel: typeof import('../../../lib/transport/sg-async-channel').SgAsyncChannel;
  errors: typeof import('../../../lib/errors');
};
let m: Modules;

beforeEach(async () => {
  vi.useFakeTimers();
  vi.resetModules();
  m = {
    SgAsyncChannel: (await import('../../../lib/transport/sg-async-channel')).SgAsyncChannel,
    errors: await import('../../../lib/errors'),
  };
});

afterEach(() => {
  vi.useRealTimers();
});

function channel() {
  const native = new FakeNative();
  const ch = new m.SgAsyncChannel(native, 7, '/dev/sg9');
  const poller: FakePoller = native.pollers[0];
  return { native, ch, poller };
}

/** A TEST UNIT READY whose byte 5 (CONTROL) tags it, so the order of writes can be read back. */
function tur(tag = 0, extra: Partial<TransportCommand> = {}): TransportCommand {
  return { cdb: Buffer.from([0, 0, 0, 0, 0, tag]), direction: 'none', data: null, timeoutMs: 1000, ...extra };
}

describe('SgAsyncChannel', () => {
  it('writes one header per command and resolves it from the completion with its pack id', async () => {
    const { ch, poller } = channel();
    const data = Buffer.alloc(16);
    const p = ch.submit({ cdb: Buffer.from([0x5e, 0, 0, 0, 0, 0, 0, 0, 16, 0]), direction: 'in', data, timeoutMs: 5000 });
    expect(poller.writes).toHaveLength(1);
    const w = poller.writes[0];
    expect([w.direction, w.data, w.timeoutMs, w.cdb[0]]).toEqual([-3, data, 5000, 0x5e]);
    const sense = fixedSense(0x6, 0x29, 0x00);
    poller.complete(w.packId, { status: 0x02, driverStatus: 0x08, resid: 8, durationMs: 3, info: 1 }, sense);
    const r = await p;
    expect(r).toMatchObject({ status: 0x02, hostStatus: 0, driverStatus: 0x08, resid: 8, durationMs: 3, data });
    expect(r.sense).toEqual(sense);
    expect(w.sense.subarray(0, sense.length).every((b) => b === 0)).toBe(true); // the slot is wiped for reuse
    expect(r.sense.buffer).not.toBe(w.sense.buffer); // and the result does not alias it
    expect(ch.inFlight).toBe(0);
  });

  it('matches completions that come back out of order', async () => {
    const { ch, poller } = channel();
    const first = ch.submit(tur(1));
    const second = ch.submit(tur(2));
    poller.complete(poller.writes[1].packId, { status: 0x18 });
    poller.complete(poller.writes[0].packId, { status: 0x00 });
    expect((await first).status).toBe(0x00);
    expect((await second).status).toBe(0x18);
  });

  it('keeps at most 16 commands in the kernel and writes the others in FIFO order as slots free up', async () => {
    const { ch, poller } = channel();
    const calls = Array.from({ length: 20 }, (_, i) => ch.submit(tur(i)));
    expect(poller.writes).toHaveLength(16);
    expect(ch.inFlight).toBe(16);
    poller.complete(poller.writes[3].packId);
    expect(poller.writes.map((w) => w.cdb[5])).toEqual([...Array(16).keys(), 16]);
    for (const w of poller.writes.slice()) if (w.cdb[5] !== 3) poller.complete(w.packId);
    expect(poller.writes.map((w) => w.cdb[5]).slice(17)).toEqual([17, 18, 19]);
    for (const w of poller.writes.slice(17)) poller.complete(w.packId);
    expect((await Promise.all(calls)).every((r) => r.status === 0)).toBe(true);
  });

  it('times a command out by the watchdog (timeout + 2 s grace, within 2 s more) and ignores its late completion', async () => {
    const { ch, poller } = channel();
    const call = settle(ch.submit(tur(0, { timeoutMs: 100 })));
    let settled = false;
    void call.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(2100);
    expect(settled).toBe(false); // never early
    await vi.advanceTimersByTimeAsync(2000);
    const r = await call;
    expect(r.error).toBeInstanceOf(m.errors.TimeoutError);
    expect(r.error?.code).toBe('ERR_TIMEOUT');
    expect(ch.inFlight).toBe(1); // the kernel still owns the buffers
    poller.complete(poller.writes[0].packId);
    expect(ch.inFlight).toBe(0);
  });

  it('rejects at once on abort, keeps the command until the kernel hands it back, and never writes an aborted queued one', async () => {
    const { ch, poller } = channel();
    const ac = new AbortController();
    const inKernel = settle(ch.submit(tur(0, { signal: ac.signal })));
    for (let i = 1; i < 16; i++) void ch.submit(tur(i));
    const queued = settle(ch.submit(tur(99, { signal: ac.signal })));
    ac.abort('stop');
    expect((await inKernel).error).toBeInstanceOf(m.errors.AbortError);
    expect((await queued).error).toBeInstanceOf(m.errors.AbortError);
    expect((await inKernel).error?.cause).toBe('stop');
    expect(ch.inFlight).toBe(16);
    poller.complete(poller.writes[0].packId);
    expect(ch.inFlight).toBe(15);
    expect(poller.writes.some((w) => w.cdb[5] === 99)).toBe(false);
  });

  it('refuses a command whose signal is already aborted, without writing it', async () => {
    const { ch, poller } = channel();
    expect((await settle(ch.submit(tur(0, { signal: AbortSignal.abort() })))).error).toBeInstanceOf(m.errors.AbortError);
    expect(poller.writes).toEqual([]);
  });

  it('on close rejects everything pending with DeviceClosedError, releases the poller before the fd, once', async () => {
    const { native, ch, poller } = channel();
    const calls = Array.from({ length: 18 }, (_, i) => settle(ch.submit(tur(i))));
    ch.close();
    ch.close();
    for (const c of await Promise.all(calls)) expect(c.error).toBeInstanceOf(m.errors.DeviceClosedError);
    expect(native.events).toEqual(['poller.close 7', 'closeDevice 7']);
    expect(poller.closed).toBe(true);
    expect((await settle(ch.submit(tur()))).error).toBeInstanceOf(m.errors.DeviceClosedError);
  });

  it('turns a failed write(2) into a SyscallError and passes other binding errors through', async () => {
    const { ch, poller } = channel();
    poller.writeError = syscallError('EIO', -5, 'write');
    const e = (await settle(ch.submit(tur()))).error;
    expect(e).toBeInstanceOf(m.errors.SyscallError);
    expect(e).toMatchObject({ code: 'EIO', errno: -5, syscall: 'write', path: '/dev/sg9' });
    const bug = new TypeError('cdb must be a Buffer');
    poller.writeError = bug;
    expect((await settle(ch.submit(tur()))).error).toBe(bug);
    expect(ch.inFlight).toBe(0);
  });

  it('fails every pending command with a SyscallError when read() or poll fails', async () => {
    const { ch, poller } = channel();
    const calls = [settle(ch.submit(tur(1))), settle(ch.submit(tur(2)))];
    poller.onResults(syscallError('EBADF', -9, 'read'), []);
    for (const c of await Promise.all(calls)) expect(c.error).toMatchObject({ code: 'EBADF', syscall: 'read' });
    expect(ch.inFlight).toBe(0);
  });
});

describe('SgAsyncChannel.reset', () => {
  it('sends SG_SCSI_RESET with the level, NO_ESCALATE unless asked, on a pool thread', async () => {
    const { native, ch } = channel();
    const a = settle(ch.reset('device', false));
    const b = settle(ch.reset('host', true));
    expect(native.resets.map((r) => [r.fd, r.value])).toEqual([
      [7, 1 | 0x100],
      [7, 3],
    ]);
    for (const r of native.resets) r.resolve();
    expect((await a).error).toBeUndefined();
    expect((await b).error).toBeUndefined();
  });

  it('closes the fd only after a running reset returned, and refuses a reset once closed', async () => {
    const { native, ch } = channel();
    const r = settle(ch.reset('target', false));
    ch.close();
    expect(native.events).toEqual(['poller.close 7']);
    native.resets[0]!.resolve();
    await r;
    expect(native.events).toEqual(['poller.close 7', 'closeDevice 7']);
    expect((await settle(ch.reset('device', false))).error).toBeInstanceOf(m.errors.DeviceClosedError);
  });

  it('turns a refusal by the driver into a SyscallError that names the reset', async () => {
    const { native, ch } = channel();
    const r = settle(ch.reset('bus', false));
    native.resets[0]!.reject(syscallError('EACCES', -13, 'ioctl'));
    const e = (await r).error as Error & { code?: string; syscall?: string };
    expect(e).toBeInstanceOf(m.errors.SyscallError);
    expect(e).toMatchObject({ code: 'EACCES', syscall: 'ioctl' });
    expect(e.message).toMatch(/bus reset refused/);
  });
});
