/**
 * Fuzzed INQUIRY parsers (lib/scsi/inquiry.ts): parseStandardInquiry, parseUnitSerialVpd (80h),
 * parseDeviceIdentificationVpd (83h) and wwnOf over what it returns. These parsers take exactly
 * the transferred bytes (Device passes `data.subarray(0, validLength)`), so "never past the
 * transferred length" means never past the Buffer view. The list of every fuzzed parser and the
 * env vars are in fuzz-support.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDeviceIdentificationVpd, parseStandardInquiry, parseUnitSerialVpd, wwnOf, type Designator } from '../../../lib/scsi/inquiry';
import { anyBytes, bogusLength, expectSameOutcome, FUZZ_TEST_TIMEOUT, fuzz, junkPair, outcome, toBuffer, viewWithTail } from './fuzz-support';

/** Any bytes, often with the page code / ADDITIONAL LENGTH of the page being parsed. */
function inquiryBytes(page: number | null): fc.Arbitrary<Buffer> {
  return fc.oneof(
    anyBytes(),
    fc.tuple(anyBytes(), fc.integer({ min: -8, max: 8 })).map(([b, slack]) => {
      const data = Buffer.from(b);
      if (page === null && data.length > 4) data[4] = Math.max(0, Math.min(255, data.length - 5 + slack));
      if (page !== null && data.length > 1) data[1] = page;
      if (page !== null && data.length >= 4) data.writeUInt16BE(Math.max(0, Math.min(0xffff, data.length - 4 + slack)), 2);
      return data;
    }),
  );
}

const cases = [
  { name: 'parseStandardInquiry', parse: parseStandardInquiry, bytes: inquiryBytes(null), end: (d: Buffer) => Math.min(d.length, 36) },
  { name: 'parseUnitSerialVpd', parse: parseUnitSerialVpd, bytes: inquiryBytes(0x80), end: (d: Buffer) => 4 + d.readUInt16BE(2) },
  {
    name: 'parseDeviceIdentificationVpd',
    parse: (d: Buffer): Designator[] => {
      const designators = parseDeviceIdentificationVpd(d);
      wwnOf(designators); // never throws on what the parser returns
      return designators;
    },
    bytes: inquiryBytes(0x83),
    end: (d: Buffer) => 4 + d.readUInt16BE(2),
  },
] as const;

describe('INQUIRY parsers: any bytes', () => {
  for (const { name, parse, bytes, end } of cases) {
    it(`${name}: returns or throws MalformedResponseError, nothing else`, async () => {
      await fuzz(1500, [bytes], (data) => {
        outcome(() => parse(data));
      });
    }, FUZZ_TEST_TIMEOUT);

    it(`${name}: never reads past the view, nor past the length the data claims`, async () => {
      await fuzz(800, [bytes, junkPair, fc.integer()], (data, [junkA, junkB], seed) => {
        const reference = outcome(() => parse(Buffer.from(data)));
        expectSameOutcome(reference, outcome(() => parse(viewWithTail(data, junkA))));
        expectSameOutcome(reference, outcome(() => parse(viewWithTail(data, junkB))));
        if (!('value' in reference) || data.length < 4) return;
        // Bytes after the claimed end (36 for standard INQUIRY: nothing later is decoded) never matter.
        const changed = Buffer.from(data);
        for (let i = end(data), s = seed; i < changed.length; i++, s = (Math.imul(s, 1103515245) + 12345) | 0) changed[i] = s >>> 24;
        expectSameOutcome(reference, outcome(() => parse(changed)));
      });
    }, FUZZ_TEST_TIMEOUT);
  }
});

describe('standard INQUIRY: built, then lied about', () => {
  it('ADDITIONAL LENGTH below 31 or fewer than 36 bytes is malformed; otherwise the fields decode', async () => {
    const arb = fc.tuple(fc.uint8Array({ minLength: 96, maxLength: 96 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 96 }));
    await fuzz(1500, [arb], ([u, additional, n]) => {
      const full = Buffer.from(u);
      full[4] = additional;
      const data = full.subarray(0, n);
      const r = outcome(() => parseStandardInquiry(data));
      if (n < 5 || additional < 31 || n < 36) {
        expect(r).toHaveProperty('malformed');
        return;
      }
      if (!('value' in r)) throw new Error(`unexpected: ${r.malformed}`);
      expect(r.value).toMatchObject({
        peripheralQualifier: full[0]! >> 5,
        peripheralDeviceType: full[0]! & 0x1f,
        version: full[2],
        responseDataFormat: full[3]! & 0x0f,
        tpgs: (full[5]! >> 4) & 3,
      });
      for (const f of ['vendor', 'product', 'revision'] as const) expect(r.value[f]).toMatch(/^[\x20-\x7e]*$/);
    });
  }, FUZZ_TEST_TIMEOUT);
});

