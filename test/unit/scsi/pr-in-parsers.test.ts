import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MalformedResponseError } from '../../../lib/errors';
import { toJSONSafe, withHexInspect } from '../../../lib/hex-inspect';
import {
  MAX_FULL_STATUS_DESCRIPTOR_LENGTH,
  describeAllowCommands,
  needsLargerAllocation,
  parseReadFullStatus,
  parseReadKeys,
  parseReadReservation,
  parseReportCapabilities,
} from '../../../lib/scsi/pr-in-parsers';
import { hex } from '../support/hex-bytes';
import { seededRandom } from '../support/event-loop';

// ---------------------------------------------------------------------------
// byte-vector helpers

/** Buffer from a hex string; spaces, newlines and `|` are ignored. */

/** `data` followed by `junk` bytes of 0xAA (stale data beyond validLength). */
function withJunk(data: Buffer, junk: number, fill = 0xaa): Buffer {
  return Buffer.concat([data, Buffer.alloc(junk, fill)]);
}

function be32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** PR IN header: generation + additional length. */
function header(generation: number, additionalLength: number): string {
  return be32(generation) + be32(additionalLength);
}

/** READ FULL STATUS descriptor. */
function fsDescriptor(opts: {
  key: string; // 16 hex digits
  flags?: number; // byte 12
  scopeType?: number; // byte 13
  rtpi?: number;
  tid: Buffer;
}): Buffer {
  const fixed = Buffer.alloc(24);
  Buffer.from(opts.key, 'hex').copy(fixed, 0);
  fixed[12] = opts.flags ?? 0;
  fixed[13] = opts.scopeType ?? 0;
  fixed.writeUInt16BE(opts.rtpi ?? 0, 18);
  fixed.writeUInt32BE(opts.tid.length, 20);
  return Buffer.concat([fixed, opts.tid]);
}

/** Full READ FULL STATUS response from descriptors. */
function fullStatus(generation: number, descriptors: Buffer[], additionalLength?: number): Buffer {
  const body = Buffer.concat(descriptors);
  return Buffer.concat([hex(header(generation, additionalLength ?? body.length)), body]);
}

// iSCSI format 1 TransportID, "iqn.2003-01.org.linux-iscsi:n1,i,0x00023d000001" (47 chars + NUL = 48).
const ISCSI_NAME_1 = 'iqn.2003-01.org.linux-iscsi:n1';
const ISCSI_TEXT_1 = `${ISCSI_NAME_1},i,0x00023d000001`;
// iSCSI format 1 TransportID with a longer name (different length).
const ISCSI_NAME_2 = 'iqn.1994-05.com.redhat:a-considerably-longer-initiator-name-for-node2';
const ISCSI_TEXT_2 = `${ISCSI_NAME_2},i,0x23d000000002`;

function iscsiF1(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  const additional = Math.max(20, (bytes.length + 1 + 3) & ~3);
  const tid = Buffer.alloc(4 + additional);
  tid[0] = 0x45; // format 01b, protocol 5
  tid.writeUInt16BE(additional, 2);
  bytes.copy(tid, 4);
  return tid;
}

const TID_ISCSI_1 = iscsiF1(ISCSI_TEXT_1);
const TID_ISCSI_2 = iscsiF1(ISCSI_TEXT_2);
// FCP TransportID: protocol 0, N_Port name 0x10000000c9f3a571 at bytes 8–15.
const TID_FCP = hex('00000000 00000000 10000000c9f3a571 0000000000000000');

function malformed(fn: () => unknown): MalformedResponseError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MalformedResponseError);
    expect((err as MalformedResponseError).code).toBe('ERR_MALFORMED_RESPONSE');
    return err as MalformedResponseError;
  }
  throw new Error('expected MalformedResponseError, nothing was thrown');
}


// ---------------------------------------------------------------------------

describe('sanity of the hand-built TransportIDs', () => {
  it('have the expected lengths', () => {
    expect(ISCSI_TEXT_1.length).toBe(47);
    expect(TID_ISCSI_1.length).toBe(52); // 4 + 48
    expect(TID_ISCSI_1.subarray(0, 4)).toEqual(hex('45 00 00 30'));
    expect(ISCSI_TEXT_2.length).toBe(86);
    expect(TID_ISCSI_2.length).toBe(4 + 88); // 86 chars + NUL -> 87, padded to 88
    expect(TID_FCP.length).toBe(24);
  });
});

