/**
 * SPC byte layouts built by hand for the fake SAN (test/unit/support/fake-transport.ts):
 * sense data, PERSISTENT RESERVE IN responses, INQUIRY data and VPD pages.
 * Written from SPC-4 (§4.5 sense data, §6.15 PR IN, §6.6 INQUIRY, §7.8 VPD), independent of lib/scsi, so the
 * library's parsers are checked against bytes they did not produce.
 */

/** Fixed-format sense data (response code 70h, current error), 18 bytes. */
export function fixedSense(senseKey: number, asc: number, ascq: number): Buffer {
  const b = Buffer.alloc(18);
  b[0] = 0x70;
  b[2] = senseKey & 0x0f;
  b[7] = 10; // ADDITIONAL SENSE LENGTH: bytes 8..17
  b[12] = asc;
  b[13] = ascq;
  return b;
}

/** An 8-byte big-endian reservation key. */
function key8(key: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(key);
  return b;
}

/** Generation + ADDITIONAL LENGTH header of READ KEYS / READ RESERVATION / READ FULL STATUS. */
function header(generation: number, additionalLength: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(generation >>> 0, 0);
  b.writeUInt32BE(additionalLength, 4);
  return b;
}

/** PR IN READ KEYS parameter data: generation, ADDITIONAL LENGTH = 8 × keys, the keys. */
export function readKeysData(generation: number, keys: readonly bigint[]): Buffer {
  return Buffer.concat([header(generation, 8 * keys.length), ...keys.map(key8)]);
}

/** PR IN READ RESERVATION parameter data: no descriptor, or key 8–15 and scope/type byte 21. */
export function readReservationData(generation: number, reservation: { key: bigint; type: number } | null): Buffer {
  if (!reservation) return header(generation, 0);
  const d = Buffer.alloc(16);
  key8(reservation.key).copy(d, 0);
  d[13] = reservation.type & 0x0f; // byte 21 of the response: scope 0 (LU_SCOPE) | type
  return Buffer.concat([header(generation, 16), d]);
}

/**
 * PR IN REPORT CAPABILITIES parameter data (8 bytes): PTPL_C, TMV, ALLOW
 * COMMANDS 0, PTPL_A as given, and the type mask of every SPC type
 * (WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX in byte 4; EX_AC_AR in byte 5).
 */
export function reportCapabilitiesData(ptplActivated: boolean): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16BE(8, 0);
  b[2] = 0x01; // PTPL_C (CRH, SIP_C, ATP_C, RLR_C clear: the fake SAN supports none of them)
  b[3] = 0x80 | (ptplActivated ? 0x01 : 0); // TMV, PTPL_A
  b[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;
  b[5] = 0x01;
  return b;
}

/**
 * iSCSI TransportID, format 01b (`name,i,0x<ISID>`), NUL-terminated and padded
 * to a multiple of 4 (at least 24 bytes in all).
 */
export function iscsiTransportId(initiator: string, isid: string): Buffer {
  const text = Buffer.from(`${initiator},i,0x${isid}\0`, 'utf8');
  const padded = Math.max(20, Math.ceil(text.length / 4) * 4);
  const b = Buffer.alloc(4 + padded);
  b[0] = 0x40 | 0x05; // format 01b, protocol 5 (iSCSI)
  b.writeUInt16BE(padded, 2);
  text.copy(b, 4);
  return b;
}

/** One registration as READ FULL STATUS reports it. */
export interface FullStatusEntry {
  key: bigint;
  holder: boolean;
  /** Reservation type, reported when `holder`. */
  type: number;
  relativeTargetPort: number;
  transportId: Buffer;
}

/** PR IN READ FULL STATUS parameter data: one 24-byte descriptor + TransportID per registration. */
export function readFullStatusData(generation: number, entries: readonly FullStatusEntry[]): Buffer {
  const descriptors = entries.map((e) => {
    const d = Buffer.alloc(24);
    key8(e.key).copy(d, 0);
    d[12] = e.holder ? 0x01 : 0; // R_HOLDER (ALL_TG_PT clear)
    d[13] = e.holder ? e.type & 0x0f : 0;
    d.writeUInt16BE(e.relativeTargetPort, 18);
    d.writeUInt32BE(e.transportId.length, 20);
    return Buffer.concat([d, e.transportId]);
  });
  const body = Buffer.concat(descriptors);
  return Buffer.concat([header(generation, body.length), body]);
}

/** Space-padded ASCII field of `length` bytes. */
function ascii(text: string, length: number): Buffer {
  return Buffer.from(text.padEnd(length, ' ').slice(0, length), 'latin1');
}

/** Standard INQUIRY data (36 bytes): a connected direct-access device, SPC-4, CMDQUE. */
export function standardInquiryData(vendor: string, product: string, revision: string): Buffer {
  const b = Buffer.alloc(36);
  b[0] = 0x00; // qualifier 0, type 0 (disk)
  b[2] = 0x06; // SPC-4
  b[3] = 0x02; // RESPONSE DATA FORMAT 2
  b[4] = 31; // ADDITIONAL LENGTH: bytes 5..35
  b[7] = 0x02; // CMDQUE
  ascii(vendor, 8).copy(b, 8);
  ascii(product, 16).copy(b, 16);
  ascii(revision, 4).copy(b, 32);
  return b;
}

/** A VPD page: byte 1 page code, bytes 2–3 PAGE LENGTH, then `body`. */
function vpdPage(page: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[1] = page;
  h.writeUInt16BE(body.length, 2);
  return Buffer.concat([h, body]);
}

/** Supported VPD Pages (00h). */
export function supportedVpdPagesData(pages: readonly number[]): Buffer {
  return vpdPage(0x00, Buffer.from(pages));
}

/** Unit Serial Number VPD page (80h). */
export function unitSerialVpdData(serial: string): Buffer {
  return vpdPage(0x80, Buffer.from(serial, 'latin1'));
}

/** One designation descriptor (4-byte header + designator). */
function designator(byte0: number, byte1: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = byte0;
  h[1] = byte1;
  h[3] = body.length;
  return Buffer.concat([h, body]);
}

/**
 * Device Identification VPD page (83h): for the logical unit an NAA designator
 * from `wwn` ('naa.' + hex, binary code set) when given; for the target port a
 * relative target port designator (PIV, iSCSI); then `extra` T10 vendor ID
 * designators of 60 bytes each (a long page).
 */
export function deviceIdentificationVpdData(wwn: string | null, relativeTargetPort: number, extra = 0): Buffer {
  const parts: Buffer[] = [];
  if (wwn !== null) {
    if (!/^naa\.[0-9a-f]{16}([0-9a-f]{16})?$/.test(wwn)) throw new Error(`fake SAN: ${wwn} is not an NAA WWN of 8 or 16 bytes`);
    parts.push(designator(0x01, 0x03, Buffer.from(wwn.slice(4), 'hex'))); // binary, LU association, NAA
  }
  const port = Buffer.alloc(4);
  port.writeUInt16BE(relativeTargetPort, 2);
  parts.push(designator(0x51, 0x80 | 0x10 | 0x04, port)); // iSCSI + binary, PIV, target port association, relative target port
  for (let i = 0; i < extra; i++) parts.push(designator(0x02, 0x01, Buffer.from(`FAKESAN ${String(i).padStart(48, '0')}`, 'ascii'))); // ASCII, LU, T10 vendor ID
  return vpdPage(0x83, Buffer.concat(parts));
}
