import { describe, expect, it } from 'vitest';
import { MalformedResponseError } from '../../../lib/errors';
import {
  deviceTypeName,
  parseDeviceIdentificationVpd,
  parseStandardInquiry,
  parseUnitSerialVpd,
  wwnOf,
  type Designator,
} from '../../../lib/scsi/inquiry';
import { hex } from '../support/hex-bytes';


function ascii(s: string): string {
  return Buffer.from(s, 'latin1').toString('hex');
}

/** ASCII text NUL-terminated and NUL-padded to a multiple of 4, as in a SCSI name string. */
function scsiName(s: string): string {
  const len = (s.length + 1 + 3) & ~3;
  return ascii(s) + '00'.repeat(len - s.length);
}

function be16(n: number): string {
  return n.toString(16).padStart(4, '0');
}

function desc(b0: number, b1: number, body: string): string {
  const len = body.replace(/\s/g, '').length / 2;
  return `${b0.toString(16).padStart(2, '0')} ${b1.toString(16).padStart(2, '0')} 00 ${len.toString(16).padStart(2, '0')} ${body}`;
}

function vpd(page: number, body: string): Buffer {
  const b = hex(body);
  return Buffer.concat([hex(`00 ${page.toString(16).padStart(2, '0')} ${be16(b.length)}`), b]);
}

// Standard INQUIRY of an LIO rd_mcp LUN (SPC-4, implicit ALUA, CMDQUE), 36 bytes.
const LIO_STD = hex(
  `00 00 06 02 1f 10 00 02 ${ascii('LIO-ORG ')} ${ascii('RAMDISK-MCP     ')} ${ascii('4.0 ')}`,
);

const SERIAL = '4a3c1d2e-7f60-4b1a-9c8d-112233445566';
const IQN = 'iqn.2003-01.org.linux-iscsi.lab:target1';
const NAA = '60014054a3c1d2e7f604b1a9c8d11223';

// Device Identification page of the same LUN behind the iSCSI fabric, in LIO's order.
const LIO_83_BODY = [
  desc(0x01, 0x03, NAA), // NAA, LU, binary
  desc(0x02, 0x01, `${ascii('LIO-ORG ')}${ascii(`RAMDISK-MCP:${SERIAL}`)}00`), // T10 vendor ID, LU, ASCII
  desc(0x51, 0x94, '0000 0001'), // relative target port 1, iSCSI, PIV, target port
  desc(0x51, 0x95, '0000 0000'), // target port group 0
  desc(0x01, 0x06, '0000 0007'), // LU group 7
  desc(0x53, 0x98, scsiName(`${IQN},t,0x0001`)), // SCSI name string, target port, UTF-8
  desc(0x53, 0xa8, scsiName(IQN)), // SCSI name string, target device
].join(' ');
const LIO_83 = vpd(0x83, LIO_83_BODY);

function expectMalformed(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(MalformedResponseError);
  expect((caught as MalformedResponseError).code).toBe('ERR_MALFORMED_RESPONSE');
  expect((caught as Error).message).toMatch(message);
}

