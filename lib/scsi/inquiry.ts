/**
 * Parsers for INQUIRY data (SPC-6 6.7): the standard response, the Unit Serial
 * Number VPD page (80h) and the Device Identification VPD page (83h). Every
 * parser honours the length fields of the response, never reads outside the
 * buffer and throws {@link MalformedResponseError} on truncated or
 * inconsistent data.
 */
import { MalformedResponseError } from '../errors';
import { hex2 } from './hex';

/** Names of the peripheral device types (SPC-6 table 150), indexed by type. */
const DEVICE_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, 'direct-access block device'],
  [0x01, 'sequential-access device'],
  [0x02, 'printer device'],
  [0x03, 'processor device'],
  [0x04, 'write-once device'],
  [0x05, 'CD/DVD device'],
  [0x06, 'scanner device'],
  [0x07, 'optical memory device'],
  [0x08, 'media changer device'],
  [0x09, 'communications device'],
  [0x0a, 'graphic arts pre-press device'],
  [0x0b, 'graphic arts pre-press device'],
  [0x0c, 'storage array controller device'],
  [0x0d, 'enclosure services device'],
  [0x0e, 'simplified direct-access device'],
  [0x0f, 'optical card reader/writer device'],
  [0x10, 'bridge controller commands'],
  [0x11, 'object-based storage device'],
  [0x12, 'automation/drive interface'],
  [0x13, 'security manager device'],
  [0x14, 'host managed zoned block device'],
  [0x1e, 'well known logical unit'],
  [0x1f, 'unknown or no device type'],
]);

/**
 * Name of a peripheral device type, e.g. `0` → `'direct-access block device'`;
 * unassigned values give `'reserved device type 0x..'`.
 */
export function deviceTypeName(type: number): string {
  return DEVICE_TYPE_NAMES.get(type) ?? `reserved device type ${hex2(type)}`;
}

/** Decoded standard INQUIRY data. */
export interface StandardInquiry {
  /** PERIPHERAL QUALIFIER (byte 0 bits 7–5): 0 connected, 1 not connected, 3 no LU. */
  peripheralQualifier: number;
  /** PERIPHERAL DEVICE TYPE (byte 0 bits 4–0); 0 = disk. */
  peripheralDeviceType: number;
  /** Name of the device type, e.g. `'direct-access block device'`. */
  deviceTypeName: string;
  /** RMB: removable medium. */
  removable: boolean;
  /** VERSION byte: 5 = SPC-3, 6 = SPC-4, 7 = SPC-5. */
  version: number;
  /** RESPONSE DATA FORMAT (byte 3 bits 3–0); 2 for every current device. */
  responseDataFormat: number;
  /** HISUP: hierarchical LUN addressing. */
  hierarchicalSupport: boolean;
  /** TPGS (byte 5 bits 5–4): 0 none, 1 implicit, 2 explicit, 3 both ALUA. */
  tpgs: number;
  /** 3PC: third-party copy (EXTENDED COPY) supported. */
  thirdPartyCopy: boolean;
  /** PROTECT: protection information supported. */
  protect: boolean;
  /** MULTIP: multi-port device. */
  multiPort: boolean;
  /** CMDQUE: command queuing supported. */
  commandQueuing: boolean;
  /** T10 VENDOR IDENTIFICATION (bytes 8–15), trimmed. */
  vendor: string;
  /** PRODUCT IDENTIFICATION (bytes 16–31), trimmed. */
  product: string;
  /** PRODUCT REVISION LEVEL (bytes 32–35), trimmed. */
  revision: string;
}

/**
 * Parse standard INQUIRY data (EVPD=0). The response must hold at least the
 * 36 bytes up to the revision level, and its ADDITIONAL LENGTH (byte 4) must
 * cover them; bytes past 5 + ADDITIONAL LENGTH are ignored. Text fields are
 * decoded as ASCII with surrounding spaces/NULs trimmed and non-printable
 * bytes shown as `?`.
 *
 * @throws MalformedResponseError when the data is shorter than 36 bytes or
 *   claims fewer.
 */
