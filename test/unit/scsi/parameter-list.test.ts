import { describe, it, expect } from 'vitest';
import { buildBasicParameterList, buildRegisterAndMoveParameterList } from '../../../lib/scsi/parameter-list';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import { hex } from '../support/hex-bytes';
import { thrown } from '../support/thrown';

/** Expected vectors are written by hand from the SPC-4 parameter list layouts. */

const RK = 0x0102030405060708n;
const SARK = 0x1112131415161718n;
const RK_HEX = '01 02 03 04 05 06 07 08';
const SARK_HEX = '11 12 13 14 15 16 17 18';

/** SAS TransportID, address 0x5000c50005b32001 at bytes 4–11. */
const SAS_TID = hex('06 00 00 00 50 00 c5 00 05 b3 20 01 00 00 00 00 00 00 00 00 00 00 00 00');
/** iSCSI format 0 "iqn.a": additional length 20 (minimum), NUL padded to 24 bytes. */
const ISCSI_TID = hex('05 00 00 14 69 71 6e 2e 61 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00');

describe('buildBasicParameterList', () => {
  it('24 bytes: RK 0–7, SARK 8–15, no flags', () => {
    const pl = buildBasicParameterList({ reservationKey: RK, serviceActionKey: SARK });
    expect(pl).toEqual(hex(`${RK_HEX} ${SARK_HEX} 00 00 00 00 00 00 00 00`));
  });
  it('zero keys', () => {
    expect(buildBasicParameterList({ reservationKey: 0n, serviceActionKey: 0n })).toEqual(Buffer.alloc(24));
  });
  it('APTPL is byte 20 bit 0', () => {
    const pl = buildBasicParameterList({ reservationKey: RK, serviceActionKey: SARK, aptpl: true });
    expect(pl).toEqual(hex(`${RK_HEX} ${SARK_HEX} 00 00 00 00 01 00 00 00`));
  });
  it('ALL_TG_PT is byte 20 bit 2', () => {
    const pl = buildBasicParameterList({ reservationKey: RK, serviceActionKey: SARK, allTgPt: true });
    expect(pl).toEqual(hex(`${RK_HEX} ${SARK_HEX} 00 00 00 00 04 00 00 00`));
  });
  it('APTPL + ALL_TG_PT', () => {
    const pl = buildBasicParameterList({ reservationKey: RK, serviceActionKey: SARK, allTgPt: true, aptpl: true });
    expect(pl).toEqual(hex(`${RK_HEX} ${SARK_HEX} 00 00 00 00 05 00 00 00`));
  });
  it('explicit false flags change nothing', () => {
    const pl = buildBasicParameterList({ reservationKey: RK, serviceActionKey: SARK, allTgPt: false, aptpl: false, specIPt: false });
    expect(pl).toEqual(hex(`${RK_HEX} ${SARK_HEX} 00 00 00 00 00 00 00 00`));
  });
  it('SPEC_I_PT (bit 3) with TransportID list length at 24–27 and the IDs from 28', () => {
    const pl = buildBasicParameterList({
      reservationKey: 0n,
      serviceActionKey: SARK,
      specIPt: true,
      aptpl: true,
      transportIds: [SAS_TID, ISCSI_TID],
    });
    expect(pl.length).toBe(24 + 4 + 48);
    expect(pl).toEqual(
      Buffer.concat([
        hex(`00 00 00 00 00 00 00 00 ${SARK_HEX} 00 00 00 00 09 00 00 00 00 00 00 30`),
        SAS_TID,
        ISCSI_TID,
      ]),
    );
  });
  it('SPEC_I_PT is implied by a non-empty transportIds', () => {
    const pl = buildBasicParameterList({ reservationKey: 0n, serviceActionKey: SARK, transportIds: [SAS_TID] });
    expect(pl).toEqual(Buffer.concat([hex(`00 00 00 00 00 00 00 00 ${SARK_HEX} 00 00 00 00 08 00 00 00 00 00 00 18`), SAS_TID]));
  });
  it('copies TransportIDs (later mutation does not leak in)', () => {
    const tid = Buffer.from(SAS_TID);
    const pl = buildBasicParameterList({ reservationKey: 0n, serviceActionKey: 1n, transportIds: [tid] });
    tid[4] = 0xff;
    expect(pl[28 + 4]).toBe(0x50);
  });
  it('rejects inconsistent SPEC_I_PT / transportIds', () => {
    let e = thrown(() => buildBasicParameterList({ reservationKey: 0n, serviceActionKey: 1n, specIPt: true }));
    expect(e).toBeInstanceOf(ArgumentRangeError);
    expect(e.code).toBe('ERR_INVALID_OPTION');
    e = thrown(() => buildBasicParameterList({ reservationKey: 0n, serviceActionKey: 1n, specIPt: true, transportIds: [] }));
    expect(e.code).toBe('ERR_INVALID_OPTION');
    e = thrown(() => buildBasicParameterList({ reservationKey: 0n, serviceActionKey: 1n, specIPt: false, transportIds: [SAS_TID] }));
    expect(e).toBeInstanceOf(ArgumentRangeError);
    expect(e.code).toBe('ERR_INVALID_OPTION');
  });
  it('rejects malformed TransportID buffers', () => {
    for (const bad of [Buffer.alloc(23), Buffer.concat([SAS_TID, Buffer.alloc(4)]), hex('05 00 00 40 69 71 6e 2e')]) {
      const e = thrown(() => buildBasicParameterList({ reservationKey: 0n, serviceActionKey: 1n, transportIds: [bad] }));
      expect(e).toBeInstanceOf(ArgumentRangeError);
      expect(e.code).toBe('ERR_INVALID_TRANSPORT_ID');
      expect(e.message).toMatch(/transportIds\[0\]/);
    }
    const e = thrown(() =>
      buildBasicParameterList({ reservationKey: 0n, serviceActionKey: 1n, transportIds: [{ protocol: 'sas' } as unknown as Buffer] }),
    );
    expect(e).toBeInstanceOf(ArgumentTypeError);
    expect(e.code).toBe('ERR_INVALID_TRANSPORT_ID');
  });
  it('rejects bad keys and flags', () => {
    let e = thrown(() => buildBasicParameterList({ reservationKey: 1 as unknown as bigint, serviceActionKey: 0n }));
    expect(e).toBeInstanceOf(ArgumentTypeError);
    expect(e.code).toBe('ERR_INVALID_KEY');
    e = thrown(() => buildBasicParameterList({ reservationKey: 0n, serviceActionKey: 2n ** 64n }));
    expect(e).toBeInstanceOf(ArgumentRangeError);
    expect(e.code).toBe('ERR_INVALID_KEY');
    expect(e.message).toMatch(/serviceActionKey/);
    e = thrown(() => buildBasicParameterList({ reservationKey: 0n, serviceActionKey: 0n, aptpl: 1 as unknown as boolean }));
    expect(e).toBeInstanceOf(ArgumentTypeError);
    expect(e.code).toBe('ERR_INVALID_OPTION');
    expect(e.message).toMatch(/aptpl/);
  });
});