describe('parseReadKeys', () => {
  it('parses an empty key list', () => {
    const r = parseReadKeys(hex('00000007 00000000'), 8);
    expect(r).toEqual({ generation: 7, keys: [], additionalLength: 0, truncated: false });
  });

  it('parses one key', () => {
    const r = parseReadKeys(hex('00000001 00000008 | 0000000000001a2b'), 16);
    expect(r).toEqual({ generation: 1, keys: [0x1a2bn], additionalLength: 8, truncated: false });
  });

  it('parses many keys, including duplicates, 0 and all-ones', () => {
    const data = hex(`
      fedcba98 00000028
      0000000000001a2b
      0000000000001a2b
      0000000000000000
      ffffffffffffffff
      8000000000000001`);
    const r = parseReadKeys(data, data.length);
    expect(r.generation).toBe(0xfedcba98);
    expect(r.keys).toEqual([0x1a2bn, 0x1a2bn, 0n, 0xffffffffffffffffn, 0x8000000000000001n]);
    expect(r.additionalLength).toBe(40);
    expect(r.truncated).toBe(false);
    for (const k of r.keys) expect(typeof k).toBe('bigint');
  });

  it('header only: no keys, truncated', () => {
    const r = parseReadKeys(hex('00000003 00000010'), 8);
    expect(r).toEqual({ generation: 3, keys: [], additionalLength: 16, truncated: true });
  });

  it('mid-key: drops the partial key, truncated', () => {
    const data = hex('00000003 00000018 | 0000000000000001 0000000000000002 00000000');
    const r = parseReadKeys(data, data.length);
    expect(r.keys).toEqual([1n, 2n]);
    expect(r.truncated).toBe(true);
    expect(needsLargerAllocation(r, 28)).toEqual({ retry: true, nextAllocationLength: 56 });
  });

  it('ignores junk beyond validLength in an oversize buffer', () => {
    const valid = hex('00000002 00000010 | 0000000000000001 0000000000000002');
    const r = parseReadKeys(withJunk(valid, 4096), valid.length);
    expect(r).toEqual({ generation: 2, keys: [1n, 2n], additionalLength: 16, truncated: false });
  });

  it('never reads a key past validLength even when the junk looks like one', () => {
    // ADDITIONAL LENGTH claims 3 keys; only 2 are valid; the third slot is junk.
    const valid = hex('00000002 00000018 | 0000000000000001 0000000000000002');
    const r = parseReadKeys(withJunk(valid, 64, 0x11), valid.length);
    expect(r.keys).toEqual([1n, 2n]);
    expect(r.truncated).toBe(true);
  });

  it('uses data.length when validLength exceeds the buffer', () => {
    const data = hex('00000002 00000010 | 0000000000000001');
    const r = parseReadKeys(data, 8192);
    expect(r.keys).toEqual([1n]);
    expect(r.truncated).toBe(true);
  });

  it('throws MalformedResponseError when fewer than 8 bytes are valid', () => {
    const data = withJunk(hex('00000001 00000000'), 100);
    for (const v of [0, 1, 4, 7, -1, -100, Number.NaN]) malformed(() => parseReadKeys(data, v));
    malformed(() => parseReadKeys(Buffer.alloc(0), 0));
    malformed(() => parseReadKeys(Buffer.alloc(5), 8));
  });

  it('throws MalformedResponseError when ADDITIONAL LENGTH is not a multiple of 8', () => {
    for (const len of [1, 4, 7, 9, 12, 0xffffffff]) {
      const data = Buffer.concat([hex(header(1, len)), Buffer.alloc(32)]);
      const err = malformed(() => parseReadKeys(data, data.length));
      expect(err.message).toMatch(/multiple of 8/);
    }
  });

  it('accepts an ADDITIONAL LENGTH larger than any allocation (many registrants)', () => {
    const data = Buffer.concat([hex(header(1, 0xfffffff8)), hex('0000000000000009')]);
    const r = parseReadKeys(data, data.length);
    expect(r.keys).toEqual([9n]);
    expect(r.truncated).toBe(true);
    expect(needsLargerAllocation(r, 16)).toEqual({ retry: true, nextAllocationLength: 65535 });
    expect(needsLargerAllocation(r, 65535)).toEqual({ retry: false, nextAllocationLength: 65535 });
  });
});

