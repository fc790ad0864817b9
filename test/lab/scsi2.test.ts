/**
 * SCSI-2 reservations (RESERVE(6)/RELEASE(6)) and resets (SG_SCSI_RESET) on the
 * real kernel and LIO, next to persistent reservations: what a SCSI-2
 * reservation blocks and for whom (it belongs to one I_T nexus, so a node's own
 * second path is locked out too), how it ends (RELEASE(6) by the holder, a LUN
 * reset), and what a reset does not touch (PR registrations and the persistent
 * reservation, cross-checked with sg_persist). Writes are real WRITE(10)s sent
 * by sg_raw, independent of scsi-pr.
 *
 * LUN 6 (shared with large-key-lists.test.ts; every test leaves it clean).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as pr from '../../lib';
import { join } from 'node:path';
import { dev, labMap, run, SG_EXIT, sgPersistKeys, sgPersistReservation, sgRawWrite, wipeReservations, type LabMap } from './lab-env';

const CLI = join(__dirname, '..', '..', 'dist', 'cli', 'scsi-pr.js');

const LUN = 6;
const WIPE_KEY = 0x5c5120n;
const K1 = 0x5c5121n;
const K2 = 0x5c5122n;
/** ASC 29h: POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (ASCQ 03h: BUS DEVICE RESET FUNCTION OCCURRED). */
const ASC_RESET = 0x29;

let map: LabMap;
/** Node 1 through path 0 and path 1 (two I_T nexuses of one node), node 2, node 3: all on LUN 6. */
let n1: pr.Device;
let n1b: pr.Device;
let n2: pr.Device;
let n3: pr.Device;

/** Undo any SCSI-2 reservation (a LUN reset), wipe PR state, and absorb the reset's UNIT ATTENTIONs on every nexus. */
async function clean(): Promise<void> {
  await n2.reset('device');
  await wipeReservations(n2, WIPE_KEY);
  for (const d of [n1, n1b, n2, n3]) await d.testUnitReady();
}

beforeAll(async () => {
  map = labMap();
  n1 = await pr.open(dev(map, 1, LUN, 0).sg);
  n1b = await pr.open(dev(map, 1, LUN, 1).sg);
  n2 = await pr.open(dev(map, 2, LUN).sg);
  n3 = await pr.open(dev(map, 3, LUN).sg);
  await clean();
});

afterAll(async () => {
  if (n2) await clean();
  for (const d of [n1, n1b, n2, n3]) await d?.close();
});

describe('SCSI-2 RESERVE(6) / RELEASE(6) (LUN 6)', () => {
  it('RESERVE(6) by node 1: node 2 WRITE gets RESERVATION CONFLICT, node 1 writes; RELEASE(6) ends it', async () => {
    await n1.reserve6();
    expect(await sgRawWrite(dev(map, 1, LUN).sg)).toBe(SG_EXIT.OK);
    expect(await sgRawWrite(dev(map, 2, LUN).sg)).toBe(SG_EXIT.RESERVATION_CONFLICT);
    // Every command of another nexus is refused, PERSISTENT RESERVE IN included.
    await expect(n2.readKeys()).rejects.toBeInstanceOf(pr.ReservationConflictError);
    await n1.release6();
    expect(await sgRawWrite(dev(map, 2, LUN).sg)).toBe(SG_EXIT.OK);
  });

  it('belongs to one I_T nexus: node 1 through its second path is refused too', async () => {
    await n1.reserve6();
    expect(await sgRawWrite(dev(map, 1, LUN, 1).sg)).toBe(SG_EXIT.RESERVATION_CONFLICT);
    await expect(n1b.reserve6()).rejects.toBeInstanceOf(pr.ReservationConflictError);
    await n1.release6();
    expect(await sgRawWrite(dev(map, 1, LUN, 1).sg)).toBe(SG_EXIT.OK);
  });

  it('a second RESERVE(6) from the holder is GOOD; from another node RESERVATION CONFLICT; RELEASE(6) from a non-holder is GOOD and changes nothing', async () => {
    await n1.reserve6();
    await n1.reserve6();
    await expect(n2.reserve6()).rejects.toBeInstanceOf(pr.ReservationConflictError);
    await n2.release6();
    expect(await sgRawWrite(dev(map, 2, LUN).sg)).toBe(SG_EXIT.RESERVATION_CONFLICT);
    await n1.release6();
  });
});

