/**
 * scsi-pr's command lines: tables of good lines → the request the tool runs,
 * and bad lines → the usage error (exit 2) it prints before any I/O.
 */
import { describe, it, expect } from 'vitest';
import { parseCommandLine, type CliRequest } from '../../../../lib/cli/scsi-pr/scsi-pr-request';
import { helpText, MAIN_HELP, SERVICE_HELP } from '../../../../lib/cli/scsi-pr/cli-help';
import { UsageError } from '../../../../lib/cli/scsi-pr/cli-args';

const D = '/dev/sg3';
const TID = 'iqn.2026-11.org.scsi-pr.lab:node2,i,0x00023d000001';
const common = { json: false, verbose: false };

function parse(line: string): CliRequest {
  return parseCommandLine(line.split(/\s+/).filter(Boolean));
}

describe('single device: PR IN', () => {
  const table: Array<[string, CliRequest]> = [
    [`${D}`, { kind: 'prin', device: D, action: 'read-keys', method: 'readKeys', ...common }],
    [`-k ${D}`, { kind: 'prin', device: D, action: 'read-keys', method: 'readKeys', ...common }],
    [`--in --read-keys ${D}`, { kind: 'prin', device: D, action: 'read-keys', method: 'readKeys', ...common }],
    [`-i -r ${D}`, { kind: 'prin', device: D, action: 'read-reservation', method: 'readReservation', ...common }],
    [`--read-reservation ${D}`, { kind: 'prin', device: D, action: 'read-reservation', method: 'readReservation', ...common }],
    [`-c ${D}`, { kind: 'prin', device: D, action: 'report-capabilities', method: 'reportCapabilities', ...common }],
    [`--report-capabilities ${D}`, { kind: 'prin', device: D, action: 'report-capabilities', method: 'reportCapabilities', ...common }],
    [`-s ${D}`, { kind: 'prin', device: D, action: 'read-full-status', method: 'readFullStatus', ...common }],
    [`--read-status ${D}`, { kind: 'prin', device: D, action: 'read-full-status', method: 'readFullStatus', ...common }],
    [`-n -k -d ${D}`, { kind: 'prin', device: D, action: 'read-keys', method: 'readKeys', ...common }],
    [`--device=${D} -s`, { kind: 'prin', device: D, action: 'read-full-status', method: 'readFullStatus', ...common }],
    [`-ks --json ${D}`.replace('-ks', '-k'), { kind: 'prin', device: D, action: 'read-keys', method: 'readKeys', json: true, verbose: false }],
    [`-v --timeout 5000 -r ${D}`, { kind: 'prin', device: D, action: 'read-reservation', method: 'readReservation', json: false, verbose: true, timeoutMs: 5000 }],
  ];
  for (const [line, want] of table) it(line, () => expect(parse(line)).toEqual(want));
});

describe('single device: PR OUT → the options the library receives', () => {
  const table: Array<[string, string, Record<string, unknown>]> = [
    [`-o -G -S 0x5c5c0001 ${D}`, 'register', { newKey: 0x5c5c0001n }],
    [`--out --register --param-rk=0x1 --param-sark=0 ${D}`, 'register', { key: 1n, newKey: 0n }],
    [`-o -G -S 1 -Z -Y ${D}`, 'register', { newKey: 1n, aptpl: true, allTargetPorts: true }],
    [`-o -G -S 77 -X ${TID} -X sas,5000c50005b32001 ${D}`, 'register', { newKey: 0x77n, transportIds: [{ protocol: 'iscsi', name: 'iqn.2026-11.org.scsi-pr.lab:node2', isid: '00023d000001' }, { protocol: 'sas', sasAddress: 0x5000c50005b32001n }] }],
    [`-oIS 0xabc ${D}`, 'register-ignore', { newKey: 0xabcn }],
    [`-o -I -S 0 -Z ${D}`, 'register-ignore', { newKey: 0n, aptpl: true }],
    [`-o -R -K 1 -T 5 ${D}`, 'reserve', { key: 1n, type: 5 }],
    [`-o -R -K 1 -T we-ro ${D}`, 'reserve', { key: 1n, type: 5 }],
    [`-o --reserve -K 1 --prout-type=exclusive-access ${D}`, 'reserve', { key: 1n, type: 3 }],
    [`-o -L -K 1 -T 8 ${D}`, 'release', { key: 1n, type: 8 }],
    [`-o -C -K ffffffffffffffff ${D}`, 'clear', { key: 0xffffffffffffffffn }],
    [`-o -P -K 1 -S 2 -T 1 ${D}`, 'preempt', { key: 1n, preemptKey: 2n, type: 1 }],
    [`-o -A -K 1 -S 2 -T 5 ${D}`, 'preempt-abort', { key: 1n, preemptKey: 2n, type: 5 }],
    [`--out --preempt-abort --param-rk 1 --param-sark 2 --prout-type 6 ${D}`, 'preempt-abort', { key: 1n, preemptKey: 2n, type: 6 }],
    [`-o -M -K 1 -S 2 -X ${TID} -Q 1 ${D}`, 'register-move', { key: 1n, newKey: 2n, transportId: { protocol: 'iscsi', name: 'iqn.2026-11.org.scsi-pr.lab:node2', isid: '00023d000001' }, relativeTargetPortId: 1 }],
    [`-o -M -K 1 -S 2 -X ${TID} --relative-target-port=0x10 -U -Z -T 5 ${D}`, 'register-move', { key: 1n, newKey: 2n, transportId: { protocol: 'iscsi', name: 'iqn.2026-11.org.scsi-pr.lab:node2', isid: '00023d000001' }, relativeTargetPortId: 16, unregister: true, aptpl: true, type: 5 }],
    [`-o -x -S 9 -T 5 ${D}`, 'replace-lost', { newKey: 9n, type: 5 }],
    [`-o --replace-lost -S 9 -T 7 ${D}`, 'replace-lost', { newKey: 9n, type: 7 }],
  ];
  for (const [line, action, options] of table) {
    it(line, () => {
      const r = parse(line);
      expect(r).toEqual({ kind: 'prout', device: D, action, method: expect.any(String), options, ...common });
    });
  }
});

