/**
 * Proves the SAN lab is a real SAN: two initiator nodes, one LIO LUN, the kernel's
 * SCSI stack in between. Uses only sg3_utils (independent of scsi-pr).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { labMap, labTools, dev, run, sgRawWrite, sgPersistKeys, sgPersistReservation, SG_EXIT, type LabMap } from './lab-env';

const LUN = 0; // this file owns LUN 0

describe('the SAN lab', () => {
  let map: LabMap;
  beforeAll(async () => {
    map = labMap();
    await labTools.resetReservations([LUN]); // other files use LUN 0 too: start from a clean slate
  });

  it('gives every node its own sd/sg device per LUN, each a distinct I_T nexus', async () => {
    expect(map.options.nodes).toBeGreaterThanOrEqual(2);
    for (const n of map.nodes) expect(n.luns).toHaveLength(map.options.luns);
    const a = dev(map, 1, LUN);
    const b = dev(map, 2, LUN);
    expect(a.sg).not.toBe(b.sg);
    expect(a.serial).toBe(b.serial);
    expect(a.initiator).not.toBe(b.initiator);
    expect(a.isid).toMatch(/^[0-9a-f]{12}$/);
    const inq = await run('sg_inq', [a.sg]);
    expect(inq.stdout).toMatch(/LIO-ORG/);
  });

  it('fences a node: after PREEMPT AND ABORT its WRITEs fail with RESERVATION CONFLICT, the holder still writes', async () => {
    const n1 = dev(map, 1, LUN).sg;
    const n2 = dev(map, 2, LUN).sg;
    const persist = async (sg: string, ...args: string[]) => {
      const r = await run('sg_persist', ['-n', '--out', ...args, sg]);
      expect(r.status, `sg_persist ${args.join(' ')} ${sg}: ${r.stderr}`).toBe(0);
    };

    expect(await sgPersistKeys(n1)).toEqual([]);
    await persist(n1, '--register', '--param-sark=0x1');
    await persist(n2, '--register', '--param-sark=0x2');
    await persist(n1, '--reserve', '--param-rk=0x1', '--prout-type=5');
    expect(await sgPersistKeys(n2)).toEqual(['0x1', '0x2']);
    expect(await sgPersistReservation(n2)).toEqual({ key: '0x1', type: 5 });

    // Both registrants may write under Write Exclusive, Registrants Only.
    expect(await sgRawWrite(n1)).toBe(SG_EXIT.OK);
    expect(await sgRawWrite(n2)).toBe(SG_EXIT.OK);

    // Node 2 fences node 1.
    await persist(n2, '--preempt-abort', '--param-rk=0x2', '--param-sark=0x1', '--prout-type=5');
    expect(await sgPersistKeys(n2)).toEqual(['0x2']);
    expect(await sgPersistReservation(n2)).toEqual({ key: '0x2', type: 5 });

    expect(await sgRawWrite(n1)).toBe(SG_EXIT.RESERVATION_CONFLICT);
    expect(await sgRawWrite(n2)).toBe(SG_EXIT.OK);

    await persist(n2, '--clear', '--param-rk=0x2');
    expect(await sgPersistKeys(n1)).toEqual([]);
  });
});
