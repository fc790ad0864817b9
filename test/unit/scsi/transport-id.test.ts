import { describe, it, expect } from 'vitest';
import {
  encodeTransportId,
  decodeTransportId,
  ProtocolId,
  type TransportId,
} from '../../../lib/scsi/transport-id';
import { parseTransportId, formatTransportId } from '../../../lib/scsi/transport-id-text';
import { MalformedResponseError } from '../../../lib/errors';
import { ArgumentRangeError, ArgumentTypeError } from '../../../lib/invalid-argument';
import { hex } from '../support/hex-bytes';
import { thrown } from '../support/thrown';

/** Expected vectors are written by hand from SPC-4 §7.6.4. */
const zeros = (n: number): Buffer => Buffer.alloc(n);
const ascii = (s: string): Buffer => Buffer.from(s, 'utf8');

function expectInvalid(fn: () => unknown, cls: typeof ArgumentRangeError | typeof ArgumentTypeError = ArgumentRangeError, pattern?: RegExp): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(cls);
  expect(e.code).toBe('ERR_INVALID_TRANSPORT_ID');
  if (pattern) expect(e.message).toMatch(pattern);
}

function expectMalformed(buf: Buffer, offset = 0): void {
  const e = thrown(() => decodeTransportId(buf, offset));
  expect(e).toBeInstanceOf(MalformedResponseError);
  expect(e.code).toBe('ERR_MALFORMED_RESPONSE');
}

const NODE1 = 'iqn.1994-05.com.redhat:node1';

/** [label, structured form, hand-written encoding] */
const VECTORS: Array<[string, TransportId, Buffer]> = [
  [
    'FCP N_Port_Name at 8–15',
    { protocol: 'fcp', nPortName: 0x10000000c9f3a571n },
    hex('00 00 00 00 00 00 00 00 10 00 00 00 c9 f3 a5 71 00 00 00 00 00 00 00 00'),
  ],
  [
    'SPI address 2–3, relative port 6–7',
    { protocol: 'spi', scsiAddress: 7, relativePortId: 0x0102 },
    Buffer.concat([hex('01 00 00 07 00 00 01 02'), zeros(16)]),
  ],
  [
    'SBP EUI-64 at 8–15',
    { protocol: 'sbp', eui64: 0x0011223344556677n },
    Buffer.concat([hex('03 00 00 00 00 00 00 00 00 11 22 33 44 55 66 77'), zeros(8)]),
  ],
  [
    'SRP 16-byte port id at 8–23',
    { protocol: 'srp', initiatorPortId: hex('000102030405060708090a0b0c0d0e0f') },
    hex('04 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f'),
  ],
  [
    'iSCSI format 0, short name padded to the 24-byte minimum',
    { protocol: 'iscsi', name: 'iqn.a' },
    Buffer.concat([hex('05 00 00 14 69 71 6e 2e 61'), zeros(15)]),
  ],
  [
    'iSCSI format 0, 28-byte name → 29 with NUL → 32',
    { protocol: 'iscsi', name: NODE1 },
    Buffer.concat([hex('05 00 00 20'), ascii(NODE1), zeros(4)]),
  ],
  [
    'iSCSI format 1 (name,i,0x<ISID>) → 46 → 48',
    { protocol: 'iscsi', name: NODE1, isid: '23d000000001' },
    Buffer.concat([hex('45 00 00 30'), ascii(NODE1 + ',i,0x23d000000001'), zeros(3)]),
  ],
  [
    'SAS address at 4–11',
    { protocol: 'sas', sasAddress: 0x5000c50005b32001n },
    hex('06 00 00 00 50 00 c5 00 05 b3 20 01 00 00 00 00 00 00 00 00 00 00 00 00'),
  ],
  [
    'SOP routing id at 2–3',
    { protocol: 'sop', routingId: 0x0102 },
    Buffer.concat([hex('0a 00 01 02'), zeros(20)]),
  ],
  [
    'unknown protocol (SSA) kept raw',
    { protocol: 'unknown', protocolId: 2, format: 0, raw: Buffer.concat([hex('02 00 de ad'), zeros(20)]) },
    Buffer.concat([hex('02 00 de ad'), zeros(20)]),
  ],
];

