/**
 * The identity of an NVMe namespace from the attributes Linux exposes under
 * `/sys/block/nvmeXnY/` (drivers/nvme/host/sysfs.c), as a pure function of the
 * files' contents:
 *
 * - `nsid`: decimal namespace ID;
 * - `nguid`: the 16-byte NGUID formatted like a UUID (`%pU`, 8-4-4-4-12 hex); absent when zero;
 * - `eui`: the EUI-64 as eight space-separated hex bytes (`%8ph`); absent when zero;
 * - `uuid`: the namespace UUID (`%pU`) — but when the namespace has no UUID the kernel
 *   shows the NGUID here instead (backward compatibility), so it counts as a UUID only
 *   when `wwid` starts with `uuid.` (the kernel's wwid prefers the UUID), or when there
 *   is no `wwid` and it differs from the NGUID;
 * - `wwid`: `uuid.<uuid>`, else `eui.<32 hex NGUID>`, else `eui.<16 hex EUI-64>`, else
 *   `nvme.<vid>-<serial hex>-<model hex>-<nsid>`.
 *
 * The stable name the fencing layer groups paths by and orders LUs by, `wwn`, is
 * `eui.<nguid>` when there is an NGUID, else `eui.<eui64>`, else `uuid.<uuid>`, else the
 * wwid as is — the kernel's own wwid spelling whenever the namespace has no UUID.
 */
import { MalformedResponseError } from '../errors';
import { ArgumentTypeError, describeValue } from '../invalid-argument';

/** The sysfs attribute files read. */
export type NamespaceIdentityFile = 'wwid' | 'nguid' | 'eui' | 'uuid' | 'nsid';

/** Reads one attribute file of the namespace's sysfs directory; `undefined` when it does not exist. */
export type SysfsReader = (name: NamespaceIdentityFile) => string | undefined;

/** A namespace's identifiers. */
export interface NamespaceIdentity {
  /** Stable name: `eui.<nguid>`, `eui.<eui64>`, `uuid.<uuid>` or the wwid, in that preference. */
  wwn: string;
  /** NGUID, 32 lowercase hex digits. */
  nguid?: string;
  /** EUI-64, 16 lowercase hex digits. */
  eui64?: string;
  /** Namespace UUID, lowercase 8-4-4-4-12. */
  uuid?: string;
  /** The kernel's `wwid` attribute, trimmed. */
  wwid?: string;
  /** Namespace ID. */
  nsid: number;
}

const HEX_ONLY = /^[0-9a-f]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Hex digits of an identifier in any of the kernel's spellings (dashes, spaces, colons); undefined when all zero. */
function hexId(file: string, raw: string, digits: number): string | undefined {
  const hex = raw.trim().toLowerCase().replace(/[-\s:]/g, '');
  if (hex.length !== digits || !HEX_ONLY.test(hex)) {
    throw new MalformedResponseError(`sysfs ${file} ${JSON.stringify(raw.trim())} is not ${digits / 2} bytes of hex`);
  }
  return /^0+$/.test(hex) ? undefined : hex;
}

function read(readFile: SysfsReader, name: NamespaceIdentityFile): string | undefined {
  const v = readFile(name);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `readFile(${JSON.stringify(name)}) must return a string or undefined; returned ${describeValue(v)}`);
  }
  return v.trim() === '' ? undefined : v;
}

/**
 * The namespace identity from its sysfs attributes.
 *
 * @param readFile Returns a file's contents (`/sys/block/nvme0n1/<name>`), or `undefined` when absent.
 * @throws MalformedResponseError when `nsid` is missing or not a namespace ID, an identifier does not
 *   parse, or the namespace has no identifier at all.
 *
 * @example
 * parseNamespaceIdentity((f) => ({ nsid: '1\n', eui: '00 25 38 8b 71 b5 b8 f1\n' })[f])
 * // { wwn: 'eui.0025388b71b5b8f1', eui64: '0025388b71b5b8f1', nsid: 1 }
 */
export function parseNamespaceIdentity(readFile: SysfsReader): NamespaceIdentity {
  if (typeof readFile !== 'function') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `readFile must be a function; received ${describeValue(readFile)}`);
  }
  const nsidText = read(readFile, 'nsid')?.trim();
  if (nsidText === undefined) throw new MalformedResponseError('sysfs nsid is missing: not an NVMe namespace');
  const nsid = /^[0-9]{1,10}$/.test(nsidText) ? Number(nsidText) : NaN;
  if (!(nsid >= 1 && nsid <= 0xffff_fffe)) {
    throw new MalformedResponseError(`sysfs nsid ${JSON.stringify(nsidText)} is not a namespace ID (1–4294967294)`);
  }
  const nguidText = read(readFile, 'nguid');
  const euiText = read(readFile, 'eui');
  const uuidText = read(readFile, 'uuid');
  const wwid = read(readFile, 'wwid')?.trim();
  const nguid = nguidText === undefined ? undefined : hexId('nguid', nguidText, 32);
  const eui64 = euiText === undefined ? undefined : hexId('eui', euiText, 16);
  let uuid: string | undefined;
  if (uuidText !== undefined) {
    const u = uuidText.trim().toLowerCase();
    if (!UUID.test(u)) throw new MalformedResponseError(`sysfs uuid ${JSON.stringify(uuidText.trim())} is not a UUID`);
    const real = wwid !== undefined ? wwid.startsWith('uuid.') : u.replace(/-/g, '') !== nguid;
    if (real && !/^[0-]+$/.test(u)) uuid = u;
  }
  const wwn = nguid !== undefined ? `eui.${nguid}` : eui64 !== undefined ? `eui.${eui64}` : uuid !== undefined ? `uuid.${uuid}` : wwid;
  if (wwn === undefined) throw new MalformedResponseError(`namespace ${nsid} has no nguid, eui, uuid or wwid in sysfs`);
  return {
    wwn,
    ...(nguid !== undefined ? { nguid } : {}),
    ...(eui64 !== undefined ? { eui64 } : {}),
    ...(uuid !== undefined ? { uuid } : {}),
    ...(wwid !== undefined ? { wwid } : {}),
    nsid,
  };
}
