/**
 * Fuzzed TransportID codec: decodeTransportId / tryDecode and encodeTransportId
 * (lib/scsi/transport-id.ts), parseTransportId / formatTransportId (lib/scsi/transport-id-text.ts).
 * The list of every fuzzed parser and the env vars are in fuzz-support.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import { decodeTransportId, encodeTransportId, type TransportId } from '../../../lib/scsi/transport-id';
import { formatTransportId, parseTransportId } from '../../../lib/scsi/transport-id-text';
import {
  anyBytes,
  bogusLength,
  expectSameOutcome,
  FUZZ_TEST_TIMEOUT,
  fuzz,
  isid,
  iscsiName,
  junkPair,
  outcome,
  transportId,
  viewWithTail,
} from './fuzz-support';

/** Bytes that start like a TransportID more often than chance would: iSCSI with a plausible length, or a known protocol. */
const tidBytes: fc.Arbitrary<Buffer> = fc.oneof(
  anyBytes(300),
  fc.tuple(anyBytes(300), fc.constantFrom(0x05, 0x45, 0x85, 0xc5, 0x00, 0x01, 0x03, 0x04, 0x06, 0x0a, 0x02), fc.integer({ min: -8, max: 8 })).map(([b, b0, slack]) => {
    const data = Buffer.from(b);
    if (data.length > 0) data[0] = b0;
    if (data.length >= 4) data.writeUInt16BE(Math.max(0, Math.min(0xffff, data.length - 4 + slack)), 2);
    return data;
  }),
);

/** Only the argument errors of the text and encoding side, with the TransportID code. */
function expectArgumentError(e: unknown): void {
  if (!(e instanceof ArgumentRangeError || e instanceof ArgumentTypeError)) throw e;
  expect(e.code).toBe('ERR_INVALID_TRANSPORT_ID');
}

describe('decodeTransportId: any bytes, any offset', () => {
  it('returns a TransportID within the buffer or throws MalformedResponseError, nothing else', async () => {
    await fuzz(2000, [tidBytes, fc.nat()], (buf, o) => {
      const offset = o % (buf.length + 1);
      const r = outcome(() => decodeTransportId(buf, offset));
      if (!('value' in r)) return;
      const { id, length } = r.value;
      expect(length).toBeGreaterThanOrEqual(4);
      expect(offset + length).toBeLessThanOrEqual(buf.length);
      if ((buf[offset]! & 0x0f) !== 5) expect(length).toBe(24);
      if (id.protocol === 'unknown') expect(id.raw).toEqual(buf.subarray(offset, offset + length));
    });
  }, FUZZ_TEST_TIMEOUT);

  it('reads nothing past the TransportID it decodes, nor past the end of the view', async () => {
    await fuzz(1500, [tidBytes, fc.nat(), junkPair], (buf, o, [junkA, junkB]) => {
      const offset = o % (buf.length + 1);
      const reference = outcome(() => decodeTransportId(buf, offset));
      // Other bytes in the ArrayBuffer after the view: same outcome.
      expectSameOutcome(reference, outcome(() => decodeTransportId(viewWithTail(buf, junkA), offset)));
      expectSameOutcome(reference, outcome(() => decodeTransportId(viewWithTail(buf, junkB), offset)));
      if (!('value' in reference)) return;
      // Self-delimiting: the TransportID alone, or followed by anything, decodes the same.
      const alone = Buffer.from(buf.subarray(offset, offset + reference.value.length));
      expectSameOutcome(reference, outcome(() => decodeTransportId(alone, 0)));
      expectSameOutcome(reference, outcome(() => decodeTransportId(Buffer.concat([alone, junkA]), 0)));
    });
  }, FUZZ_TEST_TIMEOUT);

  it('iSCSI: an ADDITIONAL LENGTH that is bogus (past the buffer, short of the name, odd) is malformed or stays within the buffer', async () => {
    await fuzz(1500, [iscsiName, fc.option(isid, { nil: undefined }), fc.integer({ min: 0, max: 0xffff }), fc.nat(40)], (name, id, bogus, cut) => {
      const good = encodeTransportId(id === undefined ? { protocol: 'iscsi', name } : { protocol: 'iscsi', name, isid: id });
      const bad = Buffer.from(good);
      bad.writeUInt16BE(bogus, 2);
      const buf = bad.subarray(0, Math.max(0, bad.length - cut));
      const r = outcome(() => decodeTransportId(buf));
      if (4 + bogus > buf.length) expect(r).toHaveProperty('malformed');
      else if ('value' in r) expect(r.value.length).toBe(4 + bogus);
    });
  }, FUZZ_TEST_TIMEOUT);
});

