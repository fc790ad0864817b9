/**
 * Proves the SAN lab is a real SAN: initiator nodes with their own iSCSI sessions
 * (open-iscsi in the guest kernel), a real target — LIO in the kernel (the default)
 * or tgt's user-space daemon tgtd (`--target tgt`) — the kernel's SCSI stack in
 * between, and PR state the target keeps for each I_T nexus. Uses only sg3_utils
 * and the system's own views (sysfs, configfs, /proc, tgtadm), independent of
 * scsi-pr. Where the targets differ the expectation is a table `{ lio: …, tgt: … }`.
 */
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, expect, beforeAll } from 'vitest';
import { labMap, labTarget, labTools, dev, perTarget, run, sgRawWrite, sgPersistKeys, sgPersistReservation, SG_EXIT, type LabMap } from './lab-env';

const LUN = 0; // this file owns LUN 0
const TARGET = labTarget();
const LIO_CFG = '/sys/kernel/config/target';

/** The iSCSI session (sysfs name, e.g. session3) an sg device's SCSI device hangs under. */
function sessionOf(hctl: string): string {
  const m = /\/(session\d+)\//.exec(realpathSync(`/sys/class/scsi_device/${hctl}/device`));
  if (!m) throw new Error(`SCSI device ${hctl} is not under an iSCSI session`);
  return m[1];
}

const sessionAttr = (session: string, attr: string) => readFileSync(`/sys/class/iscsi_session/${session}/${attr}`, 'utf8').trim();