export function parseStandardInquiry(data: Buffer): StandardInquiry {
  if (data.length < 5) throw malformed(`standard INQUIRY data too short (${data.length} bytes, need 36)`);
  const claimed = 5 + data[4]!;
  if (claimed < 36) throw malformed(`standard INQUIRY additional length ${data[4]} is too small (need 31)`);
  if (data.length < 36) throw malformed(`standard INQUIRY data truncated (${data.length} of ${claimed} bytes)`);
  const b0 = data[0]!;
  const pdt = b0 & 0x1f;
  return {
    peripheralQualifier: (b0 >> 5) & 0x07,
    peripheralDeviceType: pdt,
    deviceTypeName: deviceTypeName(pdt),
    removable: (data[1]! & 0x80) !== 0,
    version: data[2]!,
    responseDataFormat: data[3]! & 0x0f,
    hierarchicalSupport: (data[3]! & 0x10) !== 0,
    tpgs: (data[5]! >> 4) & 0x03,
    thirdPartyCopy: (data[5]! & 0x08) !== 0,
    protect: (data[5]! & 0x01) !== 0,
    multiPort: (data[6]! & 0x10) !== 0,
    commandQueuing: (data[7]! & 0x02) !== 0,
    vendor: asciiField(data, 8, 16),
    product: asciiField(data, 16, 32),
    revision: asciiField(data, 32, 36),
  };
}

/**
 * Parse the Unit Serial Number VPD page (80h) and return the PRODUCT SERIAL
 * NUMBER, trimmed of spaces and NUL padding (LIO, for one, includes a NUL
 * terminator in the page length).
 *
 * @throws MalformedResponseError if the page code is not 80h or the page is
 *   shorter than its PAGE LENGTH says.
 */
export function parseUnitSerialVpd(data: Buffer): string {
  const end = vpdEnd(data, 0x80, 'Unit Serial Number');
  return asciiField(data, 4, end);
}

/** Association of a designator (SPC-6 table 637). */
export type DesignatorAssociation = 'lun' | 'target-port' | 'target-device' | 'reserved';

/** Designator type names (SPC-6 table 638). */
export type DesignatorType =
  | 'vendor-specific'
  | 't10'
  | 'eui-64'
  | 'naa'
  | 'relative-target-port'
  | 'target-port-group'
  | 'lu-group'
  | 'md5'
  | 'scsi-name-string'
  | 'protocol-specific-port'
  | 'uuid'
  | 'reserved';

/** One designation descriptor of the Device Identification VPD page. */
export interface Designator {
  /** PROTOCOL IDENTIFIER (byte 0 bits 7–4); meaningful only when {@link piv} is set. */
  protocolIdentifier: number;
  /** CODE SET (byte 0 bits 3–0): 1 binary, 2 ASCII, 3 UTF-8. */
  codeSet: number;
  /** PIV: the protocol identifier is valid (target port / target device associations). */
  piv: boolean;
  /** What the designator names: the logical unit, the target port or the target device. */
  association: DesignatorAssociation;
  /** Numeric DESIGNATOR TYPE (byte 1 bits 3–0). */
  designatorTypeCode: number;
  /** Name of the designator type. */
  designatorType: DesignatorType;
  /**
   * The designator: lowercase hex for the binary code set, text (NUL padding
   * and surrounding spaces removed) for ASCII and UTF-8.
   */
  value: string;
  /** The raw designator bytes. */
  raw: Buffer;
  /** NAA designators (binary): the whole designator as lowercase hex, e.g. `'6001405abc…'`. */
  naa?: string;
  /** NAA designators: the NAA field (first nibble): 2, 3, 5 or 6. */
  naaFormat?: number;
  /** T10 vendor ID designators: the 8-byte T10 VENDOR IDENTIFICATION, trimmed. */
  t10VendorId?: string;
  /** Relative target port designators: the port number. */
  relativeTargetPort?: number;
  /** Target port group designators: the group number. */
  targetPortGroup?: number;
  /** Logical unit group designators: the group number. */
  luGroup?: number;
}

const DESIGNATOR_TYPES: readonly DesignatorType[] = [
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
];

const ASSOCIATIONS: readonly DesignatorAssociation[] = ['lun', 'target-port', 'target-device', 'reserved'];

/**
 * Parse the Device Identification VPD page (83h) into its designation
 * descriptors, in page order. Only bytes within 4 + PAGE LENGTH are used.
 *
 * @throws MalformedResponseError if the page code is not 83h, the page is
 *   shorter than its PAGE LENGTH says, or a descriptor runs past the end of
 *   the page.
 */