describe('TransportID round trips', () => {
  it('encode → decode gives the TransportID back, and the bytes re-encode unchanged', async () => {
    await fuzz(2000, [transportId], (id) => {
      const bytes = encodeTransportId(id);
      expect(bytes.length % 4).toBe(0);
      expect(bytes.length).toBeGreaterThanOrEqual(24);
      const back = decodeTransportId(bytes);
      expect(back.length).toBe(bytes.length);
      expect(back.id).toEqual(id);
      expect(encodeTransportId(bytes)).toEqual(bytes);
    });
  }, FUZZ_TEST_TIMEOUT);

  it('decode → encode → decode: whatever decodes and is encodable comes back the same', async () => {
    await fuzz(2000, [tidBytes], (buf) => {
      const r = outcome(() => decodeTransportId(buf));
      if (!('value' in r)) return;
      let again: Buffer;
      try {
        again = encodeTransportId(r.value.id);
      } catch (e) {
        expectArgumentError(e); // decoding is more tolerant than encoding (documented)
        return;
      }
      expect(decodeTransportId(again).id).toEqual(r.value.id);
    });
  }, FUZZ_TEST_TIMEOUT);

  it('formatTransportId → parseTransportId gives the TransportID back', async () => {
    await fuzz(2000, [transportId], (id: TransportId) => {
      const text = formatTransportId(id);
      expect(text).not.toMatch(/\n/);
      if (id.protocol === 'unknown') return; // documented: not parsed back
      expect(parseTransportId(text)).toEqual(id);
      expect(formatTransportId(encodeTransportId(id))).toBe(text);
    });
  }, FUZZ_TEST_TIMEOUT);
});

describe('the argument side never throws anything but ERR_INVALID_TRANSPORT_ID', () => {
  it('encodeTransportId(any Buffer): a copy of one whole TransportID, or an argument error', async () => {
    await fuzz(2000, [tidBytes], (buf) => {
      let out: Buffer;
      try {
        out = encodeTransportId(buf);
      } catch (e) {
        expectArgumentError(e);
        return;
      }
      expect(out).toEqual(buf);
      expect(decodeTransportId(out).length).toBe(buf.length);
    });
  }, FUZZ_TEST_TIMEOUT);

  it('parseTransportId(any text): a TransportID that encodes, or an argument error', async () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.tuple(fc.constantFrom('iscsi,', 'iscsi ', 'ISCSI,', 'sas,', 'fcp ', 'sbp,', 'srp,', 'spi,', 'sop,', 'naa.', '0x', 'iqn.', 'eui.', ''), fc.string({ unit: 'binary-ascii', maxLength: 60 })).map(([p, s]) => p + s),
      fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }).map((bytes) => bytes.map((b) => b.toString(16)).join(',')),
      fc.tuple(iscsiName, fc.constantFrom(',i,0x', ',I,0X', ',i,0x,i,0x'), fc.string({ unit: 'grapheme-ascii', maxLength: 14 })).map(([n, sep, s]) => n + sep + s),
    );
    await fuzz(2000, [text], (s) => {
      let id: TransportId;
      try {
        id = parseTransportId(s);
      } catch (e) {
        expectArgumentError(e);
        return;
      }
      expect(decodeTransportId(encodeTransportId(id)).id).toEqual(id);
    });
  }, FUZZ_TEST_TIMEOUT);

  it('bogus lengths in a Buffer given to encodeTransportId are refused, not trusted', async () => {
    await fuzz(1000, [transportId, bogusLength(0, 0xffff)], (id, length) => {
      const good = encodeTransportId(id);
      if ((good[0]! & 0x0f) !== 5) return;
      const bad = Buffer.from(good);
      bad.writeUInt16BE(length, 2);
      if (4 + length === good.length) return;
      expect(() => encodeTransportId(bad)).toThrow(ArgumentRangeError);
    });
  }, FUZZ_TEST_TIMEOUT);
});
