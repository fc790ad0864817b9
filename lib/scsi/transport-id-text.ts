/**
 * TransportIDs as text: {@link parseTransportId} reads the forms sg_persist's
 * `--transport-id` takes (and a few more), {@link formatTransportId} writes a
 * one-line form that parses back. The binary codec and the types are in
 * transport-id.ts.
 */
import { ArgumentRangeError } from '../invalid-argument';
import {
  FIXED_LENGTH,
  ISID_SEPARATOR,
  checkIscsiName,
  checkIsid,
  encodeTransportId,
  invalid,
  invalidType,
  lastIsidSeparator,
  quote,
  tryDecode,
  typeOf,
  type IscsiTransportId,
  type TransportId,
} from './transport-id';

function hex64(text: string, what: string, original: string): bigint {
  const m = /^(?:0x)?([0-9a-f]{16})$/i.exec(text) ?? /^((?:[0-9a-f]{2}:){7}[0-9a-f]{2})$/i.exec(text);
  if (!m) {
    throw invalid(`TransportID ${quote(original)}: ${what} must be 16 hex digits (optionally 0x-prefixed or colon-separated bytes)`);
  }
  return BigInt('0x' + m[1]!.replace(/:/g, ''));
}

function parseU16Text(text: string, what: string, original: string, hexOnly: boolean): number {
  const re = hexOnly ? /^(?:0x)?([0-9a-f]{1,4})$/i : /^(?:0x([0-9a-f]{1,4})|([0-9]{1,5}))$/i;
  const m = re.exec(text);
  let n = NaN;
  if (m) n = hexOnly || m[1] !== undefined ? parseInt(m[1]!, 16) : parseInt(m[2]!, 10);
  if (!(n >= 0 && n <= 0xffff)) {
    throw invalid(
      `TransportID ${quote(original)}: ${what} must be ${hexOnly ? '1–4 hex digits' : 'a decimal (or 0x-prefixed hex) number'} 0–65535`,
    );
  }
  return n;
}

function parseIscsiText(text: string, original: string): IscsiTransportId {
  const sep = lastIsidSeparator(text);
  try {
    if (sep === -1) return { protocol: 'iscsi', name: checkIscsiName(text) };
    return {
      protocol: 'iscsi',
      name: checkIscsiName(text.slice(0, sep)),
      isid: checkIsid(text.slice(sep + ISID_SEPARATOR.length)),
    };
  } catch (e) {
    if (e instanceof ArgumentRangeError) throw invalid(`TransportID ${quote(original)}: ${e.message}`);
    throw e;
  }
}

/**
 * Parses the textual TransportID forms sg_persist's `--transport-id` accepts, plus a few more:
 *
 * | text | result |
 * |---|---|
 * | `iqn.…` / `eui.…` | iSCSI format 0 |
 * | `iqn.…,i,0x<ISID>` | iSCSI format 1 |
 * | `iscsi,<name>[,i,0x<ISID>]` | iSCSI (any name) |
 * | `sas,<16 hex>` / `naa.<16 hex>` / `0x<16 hex>` | SAS address |
 * | `fcp,<16 hex>` (also `aa:bb:…` byte form) | FCP N_Port_Name |
 * | `sbp,<16 hex>` | IEEE 1394 EUI-64 |
 * | `srp,<32 hex>` | SRP initiator port identifier |
 * | `spi,<address>,<relative port>` (decimal or 0x hex) | parallel SCSI |
 * | `sop,<routing id hex>` | SCSI over PCIe |
 * | `6,0,0,0,50,0,c5,…` (hex bytes, comma/space separated) | decoded from bytes, zero-padded to 24 |
 *
 * Protocol prefixes are case-insensitive and may be followed by `,` or a space,
 * so the output of {@link formatTransportId} parses back. Hex values may carry `0x`.
 * `naa.` is taken as a SAS address (Linux LIO/tcm_loop style); write
 * `iscsi,naa.…` for an iSCSI name in NAA format.
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_TRANSPORT_ID`).
 */
