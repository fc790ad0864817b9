/**
 * What a whole block device is, for the block PR API, read from sysfs without
 * any I/O to the device: its kernel name, its kind (device-mapper map, NVMe
 * namespace, SCSI disk, anything else), and the stable name the fencing layer
 * groups and orders logical units by (`wwn`).
 *
 * - NVMe namespace: the namespace identity (NGUID, EUI-64, UUID), spelt as an
 *   NvmeDevice spells it, so both interfaces give one namespace one name.
 * - SCSI disk: the kernel's `device/wwid` (`naa.…`), as for an sg-opened Device.
 * - device-mapper map: the common name of the devices below it
 *   (`/sys/block/dm-N/slaves`, recursively) when they all share one — a
 *   multipath map over one LU's paths — else none (a map over several LUs has
 *   no single name; the fencing layer then names it by its path).
 */
import { join } from 'node:path';
import { readAttribute, listDirectory } from '../transport/sysfs';
import { parseNamespaceIdentity } from '../nvme/namespace-identity';

/** What kind of block device a kernel name is. */
export type BlockDeviceKind = 'device-mapper' | 'nvme' | 'scsi' | 'other';

/** A whole block device, from sysfs. */
export interface BlockDeviceIdentity {
  /** Kernel name, e.g. `dm-3`, `nvme0n1`, `sdb`. */
  name: string;
  kind: BlockDeviceKind;
  /** The stable name of the logical unit behind it, when sysfs tells one. */
  wwn?: string;
  /** device-mapper: the map's name (`dm/name`). */
  dmName?: string;
  /** device-mapper: the map's uuid (`dm/uuid`, e.g. `mpath-…` for multipathd's maps). */
  dmUuid?: string;
  /** device-mapper: the devices directly below the map (`slaves/`), kernel names. */
  slaves?: string[];
  /** device-mapper: the kinds of the devices at the bottom of the map (below every map level), each once. */
  bottomKinds?: BlockDeviceKind[];
}

const NVME_BLOCK = /^nvme\d+n\d+$/;
const DM = /^dm-\d+$/;

/** Slave chains deeper than this are not followed (dm stacks are a few levels at most). */
const MAX_DEPTH = 8;

/**
 * The identity of the whole block device with kernel name `name`.
 * @param root Where sysfs is mounted.
 */
export function blockDeviceIdentity(name: string, root: string): BlockDeviceIdentity {
  return identityAt(name, root, 0);
}

function identityAt(name: string, root: string, depth: number): BlockDeviceIdentity {
  const dir = join(root, 'block', name);
  if (DM.test(name)) {
    const slaves = listDirectory(join(dir, 'slaves'));
    const out: BlockDeviceIdentity = { name, kind: 'device-mapper', slaves };
    const dmName = readAttribute(join(dir, 'dm', 'name'));
    const dmUuid = readAttribute(join(dir, 'dm', 'uuid'));
    if (dmName !== undefined) out.dmName = dmName;
    if (dmUuid !== undefined) out.dmUuid = dmUuid;
    if (depth < MAX_DEPTH && slaves.length > 0) {
      const below = slaves.map((s) => identityAt(s, root, depth + 1));
      const names = new Set(below.map((b) => b.wwn));
      const [only] = names;
      if (names.size === 1 && only !== undefined) out.wwn = only;
      out.bottomKinds = [...new Set(below.flatMap((b) => b.bottomKinds ?? [b.kind]))];
    }
    return out;
  }
  if (NVME_BLOCK.test(name)) {
    const out: BlockDeviceIdentity = { name, kind: 'nvme' };
    try {
      out.wwn = parseNamespaceIdentity((f) => readAttribute(join(dir, f))).wwn;
    } catch {
      /* no identifier sysfs can tell: no name */
    }
    return out;
  }
  const scsiWwid = readAttribute(join(dir, 'device', 'wwid'));
  if (scsiWwid !== undefined || listDirectory(join(dir, 'device', 'scsi_device')).length > 0) {
    return scsiWwid === undefined ? { name, kind: 'scsi' } : { name, kind: 'scsi', wwn: scsiWwid };
  }
  const wwid = readAttribute(join(dir, 'wwid'));
  return wwid === undefined ? { name, kind: 'other' } : { name, kind: 'other', wwn: wwid };
}