describe('encodeTransportId', () => {
  for (const [label, id, bytes] of VECTORS) {
    it(label, () => {
      expect(encodeTransportId(id)).toEqual(bytes);
    });
  }

  it('iSCSI padding boundaries', () => {
    // 19 chars + NUL = 20 → additional length 20, total 24
    const n19 = 'iqn.2000-01.x:abcde';
    expect(n19.length).toBe(19);
    expect(encodeTransportId({ protocol: 'iscsi', name: n19 })).toEqual(Buffer.concat([hex('05 00 00 14'), ascii(n19), zeros(1)]));
    // 20 chars + NUL = 21 → 24, total 28
    const n20 = n19 + 'f';
    expect(encodeTransportId({ protocol: 'iscsi', name: n20 })).toEqual(Buffer.concat([hex('05 00 00 18'), ascii(n20), zeros(4)]));
    // 23 chars + NUL = 24 → 24
    const n23 = n20 + 'ghi';
    expect(encodeTransportId({ protocol: 'iscsi', name: n23 })).toEqual(Buffer.concat([hex('05 00 00 18'), ascii(n23), zeros(1)]));
  });

  it('iSCSI name limit is 223 bytes (format 0 and 1)', () => {
    const n223 = 'iqn.' + 'a'.repeat(219);
    expect(encodeTransportId({ protocol: 'iscsi', name: n223 })).toEqual(Buffer.concat([hex('05 00 00 e0'), ascii(n223), zeros(1)]));
    // 223 + ",i,0x" + 12 = 240, + NUL = 241 → 244 (0xf4)
    expect(encodeTransportId({ protocol: 'iscsi', name: n223, isid: 'ABCDEF012345' })).toEqual(
      Buffer.concat([hex('45 00 00 f4'), ascii(n223 + ',i,0xabcdef012345'), zeros(4)]),
    );
    expectInvalid(() => encodeTransportId({ protocol: 'iscsi', name: n223 + 'a' }), ArgumentRangeError, /224 bytes.*223/);
    // multi-byte UTF-8 counts bytes, not characters: 4 + 110*2 = 224 bytes
    expectInvalid(() => encodeTransportId({ protocol: 'iscsi', name: 'iqn.' + 'é'.repeat(110) }), ArgumentRangeError, /224 bytes/);
    const utf = 'iqn.' + 'é'.repeat(3);
    expect(encodeTransportId({ protocol: 'iscsi', name: utf })).toEqual(Buffer.concat([hex('05 00 00 14'), ascii(utf), zeros(10)]));
  });

  it('lowercases the ISID and accepts short ISIDs', () => {
    expect(encodeTransportId({ protocol: 'iscsi', name: 'iqn.a', isid: 'ABC' })).toEqual(
      Buffer.concat([hex('45 00 00 14'), ascii('iqn.a,i,0xabc'), zeros(7)]),
    );
  });

  it('validates a Buffer and returns a copy', () => {
    const src = Buffer.from(VECTORS[7]![2]);
    const out = encodeTransportId(src);
    expect(out).toEqual(src);
    expect(out).not.toBe(src);
    out[4] = 0;
    expect(src[4]).toBe(0x50);
  });

  it('rejects invalid Buffers', () => {
    expectInvalid(() => encodeTransportId(Buffer.alloc(0)));
    expectInvalid(() => encodeTransportId(Buffer.alloc(23)));
    expectInvalid(() => encodeTransportId(Buffer.concat([VECTORS[7]![2], zeros(4)])), ArgumentRangeError, /28 bytes.*24 bytes/);
    expectInvalid(() => encodeTransportId(hex('05 00 00 40 69 71 6e 2e 61 00 00 00')));
    expectInvalid(() => encodeTransportId(Buffer.concat([hex('05 00 00 14'), zeros(20)])), ArgumentRangeError, /empty name/);
  });

  const badStructured: Array<[string, unknown, typeof ArgumentRangeError | typeof ArgumentTypeError]> = [
    ['null', null, ArgumentTypeError],
    ['a string', 'sas,5000c50005b32001', ArgumentTypeError],
    ['unknown protocol name', { protocol: 'nvme' }, ArgumentRangeError],
    ['missing protocol', { sasAddress: 1n }, ArgumentRangeError],
    ['fcp nPortName as number', { protocol: 'fcp', nPortName: 1 }, ArgumentTypeError],
    ['fcp nPortName 2^64', { protocol: 'fcp', nPortName: 2n ** 64n }, ArgumentRangeError],
    ['sas negative address', { protocol: 'sas', sasAddress: -1n }, ArgumentRangeError],
    ['sas missing address', { protocol: 'sas' }, ArgumentTypeError],
    ['sbp eui64 as string', { protocol: 'sbp', eui64: '0011' }, ArgumentTypeError],
    ['spi address 65536', { protocol: 'spi', scsiAddress: 65536, relativePortId: 1 }, ArgumentRangeError],
    ['spi fractional port', { protocol: 'spi', scsiAddress: 1, relativePortId: 1.5 }, ArgumentRangeError],
    ['spi missing port', { protocol: 'spi', scsiAddress: 1 }, ArgumentTypeError],
    ['srp 15-byte id', { protocol: 'srp', initiatorPortId: zeros(15) }, ArgumentRangeError],
    ['srp id as string', { protocol: 'srp', initiatorPortId: '00' }, ArgumentTypeError],
    ['sop routing id -1', { protocol: 'sop', routingId: -1 }, ArgumentRangeError],
    ['iscsi empty name', { protocol: 'iscsi', name: '' }, ArgumentRangeError],
    ['iscsi name with space', { protocol: 'iscsi', name: 'iqn.a b' }, ArgumentRangeError],
    ['iscsi name with comma', { protocol: 'iscsi', name: 'iqn.a,b' }, ArgumentRangeError],
    ['iscsi name with NUL', { protocol: 'iscsi', name: 'iqn.a\u0000b' }, ArgumentRangeError],
    ['iscsi name not a string', { protocol: 'iscsi', name: 5 }, ArgumentTypeError],
    ['iscsi isid not hex', { protocol: 'iscsi', name: 'iqn.a', isid: 'xyz' }, ArgumentRangeError],
    ['iscsi isid 13 digits', { protocol: 'iscsi', name: 'iqn.a', isid: '1234567890abc' }, ArgumentRangeError],
    ['iscsi isid with 0x', { protocol: 'iscsi', name: 'iqn.a', isid: '0x1234' }, ArgumentRangeError],
    ['iscsi isid number', { protocol: 'iscsi', name: 'iqn.a', isid: 12 }, ArgumentTypeError],
    ['extra field', { protocol: 'sas', sasAddress: 1n, isid: '01' }, ArgumentRangeError],
    ['unknown raw too short', { protocol: 'unknown', protocolId: 2, format: 0, raw: Buffer.concat([hex('02'), zeros(19)]) }, ArgumentRangeError],
    ['unknown raw byte 0 mismatch', { protocol: 'unknown', protocolId: 2, format: 1, raw: Buffer.concat([hex('02'), zeros(23)]) }, ArgumentRangeError],
    ['unknown protocolId 16', { protocol: 'unknown', protocolId: 16, format: 0, raw: zeros(24) }, ArgumentRangeError],
    ['unknown raw missing', { protocol: 'unknown', protocolId: 2, format: 0 }, ArgumentTypeError],
  ];
  for (const [label, id, cls] of badStructured) {
    it(`rejects ${label}`, () => {
      expectInvalid(() => encodeTransportId(id as TransportId), cls);
    });
  }
});