describe('needsLargerAllocation', () => {
  it('no retry when the whole list fits with room to spare', () => {
    const r = parseReadKeys(withJunk(hex('00000001 00000008 | 0000000000001a2b'), 8192 - 16, 0), 8192);
    expect(needsLargerAllocation(r, 8192)).toEqual({ retry: false, nextAllocationLength: 8192 });
  });

  it('truncated: asks for the reported size when that is more than double', () => {
    const r = parseReadKeys(hex(header(1, 800)), 8);
    expect(r.truncated).toBe(true);
    expect(needsLargerAllocation(r, 8)).toEqual({ retry: true, nextAllocationLength: 808 });
  });

  it('truncated: doubles when that is more than the reported size', () => {
    const data = hex('00000001 00000010 | 0000000000000001');
    const r = parseReadKeys(data, 16);
    expect(needsLargerAllocation(r, 16)).toEqual({ retry: true, nextAllocationLength: 32 });
  });

  it('LIO quirk: ADDITIONAL LENGTH is the truncated one and the keys exactly fill the allocation', () => {
    // 3 registrants, allocation 24: LIO returns 2 keys and says ADDITIONAL LENGTH = 16, resid 0.
    const data = hex('00000005 00000010 | 0000000000000001 0000000000000002');
    const r = parseReadKeys(data, 24);
    expect(r.truncated).toBe(false);
    expect(r.keys).toEqual([1n, 2n]);
    expect(needsLargerAllocation(r, 24)).toEqual({ retry: true, nextAllocationLength: 48 });
    // The re-issue with 48 returns all three with room to spare: done.
    const again = parseReadKeys(
      withJunk(hex('00000005 00000018 | 0000000000000001 0000000000000002 0000000000000003'), 16, 0),
      48,
    );
    expect(again.keys).toHaveLength(3);
    expect(needsLargerAllocation(again, 48)).toEqual({ retry: false, nextAllocationLength: 48 });
  });

  it('LIO quirk with an allocation that is not a multiple of 8 (less than one key of slack)', () => {
    // allocation 20: one key fits (16 bytes), LIO stops, ADDITIONAL LENGTH 8.
    const data = withJunk(hex('00000005 00000008 | 0000000000000001'), 4, 0);
    const r = parseReadKeys(data, 20);
    expect(r.truncated).toBe(false);
    expect(needsLargerAllocation(r, 20)).toEqual({ retry: true, nextAllocationLength: 40 });
  });

  it('LIO quirk when resid reports only the bytes returned (validLength < allocation)', () => {
    const data = withJunk(hex('00000005 00000008 | 0000000000000001'), 4, 0);
    const r = parseReadKeys(data, 16); // allocation 20, resid 4
    expect(needsLargerAllocation(r, 20).retry).toBe(true);
  });

  it('an empty READ KEYS with allocation 8 asks once for more, then settles', () => {
    const r = parseReadKeys(hex(header(1, 0)), 8);
    expect(needsLargerAllocation(r, 8)).toEqual({ retry: true, nextAllocationLength: 16 });
    const again = parseReadKeys(withJunk(hex(header(1, 0)), 8, 0), 16);
    expect(needsLargerAllocation(again, 16).retry).toBe(false);
  });

  it('never asks beyond 65535 and stops there', () => {
    const r = parseReadKeys(hex(header(1, 0x10000)), 8);
    expect(needsLargerAllocation(r, 40000)).toEqual({ retry: true, nextAllocationLength: 65535 });
    expect(needsLargerAllocation(r, 65535)).toEqual({ retry: false, nextAllocationLength: 65535 });
  });

  it('READ RESERVATION: only truncation matters', () => {
    const none = parseReadReservation(hex(header(1, 0)), 8);
    expect(needsLargerAllocation(none, 8)).toEqual({ retry: false, nextAllocationLength: 8 });
    const cut = parseReadReservation(hex(header(1, 16)), 8);
    expect(needsLargerAllocation(cut, 8)).toEqual({ retry: true, nextAllocationLength: 24 });
    const full = parseReadReservation(hex(header(1, 16) + '0000000000001a2b 00000000 0005 0000'), 24);
    expect(needsLargerAllocation(full, 24)).toEqual({ retry: false, nextAllocationLength: 24 });
  });

  it('READ FULL STATUS: retries when the unused tail could not hold another descriptor', () => {
    const d = fsDescriptor({ key: '0000000000000001', tid: TID_FCP });
    const data = fullStatus(1, [d, d]); // 8 + 96
    const r = parseReadFullStatus(data, data.length);
    expect(needsLargerAllocation(r, data.length)).toEqual({ retry: true, nextAllocationLength: 208 });
    expect(needsLargerAllocation(r, 104 + MAX_FULL_STATUS_DESCRIPTOR_LENGTH - 1).retry).toBe(true);
    expect(needsLargerAllocation(r, 104 + MAX_FULL_STATUS_DESCRIPTOR_LENGTH).retry).toBe(false);
    expect(needsLargerAllocation(r, 8192)).toEqual({ retry: false, nextAllocationLength: 8192 });
  });
});