export function parseTransportId(text: string): TransportId {
  if (typeof text !== 'string') throw invalidType(`TransportID must be a string; received ${typeOf(text)}`);
  const s = text.trim();
  if (s.length === 0) throw invalid('TransportID text is empty');

  const pm = /^(fcp|spi|sbp|srp|iscsi|sas|sop)(?:,|\s+)(.*)$/is.exec(s);
  if (pm) {
    const proto = pm[1]!.toLowerCase();
    const rest = pm[2]!.trim();
    switch (proto) {
      case 'fcp':
        return { protocol: 'fcp', nPortName: hex64(rest, 'the N_Port_Name', text) };
      case 'sbp':
        return { protocol: 'sbp', eui64: hex64(rest, 'the EUI-64', text) };
      case 'sas':
        return { protocol: 'sas', sasAddress: hex64(rest, 'the SAS address', text) };
      case 'srp': {
        const m = /^(?:0x)?([0-9a-f]{32})$/i.exec(rest);
        if (!m) throw invalid(`TransportID ${quote(text)}: the SRP initiator port identifier must be 32 hex digits`);
        return { protocol: 'srp', initiatorPortId: Buffer.from(m[1]!, 'hex') };
      }
      case 'spi': {
        const parts = rest.split(/\s*,\s*|\s+/);
        if (parts.length !== 2) {
          throw invalid(`TransportID ${quote(text)}: expected spi,<scsi address>,<relative target port>`);
        }
        return {
          protocol: 'spi',
          scsiAddress: parseU16Text(parts[0]!, 'the SCSI address', text, false),
          relativePortId: parseU16Text(parts[1]!, 'the relative target port', text, false),
        };
      }
      case 'sop':
        return { protocol: 'sop', routingId: parseU16Text(rest, 'the routing ID', text, true) };
      case 'iscsi':
        return parseIscsiText(rest, text);
    }
  }
  if (/^(iqn|eui)\./.test(s)) return parseIscsiText(s, text);
  if (/^naa\./i.test(s)) {
    const m = /^naa\.([0-9a-f]{16})$/i.exec(s);
    if (!m) {
      throw invalid(`TransportID ${quote(text)}: naa. is read as a SAS address of 16 hex digits; use iscsi,naa.… for an iSCSI name`);
    }
    return { protocol: 'sas', sasAddress: BigInt('0x' + m[1]!) };
  }
  if (/^0x[0-9a-f]{16}$/i.test(s)) return { protocol: 'sas', sasAddress: BigInt(s) };
  if (/^[0-9a-f]{1,2}(?:(?:\s*,\s*|\s+)[0-9a-f]{1,2})+$/i.test(s)) {
    const bytes = s.split(/\s*,\s*|\s+/).map((h) => parseInt(h, 16));
    const buf = Buffer.alloc(Math.max(FIXED_LENGTH, bytes.length));
    buf.set(bytes);
    const r = tryDecode(buf, 0);
    if (typeof r === 'string') throw invalid(`TransportID ${quote(text)}: ${r}`);
    if (r.length !== buf.length) {
      throw invalid(`TransportID ${quote(text)}: ${buf.length} bytes given but the TransportID is ${r.length} bytes`);
    }
    return r.id;
  }
  throw invalid(
    `TransportID ${quote(text)} is not recognised; expected iqn.…[,i,0x<ISID>], iscsi,<name>, sas,<16 hex>, naa.<16 hex>, ` +
      '0x<16 hex>, fcp,<16 hex>, sbp,<16 hex>, srp,<32 hex>, spi,<address>,<relative port>, sop,<hex> or hex bytes',
  );
}

/**
 * Readable one-line form of a TransportID, which {@link parseTransportId} accepts
 * back (except for `unknown` ones):
 * `iscsi iqn.1994-05.com.redhat:node1,i,0x23d000000001`, `sas 0x5000c50005b32001`,
 * `fcp 0x10000000c9f3a571`, `spi 7,1`, `sop 0x0102`, `protocol 0x2 format 0: 0200…`.
 * A Buffer is decoded first.
 *
 * @throws ArgumentTypeError / ArgumentRangeError (`ERR_INVALID_TRANSPORT_ID`) for an invalid TransportID.
 */
export function formatTransportId(id: TransportId | Buffer): string {
  if (!(id instanceof Uint8Array) && id?.protocol === 'nvme') return `nvme host ${id.hostId}`;
  const encoded = encodeTransportId(id); // validates
  const t = id instanceof Uint8Array ? (tryDecode(encoded, 0) as { id: TransportId }).id : id;
  const h64 = (v: bigint): string => '0x' + v.toString(16).padStart(16, '0');
  switch (t.protocol) {
    case 'fcp':
      return `fcp ${h64(t.nPortName)}`;
    case 'spi':
      return `spi ${t.scsiAddress},${t.relativePortId}`;
    case 'sbp':
      return `sbp ${h64(t.eui64)}`;
    case 'srp':
      return `srp 0x${t.initiatorPortId.toString('hex')}`;
    case 'iscsi':
      return t.isid === undefined ? `iscsi ${t.name}` : `iscsi ${t.name}${ISID_SEPARATOR}${t.isid.toLowerCase()}`;
    case 'sas':
      return `sas ${h64(t.sasAddress)}`;
    case 'nvme':
      return `nvme host ${t.hostId}`;
    case 'sop':
      return `sop 0x${t.routingId.toString(16).padStart(4, '0')}`;
    case 'unknown':
      return `protocol 0x${t.protocolId.toString(16)} format ${t.format}: ${encoded.toString('hex')}`;
  }
}