export function parseDeviceIdentificationVpd(data: Buffer): Designator[] {
  const end = vpdEnd(data, 0x83, 'Device Identification');
  const out: Designator[] = [];
  let off = 4;
  while (off < end) {
    if (off + 4 > end) throw malformed(`Device Identification VPD: truncated descriptor header at byte ${off}`);
    const len = data[off + 3]!;
    if (off + 4 + len > end) {
      throw malformed(`Device Identification VPD: descriptor at byte ${off} (length ${len}) runs past the page end (${end})`);
    }
    out.push(parseDesignator(data.subarray(off, off + 4 + len)));
    off += 4 + len;
  }
  return out;
}

function parseDesignator(d: Buffer): Designator {
  const codeSet = d[0]! & 0x0f;
  const typeCode = d[1]! & 0x0f;
  const body = Buffer.from(d.subarray(4));
  const textual = codeSet === 2 || codeSet === 3;
  const des: Designator = {
    protocolIdentifier: (d[0]! >> 4) & 0x0f,
    codeSet,
    piv: (d[1]! & 0x80) !== 0,
    association: ASSOCIATIONS[(d[1]! >> 4) & 0x03]!,
    designatorTypeCode: typeCode,
    designatorType: DESIGNATOR_TYPES[typeCode] ?? 'reserved',
    value: textual ? text(body, codeSet === 3 ? 'utf8' : 'latin1') : body.toString('hex'),
    raw: body,
  };
  switch (typeCode) {
    case 0x1: // T10 vendor ID: 8 bytes vendor, then vendor specific
      if (textual && body.length >= 8) des.t10VendorId = text(body.subarray(0, 8), 'latin1');
      break;
    case 0x3: // NAA
      if (codeSet === 1 && body.length > 0) {
        des.naa = body.toString('hex');
        des.naaFormat = body[0]! >> 4;
      }
      break;
    case 0x4: // relative target port: 2 obsolete bytes, then the port
      if (body.length >= 4) des.relativeTargetPort = body.readUInt16BE(2);
      break;
    case 0x5: // target port group
      if (body.length >= 4) des.targetPortGroup = body.readUInt16BE(2);
      break;
    case 0x6: // logical unit group
      if (body.length >= 4) des.luGroup = body.readUInt16BE(2);
      break;
    default:
      break;
  }
  return des;
}

/**
 * The device's world wide name from its Device Identification designators:
 * the first logical-unit-associated NAA designator (preferred), else EUI-64,
 * else SCSI name string. Formatted like the kernel's sysfs `wwid`:
 * `'naa.6001405…'`, `'eui.…'` (lowercase hex), or the SCSI name string as
 * is (`'iqn.…'`, `'naa.…'`, `'eui.…'`). Returns undefined if there is none.
 */
export function wwnOf(designators: readonly Designator[]): string | undefined {
  const lu = designators.filter((d) => d.association === 'lun');
  const naa = lu.find((d) => d.designatorType === 'naa' && d.naa !== undefined);
  if (naa) return `naa.${naa.naa}`;
  const eui = lu.find((d) => d.designatorType === 'eui-64' && d.codeSet === 1 && d.raw.length > 0);
  if (eui) return `eui.${eui.value}`;
  const name = lu.find((d) => d.designatorType === 'scsi-name-string' && d.value.length > 0);
  if (name) return name.value;
  return undefined;
}

/* Validate a VPD page header and return the end offset (4 + PAGE LENGTH). */
function vpdEnd(data: Buffer, pageCode: number, what: string): number {
  if (data.length < 4) throw malformed(`${what} VPD page too short (${data.length} bytes)`);
  if (data[1] !== pageCode) throw malformed(`${what} VPD: page code ${hex2(data[1]!)}, expected ${hex2(pageCode)}`);
  const end = 4 + data.readUInt16BE(2);
  if (data.length < end) throw malformed(`${what} VPD page truncated (${data.length} of ${end} bytes)`);
  return end;
}

/* ASCII field, trimmed of spaces and NULs, non-printables as '?'. */
function asciiField(data: Buffer, start: number, end: number): string {
  return text(data.subarray(start, end), 'latin1').replace(/[^\x20-\x7e]/g, '?');
}

function text(bytes: Buffer, encoding: 'latin1' | 'utf8'): string {
  let s = bytes.toString(encoding);
  const nul = s.indexOf('\0');
  if (nul >= 0) s = s.slice(0, nul);
  return s.trim();
}

function malformed(message: string): MalformedResponseError {
  return new MalformedResponseError(message);
}