describe('buildRegisterAndMoveParameterList', () => {
  it('layout: RK, SARK, byte 17 flags, RTPI 18–19, TransportID length 20–23, TransportID from 24', () => {
    const pl = buildRegisterAndMoveParameterList({
      reservationKey: RK,
      serviceActionKey: SARK,
      relativeTargetPortId: 0x0102,
      transportId: ISCSI_TID,
    });
    expect(pl).toEqual(Buffer.concat([hex(`${RK_HEX} ${SARK_HEX} 00 00 01 02 00 00 00 18`), ISCSI_TID]));
  });
  it('UNREG is byte 17 bit 1', () => {
    const pl = buildRegisterAndMoveParameterList({
      reservationKey: RK,
      serviceActionKey: SARK,
      unregister: true,
      relativeTargetPortId: 1,
      transportId: SAS_TID,
    });
    expect(pl).toEqual(Buffer.concat([hex(`${RK_HEX} ${SARK_HEX} 00 02 00 01 00 00 00 18`), SAS_TID]));
  });
  it('APTPL is byte 17 bit 0', () => {
    const pl = buildRegisterAndMoveParameterList({
      reservationKey: RK,
      serviceActionKey: SARK,
      aptpl: true,
      relativeTargetPortId: 0xffff,
      transportId: SAS_TID,
    });
    expect(pl).toEqual(Buffer.concat([hex(`${RK_HEX} ${SARK_HEX} 00 01 ff ff 00 00 00 18`), SAS_TID]));
  });
  it('UNREG + APTPL with a longer iSCSI TransportID', () => {
    // "iqn.1994-05.com.redhat:node1" is 28 bytes; +NUL = 29 → padded to 32 (0x20); total 36.
    const name = Buffer.from('iqn.1994-05.com.redhat:node1', 'ascii');
    const tid = Buffer.concat([hex('05 00 00 20'), name, Buffer.alloc(4)]);
    const pl = buildRegisterAndMoveParameterList({
      reservationKey: RK,
      serviceActionKey: SARK,
      unregister: true,
      aptpl: true,
      relativeTargetPortId: 0,
      transportId: tid,
    });
    expect(pl).toEqual(Buffer.concat([hex(`${RK_HEX} ${SARK_HEX} 00 03 00 00 00 00 00 24`), tid]));
  });
  it('rejects a bad relative target port identifier', () => {
    for (const rtpi of [-1, 65536, 1.5, NaN]) {
      const e = thrown(() =>
        buildRegisterAndMoveParameterList({ reservationKey: RK, serviceActionKey: SARK, relativeTargetPortId: rtpi, transportId: SAS_TID }),
      );
      expect(e).toBeInstanceOf(ArgumentRangeError);
      expect(e.code).toBe('ERR_INVALID_OPTION');
      expect(e.message).toMatch(/relativeTargetPortId/);
    }
    const e = thrown(() =>
      buildRegisterAndMoveParameterList({
        reservationKey: RK,
        serviceActionKey: SARK,
        relativeTargetPortId: '1' as unknown as number,
        transportId: SAS_TID,
      }),
    );
    expect(e).toBeInstanceOf(ArgumentTypeError);
  });
  it('rejects a malformed or missing TransportID', () => {
    let e = thrown(() =>
      buildRegisterAndMoveParameterList({ reservationKey: RK, serviceActionKey: SARK, relativeTargetPortId: 1, transportId: Buffer.alloc(10) }),
    );
    expect(e).toBeInstanceOf(ArgumentRangeError);
    expect(e.code).toBe('ERR_INVALID_TRANSPORT_ID');
    e = thrown(() =>
      buildRegisterAndMoveParameterList({
        reservationKey: RK,
        serviceActionKey: SARK,
        relativeTargetPortId: 1,
        transportId: undefined as unknown as Buffer,
      }),
    );
    expect(e).toBeInstanceOf(ArgumentTypeError);
    expect(e.code).toBe('ERR_INVALID_TRANSPORT_ID');
  });
  it('rejects non-boolean flags', () => {
    const e = thrown(() =>
      buildRegisterAndMoveParameterList({
        reservationKey: RK,
        serviceActionKey: SARK,
        unregister: 'yes' as unknown as boolean,
        relativeTargetPortId: 1,
        transportId: SAS_TID,
      }),
    );
    expect(e).toBeInstanceOf(ArgumentTypeError);
    expect(e.message).toMatch(/unregister/);
  });
});