interface GeneratedDesignator {
  byte0: number;
  byte1: number;
  body: Buffer;
}

const designator: fc.Arbitrary<GeneratedDesignator> = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 }))
  .map(([byte0, byte1, u]) => ({ byte0, byte1, body: toBuffer(u) }));

function designatorBytes(d: GeneratedDesignator): Buffer {
  return Buffer.concat([Buffer.from([d.byte0, d.byte1, 0, d.body.length]), d.body]);
}

function vpdPage(page: number, body: Buffer, pageLength = body.length): Buffer {
  const h = Buffer.from([0, page, 0, 0]);
  h.writeUInt16BE(pageLength, 2);
  return Buffer.concat([h, body]);
}

describe('Device Identification VPD: built from designators, then lied about', () => {
  it('consistent lengths: every designator back, in order (round trip)', async () => {
    await fuzz(500, [fc.array(designator, { maxLength: 12 })], (ds) => {
      const r = parseDeviceIdentificationVpd(vpdPage(0x83, Buffer.concat(ds.map(designatorBytes))));
      expect(r).toHaveLength(ds.length);
      r.forEach((got, i) => {
        const d = ds[i]!;
        expect(got.raw).toEqual(d.body);
        expect(got).toMatchObject({ codeSet: d.byte0 & 0x0f, protocolIdentifier: d.byte0 >> 4, piv: (d.byte1 & 0x80) !== 0, designatorTypeCode: d.byte1 & 0x0f });
      });
    });
  }, FUZZ_TEST_TIMEOUT);

  it('PAGE LENGTH or one DESIGNATOR LENGTH bogus, cut anywhere: malformed, or only designators within the page', async () => {
    const arb = fc.array(designator, { minLength: 1, maxLength: 8 }).chain((ds) => {
      const bodyLength = ds.reduce((s, d) => s + 4 + d.body.length, 0);
      return fc.tuple(fc.constant(ds), fc.nat(ds.length - 1), fc.integer({ min: 0, max: 255 }), bogusLength(bodyLength, 0xffff), fc.integer({ min: 0, max: 4 + bodyLength }));
    });
    await fuzz(1000, [arb], ([ds, victim, designatorLength, pageLength, n]) => {
      const parts = ds.map(designatorBytes);
      parts[victim]![3] = designatorLength;
      const data = vpdPage(0x83, Buffer.concat(parts), pageLength).subarray(0, n);
      const r = outcome(() => parseDeviceIdentificationVpd(data));
      if (n < 4 || 4 + pageLength > n) {
        expect(r).toHaveProperty('malformed');
        return;
      }
      if (!('value' in r)) return;
      // Returned designators tile the page exactly: 4 + PAGE LENGTH.
      expect(r.value.reduce((s, d) => s + 4 + d.raw.length, 4)).toBe(4 + pageLength);
    });
  }, FUZZ_TEST_TIMEOUT);
});

describe('Unit Serial Number VPD: built, then lied about', () => {
  it('PAGE LENGTH past the transfer is malformed; otherwise the serial comes back trimmed', async () => {
    const serial = fc.string({ unit: fc.constantFrom(...'ABCDEF0123456789-xyz'.split('')), maxLength: 60 });
    await fuzz(1000, [serial, fc.nat(8), bogusLength(0, 0xffff), fc.boolean()], (s, pad, lie, honest) => {
      const body = Buffer.from(' '.repeat(pad % 3) + s + '\0'.repeat(pad % 2) + ' '.repeat(pad >> 2), 'latin1');
      const pageLength = honest ? body.length : lie;
      const r = outcome(() => parseUnitSerialVpd(vpdPage(0x80, body, pageLength)));
      if (pageLength > body.length) expect(r).toHaveProperty('malformed');
      else if (honest) expect(r).toEqual({ value: s });
    });
  }, FUZZ_TEST_TIMEOUT);
});