describe('parseReadReservation', () => {
  it('no reservation: additional length 0 -> null', () => {
    const r = parseReadReservation(hex('00000004 00000000'), 8);
    expect(r).toEqual({ generation: 4, reservation: null, additionalLength: 0, truncated: false });
  });

  it('reservation present: key at 8–15, scope/type at byte 21', () => {
    const data = hex('0000000a 00000010 | 0000000000001a2b | 00000000 | 00 | 05 | 0000');
    const r = parseReadReservation(data, 24);
    expect(r).toEqual({
      generation: 10,
      reservation: { key: 0x1a2bn, scope: 0, type: 5, typeName: 'write-exclusive-registrants-only' },
      additionalLength: 16,
      truncated: false,
    });
  });

  it.each([
    [1, 'write-exclusive'],
    [3, 'exclusive-access'],
    [5, 'write-exclusive-registrants-only'],
    [6, 'exclusive-access-registrants-only'],
    [7, 'write-exclusive-all-registrants'],
    [8, 'exclusive-access-all-registrants'],
  ] as const)('type %i is named %s', (type, name) => {
    const data = hex(header(1, 16) + 'ffffffffffffffff 00000000 00' + type.toString(16).padStart(2, '0') + '0000');
    const r = parseReadReservation(data, 24);
    expect(r.reservation).toEqual({ key: 0xffffffffffffffffn, scope: 0, type, typeName: name });
  });

  it('splits scope and type nibbles; unknown types have no typeName', () => {
    const data = hex(header(1, 16) + '0000000000000001 00000000 00 2a 0000');
    const r = parseReadReservation(data, 24);
    expect(r.reservation).toEqual({ key: 1n, scope: 2, type: 0xa });
    expect(r.reservation).not.toHaveProperty('typeName');
  });

  it('ignores junk after validLength', () => {
    const valid = hex(header(9, 16) + '0000000000000042 00000000 00 01 0000');
    const r = parseReadReservation(withJunk(valid, 1000), 24);
    expect(r.reservation).toEqual({ key: 0x42n, scope: 0, type: 1, typeName: 'write-exclusive' });
    expect(r.truncated).toBe(false);
    // no reservation, junk that looks like one
    const none = parseReadReservation(withJunk(hex(header(9, 0)), 16, 0x01), 8);
    expect(none.reservation).toBeNull();
  });

  it('header only: truncated, reservation unknown (null)', () => {
    const r = parseReadReservation(hex(header(2, 16)), 8);
    expect(r).toEqual({ generation: 2, reservation: null, additionalLength: 16, truncated: true });
  });

  it('mid-descriptor: truncated, partial descriptor not decoded', () => {
    const data = hex(header(2, 16) + '0000000000001a2b 0000');
    const r = parseReadReservation(withJunk(data, 10, 0x05), 18);
    expect(r.reservation).toBeNull();
    expect(r.truncated).toBe(true);
  });

  it('ADDITIONAL LENGTH above 16 with 24 bytes valid: the descriptor is decoded and the response is truncated (fuzz: the documentation said null)', () => {
    const data = hex(header(3, 32) + '0000000000001a2b 00000000 00 05 0000');
    const r = parseReadReservation(data, 24);
    expect(r.reservation).toEqual({ key: 0x1a2bn, scope: 0, type: 5, typeName: 'write-exclusive-registrants-only' });
    expect(r.truncated).toBe(true);
  });

  it('throws on a short header or an additional length of 1–15', () => {
    malformed(() => parseReadReservation(hex('00000001 000000'), 7));
    for (const len of [1, 8, 15]) {
      const data = Buffer.concat([hex(header(1, len)), Buffer.alloc(16)]);
      malformed(() => parseReadReservation(data, data.length));
    }
  });
});

describe('parseReportCapabilities', () => {
  it('decodes LIO\'s usual answer', () => {
    // LENGTH 8; CRH SIP_C ATP_C PTPL_C; TMV, ALLOW COMMANDS 001b, PTPL_A; all six types.
    const r = parseReportCapabilities(hex('0008 1d 91 ea 01 0000'), 8);
    expect(r).toEqual({
      length: 8,
      replaceLostReservationCapable: false,
      compatibleReservationHandling: true,
      specifyInitiatorPortsCapable: true,
      allTargetPortsCapable: true,
      persistThroughPowerLossCapable: true,
      typeMaskValid: true,
      allowCommands: 1,
      allowCommandsDescription: describeAllowCommands(1),
      persistThroughPowerLossActivated: true,
      typesSupported: [1, 3, 5, 6, 7, 8],
      typeMask: 0xea01,
      truncated: false,
    });
  });

  const flagBits = [
    [2, 0x80, 'replaceLostReservationCapable'],
    [2, 0x10, 'compatibleReservationHandling'],
    [2, 0x08, 'specifyInitiatorPortsCapable'],
    [2, 0x04, 'allTargetPortsCapable'],
    [2, 0x01, 'persistThroughPowerLossCapable'],
    [3, 0x80, 'typeMaskValid'],
    [3, 0x01, 'persistThroughPowerLossActivated'],
  ] as const;
  const flagNames = flagBits.map(([, , name]) => name);

  it.each(flagBits)('byte %i mask 0x%s sets only %s', (byte, mask, name) => {
    const data = hex('0008 00 00 0000 0000');
    data[byte] = mask;
    const r = parseReportCapabilities(data, 8);
    for (const other of flagNames) expect(r[other]).toBe(other === name);
    expect(r.allowCommands).toBe(0);
  });

  it('ignores reserved bits', () => {
    const r = parseReportCapabilities(hex('0008 62 0e 1455 0000'), 8);
    for (const name of flagNames) expect(r[name]).toBe(false);
    expect(r.allowCommands).toBe(0);
    expect(r.typesSupported).toEqual([]);
    expect(r.typeMask).toBe(0x1455);
  });

  it.each([0, 1, 2, 3, 4, 5, 6, 7])('ALLOW COMMANDS %i', (code) => {
    const data = hex('0008 00 00 0000 0000');
    data[3] = code << 4;
    const r = parseReportCapabilities(data, 8);
    expect(r.allowCommands).toBe(code);
    expect(r.allowCommandsDescription).toBe(describeAllowCommands(code));
    expect(r.typeMaskValid).toBe(false);
    expect(r.persistThroughPowerLossActivated).toBe(false);
  });

  it('describes ALLOW COMMANDS values', () => {
    expect(describeAllowCommands(0)).toMatch(/no information/i);
    expect(describeAllowCommands(1)).toMatch(/TEST UNIT READY/);
    expect(describeAllowCommands(2)).toMatch(/not allowed through Write Exclusive/);
    expect(describeAllowCommands(3)).toMatch(/allowed through Write Exclusive; RECEIVE COPY RESULTS not allowed/);
    expect(describeAllowCommands(4)).toMatch(/RECEIVE COPY RESULTS allowed/);
    for (const c of [5, 6, 7]) expect(describeAllowCommands(c)).toMatch(/reserved/);
    expect(describeAllowCommands(8)).toMatch(/invalid/);
    expect(new Set([0, 1, 2, 3, 4].map(describeAllowCommands)).size).toBe(5);
  });

  it.each([
    ['02', '00', 1],
    ['08', '00', 3],
    ['20', '00', 5],
    ['40', '00', 6],
    ['80', '00', 7],
    ['00', '01', 8],
  ] as const)('type mask %s%s with TMV -> type %i', (b4, b5, code) => {
    const r = parseReportCapabilities(hex(`0008 00 80 ${b4} ${b5} 0000`), 8);
    expect(r.typesSupported).toEqual([code]);
    expect(r.typeMask).toBe(parseInt(b4 + b5, 16));
  });

  it('without TMV the type mask is reported raw but no types are listed', () => {
    const r = parseReportCapabilities(hex('0008 00 00 ea 01 0000'), 8);
    expect(r.typeMaskValid).toBe(false);
    expect(r.typesSupported).toEqual([]);
    expect(r.typeMask).toBe(0xea01);
  });

  it('ignores junk after validLength; accepts 6 valid bytes (flagged truncated)', () => {
    const r = parseReportCapabilities(withJunk(hex('0008 01 80 02 00 0000'), 200, 0xff), 8);
    expect(r.persistThroughPowerLossCapable).toBe(true);
    expect(r.typesSupported).toEqual([1]);
    expect(r.truncated).toBe(false);
    const short = parseReportCapabilities(withJunk(hex('0008 01 80 02 00'), 2, 0xff), 6);
    expect(short.typesSupported).toEqual([1]);
    expect(short.truncated).toBe(true);
  });

  it('throws on fewer than 6 valid bytes or a LENGTH below 6', () => {
    for (const v of [0, 2, 5]) malformed(() => parseReportCapabilities(hex('0008 1d 91 ea 01 0000'), v));
    malformed(() => parseReportCapabilities(hex('0000 1d 91 ea 01 0000'), 8));
    malformed(() => parseReportCapabilities(hex('0005 1d 91 ea 01 0000'), 8));
  });
});