describe('resets through the sg driver (LUN 6)', () => {
  it('a LUN reset from node 2 ends node 1 SCSI-2 reservation; node 1 is told by UNIT ATTENTION 29h', async () => {
    await n1.reserve6();
    expect(await sgRawWrite(dev(map, 2, LUN).sg)).toBe(SG_EXIT.RESERVATION_CONFLICT);
    await n2.reset('device');
    expect(await sgRawWrite(dev(map, 2, LUN).sg)).toBe(SG_EXIT.OK);
    const tur = await n1.testUnitReady();
    expect(tur.unitAttentions.map((u) => u.asc)).toContain(ASC_RESET);
    expect(await sgRawWrite(dev(map, 3, LUN).sg)).toBe(SG_EXIT.OK);
    await clean();
  });

  it('a LUN reset leaves PR registrations, the generation and the persistent reservation alone (sg_persist agrees); the reservation is still enforced', async () => {
    await n1.register({ newKey: K1 });
    await n2.register({ newKey: K2 });
    await n1.reserve({ key: K1, type: 'write-exclusive-registrants-only' });
    const before = await n1.readKeys();
    await n2.reset('device');
    const after = await n1.readKeys();
    expect(after.keys).toEqual([K1, K2]);
    expect(after.generation).toBe(before.generation);
    expect((await n1.readReservation()).reservation).toMatchObject({ key: K1, type: 5 });
    expect(await sgPersistKeys(dev(map, 3, LUN).sg)).toEqual(['0x5c5121', '0x5c5122']);
    expect(await sgPersistReservation(dev(map, 3, LUN).sg)).toEqual({ key: '0x5c5121', type: 5 });
    expect(await sgRawWrite(dev(map, 3, LUN).sg)).toBe(SG_EXIT.RESERVATION_CONFLICT);
    expect(await sgRawWrite(dev(map, 2, LUN).sg)).toBe(SG_EXIT.OK);
    await clean();
  });

  it('RESERVE(6) while a persistent reservation exists: RESERVATION CONFLICT for a registrant and a non-registrant (LIO lets the PR holder)', async () => {
    await n1.register({ newKey: K1 });
    await n2.register({ newKey: K2 });
    await n1.reserve({ key: K1, type: 'write-exclusive-registrants-only' });
    await expect(n2.reserve6()).rejects.toBeInstanceOf(pr.ReservationConflictError);
    await expect(n3.reserve6()).rejects.toBeInstanceOf(pr.ReservationConflictError);
    await expect(n3.release6()).rejects.toBeInstanceOf(pr.ReservationConflictError);
    await n1.reserve6(); // LIO: the persistent reservation holder's RESERVE(6) is GOOD
    await clean();
  });

  it('a target reset is carried out; bus and host resets are refused by the iSCSI initiator (EIO), as typed SyscallErrors; a bad level is refused before any I/O', async () => {
    await n2.reset('target');
    for (const level of ['bus', 'host'] as const) {
      const e = await n2.reset(level).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e, level).toBeInstanceOf(pr.SyscallError);
      expect(e).toMatchObject({ code: 'EIO', syscall: 'ioctl', path: dev(map, 2, LUN).sg });
      expect((e as Error).message).toMatch(new RegExp(`${level} reset refused`));
    }
    await expect(n2.reset('lun' as never)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    // A target reset reaches every LUN of the target: absorb its UNIT ATTENTIONs on every nexus,
    // so that no later test meets them.
    await Promise.all(
      map.devices.map(async (x) => {
        const d = await pr.open(x.sg);
        try {
          await d.testUnitReady();
        } finally {
          await d.close();
        }
      }),
    );
  });
});

describe('scsi-pr --reserve6 / --release6 / --reset (LUN 6)', () => {
  it('the CLI takes and ends a SCSI-2 reservation, and a LUN reset from another node breaks it; a refused reset exits 99', async () => {
    const sg1 = dev(map, 1, LUN).sg;
    const sg2 = dev(map, 2, LUN).sg;
    const cli = (...args: string[]) => run(process.execPath, [CLI, ...args]);
    let r = await cli('--reserve6', sg1);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(await sgRawWrite(sg2)).toBe(SG_EXIT.RESERVATION_CONFLICT);
    r = await cli('--reserve6', sg2);
    expect(r.status).toBe(24);
    r = await cli('--release6', sg1);
    expect(r.status, r.stderr).toBe(0);
    expect(await sgRawWrite(sg2)).toBe(SG_EXIT.OK);
    await cli('--reserve6', sg1);
    r = await cli('--reset', 'device', '--json', sg2);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, device: sg2, action: 'reset', level: 'device' });
    expect(await sgRawWrite(sg2)).toBe(SG_EXIT.OK);
    r = await cli('--reset', 'bus', sg2);
    expect(r.status).toBe(99);
    expect(r.stderr).toMatch(/bus reset refused: EIO/);
    await clean();
  });
});

