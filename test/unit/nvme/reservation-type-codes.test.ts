import { describe, expect, it } from 'vitest';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import {
  NvmeReservationType,
  nvmeRtypeFromName,
  nvmeRtypeFromScsiType,
  nvmeRtypeName,
  parseNvmeReservationType,
  scsiTypeFromNvmeRtype,
} from '../../../lib/nvme/reservation-type-codes';
import { thrown } from '../support/thrown';

/** [name, NVMe RTYPE (NVMe Base spec), SPC code]. (enum pr_type's numbering: test/unit/block-pr/pr-ioctls.test.ts.) */
const TABLE = [
  ['write-exclusive', 1, 1],
  ['exclusive-access', 2, 3],
  ['write-exclusive-registrants-only', 3, 5],
  ['exclusive-access-registrants-only', 4, 6],
  ['write-exclusive-all-registrants', 5, 7],
  ['exclusive-access-all-registrants', 6, 8],
] as const;

describe('NVMe reservation types', () => {
  it.each(TABLE)('%s is RTYPE %i, SPC %i', (name, rtype, spc) => {
    expect(nvmeRtypeFromName(name)).toBe(rtype);
    expect(nvmeRtypeName(rtype)).toBe(name);
    expect(scsiTypeFromNvmeRtype(rtype)).toBe(spc);
    expect(nvmeRtypeFromScsiType(spc)).toBe(rtype);
    expect(parseNvmeReservationType(name)).toBe(rtype);
    expect(parseNvmeReservationType(spc)).toBe(rtype);
  });

  it('has the constants of the spec', () => {
    expect(NvmeReservationType).toEqual({
      WRITE_EXCLUSIVE: 1,
      EXCLUSIVE_ACCESS: 2,
      WRITE_EXCLUSIVE_REGISTRANTS_ONLY: 3,
      EXCLUSIVE_ACCESS_REGISTRANTS_ONLY: 4,
      WRITE_EXCLUSIVE_ALL_REGISTRANTS: 5,
      EXCLUSIVE_ACCESS_ALL_REGISTRANTS: 6,
    });
  });

  it('has no name for 0 (no reservation) or reserved values', () => {
    for (const v of [0, 2, 4, 9, 255, -1, 1.5]) expect(nvmeRtypeFromScsiType(v)).toBeUndefined(); // SPC 2 and 4 are obsolete
    for (const v of [0, 7, 255, -1, 1.5]) {
      expect(nvmeRtypeName(v)).toBeUndefined();
      expect(scsiTypeFromNvmeRtype(v)).toBeUndefined();
    }
  });

  it('reads numbers as SPC codes and accepts aliases like the SCSI side', () => {
    expect(parseNvmeReservationType(3)).toBe(2); // SPC 3 = exclusive-access
    expect(parseNvmeReservationType('we-ro')).toBe(3);
    expect(parseNvmeReservationType('EXCLUSIVE_ACCESS_ALL_REGISTRANTS')).toBe(6);
    expect(parseNvmeReservationType('8')).toBe(6);
  });

  it('refuses obsolete SPC codes, unknown names and other types', () => {
    for (const bad of [2, 4, 0, 9, 'bogus']) {
      const e = thrown(() => parseNvmeReservationType(bad));
      expect(e).toBeInstanceOf(ArgumentRangeError);
      expect(e.code).toBe('ERR_INVALID_RESERVATION_TYPE');
    }
    const e = thrown(() => parseNvmeReservationType(null as never));
    expect(e).toBeInstanceOf(ArgumentTypeError);
    expect(e.code).toBe('ERR_INVALID_RESERVATION_TYPE');
  });
});