describe('parseReadFullStatus', () => {
  const holder = fsDescriptor({
    key: '0000000000001a2b',
    flags: 0x01, // R_HOLDER
    scopeType: 0x05, // LU scope, WE-RO
    rtpi: 1,
    tid: TID_ISCSI_1,
  });
  const allPorts = fsDescriptor({
    key: '0000000000001a2c',
    flags: 0x02, // ALL_TG_PT
    scopeType: 0x05, // not meaningful: not a holder
    rtpi: 0,
    tid: TID_ISCSI_2,
  });
  const fcp = fsDescriptor({ key: 'abcdef0123456789', rtpi: 0x0102, tid: TID_FCP });
  const three = fullStatus(0x11, [holder, allPorts, fcp]);

  it('no registrations', () => {
    const r = parseReadFullStatus(hex(header(3, 0)), 8);
    expect(r).toEqual({ generation: 3, registrations: [], additionalLength: 0, truncated: false });
  });

  it('decodes iSCSI format 1 TransportIDs of different lengths and an FCP one', () => {
    expect(holder.length).toBe(24 + 52);
    expect(allPorts.length).toBe(24 + 92);
    expect(fcp.length).toBe(48);
    const r = parseReadFullStatus(three, three.length);
    expect(r.generation).toBe(0x11);
    expect(r.additionalLength).toBe(76 + 116 + 48);
    expect(r.truncated).toBe(false);
    expect(r.registrations).toEqual([
      {
        key: 0x1a2bn,
        allTargetPorts: false,
        reservationHolder: true,
        scope: 0,
        type: 5,
        typeName: 'write-exclusive-registrants-only',
        relativeTargetPortId: 1,
        transportId: { protocol: 'iscsi', name: ISCSI_NAME_1, isid: '00023d000001' },
      },
      {
        key: 0x1a2cn,
        allTargetPorts: true,
        reservationHolder: false,
        scope: 0,
        type: 5,
        relativeTargetPortId: 0,
        transportId: { protocol: 'iscsi', name: ISCSI_NAME_2, isid: '23d000000002' },
      },
      {
        key: 0xabcdef0123456789n,
        allTargetPorts: false,
        reservationHolder: false,
        scope: 0,
        type: 0,
        relativeTargetPortId: 0x0102,
        transportId: { protocol: 'fcp', nPortName: 0x10000000c9f3a571n },
      },
    ]);
    expect(r.registrations[1]).not.toHaveProperty('typeName');
  });

  it('ignores junk after validLength', () => {
    const r = parseReadFullStatus(withJunk(three, 4096, 0x45), three.length);
    expect(r.registrations).toHaveLength(3);
    expect(r.truncated).toBe(false);
  });

  it('junk that looks like another descriptor past validLength is not read', () => {
    // ADDITIONAL LENGTH claims a 4th descriptor that lies beyond validLength.
    const claimed = fullStatus(1, [holder, fcp], holder.length + fcp.length + fcp.length);
    const data = Buffer.concat([claimed, fcp]);
    const r = parseReadFullStatus(data, claimed.length);
    expect(r.registrations).toHaveLength(2);
    expect(r.truncated).toBe(true);
  });

  it('header only: truncated, no registrations', () => {
    const r = parseReadFullStatus(three, 8);
    expect(r.registrations).toEqual([]);
    expect(r.truncated).toBe(true);
    expect(r.additionalLength).toBe(three.length - 8);
  });

  it('mid-descriptor (inside the fixed 24 bytes): partial descriptor dropped', () => {
    const r = parseReadFullStatus(three, 8 + holder.length + 10);
    expect(r.registrations.map((x) => x.key)).toEqual([0x1a2bn]);
    expect(r.truncated).toBe(true);
  });

  it('mid-TransportID: partial descriptor dropped', () => {
    for (const cut of [24, 25, 40, allPorts.length - 1]) {
      const r = parseReadFullStatus(three, 8 + holder.length + cut);
      expect(r.registrations.map((x) => x.key)).toEqual([0x1a2bn]);
      expect(r.truncated).toBe(true);
    }
  });

  it('cut exactly at a descriptor boundary: complete ones kept', () => {
    const r = parseReadFullStatus(three, 8 + holder.length + allPorts.length);
    expect(r.registrations).toHaveLength(2);
    expect(r.truncated).toBe(true);
    expect(needsLargerAllocation(r, 8 + holder.length + allPorts.length)).toEqual({
      retry: true,
      nextAllocationLength: 2 * (8 + holder.length + allPorts.length),
    });
  });

  it('LIO quirk: truncated ADDITIONAL LENGTH, only whole descriptors returned', () => {
    // allocation 210: LIO fits holder (76) + allPorts (116) = 192 + 8 = 200, fcp (48) does not fit;
    // it stops and reports ADDITIONAL LENGTH 192 (not 240).
    const lio = fullStatus(1, [holder, allPorts]);
    expect(lio.length).toBe(200);
    const r = parseReadFullStatus(withJunk(lio, 10, 0), 210);
    expect(r.truncated).toBe(false);
    expect(r.registrations).toHaveLength(2);
    expect(needsLargerAllocation(r, 210)).toEqual({ retry: true, nextAllocationLength: 420 });
  });

  it('non-holders get no typeName even with a nonzero TYPE', () => {
    const d = fsDescriptor({ key: '0000000000000001', scopeType: 0x13, tid: TID_FCP });
    const r = parseReadFullStatus(fullStatus(1, [d]), 56);
    expect(r.registrations[0]).toMatchObject({ reservationHolder: false, scope: 1, type: 3 });
    expect(r.registrations[0]).not.toHaveProperty('typeName');
  });

  it('descriptor length beyond ADDITIONAL LENGTH -> MalformedResponseError', () => {
    const d = Buffer.from(fcp);
    d.writeUInt32BE(1000, 20);
    const data = fullStatus(1, [d]);
    const err = malformed(() => parseReadFullStatus(data, data.length));
    expect(err.message).toMatch(/ADDITIONAL DESCRIPTOR LENGTH 1000/);
    // even when the valid data stops before the descriptor ends
    malformed(() => parseReadFullStatus(data, 40));
  });

  it('bytes left within ADDITIONAL LENGTH that cannot hold a descriptor -> MalformedResponseError', () => {
    const data = Buffer.concat([fullStatus(1, [fcp], fcp.length + 10), Buffer.alloc(10)]);
    malformed(() => parseReadFullStatus(data, data.length));
    malformed(() => parseReadFullStatus(Buffer.concat([hex(header(1, 4)), Buffer.alloc(4)]), 12));
  });

  it('an iSCSI name holding İ decodes (regression: fuzz; the whole response was malformed)', () => {
    const tid = Buffer.concat([hex('45 00 00 14'), Buffer.from('İA,i,0x0', 'utf8'), Buffer.alloc(11)]);
    const data = fullStatus(1, [fsDescriptor({ key: '0000000000000000', tid })]);
    expect(parseReadFullStatus(data, 56).registrations[0]!.transportId).toEqual({ protocol: 'iscsi', name: 'İA', isid: '0' });
  });

  it('garbled TransportID -> MalformedResponseError', () => {
    // iSCSI TransportID whose own length (0x40) overruns the descriptor's 24 bytes.
    const badTid = hex('45 00 0040 ' + '69'.repeat(20));
    const data = fullStatus(1, [fsDescriptor({ key: '0000000000000001', tid: badTid })]);
    malformed(() => parseReadFullStatus(data, data.length));
    // zero-length TransportID
    const empty = fullStatus(1, [fsDescriptor({ key: '0000000000000001', tid: Buffer.alloc(0) })]);
    malformed(() => parseReadFullStatus(empty, empty.length));
  });

  it('throws when fewer than 8 bytes are valid', () => {
    for (const v of [0, 3, 7]) malformed(() => parseReadFullStatus(three, v));
  });
});