describe('parseStandardInquiry', () => {
  it('parses an LIO LUN', () => {
    expect(parseStandardInquiry(LIO_STD)).toEqual({
      peripheralQualifier: 0,
      peripheralDeviceType: 0,
      deviceTypeName: 'direct-access block device',
      removable: false,
      version: 6,
      responseDataFormat: 2,
      hierarchicalSupport: false,
      tpgs: 1,
      thirdPartyCopy: false,
      protect: false,
      multiPort: false,
      commandQueuing: true,
      vendor: 'LIO-ORG',
      product: 'RAMDISK-MCP',
      revision: '4.0',
    });
  });

  it('decodes qualifier, type, RMB, HISUP, 3PC, PROTECT and MULTIP', () => {
    const d = Buffer.from(LIO_STD);
    d[0] = 0x65; // PQ 3, type 5
    d[1] = 0x80;
    d[3] = 0x12;
    d[5] = 0x39;
    d[6] = 0x10;
    d[7] = 0x00;
    expect(parseStandardInquiry(d)).toMatchObject({
      peripheralQualifier: 3,
      peripheralDeviceType: 5,
      deviceTypeName: 'CD/DVD device',
      removable: true,
      hierarchicalSupport: true,
      tpgs: 3,
      thirdPartyCopy: true,
      protect: true,
      multiPort: true,
      commandQueuing: false,
    });
  });

  it('accepts a longer response and one that claims more than was transferred', () => {
    const long = Buffer.concat([LIO_STD, Buffer.alloc(60)]);
    long[4] = 91;
    expect(parseStandardInquiry(long).product).toBe('RAMDISK-MCP');
    const claimsMore = Buffer.from(LIO_STD);
    claimsMore[4] = 91;
    expect(parseStandardInquiry(claimsMore).vendor).toBe('LIO-ORG');
  });

  it('trims NUL padding and masks non-printable bytes', () => {
    const d = Buffer.from(LIO_STD);
    d.write('ACME\0\0\0\0', 8, 'latin1');
    d[17] = 0x07;
    const r = parseStandardInquiry(d);
    expect(r.vendor).toBe('ACME');
    expect(r.product).toBe('R?MDISK-MCP');
  });

  it('throws on truncated data', () => {
    expectMalformed(() => parseStandardInquiry(Buffer.alloc(0)), /too short/);
    expectMalformed(() => parseStandardInquiry(LIO_STD.subarray(0, 4)), /too short/);
    expectMalformed(() => parseStandardInquiry(LIO_STD.subarray(0, 35)), /truncated \(35 of 36 bytes\)/);
  });

  it('throws when the additional length does not cover the identification fields', () => {
    const d = Buffer.from(LIO_STD);
    d[4] = 30;
    expectMalformed(() => parseStandardInquiry(d), /additional length 30/);
  });
});

describe('parseUnitSerialVpd', () => {
  it('parses LIO page 80h (NUL terminator included in the page length)', () => {
    const page = vpd(0x80, `${ascii(SERIAL)}00`);
    expect(page[3]).toBe(0x25);
    expect(parseUnitSerialVpd(page)).toBe(SERIAL);
  });

  it('trims space padding and ignores bytes past the page length', () => {
    const page = Buffer.concat([vpd(0x80, ascii('  S123XYZ    ')), Buffer.from('garbage')]);
    expect(parseUnitSerialVpd(page)).toBe('S123XYZ');
  });

  it('returns an empty string for an empty serial number', () => {
    expect(parseUnitSerialVpd(hex('00 80 0000'))).toBe('');
  });

  it('throws on a wrong page code, a short header or a truncated page', () => {
    expectMalformed(() => parseUnitSerialVpd(hex('00 83 0004 41424344')), /page code 0x83, expected 0x80/);
    expectMalformed(() => parseUnitSerialVpd(hex('00 80 00')), /too short/);
    expectMalformed(() => parseUnitSerialVpd(hex('00 80 0010 41424344')), /truncated \(8 of 20 bytes\)/);
  });
});