describe(`the SAN lab (${TARGET})`, () => {
  let map: LabMap;
  beforeAll(async () => {
    map = labMap();
    expect(map.target.kind ?? 'lio').toBe(TARGET);
    await labTools.resetReservations([LUN]); // other files use LUN 0 too: start from a clean slate
  });

  it('gives every node its own sd/sg device per LUN, each a distinct I_T nexus over its own iSCSI session to the target', async () => {
    expect(map.options.nodes).toBeGreaterThanOrEqual(2);
    for (const n of map.nodes) expect(n.luns).toHaveLength(map.options.luns);
    const a = dev(map, 1, LUN);
    const b = dev(map, 2, LUN);
    expect(a.sg).not.toBe(b.sg);
    expect(a.serial).toBe(b.serial);
    expect(a.initiator).not.toBe(b.initiator);
    expect(a.isid).toMatch(/^[0-9a-f]{12}$/);

    // The kernel's iSCSI sessions: one per node and path, each logged in to the lab's target
    // with the node's initiator name; every device of a node and path sits under its session.
    const sessions = readdirSync('/sys/class/iscsi_session');
    expect(sessions).toHaveLength(map.options.nodes * map.options.paths);
    for (const s of sessions) {
      expect(sessionAttr(s, 'targetname')).toBe(map.target.iqn);
      expect(sessionAttr(s, 'state')).toBe('LOGGED_IN');
    }
    const used = new Set<string>();
    for (const d of map.devices.filter((x) => x.lun === LUN)) {
      const s = sessionOf(d.hctl);
      expect(sessionAttr(s, 'initiatorname')).toBe(d.initiator);
      used.add(s);
    }
    expect(used.size).toBe(map.options.nodes * map.options.paths);

    // Standard INQUIRY through sg3_utils: the target's vendor and product strings.
    // LIO: vendor LIO-ORG, product the backstore (rd_mcp: RAMDISK-MCP); tgt: IET / VIRTUAL-DISK.
    const inq = await run('sg_inq', [a.sg]);
    expect(inq.status).toBe(0);
    const vendor = /Vendor identification:\s*(.*?)\s*$/m.exec(inq.stdout)?.[1];
    const product = /Product identification:\s*(.*?)\s*$/m.exec(inq.stdout)?.[1];
    expect({ vendor, product }).toEqual(perTarget({ lio: { vendor: 'LIO-ORG', product: 'RAMDISK-MCP' }, tgt: { vendor: 'IET', product: 'VIRTUAL-DISK' } }));
    expect(inq.stdout).toContain('Peripheral device type: disk');
  });

  it('runs a real target: LIO in the kernel (configfs has the target, the LUN and a logged-in session per node) or tgtd (a live process whose tgtadm shows the LUN and every node’s I_T nexus)', async () => {
    const lio = async () => {
      const tpg = join(LIO_CFG, 'iscsi', map.target.iqn, 'tpgt_1');
      expect(existsSync(join(tpg, 'lun', `lun_${LUN}`))).toBe(true);
      expect(readFileSync(join(LIO_CFG, 'core', `rd_mcp_${LUN}`, `lun${LUN}`, 'wwn', 'vpd_unit_serial'), 'utf8')).toContain(dev(map, 1, LUN).serial);
      for (const n of map.nodes) {
        // LIO's own view of the node's ACL: "InitiatorName: …" and the session state.
        const info = readFileSync(join(tpg, 'acls', n.iqn, 'info'), 'utf8');
        expect(info).toContain(n.iqn);
        expect(info).toMatch(/TARG_SESS_STATE_LOGGED_IN/);
      }
    };
    const tgt = async () => {
      const pid = readFileSync('/run/lab/tgt/tgtd.pid', 'utf8').trim();
      expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('tgtd');
      const show = await run('tgtadm', ['--lld', 'iscsi', '--op', 'show', '--mode', 'target']);
      expect(show.status).toBe(0);
      expect(show.stdout).toContain(map.target.iqn);
      expect(show.stdout).toContain(`SCSI SN: ${dev(map, 1, LUN).serial}`);
      // An I_T nexus per node and path at least, each with its node's initiator name (tgt also
      // lists nexuses of sessions that earlier files logged out and in again: 9 for 6 in CI).
      expect([...show.stdout.matchAll(/^\s*I_T nexus: \d+/gm)].length).toBeGreaterThanOrEqual(map.options.nodes * map.options.paths);
      for (const n of map.nodes) expect(show.stdout.split(`Initiator: ${n.iqn}`).length - 1).toBeGreaterThanOrEqual(map.options.paths);
    };
    await perTarget({ lio, tgt })();
  });

  it('fences a node: after PREEMPT AND ABORT (tgt refuses it: PREEMPT) its WRITEs fail with RESERVATION CONFLICT, the holder still writes', async () => {
    const n1 = dev(map, 1, LUN).sg;
    const n2 = dev(map, 2, LUN).sg;
    const persist = async (sg: string, ...args: string[]) => {
      const r = await run('sg_persist', ['-n', '--out', ...args, sg]);
      expect(r.status, `sg_persist ${args.join(' ')} ${sg}: ${r.stderr}`).toBe(0);
    };

    expect(await sgPersistKeys(n1)).toEqual([]);
    await persist(n1, '--register', '--param-sark=0x1');
    await persist(n2, '--register', '--param-sark=0x2');
    await persist(n1, '--reserve', '--param-rk=0x1', '--prout-type=5');
    expect(await sgPersistKeys(n2)).toEqual(['0x1', '0x2']);
    expect(await sgPersistReservation(n2)).toEqual({ key: '0x1', type: 5 });
    // LIO: the kernel target's own record of the PR state agrees (both I_T nexuses registered,
    // node 1 the holder); tgt's is checked through sg_persist only.
    const lioPr = join(LIO_CFG, 'core', `rd_mcp_${LUN}`, `lun${LUN}`, 'pr');
    await perTarget({
      lio: async () => {
        const registered = readFileSync(join(lioPr, 'res_pr_registered_i_pts'), 'utf8');
        for (const node of [1, 2]) expect(registered).toContain(map.nodes[node - 1].iqn);
        expect(readFileSync(join(lioPr, 'res_holder'), 'utf8')).toContain(map.nodes[0].iqn);
      },
      tgt: async () => {},
    })();

    // Both registrants may write under Write Exclusive, Registrants Only.
    expect(await sgRawWrite(n1)).toBe(SG_EXIT.OK);
    expect(await sgRawWrite(n2)).toBe(SG_EXIT.OK);

    // Node 2 fences node 1. SPC-4 makes PREEMPT AND ABORT mandatory with PREEMPT; LIO does it,
    // tgt 1.0.85 answers ILLEGAL REQUEST, INVALID FIELD IN CDB (sg_persist exit 5) and changes
    // nothing, so there node 2 fences with PREEMPT (what scsi-pr's fence() falls back to).
    const paa = await run('sg_persist', ['-n', '--out', '--preempt-abort', '--param-rk=0x2', '--param-sark=0x1', '--prout-type=5', n2]);
    expect(paa.status, `sg_persist --preempt-abort: ${paa.stderr}`).toBe(perTarget({ lio: SG_EXIT.OK, tgt: 5 }));
    if (paa.status !== SG_EXIT.OK) {
      expect(await sgPersistKeys(n2)).toEqual(['0x1', '0x2']);
      expect(await sgPersistReservation(n2)).toEqual({ key: '0x1', type: 5 });
      await persist(n2, '--preempt', '--param-rk=0x2', '--param-sark=0x1', '--prout-type=5');
    }
    expect(await sgPersistKeys(n2)).toEqual(['0x2']);
    expect(await sgPersistReservation(n2)).toEqual({ key: '0x2', type: 5 });

    expect(await sgRawWrite(n1)).toBe(SG_EXIT.RESERVATION_CONFLICT);
    expect(await sgRawWrite(n2)).toBe(SG_EXIT.OK);

    await persist(n2, '--clear', '--param-rk=0x2');
    expect(await sgPersistKeys(n1)).toEqual([]);
  });
});