describe('garbage never escapes as anything but MalformedResponseError', () => {
  const parsers = { parseReadKeys, parseReadReservation, parseReportCapabilities, parseReadFullStatus };

  for (const [name, parse] of Object.entries(parsers)) {
    it(`${name}: 20000 random buffers`, () => {
      const rand = seededRandom(0x5e + name.length);
      let returned = 0;
      let rejected = 0;
      for (let i = 0; i < 20000; i++) {
        const len = Math.floor(rand() * 320);
        const data = Buffer.alloc(len);
        for (let j = 0; j < len; j++) data[j] = Math.floor(rand() * 256);
        // Make plausible headers common so the descriptor paths run too.
        if (len >= 8 && rand() < 0.7) {
          data.writeUInt32BE(Math.floor(rand() * (len + 16)), 4);
          if (name === 'parseReadKeys' && rand() < 0.5) data.writeUInt32BE(data.readUInt32BE(4) & ~7, 4);
          if (name === 'parseReportCapabilities') data.writeUInt16BE(8, 0);
        }
        if (name === 'parseReadFullStatus' && len >= 32 && rand() < 0.5) {
          data.writeUInt32BE(Math.floor(rand() * 64), 28); // first descriptor's length: small
          data[24] = rand() < 0.5 ? 0x45 : rand() < 0.5 ? 0x05 : 0x00;
        }
        const validLength = Math.floor(rand() * (len + 16)) - 4;
        try {
          const r = parse(data, validLength);
          expect(typeof r).toBe('object');
          returned++;
        } catch (err) {
          if (!(err instanceof MalformedResponseError)) throw err;
          rejected++;
        }
      }
      expect(returned).toBeGreaterThan(100);
      expect(rejected).toBeGreaterThan(100);
    });

    it(`${name}: bytes beyond validLength never change the result`, () => {
      const rand = seededRandom(0x77 + name.length);
      for (let i = 0; i < 3000; i++) {
        const len = 8 + Math.floor(rand() * 200);
        const valid = Buffer.alloc(len);
        for (let j = 0; j < len; j++) valid[j] = Math.floor(rand() * 256);
        valid.writeUInt32BE(Math.floor(rand() * (len + 64)) & (name === 'parseReadKeys' ? ~7 : ~0), 4);
        if (name === 'parseReportCapabilities') valid.writeUInt16BE(8, 0);
        const a = Buffer.concat([valid, Buffer.alloc(256, 0x00)]);
        const b = Buffer.concat([valid, Buffer.alloc(256, 0x45)]);
        const outcome = (buf: Buffer): unknown => {
          try {
            return toJSONSafe(parse(buf, len));
          } catch (err) {
            expect(err).toBeInstanceOf(MalformedResponseError);
            return 'malformed';
          }
        };
        expect(outcome(b)).toEqual(outcome(a));
        expect(outcome(valid)).toEqual(outcome(a));
      }
    });
  }
});

