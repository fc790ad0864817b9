/** status() against the fake SAN: read from READ FULL STATUS, per LU, through any path. */
import { describe, expect, it } from 'vitest';
import { status } from '../../../lib/fencing/fence-status';
import { TransportError } from '../../../lib/errors';
import { KEY_A, KEY_B, WE_RO, twoNodeCluster } from '../support/cluster';
import { BlockPrDevice } from '../../../lib/block-pr/block-pr-device';
import { IOC_PR, NATIVE_ENDIANNESS } from '../../../lib/block-pr/pr-ioctls';

const DID_NO_CONNECT = 0x01;

describe('status', () => {
  it('reports registered LUs: our registrations, the holder, every key and the generation, from READ FULL STATUS', async () => {
    const { san, lus, a, b } = twoNodeCluster(2);
    lus[1].setReservation(b.nexus(2), WE_RO);
    lus[1].generation = 7;

    const r = await status({ devices: a.devices(), key: KEY_A });

    expect(r.registeredEverywhere).toBe(true);
    expect(r.devices[0]).toMatchObject({ reachable: true, registered: true, registrations: 2, reservationHolder: true, reservation: { key: KEY_A, type: WE_RO }, keys: [KEY_A, KEY_A, KEY_B, KEY_B], generation: 0 });
    expect(r.devices[1]).toMatchObject({ reachable: true, registered: true, registrations: 2, reservationHolder: false, reservation: { key: KEY_B, type: WE_RO }, generation: 7 });
    expect(new Set(san.commands().map((x) => x.name))).toEqual(new Set(['inquiry', 'read-full-status']));
    expect(san.prOuts()).toEqual([]);
  });

  it('reports an LU where our key is not registered, and then not registered everywhere', async () => {
    const { lus, a, b } = twoNodeCluster(2);
    for (const x of a.nexuses()) lus[1].registrations.delete(x.id);
    b.reserveEverywhere(WE_RO, [lus[1]]);

    const r = await status({ devices: a.devices(), key: KEY_A });

    expect(r.registeredEverywhere).toBe(false);
    expect(r.devices[1]).toMatchObject({ reachable: true, registered: false, registrations: 0, reservationHolder: false, keys: [KEY_B, KEY_B] });
    expect(r.devices[1].error).toBeUndefined();
  });

  it('counts only the nexuses registered with our key', async () => {
    const { lus, a } = twoNodeCluster(1);
    lus[0].registrations.delete(a.nexus(2).id);
    const r = await status({ devices: a.devices(), key: KEY_A });
    expect(r.devices[0]).toMatchObject({ registered: true, registrations: 1 });
  });

  it('reports an LU no path reaches as unreachable, with the error', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    san.script({ lu: lus[0], on: 'read-full-status' }, { hostStatus: DID_NO_CONNECT }, Infinity);

    const r = await status({ devices: a.devices(), key: KEY_A });

    expect(r.registeredEverywhere).toBe(false);
    expect(r.devices[0]).toMatchObject({ reachable: false, registered: false, registrations: 0, keys: [], reservation: null });
    expect(r.devices[0].error).toBeInstanceOf(TransportError);
    expect(san.commands({ lu: lus[0], name: 'read-full-status' }).map((x) => x.nexus.port)).toEqual([1, 2]);
    expect(r.devices[1]).toMatchObject({ reachable: true, registered: true });
  });

  it('reports progress once per LU, ok only where the LU could be read', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    san.script({ lu: lus[1], on: 'read-full-status' }, { hostStatus: DID_NO_CONNECT }, Infinity);
    const events: unknown[] = [];
    await status({ devices: a.devices(), key: KEY_A, onProgress: (e) => events.push(e) });
    expect(events).toHaveLength(2);
    expect(events).toContainEqual({ operation: 'status', phase: 'status', device: expect.any(String), done: expect.any(Number), total: 2, ok: true });
    expect(events).toContainEqual({ operation: 'status', phase: 'status', device: expect.any(String), done: expect.any(Number), total: 2, ok: false });
  });

  it('reads through the second path when the first fails', async () => {
    const { san, lus, a } = twoNodeCluster(1);
    san.script({ lu: lus[0], on: 'read-full-status' }, { hostStatus: DID_NO_CONNECT });
    const r = await status({ devices: a.devices(), key: KEY_A });
    expect(r.devices[0]).toMatchObject({ reachable: true, registered: true, registrations: 2 });
  });

  it('lists every key once with its nexus count and holder flag, the paths this host has, and the source', async () => {
    const { lus, a, b } = twoNodeCluster(1);
    lus[0].registrations.delete(b.nexus(2).id);
    const r = await status({ devices: a.devices(), key: KEY_A });
    expect(r.devices[0]).toMatchObject({
      source: 'read-full-status',
      paths: 2,
      registrants: [
        { key: KEY_A, nexuses: 2, reservationHolder: true },
        { key: KEY_B, nexuses: 1, reservationHolder: false },
      ],
    });
    expect(r.devices[0]!.truncated).toBeUndefined();
  });

  it('all-registrants types: every registrant holds the reservation, ours included when not listed first', async () => {
    const { lus, a, b } = twoNodeCluster(1);
    lus[0].setReservation(b.nexus(1), 7);
    const r = await status({ devices: a.devices(), key: KEY_A });
    expect(r.devices[0]!.registrants!.map((g) => g.reservationHolder)).toEqual([true, true]);
    expect(r.devices[0]).toMatchObject({ reservationHolder: true, reservation: { type: 7 } });
  });

  it('a target without READ FULL STATUS (ILLEGAL REQUEST) is read with READ KEYS + READ RESERVATION: no nexus counts', async () => {
    const { san, lus, a } = twoNodeCluster(2);
    san.script({ lu: lus[1], on: 'read-full-status' }, { sense: { key: 0x5, asc: 0x24, ascq: 0x00 } }, Infinity);
    const r = await status({ devices: a.devices(), key: KEY_A });
    expect(r.registeredEverywhere).toBe(true);
    expect(r.devices[1]).toMatchObject({
      reachable: true,
      source: 'read-keys',
      registered: true,
      registrations: 2,
      reservationHolder: true,
      reservation: { key: KEY_A, type: WE_RO },
      keys: [KEY_A, KEY_A, KEY_B, KEY_B],
      registrants: [
        { key: KEY_A, nexuses: undefined, reservationHolder: true },
        { key: KEY_B, nexuses: undefined, reservationHolder: false },
      ],
    });
    expect(r.devices[1]!.error).toBeUndefined();
    expect(san.commands({ lu: lus[1] }).map((x) => x.name).filter((n) => n !== 'inquiry').sort()).toEqual(['read-full-status', 'read-keys', 'read-reservation']);
    expect(r.devices[0]).toMatchObject({ source: 'read-full-status' });
  });

  it.runIf(NATIVE_ENDIANNESS === 'LE')('a device opened through the block PR API (no READ FULL STATUS) is read with READ KEYS + READ RESERVATION', async () => {
    const requests: number[] = [];
    const native = {
      ioctlBuffer(_fd: number, request: number, arg: Buffer, data: Buffer | null) {
        requests.push(request);
        if (request === IOC_PR.READ_KEYS) {
          arg.writeUInt32LE(4, 0); // generation
          arg.writeUInt32LE(2, 4);
          data!.writeBigUInt64LE(KEY_A, 0);
          data!.writeBigUInt64LE(KEY_B, 8);
        } else {
          arg.writeBigUInt64LE(KEY_A, 0);
          arg.writeUInt32LE(4, 8);
          arg.writeUInt32LE(3, 12); // pr_type 3: write exclusive, registrants only
        }
        return Promise.resolve(0);
      },
      closeDevice: () => undefined,
    };
    const map = new BlockPrDevice('/dev/mapper/shared', '/dev/dm-1', native, 5, { name: 'dm-1', kind: 'device-mapper', wwn: 'naa.6001' }, {}, '7.3.4');
    const r = await status({ devices: [map], key: KEY_A });
    expect(r.devices[0]).toMatchObject({
      reachable: true,
      source: 'read-keys',
      registered: true,
      reservationHolder: true,
      reservation: { key: KEY_A, type: WE_RO },
      keys: [KEY_A, KEY_B],
    });
    expect(requests.sort()).toEqual([IOC_PR.READ_KEYS, IOC_PR.READ_RESERVATION].sort());
  });

  it('INVALID COMMAND OPERATION CODE (no PR IN at all) is not worked around: the LU is unreadable', async () => {
    const { san, lus, a } = twoNodeCluster(1);
    san.script({ lu: lus[0], on: 'read-full-status' }, { sense: { key: 0x5, asc: 0x20, ascq: 0x00 } }, Infinity);
    const r = await status({ devices: a.devices(), key: KEY_A });
    expect(r.devices[0]).toMatchObject({ reachable: false, registrants: [] });
    expect(r.devices[0]!.source).toBeUndefined();
    expect(san.commands({ lu: lus[0], name: 'read-keys' })).toEqual([]);
  });
});
