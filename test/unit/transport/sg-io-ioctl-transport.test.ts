/**
 * SgIoIoctlTransport over a fake addon: the result mapping, the deadline
 * (timeout + grace on a timer), aborts, and closing the fd only once no pool
 * thread is inside ioctl() on it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SgIoIoctlTransport } from '../../../lib/transport/sg-io-ioctl-transport';
import { AbortError, DeviceClosedError, SyscallError, TimeoutError } from '../../../lib/errors';
import { TIMEOUT_GRACE_MS, type TransportCommand } from '../../../lib/transport/scsi-transport';
import { FakeNative, completion, syscallError } from '../support/fake-native';
import { fixedSense } from '../support/spc-bytes';
import { settle } from '../support/event-loop';

afterEach(() => {
  vi.useRealTimers();
});

function transport() {
  const native = new FakeNative();
  return { native, t: new SgIoIoctlTransport(native, 5, '/dev/sdq') };
}

const tur = (extra: Partial<TransportCommand> = {}): TransportCommand => ({ cdb: Buffer.from([0, 0, 0, 0, 0, 0]), direction: 'none', data: null, timeoutMs: 1000, ...extra });

describe('SgIoIoctlTransport', () => {
  it('maps the completed sg_io_hdr: sense up to its length, data-in only for direction in', async () => {
    const { native, t } = transport();
    const data = Buffer.alloc(8);
    const p = t.submit({ cdb: Buffer.from([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]), direction: 'in', data, timeoutMs: 700 });
    expect(t.inFlight).toBe(1);
    const io = native.ioctls[0];
    expect([io.fd, io.direction, io.data, io.timeoutMs, io.sense.length]).toEqual([5, -3, data, 700, 96]);
    const sense = fixedSense(0x5, 0x24, 0x00);
    sense.copy(io.sense);
    io.resolve(completion({ status: 0x02, driverStatus: 0x08, senseLength: sense.length, resid: 2, info: 1 }));
    const r = await p;
    expect(r).toMatchObject({ status: 0x02, driverStatus: 0x08, resid: 2, data });
    expect(r.sense).toEqual(sense);
    expect(t.inFlight).toBe(0);
    const out = t.submit({ cdb: Buffer.alloc(10), direction: 'out', data: Buffer.alloc(24), timeoutMs: 1 });
    native.ioctls[1].resolve(completion());
    expect((await out).data).toBeNull();
    expect(native.ioctls[1].direction).toBe(-2);
  });

  it('rejects with TimeoutError after timeout + grace when the ioctl never returns, not before', async () => {
    vi.useFakeTimers();
    const { t } = transport();
    const call = settle(t.submit(tur({ timeoutMs: 100 })));
    let settled = false;
    void call.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(100 + TIMEOUT_GRACE_MS - 1);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect((await call).error).toBeInstanceOf(TimeoutError);
    expect(t.inFlight).toBe(1); // the pool thread is still in ioctl()
  });

  it('rejects at once when the signal aborts, and refuses an already aborted one without an ioctl', async () => {
    const { native, t } = transport();
    const ac = new AbortController();
    const call = settle(t.submit(tur({ signal: ac.signal })));
    ac.abort();
    expect((await call).error).toBeInstanceOf(AbortError);
    native.ioctls[0].resolve(completion()); // late: ignored
    expect((await settle(t.submit(tur({ signal: AbortSignal.abort() })))).error).toBeInstanceOf(AbortError);
    expect(native.ioctls).toHaveLength(1);
  });

  it('on close rejects what is in flight at once but closes the fd only after the last ioctl returned', async () => {
    const { native, t } = transport();
    const a = settle(t.submit(tur()));
    const b = settle(t.submit(tur()));
    t.close();
    expect((await a).error).toBeInstanceOf(DeviceClosedError);
    expect((await b).error).toBeInstanceOf(DeviceClosedError);
    expect(native.events).toEqual([]);
    native.ioctls[0].resolve(completion());
    await Promise.resolve();
    await Promise.resolve();
    expect(native.events).toEqual([]);
    native.ioctls[1].reject(syscallError('EIO', -5, 'ioctl'));
    await vi.waitFor(() => expect(native.events).toEqual(['closeDevice 5']));
    t.close();
    expect(native.events).toEqual(['closeDevice 5']);
    expect((await settle(t.submit(tur()))).error).toBeInstanceOf(DeviceClosedError);
  });

  it('closes the fd at once when nothing is in flight', () => {
    const { native, t } = transport();
    t.close();
    expect(native.events).toEqual(['closeDevice 5']);
  });

  it('turns a failed ioctl into a SyscallError; a binding that throws queues nothing', async () => {
    const { native, t } = transport();
    const call = settle(t.submit(tur()));
    native.ioctls[0].reject(syscallError('ENODEV', -19, 'ioctl'));
    expect((await call).error).toBeInstanceOf(SyscallError);
    expect((await call).error).toMatchObject({ code: 'ENODEV', syscall: 'ioctl', path: '/dev/sdq' });
    const bug = new TypeError('bad cdb');
    native.sgIoThrows = bug;
    expect((await settle(t.submit(tur()))).error).toBe(bug);
    expect(t.inFlight).toBe(0);
  });
});

describe('SgIoIoctlTransport.reset', () => {
  it('counts a running reset like a command: close() closes the fd only after it returned', async () => {
    const { native, t } = transport();
    const r = settle(t.reset('device', false));
    expect(native.resets.map((x) => x.value)).toEqual([1 | 0x100]);
    t.close();
    expect(native.events).toEqual([]);
    native.resets[0]!.resolve();
    expect((await r).error).toBeUndefined();
    expect(native.events).toEqual(['closeDevice 5']);
    expect((await settle(t.reset('device', false))).error).toBeInstanceOf(DeviceClosedError);
  });
});