describe('inspect output and JSON', () => {
  const holder = fsDescriptor({ key: '0000000000001a2b', flags: 1, scopeType: 5, rtpi: 1, tid: TID_ISCSI_1 });
  const fcp = fsDescriptor({ key: 'abcdef0123456789', tid: TID_FCP });

  it('READ KEYS prints keys as hex and keeps them bigint', () => {
    const r = parseReadKeys(hex('00000001 00000010 | 0000000000001a2b ffffffffffffffff'), 24);
    const text = inspect(r);
    expect(text).toContain('0x1a2b');
    expect(text).toContain('0xffffffffffffffff');
    expect(text).not.toMatch(/6699n|\d+n\b/);
    expect(text).toContain('generation: 1');
    expect(inspect(r.keys)).toBe('[ 0x1a2b, 0xffffffffffffffff ]');
    expect(r.keys[0]).toBe(0x1a2bn);
    expect(Object.keys(r)).toEqual(['generation', 'keys', 'additionalLength', 'truncated']);
  });

  it('nested results (reservation, registrations, TransportIDs) print as hex', () => {
    const res = parseReadReservation(hex(header(1, 16) + '0000000000001a2b 00000000 0005 0000'), 24);
    expect(inspect(res)).toContain('key: 0x1a2b');
    expect(inspect(res.reservation)).toContain('key: 0x1a2b');

    const data = fullStatus(2, [holder, fcp]);
    const fs = parseReadFullStatus(data, data.length);
    const text = inspect(fs, { depth: Infinity });
    expect(text).toContain('key: 0x1a2b');
    expect(text).toContain('key: 0xabcdef0123456789');
    expect(text).toContain('nPortName: 0x10000000c9f3a571');
    expect(text).toContain(`name: '${ISCSI_NAME_1}'`);
    expect(inspect(fs.registrations[1])).toContain('nPortName: 0x10000000c9f3a571');
  });

  it('colours hex keys like bigints', () => {
    const r = parseReadKeys(hex('00000001 00000008 | 0000000000001a2b'), 16);
    expect(inspect(r, { colors: true })).toContain('\u001b[33m0x1a2b\u001b[39m');
  });

  it('respects depth', () => {
    const data = fullStatus(2, [fcp]);
    const fs = parseReadFullStatus(data, data.length);
    expect(inspect(fs, { depth: 0 })).toMatch(/registrations: \[Array\]/);
    expect(inspect({ wrap: { wrap: fs } }, { depth: 1 })).toContain('[Object]');
  });

  it('does not change JSON.stringify or structuredClone', () => {
    const caps = parseReportCapabilities(hex('0008 1d 91 ea 01 0000'), 8);
    expect(JSON.stringify(caps)).toBe(JSON.stringify({ ...caps }));
    expect(JSON.parse(JSON.stringify(caps))).toEqual(caps);
    const keys = parseReadKeys(hex('00000001 00000008 | 0000000000001a2b'), 16);
    expect(() => JSON.stringify(keys)).toThrow(TypeError); // bigints, as before
    const clone = structuredClone(keys);
    expect(clone).toEqual({ generation: 1, keys: [0x1a2bn], additionalLength: 8, truncated: false });
    expect(typeof clone.keys[0]).toBe('bigint');
  });

  it('toJSONSafe turns bigints and Buffers into hex strings', () => {
    const data = fullStatus(2, [holder, fcp]);
    const fs = parseReadFullStatus(data, data.length);
    const json = JSON.parse(JSON.stringify(toJSONSafe(fs)));
    expect(json.registrations[0].key).toBe('0x1a2b');
    expect(json.registrations[1].key).toBe('0xabcdef0123456789');
    expect(json.registrations[1].transportId).toEqual({ protocol: 'fcp', nPortName: '0x10000000c9f3a571' });
    expect(json.registrations[0].transportId).toEqual({ protocol: 'iscsi', name: ISCSI_NAME_1, isid: '00023d000001' });
    expect(toJSONSafe({ raw: Buffer.from([0xde, 0xad, 0xbe, 0xef]), u8: new Uint8Array([1, 2]) })).toEqual({
      raw: 'deadbeef',
      u8: '0102',
    });
    expect(JSON.stringify(toJSONSafe(parseReadKeys(hex('00000001 00000008 | 0000000000001a2b'), 16)))).toBe(
      '{"generation":1,"keys":["0x1a2b"],"additionalLength":8,"truncated":false}',
    );
  });

  it('toJSONSafe leaves plain values alone, keeps shared refs, rejects cycles', () => {
    expect(toJSONSafe(5)).toBe(5);
    expect(toJSONSafe('x')).toBe('x');
    expect(toJSONSafe(null)).toBeNull();
    expect(toJSONSafe(-5n)).toBe('-0x5');
    const shared = { k: 1n };
    expect(toJSONSafe([shared, shared])).toEqual([{ k: '0x1' }, { k: '0x1' }]);
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => toJSONSafe(cyc)).toThrow(TypeError);
  });
});

