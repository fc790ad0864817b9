/**
 * openLogicalUnits() and onAnyPath() over the fake SAN: paths grouped by the
 * WWN read with INQUIRY VPD 83h, LUs in WWN order, and the path failover rule
 * (path failures move on, SCSI answers are final).
 */
import { describe, expect, it } from 'vitest';
import { isPathFailure, luName, onAnyPath, openLogicalUnits } from '../../../lib/fencing/logical-units';
import { ArgumentTypeError } from '../../../lib/invalid-argument';
import { DeviceClosedError, ReservationConflictError, ScsiPrError, ScsiSenseError, SyscallError, TimeoutError, TransportError } from '../../../lib/errors';
import type { Device } from '../../../lib/device';
import { FakeSan } from '../support/fake-transport';
import { settle } from '../support/event-loop';

const DID_NO_CONNECT = 0x01;

describe('openLogicalUnits', () => {
  it('groups paths by the WWN of VPD 83h and orders LUs by WWN, whatever the input order', async () => {
    const san = new FakeSan();
    const hi = san.addLu({ name: 'lu-a', wwn: `naa.6001405${'f'.repeat(25)}` });
    const lo = san.addLu({ name: 'lu-b', wwn: `naa.6001405${'1'.repeat(25)}` });
    const n = san.node('n');
    const devices = n.devices().reverse();

    const set = await openLogicalUnits(devices);

    expect(set.units.map((u) => u.wwn)).toEqual([lo.wwn, hi.wwn]);
    expect(set.units.map((u) => u.paths.map((d) => d.path))).toEqual([
      ['/dev/fake/n/lu-b/p1', '/dev/fake/n/lu-b/p2'],
      ['/dev/fake/n/lu-a/p1', '/dev/fake/n/lu-a/p2'],
    ]);
    expect(set.units.map(luName)).toEqual(['/dev/fake/n/lu-b/p1', '/dev/fake/n/lu-a/p1']);
    expect(san.commands({ name: 'inquiry' }).length).toBeGreaterThan(0);
    await set.close();
    expect(devices.every((d) => !d.isClosed)).toBe(true); // Devices given by the caller stay open
  });

  it('keeps a path whose WWN cannot be read as its own LU, named after the path', async () => {
    const san = new FakeSan();
    const lu = san.addLu();
    const anonymous = san.addLu({ wwn: null });
    const n = san.node('n', { ports: 1 });
    const p = n.open(lu, 1);
    p.script('inquiry', { hostStatus: DID_NO_CONNECT });
    const devices = [p.device(), n.open(anonymous, 1).device()];

    const set = await openLogicalUnits(devices);

    expect(set.units.map((u) => u.wwn).sort()).toEqual(['path:/dev/fake/n/lu0/p1', 'path:/dev/fake/n/lu1/p1']);
  });

  it('without the INQUIRY fallback sends nothing and names every LU by path', async () => {
    const san = new FakeSan();
    san.addLu();
    const n = san.node('n');
    const set = await openLogicalUnits(n.devices(), { inquiryFallback: false });
    expect(set.units).toHaveLength(2);
    expect(san.log).toEqual([]);
  });

  it('refuses an empty list or a non-device before any I/O', async () => {
    await expect(openLogicalUnits([])).rejects.toBeInstanceOf(ArgumentTypeError);
    await expect(openLogicalUnits([''])).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });
});

describe('onAnyPath', () => {
  async function twoPaths() {
    const san = new FakeSan();
    san.addLu();
    const set = await openLogicalUnits(san.node('n').devices());
    return { san, lu: set.units[0] };
  }

  it('moves on to the next path after a transport error, a timeout, a syscall error or a closed device', async () => {
    for (const error of [
      new TransportError('x', { hostStatus: 1, driverStatus: 0, hostStatusName: 'DID_NO_CONNECT' }),
      new TimeoutError('x', 1),
      new SyscallError('x', { code: 'EIO', errno: -5, syscall: 'write' }),
      new DeviceClosedError('x'),
    ]) {
      const { lu } = await twoPaths();
      const tried: string[] = [];
      const r = await onAnyPath(lu, async (d: Device) => {
        tried.push(d.path);
        if (tried.length === 1) throw error;
        return 'ok';
      });
      expect(r).toBe('ok');
      expect(tried).toEqual(['/dev/fake/n/lu0/p1', '/dev/fake/n/lu0/p2']);
      expect(isPathFailure(error)).toBe(true);
    }
  });

  it('stops at the first SCSI answer (RESERVATION CONFLICT, CHECK CONDITION)', async () => {
    for (const error of [new ReservationConflictError('x'), new ScsiSenseError('x', { format: 'fixed', responseCode: 0x70, deferred: false, senseKey: 5, senseKeyName: 'ILLEGAL REQUEST', asc: 0x24, ascq: 0, ascName: '', raw: Buffer.alloc(0) })]) {
      const { lu } = await twoPaths();
      let calls = 0;
      const r = await settle(
        onAnyPath(lu, async () => {
          calls++;
          throw error;
        }),
      );
      expect(r.error).toBe(error);
      expect(calls).toBe(1);
      expect(isPathFailure(error)).toBe(false);
    }
  });

  it('throws the last path failure when every path failed', async () => {
    const { san, lu } = await twoPaths();
    san.script({ on: 'read-keys' }, { hostStatus: DID_NO_CONNECT }, 2);
    const r = await settle(onAnyPath(lu, (d) => d.readKeys()));
    expect(r.error).toBeInstanceOf(TransportError);
    expect((r.error as TransportError).path).toBe('/dev/fake/n/lu0/p2');
  });

  it('reports ERR_NO_PATH for an LU without paths', async () => {
    const r = await settle(onAnyPath({ wwn: 'naa.1', names: ['/dev/x'], paths: [], unusable: [] }, async () => 1));
    expect(r.error).toBeInstanceOf(ScsiPrError);
    expect(r.error?.code).toBe('ERR_NO_PATH');
  });
});