describe('parseDeviceIdentificationVpd', () => {
  it('parses the LIO iSCSI LUN page', () => {
    const ds = parseDeviceIdentificationVpd(LIO_83);
    expect(ds.map((d) => [d.association, d.designatorType])).toEqual([
      ['lun', 'naa'],
      ['lun', 't10'],
      ['target-port', 'relative-target-port'],
      ['target-port', 'target-port-group'],
      ['lun', 'lu-group'],
      ['target-port', 'scsi-name-string'],
      ['target-device', 'scsi-name-string'],
    ]);

    const [naa, t10, rtp, tpg, lug, portName, targetName] = ds as [
      Designator,
      Designator,
      Designator,
      Designator,
      Designator,
      Designator,
      Designator,
    ];
    expect(naa).toMatchObject({
      protocolIdentifier: 0,
      codeSet: 1,
      piv: false,
      designatorTypeCode: 3,
      value: NAA,
      naa: NAA,
      naaFormat: 6,
    });
    expect(naa.raw).toEqual(hex(NAA));
    expect(t10).toMatchObject({ codeSet: 2, t10VendorId: 'LIO-ORG', value: `LIO-ORG RAMDISK-MCP:${SERIAL}` });
    expect(rtp).toMatchObject({ protocolIdentifier: 5, piv: true, relativeTargetPort: 1, value: '00000001' });
    expect(tpg).toMatchObject({ targetPortGroup: 0 });
    expect(lug).toMatchObject({ luGroup: 7 });
    expect(portName).toMatchObject({ protocolIdentifier: 5, codeSet: 3, piv: true, value: `${IQN},t,0x0001` });
    expect(portName.raw.length % 4).toBe(0);
    expect(targetName).toMatchObject({ association: 'target-device', value: IQN });
  });

  it('finds the WWN of the LIO LUN', () => {
    expect(wwnOf(parseDeviceIdentificationVpd(LIO_83))).toBe(`naa.${NAA}`);
  });

  it('names every designator type and association', () => {
    const types = [...Array(16).keys()].map((t) => desc(0x01, 0x10 | t, '00000000')).join(' ');
    const ds = parseDeviceIdentificationVpd(vpd(0x83, types));
    expect(ds.map((d) => d.designatorType)).toEqual([
      'vendor-specific',
      't10',
      'eui-64',
      'naa',
      'relative-target-port',
      'target-port-group',
      'lu-group',
      'md5',
      'scsi-name-string',
      'protocol-specific-port',
      'uuid',
      'reserved',
      'reserved',
      'reserved',
      'reserved',
      'reserved',
    ]);
    const assoc = [0x03, 0x13, 0x23, 0x33].map((b1) => desc(0x01, b1, '00')).join(' ');
    expect(parseDeviceIdentificationVpd(vpd(0x83, assoc)).map((d) => d.association)).toEqual([
      'lun',
      'target-port',
      'target-device',
      'reserved',
    ]);
  });

  it('returns no designators for an empty page and ignores bytes past the page length', () => {
    expect(parseDeviceIdentificationVpd(hex('00 83 0000 ffff'))).toEqual([]);
  });

  it('throws on a wrong page code, a truncated page or an overrunning descriptor', () => {
    expectMalformed(() => parseDeviceIdentificationVpd(vpd(0x80, '41')), /page code 0x80, expected 0x83/);
    expectMalformed(() => parseDeviceIdentificationVpd(LIO_83.subarray(0, 40)), /truncated \(40 of \d+ bytes\)/);
    expectMalformed(() => parseDeviceIdentificationVpd(hex('00 83 00')), /too short/);
    // descriptor claims 16 bytes, the page holds 4
    expectMalformed(() => parseDeviceIdentificationVpd(hex('00 83 0008 01 03 00 10 60014054')), /runs past the page end/);
    // page length ends inside a descriptor header
    expectMalformed(() => parseDeviceIdentificationVpd(hex('00 83 0002 01 03')), /truncated descriptor header/);
  });

  it('rejects a page whose descriptor overruns the page length even if the buffer is longer', () => {
    const d = Buffer.from(LIO_83);
    d.writeUInt16BE(d.readUInt16BE(2) - 1, 2); // page now ends one byte before the last descriptor does
    expectMalformed(() => parseDeviceIdentificationVpd(d), /runs past the page end/);
  });
});

describe('wwnOf', () => {
  const eui = desc(0x01, 0x02, '0011223344556677');
  const lunName = desc(0x03, 0x08, scsiName('naa.6001405ABCDEF'));
  const portNaa = desc(0x61, 0x93, '5000c50012345678'); // SAS target port NAA: not the LU

  it('prefers an LU NAA over EUI-64 and SCSI name string', () => {
    const ds = parseDeviceIdentificationVpd(vpd(0x83, `${lunName} ${eui} ${desc(0x01, 0x03, NAA)}`));
    expect(wwnOf(ds)).toBe(`naa.${NAA}`);
  });

  it('falls back to EUI-64, then to an LU SCSI name string', () => {
    expect(wwnOf(parseDeviceIdentificationVpd(vpd(0x83, `${portNaa} ${lunName} ${eui}`)))).toBe('eui.0011223344556677');
    expect(wwnOf(parseDeviceIdentificationVpd(vpd(0x83, `${portNaa} ${lunName}`)))).toBe('naa.6001405ABCDEF');
  });

  it('ignores designators not associated with the logical unit', () => {
    expect(wwnOf(parseDeviceIdentificationVpd(vpd(0x83, portNaa)))).toBeUndefined();
    expect(wwnOf([])).toBeUndefined();
  });
});

describe('deviceTypeName', () => {
  it('names assigned and reserved types', () => {
    expect(deviceTypeName(0)).toBe('direct-access block device');
    expect(deviceTypeName(0x0d)).toBe('enclosure services device');
    expect(deviceTypeName(0x1f)).toBe('unknown or no device type');
    expect(deviceTypeName(0x15)).toBe('reserved device type 0x15');
  });
});