describe('decodeTransportId', () => {
  for (const [label, id, bytes] of VECTORS) {
    it(`round trip: ${label}`, () => {
      expect(decodeTransportId(bytes)).toEqual({ id, length: bytes.length });
      expect(decodeTransportId(encodeTransportId(id))).toEqual({ id, length: bytes.length });
    });
  }

  it('decodes at an offset and reports the bytes consumed', () => {
    const iscsi = VECTORS[6]![2];
    const sas = VECTORS[7]![2];
    const buf = Buffer.concat([hex('ee ee ee ee'), iscsi, sas, hex('ff')]);
    const a = decodeTransportId(buf, 4);
    expect(a).toEqual({ id: { protocol: 'iscsi', name: NODE1, isid: '23d000000001' }, length: 52 });
    const b = decodeTransportId(buf, 4 + a.length);
    expect(b).toEqual({ id: { protocol: 'sas', sasAddress: 0x5000c50005b32001n }, length: 24 });
  });

  it('returns copies, not views, of byte fields', () => {
    const buf = Buffer.from(VECTORS[3]![2]);
    const { id } = decodeTransportId(buf);
    buf[8] = 0xff;
    expect((id as { initiatorPortId: Buffer }).initiatorPortId[0]).toBe(0);
  });

  it('maps other protocols and format codes to "unknown"', () => {
    const ata = Buffer.concat([hex('08 00 01 02'), zeros(20)]);
    expect(decodeTransportId(ata)).toEqual({ id: { protocol: 'unknown', protocolId: ProtocolId.ATA, format: 0, raw: ata }, length: 24 });
    const fcpFormat1 = Buffer.concat([hex('40'), zeros(23)]);
    expect(decodeTransportId(fcpFormat1)).toEqual({ id: { protocol: 'unknown', protocolId: 0, format: 1, raw: fcpFormat1 }, length: 24 });
    // iSCSI format 2 keeps its own length (4 + 0x1c = 32)
    const iscsiFormat2 = Buffer.concat([hex('85 00 00 1c'), ascii('iqn.x'), zeros(23)]);
    expect(decodeTransportId(Buffer.concat([iscsiFormat2, hex('aa')]))).toEqual({
      id: { protocol: 'unknown', protocolId: 5, format: 2, raw: iscsiFormat2 },
      length: 32,
    });
    // reserved bits 5–4 of byte 0 are ignored
    const sasReserved = Buffer.concat([hex('36 00 00 00 00 00 00 00 00 00 00 01'), zeros(12)]);
    expect(decodeTransportId(sasReserved).id).toEqual({ protocol: 'sas', sasAddress: 1n });
  });

  it('is tolerant of short iSCSI additional lengths and a missing NUL', () => {
    expect(decodeTransportId(Buffer.concat([hex('05 00 00 08'), ascii('iqn.a'), zeros(3)]))).toEqual({
      id: { protocol: 'iscsi', name: 'iqn.a' },
      length: 12,
    });
    expect(decodeTransportId(Buffer.concat([hex('05 00 00 08'), ascii('iqn.abcd')]))).toEqual({
      id: { protocol: 'iscsi', name: 'iqn.abcd' },
      length: 12,
    });
    // a short ISID is kept (lowercased) as the target sent it
    expect(decodeTransportId(Buffer.concat([hex('45 00 00 14'), ascii('iqn.a,i,0x23D00'), zeros(5)])).id).toEqual({
      protocol: 'iscsi',
      name: 'iqn.a',
      isid: '23d00',
    });
  });

  it('finds the ISID separator in a name holding İ (regression: fuzz, shrunk to name "İA", ISID "0")', () => {
    // 'İ'.toLowerCase() is two UTF-16 units: an index found in the lowercased text fell
    // one character past the separator in the original ("İA," + ISID "" → malformed;
    // longer ISIDs lost their first digit and the name gained a comma).
    const tid = Buffer.concat([hex('45 00 00 14'), Buffer.from('İA,i,0x0', 'utf8'), zeros(11)]);
    expect(decodeTransportId(tid)).toEqual({ id: { protocol: 'iscsi', name: 'İA', isid: '0' }, length: 24 });
    const id = { protocol: 'iscsi' as const, name: 'iqn.2030-01.org.example:İh5j', isid: 'a0' };
    expect(decodeTransportId(encodeTransportId(id)).id).toEqual(id);
    expect(decodeTransportId(Buffer.concat([hex('45 00 00 14'), Buffer.from('İA,I,0X0B', 'utf8'), zeros(10)])).id).toEqual({ protocol: 'iscsi', name: 'İA', isid: '0b' });
  });

  describe('truncated or garbage input throws MalformedResponseError', () => {
    const cases: Array<[string, Buffer, number?]> = [
      ['empty buffer', zeros(0)],
      ['3 bytes', hex('06 00 00')],
      ['SAS of 23 bytes', VECTORS[7]![2].subarray(0, 23)],
      ['FCP of 12 bytes', VECTORS[0]![2].subarray(0, 12)],
      ['SRP of 20 bytes', VECTORS[3]![2].subarray(0, 20)],
      ['unknown protocol of 10 bytes', Buffer.concat([hex('0f'), zeros(9)])],
      ['offset leaves 20 bytes', Buffer.concat([zeros(8), VECTORS[7]![2].subarray(0, 20)]), 8],
      ['offset at end of buffer', VECTORS[7]![2], 24],
      ['iSCSI additional length beyond buffer', hex('05 00 00 40 69 71 6e 2e 61 00 00 00')],
      ['iSCSI additional length 0xffff', Buffer.concat([hex('05 00 ff ff'), zeros(20)])],
      ['iSCSI empty name (all NUL)', Buffer.concat([hex('05 00 00 14'), zeros(20)])],
      ['iSCSI zero additional length', Buffer.concat([hex('05 00 00 00'), zeros(20)])],
      ['iSCSI invalid UTF-8', Buffer.concat([hex('05 00 00 14 ff fe 69 71'), zeros(16)])],
      ['iSCSI control characters', Buffer.concat([hex('05 00 00 14 69 01 02 03'), zeros(16)])],
      ['iSCSI format 1 without ",i,0x"', Buffer.concat([hex('45 00 00 14'), ascii('iqn.a'), zeros(15)])],
      ['iSCSI format 1 with non-hex ISID', Buffer.concat([hex('45 00 00 14'), ascii('iqn.a,i,0xzz'), zeros(8)])],
      ['iSCSI format 1 with empty ISID', Buffer.concat([hex('45 00 00 14'), ascii('iqn.a,i,0x'), zeros(10)])],
      ['iSCSI format 1 with 13-digit ISID', Buffer.concat([hex('45 00 00 18'), ascii('iqn,i,0x1234567890abc'), zeros(3)])],
      ['iSCSI format 1 with empty name', Buffer.concat([hex('45 00 00 14'), ascii(',i,0x123'), zeros(12)])],
      ['iSCSI header only', hex('05 00 00 14')],
    ];
    for (const [label, buf, offset] of cases) {
      it(label, () => expectMalformed(buf, offset));
    }

    it('never reads past the end of a view into the backing memory', () => {
      // The backing ArrayBuffer holds a complete, valid TransportID; the view only part of it.
      const full = Buffer.concat([VECTORS[7]![2], Buffer.alloc(64, 0x41)]);
      expectMalformed(full.subarray(0, 20));
      const iscsi = Buffer.concat([VECTORS[5]![2], Buffer.alloc(64, 0x41)]);
      expectMalformed(iscsi.subarray(0, 30)); // claims 36 bytes, view has 30
      expect(decodeTransportId(iscsi.subarray(0, 36)).length).toBe(36);
    });

    it('random garbage either decodes within bounds or throws MalformedResponseError', () => {
      let seed = 12345;
      const rnd = (): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed & 0xff;
      };
      for (let i = 0; i < 2000; i++) {
        const len = rnd() % 64;
        const buf = Buffer.alloc(len);
        for (let j = 0; j < len; j++) buf[j] = rnd();
        if (len > 0 && i % 2 === 0) buf[0] = (buf[0]! & 0xf0) | 5; // bias towards iSCSI
        try {
          const r = decodeTransportId(buf);
          expect(r.length).toBeGreaterThanOrEqual(4);
          expect(r.length).toBeLessThanOrEqual(len);
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedResponseError);
        }
      }
    });
  });

  it('rejects a non-Buffer or a bad offset as an argument error', () => {
    expectInvalid(() => decodeTransportId('x' as unknown as Buffer), ArgumentTypeError);
    expectInvalid(() => decodeTransportId(zeros(24), 25), ArgumentRangeError);
    expectInvalid(() => decodeTransportId(zeros(24), -1), ArgumentRangeError);
    expectInvalid(() => decodeTransportId(zeros(24), 1.5), ArgumentRangeError);
  });
});