describe('single device: SCSI-2 reservations and resets', () => {
  it('--reserve6, --release6 and --reset LEVEL stand alone', () => {
    expect(parse(`--reserve6 ${D}`)).toEqual({ kind: 'scsi2', device: D, action: 'reserve6', ...common });
    expect(parse(`--release6 ${D}`)).toEqual({ kind: 'scsi2', device: D, action: 'release6', ...common });
    expect(parse(`--reset device ${D}`)).toEqual({ kind: 'scsi2', device: D, action: 'reset', level: 'device', ...common });
    expect(parse(`--reset=host --json ${D}`)).toEqual({ kind: 'scsi2', device: D, action: 'reset', level: 'host', json: true, verbose: false });
  });
  const refused: Array<[string, RegExp]> = [
    [`--reset lun ${D}`, /--reset "lun": expected device, target, bus, host/],
    [`--reserve6 --release6 ${D}`, /choose one of --reserve6 and --release6/],
    [`--reserve6 -k ${D}`, /--reserve6 is not a persistent reservation command/],
    [`--release6 -o -G -S 1 ${D}`, /--release6 is not a persistent reservation command/],
    [`--reset device -K 1 ${D}`, /--reset is not a persistent reservation command/],
  ];
  for (const [line, re] of refused) it(line, () => expect(() => parse(line)).toThrow(re));
});