describe('withHexInspect', () => {
  it('returns the same object with a non-enumerable inspector', () => {
    const o = { a: 1n };
    expect(withHexInspect(o)).toBe(o);
    expect(Object.keys(o)).toEqual(['a']);
    const sym = Symbol.for('nodejs.util.inspect.custom');
    expect(Object.getOwnPropertyDescriptor(o, sym)?.enumerable).toBe(false);
    expect({ ...o }).toEqual({ a: 1n });
  });

  it('renders bigints deep in arrays and plain objects, leaves other values alone', () => {
    const o = withHexInspect({
      n: 42,
      s: 'str',
      list: [1n, [2n, { deep: 255n }]],
      nested: { big: 0xdeadbeefn, neg: -16n, huge: 1n << 70n },
      buf: Buffer.from([1, 2]),
      nil: null,
    });
    const text = inspect(o, { depth: Infinity, breakLength: Infinity });
    expect(text).toBe(
      "{ n: 42, s: 'str', list: [ 0x1, [ 0x2, { deep: 0xff } ] ], nested: { big: 0xdeadbeef, neg: -0x10, huge: 0x400000000000000000 }, buf: <Buffer 01 02>, nil: null }",
    );
    expect(o.nested.big).toBe(0xdeadbeefn);
  });

  it('survives cycles and null-prototype objects', () => {
    const o: Record<string, unknown> = withHexInspect({ k: 0x10n });
    o.self = o;
    const bare = Object.assign(Object.create(null) as object, { k: 0x20n });
    o.bare = bare;
    const text = inspect(o);
    expect(text).toContain('k: 0x10');
    expect(text).toContain('k: 0x20');
    expect(text).toContain('[Circular');
  });
});