describe('parseTransportId', () => {
  const valid: Array<[string, TransportId]> = [
    [NODE1, { protocol: 'iscsi', name: NODE1 }],
    [`${NODE1},i,0x23d000000001`, { protocol: 'iscsi', name: NODE1, isid: '23d000000001' }],
    [`${NODE1},i,0x23d000000`, { protocol: 'iscsi', name: NODE1, isid: '23d000000' }],
    [`${NODE1},I,0X23D000000001`, { protocol: 'iscsi', name: NODE1, isid: '23d000000001' }],
    ['iqn.5886.com.acme.diskarrays-sn-a8675309', { protocol: 'iscsi', name: 'iqn.5886.com.acme.diskarrays-sn-a8675309' }],
    ['eui.02004567a425678d', { protocol: 'iscsi', name: 'eui.02004567a425678d' }],
    ['iscsi,iqn.x', { protocol: 'iscsi', name: 'iqn.x' }],
    // regression (fuzz): 'İ' lowercases to two UTF-16 units; the separator was looked for one character off
    ['iscsi,İA,i,0x0B', { protocol: 'iscsi', name: 'İA', isid: '0b' }],
    ['ISCSI,naa.52004567ba64678d', { protocol: 'iscsi', name: 'naa.52004567ba64678d' }],
    [`iscsi ${NODE1},i,0x23d000000001`, { protocol: 'iscsi', name: NODE1, isid: '23d000000001' }],
    ['sas,5000c50005b32001', { protocol: 'sas', sasAddress: 0x5000c50005b32001n }],
    ['SAS,0x5000C50005B32001', { protocol: 'sas', sasAddress: 0x5000c50005b32001n }],
    ['naa.5001405abcdef012', { protocol: 'sas', sasAddress: 0x5001405abcdef012n }],
    ['0x5000c50005b32001', { protocol: 'sas', sasAddress: 0x5000c50005b32001n }],
    ['  sas,5000c50005b32001  ', { protocol: 'sas', sasAddress: 0x5000c50005b32001n }],
    ['fcp,10000000C9F3A571', { protocol: 'fcp', nPortName: 0x10000000c9f3a571n }],
    ['FCP,10:00:00:00:c9:f3:a5:71', { protocol: 'fcp', nPortName: 0x10000000c9f3a571n }],
    ['sbp,0011223344556677', { protocol: 'sbp', eui64: 0x0011223344556677n }],
    ['srp,000102030405060708090a0b0c0d0e0f', { protocol: 'srp', initiatorPortId: hex('000102030405060708090a0b0c0d0e0f') }],
    ['spi,7,1', { protocol: 'spi', scsiAddress: 7, relativePortId: 1 }],
    ['SPI,0x7,0x102', { protocol: 'spi', scsiAddress: 7, relativePortId: 0x102 }],
    ['spi 65535 0', { protocol: 'spi', scsiAddress: 65535, relativePortId: 0 }],
    ['sop,102', { protocol: 'sop', routingId: 0x102 }],
    ['SOP,0xffff', { protocol: 'sop', routingId: 0xffff }],
    ['6,0,0,0,50,0,c5,0,5,b3,20,1', { protocol: 'sas', sasAddress: 0x5000c50005b32001n }],
    ['0 0 0 0 0 0 0 0 10 0 0 0 c9 f3 a5 71', { protocol: 'fcp', nPortName: 0x10000000c9f3a571n }],
  ];
  for (const [text, id] of valid) {
    it(JSON.stringify(text), () => {
      expect(parseTransportId(text)).toEqual(id);
    });
  }

  const invalid: string[] = [
    '',
    '   ',
    'foo',
    'sas,123',
    'sas,5000c50005b320011',
    'sas,',
    'sas,5000c50005b3200g',
    'naa.123',
    '5000c50005b32001',
    'srp,0011223344556677',
    'fcp,10:00:00:00:c9:f3:a5',
    'spi,7',
    'spi,7,1,2',
    'spi,70000,1',
    'spi,-1,1',
    'sop,12345',
    'sop,xyz',
    'iqn.foo bar',
    'iqn.x,i,0xzz',
    'iqn.x,i,0x1234567890abc',
    ',i,0x123',
    'iscsi,',
    'iscsi,,i,0x1',
    'nvme,1234',
    '5,0,0',
    '6',
    'zz,00',
  ];
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expectInvalid(() => parseTransportId(text), ArgumentRangeError);
    });
  }
  it('rejects non-strings', () => {
    expectInvalid(() => parseTransportId(5 as unknown as string), ArgumentTypeError);
    expectInvalid(() => parseTransportId(null as unknown as string), ArgumentTypeError);
  });
  it('explains naa. handling', () => {
    expectInvalid(() => parseTransportId('naa.52004567ba64678d52004567ba64678d'), ArgumentRangeError, /iscsi,naa/);
  });
});