describe('single device: refused before any I/O (exit 2)', () => {
  const table: Array<[string, RegExp]> = [
    ['', /no DEVICE given/],
    ['-k', /no DEVICE given/],
    [`-k ${D} /dev/sg4`, /one DEVICE expected, got 2/],
    [`-k ${D} status`, /a sub-command must be the first argument/],
    [`-d ${D} /dev/sg4`, /one DEVICE expected/],
    [`-k -r ${D}`, /choose one PR IN action, not -k and -r/],
    [`-i -o -G -S 1 ${D}`, /choose -i or -o, not both/],
    [`-G -S 1 ${D}`, /-G is a PR OUT action: give --out \(-o\) too/],
    [`--register -S 1 ${D}`, /--register is a PR OUT action/],
    [`-o ${D}`, /-o needs one PR OUT action/],
    [`-o -k ${D}`, /-k is a PR IN action; it cannot be combined with -o/],
    [`-o -G -R -S 1 ${D}`, /choose one PR OUT action, not -G and -R/],
    [`-k -K 1 ${D}`, /-K is a PR OUT parameter; it does not apply to PR IN/],
    [`-s -X ${TID} ${D}`, /-X is a PR OUT parameter/],
    [`-r -Z ${D}`, /-Z is a PR OUT parameter/],
    [`-o -G ${D}`, /-G \(REGISTER\) needs --param-sark \(-S\): the new key \(0 unregisters\)/],
    [`-o -G -S 1 -T 5 ${D}`, /-T does not apply to -G \(REGISTER\)/],
    [`-o -G -S 1 -Q 1 ${D}`, /-Q does not apply to -G/],
    [`-o -G -S 1 -U ${D}`, /-U does not apply to -G/],
    [`-o -G -S 0 -X ${TID} ${D}`, /-X cannot be used when -S is 0/],
    [`-o -I -S 1 -K 2 ${D}`, /-K does not apply to -I \(REGISTER AND IGNORE EXISTING KEY\)/],
    [`-o -I -S 1 -X ${TID} ${D}`, /-X does not apply to -I/],
    [`-o -R -K 1 ${D}`, /-R \(RESERVE\) needs --prout-type \(-T\): the reservation type/],
    [`-o -R -T 5 ${D}`, /-R \(RESERVE\) needs --param-rk \(-K\)/],
    [`-o -R -K 1 -T 5 -S 2 ${D}`, /-S does not apply to -R/],
    [`-o -R -K 1 -T 5 -Z ${D}`, /-Z does not apply to -R/],
    [`-o -R -K 1 -T 4 ${D}`, /-T: type "4" is not a reservation type/],
    [`-o -R -K 1 -T 9 ${D}`, /not a reservation type/],
    [`-o -R -K 1 -T bogus ${D}`, /not a reservation type/],
    [`-o -L -K 1 ${D}`, /-L \(RELEASE\) needs --prout-type/],
    [`-o -C ${D}`, /-C \(CLEAR\) needs --param-rk/],
    [`-o -C -K 1 -T 5 ${D}`, /-T does not apply to -C \(CLEAR\)/],
    [`-o -C -K abcxyz ${D}`, /-K: key "abcxyz" is not a hex string/],
    [`-o -C -K 11112222333344445 ${D}`, /not a hex string of 1–16 digits/],
    [`-o -C -K -1 ${D}`, /not a hex string/],
    [`-o -C -K 0x ${D}`, /not a hex string/],
    [`-o -P -K 1 -T 5 ${D}`, /-P \(PREEMPT\) needs --param-sark \(-S\): the key to preempt/],
    [`-o -A -K 1 -S 2 ${D}`, /-A \(PREEMPT AND ABORT\) needs --prout-type/],
    [`-o -M -K 1 -S 2 -Q 1 ${D}`, /-M \(REGISTER AND MOVE\) needs --transport-id \(-X\)/],
    [`-o -M -K 1 -S 2 -X ${TID} ${D}`, /needs --relative-target-port \(-Q\)/],
    [`-o -M -K 1 -S 2 -X ${TID} -X ${TID} -Q 1 ${D}`, /takes exactly one --transport-id \(-X\), got 2/],
    [`-o -M -K 1 -S 0 -X ${TID} -Q 1 ${D}`, /-S must not be 0 for -M/],
    [`-o -M -K 1 -S 2 -X ${TID} -Q 65536 ${D}`, /-Q "65536" is not an integer from 0 to 65535/],
    [`-o -M -K 1 -S 2 -X ${TID} -Q x ${D}`, /-Q "x" is not an integer/],
    [`-o -M -K 1 -S 2 -X ${TID} -Q 1 -Y ${D}`, /-Y does not apply to -M/],
    [`-o -x -S 1 ${D}`, /-x \(REPLACE LOST RESERVATION\) needs --prout-type/],
    [`-o -x -S 0 -T 5 ${D}`, /-S must not be 0 for -x/],
    [`-o -x -S 1 -T 5 -K 2 ${D}`, /-K does not apply to -x/],
    [`-o -G -S 1 -X bogus ${D}`, /-X: TransportID "bogus" is not recognised/],
    [`-o -G -S 1 -X sas,12 ${D}`, /SAS address must be 16 hex digits/],
    [`-o -G -S 1 -K 1 -K 2 ${D}`, /given more than once/],
    [`--timeout 0 -k ${D}`, /--timeout "0" is not an integer from 1 to 3600000/],
    [`--timeout 1.5 -k ${D}`, /--timeout "1.5" is not an integer/],
    [`--timeout=abc -k ${D}`, /is not an integer/],
    [`--json=yes -k ${D}`, /--json takes no value/],
    [`-H -k ${D}`, /unknown option -H/],
    [`--param-rk ${D}`, /.+/],
  ];
  for (const [line, re] of table) {
    it(line || '(empty)', () => {
      let err: unknown;
      try {
        parse(line);
      } catch (e) {
        err = e;
      }
      expect(err, `expected a usage error for: ${line}`).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(re);
    });
  }
});

