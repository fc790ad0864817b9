/**
 * Device.inquiry() against the fake SAN: a Device Identification VPD page longer
 * than the first allocation (1024 bytes) is asked for again with room for all
 * of it, instead of failing as malformed (found by the fuzz tests).
 */
import { describe, expect, it } from 'vitest';
import { FakeSan } from './support/fake-transport';

/** INQUIRY allocation lengths sent for VPD page `page`, in order. */
function vpdAllocations(san: FakeSan, page: number): number[] {
  return san.commands({ name: 'inquiry' }).filter((c) => (c.cdb[1]! & 1) === 1 && c.cdb[2] === page).map((c) => c.cdb.readUInt16BE(3));
}

describe('Device.inquiry: long VPD pages', () => {
  it('a page that fits is read once, with the 1024-byte allocation', async () => {
    const san = new FakeSan();
    const lu = san.addLu({ wwn: `naa.6001405${'ab'.repeat(12)}c` });
    const q = await san.node('a').open(lu, 1).device().inquiry();
    expect(q.wwn).toBe(lu.wwn);
    expect(vpdAllocations(san, 0x83)).toEqual([1024]);
  });

  it('an 83h page of 1232 bytes is read again with 1232 bytes and every designator comes back', async () => {
    const san = new FakeSan();
    const lu = san.addLu({ wwn: `naa.6001405${'ab'.repeat(12)}c` });
    lu.extraDesignators = 20; // 4 + 20 (NAA) + 8 (port) + 20 x 60
    const q = await san.node('a').open(lu, 1).device().inquiry();
    expect(q.wwn).toBe(lu.wwn);
    expect(q.designators).toHaveLength(22);
    expect(vpdAllocations(san, 0x83)).toEqual([1024, 1232]);
  });

  it('a page near the 16-bit limit (65492 bytes) takes one re-read', async () => {
    const san = new FakeSan();
    const lu = san.addLu({ wwn: `naa.6001405${'ab'.repeat(12)}c` });
    lu.extraDesignators = 1091; // 4 + 28 + 1091 x 60
    const q = await san.node('a').open(lu, 1).device().inquiry();
    expect(q.designators).toHaveLength(1093);
    expect(vpdAllocations(san, 0x83)).toEqual([1024, 65492]);
  });
});