describe('formatTransportId', () => {
  const cases: Array<[TransportId, string]> = [
    [{ protocol: 'iscsi', name: NODE1, isid: '23d000000001' }, `iscsi ${NODE1},i,0x23d000000001`],
    [{ protocol: 'iscsi', name: NODE1 }, `iscsi ${NODE1}`],
    [{ protocol: 'sas', sasAddress: 0x5000c50005b32001n }, 'sas 0x5000c50005b32001'],
    [{ protocol: 'sas', sasAddress: 1n }, 'sas 0x0000000000000001'],
    [{ protocol: 'fcp', nPortName: 0x10000000c9f3a571n }, 'fcp 0x10000000c9f3a571'],
    [{ protocol: 'sbp', eui64: 0x0011223344556677n }, 'sbp 0x0011223344556677'],
    [{ protocol: 'srp', initiatorPortId: hex('000102030405060708090a0b0c0d0e0f') }, 'srp 0x000102030405060708090a0b0c0d0e0f'],
    [{ protocol: 'spi', scsiAddress: 7, relativePortId: 1 }, 'spi 7,1'],
    [{ protocol: 'sop', routingId: 0x102 }, 'sop 0x0102'],
  ];
  for (const [id, text] of cases) {
    it(`${id.protocol} → ${JSON.stringify(text)} and back`, () => {
      expect(formatTransportId(id)).toBe(text);
      expect(parseTransportId(text)).toEqual(id);
    });
  }
  it('formats unknown TransportIDs as protocol/format plus hex', () => {
    const raw = Buffer.concat([hex('02 00 de ad'), zeros(20)]);
    expect(formatTransportId({ protocol: 'unknown', protocolId: 2, format: 0, raw })).toBe(
      `protocol 0x2 format 0: 0200dead${'00'.repeat(20)}`,
    );
  });
  it('accepts an encoded Buffer', () => {
    expect(formatTransportId(VECTORS[6]![2])).toBe(`iscsi ${NODE1},i,0x23d000000001`);
  });
  it('rejects invalid input', () => {
    expectInvalid(() => formatTransportId({ protocol: 'sop', routingId: 70000 }), ArgumentRangeError);
  });
  it('round-trips every protocol through encode → decode → format → parse', () => {
    for (const [, id] of VECTORS) {
      if (id.protocol === 'unknown') continue;
      const decoded = decodeTransportId(encodeTransportId(id)).id;
      expect(parseTransportId(formatTransportId(decoded))).toEqual(id);
    }
  });
});