describe('fence / unfence / status', () => {
  const table: Array<[string, CliRequest]> = [
    ['fence --key 1 --victim-key 2 /dev/sdb /dev/sdc', { kind: 'fence', source: { kind: 'devices', devices: ['/dev/sdb', '/dev/sdc'] }, key: 1n, victimKey: 2n, type: 5, aptpl: false, requireAbort: false, progress: true, ...common }],
    ['fence --key=0x1 --victim-key=0x2 --type we --json --timeout 100 --no-progress /dev/sdb', { kind: 'fence', source: { kind: 'devices', devices: ['/dev/sdb'] }, key: 1n, victimKey: 2n, type: 1, aptpl: false, requireAbort: false, progress: false, json: true, verbose: false, timeoutMs: 100 }],
    ['fence --key 1 --victim-key 2 --lvm', { kind: 'fence', source: { kind: 'lvm', volumeGroups: [] }, key: 1n, victimKey: 2n, type: 5, aptpl: false, requireAbort: false, progress: true, ...common }],
    ['fence --lvm vg_db vg_logs --key 1 --victim-key 2', { kind: 'fence', source: { kind: 'lvm', volumeGroups: ['vg_db', 'vg_logs'] }, key: 1n, victimKey: 2n, type: 5, aptpl: false, requireAbort: false, progress: true, ...common }],
    ['unfence --key 5c5c0001 --aptpl /dev/sg1', { kind: 'unfence', source: { kind: 'devices', devices: ['/dev/sg1'] }, key: 0x5c5c0001n, type: 5, aptpl: true, requireAbort: false, progress: true, ...common }],
    ['unfence --key 1 --type 6 /dev/sg1', { kind: 'unfence', source: { kind: 'devices', devices: ['/dev/sg1'] }, key: 1n, type: 6, aptpl: false, requireAbort: false, progress: true, ...common }],
    ['status --key 1 /dev/sg1 /dev/sg2', { kind: 'status', source: { kind: 'devices', devices: ['/dev/sg1', '/dev/sg2'] }, key: 1n, type: 5, aptpl: false, requireAbort: false, progress: true, ...common }],
    ['status --key 1 --lvm vg0', { kind: 'status', source: { kind: 'lvm', volumeGroups: ['vg0'] }, key: 1n, type: 5, aptpl: false, requireAbort: false, progress: true, ...common }],
    ['status --matrix --key 1 /dev/sg1', { kind: 'status', source: { kind: 'devices', devices: ['/dev/sg1'] }, key: 1n, type: 5, aptpl: false, requireAbort: false, progress: true, layout: 'matrix', ...common }],
    ['status --key 1 --list /dev/sg1', { kind: 'status', source: { kind: 'devices', devices: ['/dev/sg1'] }, key: 1n, type: 5, aptpl: false, requireAbort: false, progress: true, layout: 'list', ...common }],
    ['fence --help', { kind: 'help', topic: 'fence' }],
    ['status -h', { kind: 'help', topic: 'status' }],
  ];
  for (const [line, want] of table) it(line, () => expect(parse(line)).toEqual(want));

  const bad: Array<[string, RegExp]> = [
    ['fence /dev/sdb', /needs --key K/],
    ['fence --key 1 /dev/sdb', /needs --victim-key V/],
    ['fence --key 1 --victim-key 0x1 /dev/sdb', /a node cannot fence itself/],
    ['fence --key 1 --victim-key 0 /dev/sdb', /--victim-key must not be 0/],
    ['fence --key 0 --victim-key 2 /dev/sdb', /--key must not be 0/],
    ['fence --key 1 --victim-key 2', /needs at least one DEVICE \(or --lvm/],
    ['fence --key 1 --victim-key 2 --aptpl /dev/sdb', /--aptpl does not apply to scsi-pr fence/],
    ['fence --key 1 --victim-key 2 --type 2 /dev/sdb', /--type: type "2" is not a reservation type/],
    ['fence --key 1 --victim-key 2 --lvm /dev/sdb', /arguments are volume group names, not devices/],
    ['fence --key 1 --victim-key 2 --lvm "vg;rm"', /is not a volume group name/],
    ['unfence --key 1 --victim-key 2 /dev/sdb', /--victim-key does not apply to scsi-pr unfence/],
    ['unfence --key xyz /dev/sdb', /--key: key "xyz" is not a hex string/],
    ['status --key 1 --type 5 /dev/sdb', /--type does not apply to scsi-pr status/],
    ['status --key 1 -k /dev/sdb', /unknown option -k/],
    ['status --key 1 --key 2 /dev/sdb', /given more than once/],
    ['status --key 1 --json --matrix /dev/sdb', /^--matrix and --json: choose one output form \(--json is the machine form\)$/],
    ['status --key 1 --list --json /dev/sdb', /^--list and --json: choose one output form/],
    ['status --key 1 --matrix --list /dev/sdb', /^--matrix and --list: choose one output form/],
    ['status --json --matrix /dev/sdb', /choose one output form/], // before the missing key
    ['fence --key 1 --victim-key 2 --matrix /dev/sdb', /--matrix does not apply to scsi-pr fence/],
    ['unfence --key 1 --list /dev/sdb', /--list does not apply to scsi-pr unfence/],
  ];
  for (const [line, re] of bad) {
    it(`refuses: ${line}`, () => {
      expect(() => parseCommandLine(line.split(' ').map((x) => x.replace(/^"|"$/g, '')))).toThrow(re);
    });
  }
});

describe('service', () => {
  const table: Array<[string, CliRequest]> = [
    ['service start', { kind: 'service', action: 'start', volumeGroups: [], devices: [], aptpl: false, ...common }],
    ['service start --key 0a000001 --vg vg_db --vg vg_logs --aptpl', { kind: 'service', action: 'start', key: 0x0a000001n, volumeGroups: ['vg_db', 'vg_logs'], devices: [], aptpl: true, ...common }],
    ['service stop --interface eth0', { kind: 'service', action: 'stop', interface: 'eth0', volumeGroups: [], devices: [], aptpl: false, ...common }],
    ['service status --device /dev/sdb --device /dev/sdc --json', { kind: 'service', action: 'status', volumeGroups: [], devices: ['/dev/sdb', '/dev/sdc'], aptpl: false, json: true, verbose: false }],
    ['service --help', { kind: 'help', topic: 'service' }],
  ];
  for (const [line, want] of table) it(line, () => expect(parse(line)).toEqual(want));

  const bad: Array<[string, RegExp]> = [
    ['service', /needs an action: start, stop or status/],
    ['service restart', /unknown service action "restart"/],
    ['service start /dev/sdb', /unexpected argument\(s\) after start: \/dev\/sdb/],
    ['service stop --aptpl', /--aptpl applies to service start only/],
    ['service start --vg vg0 --device /dev/sdb', /give --vg or --device, not both/],
    ['service start --key 0', /--key must not be 0/],
    ['service start --key 1 --interface eth0', /give --key or --interface, not both/],
    ['service start --vg a/b', /is not a volume group name/],
    ['service start --victim-key 2', /unknown option --victim-key/],
  ];
  for (const [line, re] of bad) it(`refuses: ${line}`, () => expect(() => parse(line)).toThrow(re));
});

describe('help and version', () => {
  it('-h, --help, -V', () => {
    expect(parse('-h')).toEqual({ kind: 'help', topic: 'main' });
    expect(parse('--help -k /dev/sg1')).toEqual({ kind: 'help', topic: 'main' });
    expect(parse('-V')).toEqual({ kind: 'version' });
  });
  it('the main help documents every sg_persist-style option and the exit codes', () => {
    for (const opt of ['-k, --read-keys', '-r, --read-reservation', '-c, --report-capabilities', '-s, --read-full-status', '-i, --in', '-o, --out', '-G, --register', '-I, --register-ignore', '-R, --reserve', '-L, --release', '-C, --clear', '-P, --preempt', '-A, --preempt-abort', '-M, --register-move', '-x, --replace-lost', '-K, --param-rk', '-S, --param-sark', '-T, --prout-type', '-Z, --param-aptpl', '-Y, --param-alltgpt', '-X, --transport-id', '-Q, --relative-target-port', '-U, --unreg', '--timeout', '--json', '-h, --help', '-V, --version']) {
      expect(MAIN_HELP).toContain(opt);
    }
    for (const code of [' 0  success', ' 2  bad command line', ' 3  device not found', '24  RESERVATION CONFLICT', ' 6  UNIT ATTENTION', '33  command timed out', '99  transport']) expect(MAIN_HELP).toContain(code);
    for (const t of [MAIN_HELP, SERVICE_HELP, helpText('fence'), helpText('unfence'), helpText('status')]) for (const line of t.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });
  it('status help documents --matrix and --list', () => {
    expect(helpText('status')).toMatch(/--matrix {2,}the matrix, even when stdout is not a terminal/);
    expect(helpText('status')).toMatch(/--list {2,}one line per logical unit, even on a terminal/);
    expect(helpText('status')).toMatch(/--matrix, --list and --json exclude one another/);
  });
  it('sub-command helps document their exit codes', () => {
    expect(helpText('fence')).toMatch(/24 {2}LOST: our own key is not registered/);
    expect(helpText('status')).toMatch(/3 {2}registered on none/);
    expect(SERVICE_HELP).toMatch(/3 {2}not running: registered nowhere/);
    expect(SERVICE_HELP).toMatch(/6 {2}start: no shared volume group/);
  });
});
