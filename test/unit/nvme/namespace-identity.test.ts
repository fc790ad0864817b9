import { describe, expect, it } from 'vitest';
import { MalformedResponseError } from '../../../lib/errors';
import { ArgumentTypeError } from '../../../lib/invalid-argument';
import { type NamespaceIdentityFile, parseNamespaceIdentity } from '../../../lib/nvme/namespace-identity';
import { thrown } from '../support/thrown';

/** A reader over fixed file contents, each ending in a newline as sysfs_emit writes them. */
function sysfs(files: Partial<Record<NamespaceIdentityFile, string>>) {
  return (name: NamespaceIdentityFile): string | undefined => (files[name] === undefined ? undefined : files[name] + '\n');
}

const NGUID = '0025388b-71b5-b8f1-0000-000000000001'; // %pU of the 16 NGUID bytes
const NGUID_HEX = '0025388b71b5b8f10000000000000001';
const UUID = 'f3a1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b';

describe('parseNamespaceIdentity', () => {
  it('a namespace with only an EUI-64 (eui as %8ph bytes)', () => {
    expect(parseNamespaceIdentity(sysfs({ nsid: '1', eui: '00 25 38 8b 71 b5 b8 f1', wwid: 'eui.0025388b71b5b8f1' }))).toEqual({
      wwn: 'eui.0025388b71b5b8f1',
      eui64: '0025388b71b5b8f1',
      wwid: 'eui.0025388b71b5b8f1',
      nsid: 1,
    });
  });

  it('a Linux nvmet namespace: a UUID only', () => {
    expect(parseNamespaceIdentity(sysfs({ nsid: '3', uuid: UUID, wwid: `uuid.${UUID}` }))).toEqual({
      wwn: `uuid.${UUID}`,
      uuid: UUID,
      wwid: `uuid.${UUID}`,
      nsid: 3,
    });
  });

  it('prefers the NGUID over the EUI-64 and the UUID', () => {
    const id = parseNamespaceIdentity(sysfs({ nsid: '2', nguid: NGUID, eui: '00 25 38 8b 71 b5 b8 f1', uuid: UUID.toUpperCase(), wwid: `uuid.${UUID}` }));
    expect(id).toEqual({ wwn: `eui.${NGUID_HEX}`, nguid: NGUID_HEX, eui64: '0025388b71b5b8f1', uuid: UUID, wwid: `uuid.${UUID}`, nsid: 2 });
  });

  it('does not take the NGUID the kernel shows in uuid for a namespace without a UUID', () => {
    const id = parseNamespaceIdentity(sysfs({ nsid: '1', nguid: NGUID, uuid: NGUID, wwid: `eui.${NGUID_HEX}` }));
    expect(id).toEqual({ wwn: `eui.${NGUID_HEX}`, nguid: NGUID_HEX, wwid: `eui.${NGUID_HEX}`, nsid: 1 });
    expect(parseNamespaceIdentity(sysfs({ nsid: '1', nguid: NGUID, uuid: NGUID })).uuid).toBeUndefined();
    expect(parseNamespaceIdentity(sysfs({ nsid: '1', nguid: NGUID, uuid: UUID })).uuid).toBe(UUID);
  });

  it('falls back to the wwid (vendor, serial and model form)', () => {
    const wwid = 'nvme.1b36-3132333435-51454d55204e564d65204374726c-00000001';
    expect(parseNamespaceIdentity(sysfs({ nsid: '1', wwid }))).toEqual({ wwn: wwid, wwid, nsid: 1 });
  });

  it('treats all-zero identifiers and empty files as absent', () => {
    const id = parseNamespaceIdentity(sysfs({ nsid: '1', eui: '00 00 00 00 00 00 00 00', nguid: '', uuid: '00000000-0000-0000-0000-000000000000', wwid: 'uuid.x' }));
    expect(id).toEqual({ wwn: 'uuid.x', wwid: 'uuid.x', nsid: 1 });
  });

  it('refuses a missing or bad nsid', () => {
    for (const nsid of [undefined, '', 'abc', '0', '4294967295', '-1', '1.5']) {
      const e = thrown(() => parseNamespaceIdentity(sysfs({ nsid, wwid: 'eui.0025388b71b5b8f1' })));
      expect(e).toBeInstanceOf(MalformedResponseError);
      expect(e.message).toMatch(/nsid/);
    }
    expect(parseNamespaceIdentity(sysfs({ nsid: '4294967294', wwid: 'w' })).nsid).toBe(0xfffffffe);
  });

  it('refuses identifiers that do not parse and a namespace without any', () => {
    for (const files of [
      { nsid: '1', eui: 'zz 25 38 8b 71 b5 b8 f1' },
      { nsid: '1', eui: '00 25 38 8b 71 b5 b8' },
      { nsid: '1', nguid: '0025388b-71b5-b8f1-0000' },
      { nsid: '1', uuid: 'not-a-uuid', wwid: 'uuid.not-a-uuid' },
      { nsid: '1' },
    ]) {
      expect(thrown(() => parseNamespaceIdentity(sysfs(files)))).toBeInstanceOf(MalformedResponseError);
    }
  });

  it('refuses a reader that is not a function or returns something else than a string', () => {
    expect(thrown(() => parseNamespaceIdentity(null as never))).toBeInstanceOf(ArgumentTypeError);
    expect(thrown(() => parseNamespaceIdentity((() => 1) as never))).toBeInstanceOf(ArgumentTypeError);
  });
});
