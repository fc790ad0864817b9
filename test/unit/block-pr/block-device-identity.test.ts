/**
 * blockDeviceIdentity over a fake sysfs tree: the kind of device and the name
 * fencing orders logical units by, for NVMe namespaces, SCSI disks and
 * device-mapper maps (a multipath map over one LU's paths, a map over two LUs,
 * a map over a loop device).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockDeviceIdentity } from '../../../lib/block-pr/block-device-identity';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'scsi-pr-sysfs-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function attr(rel: string, value: string): void {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, `${value}\n`);
}
function dir(rel: string): void {
  mkdirSync(join(root, rel), { recursive: true });
}
function nvmeNamespace(name: string, nguid: string): void {
  attr(`block/${name}/nsid`, '1');
  attr(`block/${name}/nguid`, nguid);
  attr(`block/${name}/wwid`, `eui.${nguid.replace(/-/g, '')}`);
}
function dmMap(name: string, uuid: string, slaves: string[]): void {
  attr(`block/${name}/dm/name`, `map-${name}`);
  attr(`block/${name}/dm/uuid`, uuid);
  dir(`block/${name}/slaves`);
  for (const s of slaves) dir(`block/${name}/slaves/${s}`);
}

const NGUID_A = '00112233-4455-6677-8899-aabbccddeeff';
const NGUID_B = 'ffeeddcc-bbaa-9988-7766-554433221100';

describe('blockDeviceIdentity', () => {
  it('an NVMe namespace: kind nvme, named as NvmeDevice names it (eui.<nguid>)', () => {
    nvmeNamespace('nvme0n1', NGUID_A);
    expect(blockDeviceIdentity('nvme0n1', root)).toEqual({ name: 'nvme0n1', kind: 'nvme', wwn: 'eui.00112233445566778899aabbccddeeff' });
  });

  it('a SCSI disk: kind scsi, named by device/wwid', () => {
    attr('block/sdb/device/wwid', 'naa.6001405aabbccdd0011223344556677');
    expect(blockDeviceIdentity('sdb', root)).toEqual({ name: 'sdb', kind: 'scsi', wwn: 'naa.6001405aabbccdd0011223344556677' });
  });

  it('a multipath map over two paths of one namespace takes their name, with its dm name, uuid and slaves', () => {
    nvmeNamespace('nvme0n1', NGUID_A);
    nvmeNamespace('nvme3n1', NGUID_A);
    dmMap('dm-2', 'mpath-eui.00112233445566778899aabbccddeeff', ['nvme0n1', 'nvme3n1']);
    expect(blockDeviceIdentity('dm-2', root)).toEqual({
      name: 'dm-2',
      kind: 'device-mapper',
      dmName: 'map-dm-2',
      dmUuid: 'mpath-eui.00112233445566778899aabbccddeeff',
      slaves: ['nvme0n1', 'nvme3n1'],
      bottomKinds: ['nvme'],
      wwn: 'eui.00112233445566778899aabbccddeeff',
    });
  });

  it('a map over a map is followed down; a map over two LUs or over a loop device has no name', () => {
    nvmeNamespace('nvme0n1', NGUID_A);
    nvmeNamespace('nvme1n1', NGUID_B);
    dmMap('dm-0', 'mpath-a', ['nvme0n1']);
    dmMap('dm-1', 'part1-mpath-a', ['dm-0']);
    expect(blockDeviceIdentity('dm-1', root)).toMatchObject({ wwn: 'eui.00112233445566778899aabbccddeeff', bottomKinds: ['nvme'] });
    dmMap('dm-5', 'LVM-xyz', ['nvme0n1', 'nvme1n1']);
    expect(blockDeviceIdentity('dm-5', root).wwn).toBeUndefined();
    dir('block/loop0');
    dmMap('dm-6', 'CRYPT-x', ['loop0']);
    expect(blockDeviceIdentity('dm-6', root)).toMatchObject({ kind: 'device-mapper', slaves: ['loop0'], bottomKinds: ['other'] });
    expect(blockDeviceIdentity('dm-6', root).wwn).toBeUndefined();
    expect(blockDeviceIdentity('loop0', root)).toEqual({ name: 'loop0', kind: 'other' });
  });
});
