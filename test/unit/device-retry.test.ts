/**
 * Device's command loop over the fake transport: UNIT ATTENTION retried up to
 * its limit and reported, BUSY / TASK SET FULL backed off up to theirs,
 * everything else surfaced at once; deadlines (timeoutMs) and AbortSignal.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_TIMEOUT_MS } from '../../lib/device';
import { AbortError, DeviceClosedError, ReservationConflictError, ScsiSenseError, ScsiStatusError, TimeoutError, TransportError } from '../../lib/errors';
import { FakeSan, type FakePath } from './support/fake-transport';
import { POWER_ON_RESET, RESERVATIONS_PREEMPTED } from './support/fake-logical-unit';
import { settle, turns } from './support/event-loop';
import type { OpenOptions } from '../../lib/device';

const UA = { key: 0x6, asc: 0x2a, ascq: 0x05 };

function onePath(options: OpenOptions = {}) {
  const san = new FakeSan();
  const lu = san.addLu();
  const node = san.node('n', { ports: 1 });
  const path: FakePath = node.open(lu, 1);
  return { san, lu, node, path, device: path.device(options) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Device: UNIT ATTENTION', () => {
  it('retries each UNIT ATTENTION and reports them, oldest first', async () => {
    const { lu, node, path, device } = onePath();
    lu.queueUnitAttention(node.nexus(1), RESERVATIONS_PREEMPTED);
    lu.queueUnitAttention(node.nexus(1), POWER_ON_RESET);

    const r = await device.readKeys();

    expect(r.unitAttentions.map((s) => [s.asc, s.ascq])).toEqual([[0x2a, 0x03], [0x29, 0x00]]);
    expect(path.log.map((x) => x.name)).toEqual(['read-keys', 'read-keys', 'read-keys']);
  });

  it('gives up after 5 retries by default and reports the 5 it absorbed', async () => {
    const { path, device } = onePath();
    path.script('register', { sense: UA }, Infinity);

    const r = await settle(device.register({ newKey: 1n }));

    expect(r.error).toBeInstanceOf(ScsiSenseError);
    expect(r.error?.code).toBe('ERR_UNIT_ATTENTION');
    expect((r.error as ScsiSenseError).unitAttentions).toHaveLength(5);
    expect(path.log).toHaveLength(6);
  });

  it('honours the unitAttention limit of the open options, 0 included', async () => {
    for (const limit of [0, 2]) {
      const { path, device } = onePath({ retries: { unitAttention: limit } });
      path.script('*', { sense: UA }, Infinity);
      const r = await settle(device.testUnitReady());
      expect(r.error?.code).toBe('ERR_UNIT_ATTENTION');
      expect(path.log).toHaveLength(limit + 1);
    }
  });
});

describe('Device: BUSY and TASK SET FULL', () => {
  it('backs off 10, 20, 40 ms (timer time, not wall time) before each retry', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { path, device } = onePath();
    path.script('test-unit-ready', { status: 0x08 }, 3);
    const call = settle(device.testUnitReady());
    const sentAfter = async (ms: number) => {
      await vi.advanceTimersByTimeAsync(ms);
      await turns(3);
      return path.log.length;
    };
    expect(await sentAfter(0)).toBe(1);
    expect(await sentAfter(9)).toBe(1);
    expect(await sentAfter(1)).toBe(2);
    expect(await sentAfter(19)).toBe(2);
    expect(await sentAfter(1)).toBe(3);
    expect(await sentAfter(39)).toBe(3);
    expect(await sentAfter(1)).toBe(4);
    expect((await call).error).toBeUndefined();
  });

  it('surfaces BUSY once the busy limit is reached', async () => {
    const { path, device } = onePath({ retries: { busy: 2, busyBackoffMs: 1 } });
    path.script('*', { status: 0x08 }, Infinity);
    const r = await settle(device.readReservation());
    expect(r.error).toBeInstanceOf(ScsiStatusError);
    expect(r.error?.code).toBe('ERR_BUSY');
    expect(path.log).toHaveLength(3);
  });

  it('retries TASK SET FULL like BUSY', async () => {
    const { path, device } = onePath({ retries: { busyBackoffMs: 1 } });
    path.script('*', { status: 0x28 }, 2);
    await expect(device.testUnitReady()).resolves.toEqual({ unitAttentions: [] });
    expect(path.log).toHaveLength(3);
  });
});

describe('Device: no retry', () => {
  it('surfaces RESERVATION CONFLICT, NOT READY and transport errors after one attempt', async () => {
    const cases = [
      [{ status: 0x18 }, ReservationConflictError],
      [{ sense: { key: 0x2, asc: 0x04, ascq: 0x03 } }, ScsiSenseError],
      [{ hostStatus: 0x0e }, TransportError],
    ] as const;
    for (const [fault, cls] of cases) {
      const { path, device } = onePath();
      path.script('*', fault, Infinity);
      const r = await settle(device.testUnitReady());
      expect(r.error).toBeInstanceOf(cls);
      expect(path.log).toHaveLength(1);
    }
  });
});

describe('Device: deadlines and aborts', () => {
  it('hands each command its timeout: the call option, else the open option, else 30 s', async () => {
    const { path, device } = onePath();
    await device.testUnitReady();
    await device.testUnitReady({ timeoutMs: 1234 });
    const other = onePath({ timeoutMs: 777 });
    await other.device.readKeys();
    expect(path.log.map((x) => x.timeoutMs)).toEqual([DEFAULT_TIMEOUT_MS, 1234]);
    expect(other.path.log[0].timeoutMs).toBe(777);
    expect(DEFAULT_TIMEOUT_MS).toBe(30_000);
  });

  it('rejects a hung command with TimeoutError once its timeout passes, without retrying it', async () => {
    const { path, device } = onePath();
    path.script('*', { hang: true }, Infinity);
    const t0 = Date.now();
    const r = await settle(device.readKeys({ timeoutMs: 50 }));
    expect(r.error).toBeInstanceOf(TimeoutError);
    expect(r.error?.code).toBe('ERR_TIMEOUT');
    expect(path.log).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(5_000); // did not hang past the budget
  });

  it('rejects a hung command with AbortError when its signal aborts', async () => {
    const { path, device } = onePath();
    path.script('*', { hang: true });
    const ac = new AbortController();
    const call = settle(device.preemptAndAbort({ key: 1n, preemptKey: 2n, type: 5, signal: ac.signal }));
    await turns(3);
    const reason = new Error('fence deadline');
    ac.abort(reason);
    const r = await call;
    expect(r.error).toBeInstanceOf(AbortError);
    expect(r.error?.code).toBe('ABORT_ERR');
    expect(r.error?.cause).toBe(reason);
    expect(path.log).toHaveLength(1);
  });

  it('stops a BUSY backoff when the signal aborts, and sends nothing more', async () => {
    const { path, device } = onePath({ retries: { busyBackoffMs: 1000 } });
    path.script('*', { status: 0x08 }, Infinity);
    const ac = new AbortController();
    const call = settle(device.testUnitReady({ signal: ac.signal }));
    await turns(3);
    ac.abort();
    const r = await call;
    expect(r.error).toBeInstanceOf(AbortError);
    expect(r.error?.message).toMatch(/retry backoff/);
    expect(path.log).toHaveLength(1);
  });

  it('sends nothing for an already aborted signal or a closed device', async () => {
    const { path, device } = onePath();
    expect((await settle(device.testUnitReady({ signal: AbortSignal.abort() }))).error).toBeInstanceOf(AbortError);
    await device.close();
    expect((await settle(device.readKeys())).error).toBeInstanceOf(DeviceClosedError);
    expect(path.log).toEqual([]);
  });

  it('rejects a command in flight with DeviceClosedError when the device is closed', async () => {
    const { path, device } = onePath();
    path.script('*', { hang: true });
    const call = settle(device.readKeys());
    await turns(2);
    await device.close();
    expect((await call).error).toBeInstanceOf(DeviceClosedError);
    expect(path.closed).toBe(true);
  });
});
