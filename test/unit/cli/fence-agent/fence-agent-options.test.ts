/**
 * fence_scsi_pr input parsing: the fence-agents calling convention — argv
 * (getopt) and stdin (name=value lines, as Pacemaker sends them).
 */
import { describe, it, expect } from 'vitest';
import {
  parseArgv,
  parseStdin,
  parseInput,
  splitDevices,
  normaliseAction,
  numberValue,
  findParameter,
  usage,
  AgentInputError,
  AGENT_PARAMETERS,
} from '../../../../lib/cli/fence-agent/fence-agent-options';

const obj = (m: Map<string, string>) => Object.fromEntries(m);

describe('stdin (name=value lines)', () => {
  const cases: Array<[string, string, Record<string, string>, number?]> = [
    ['plain pairs', 'action=off\nplug=node3\ndevices=/dev/sdb,/dev/sdc\n', { action: 'off', plug: 'node3', devices: '/dev/sdb,/dev/sdc' }],
    ['comments and blank lines are skipped', '# a comment\n\n   \naction=on\n  # indented comment\n', { action: 'on' }],
    ['surrounding double quotes are removed', 'devices="/dev/sdb /dev/sdc"\n', { devices: '/dev/sdb /dev/sdc' }],
    ['surrounding single quotes are removed', "plug='node 3'\n", { plug: 'node 3' }],
    ['an inner quote stays', 'nodes=a:"1\n', { nodes: 'a:"1' }],
    ['only the first = splits', 'nodes=node1=0x1,node2=0x2\n', { nodes: 'node1=0x1,node2=0x2' }],
    ['a line without = gives an empty value', 'plug\n', { plug: '' }],
    ['whitespace around name and value is trimmed', '  action =  status  \n', { action: 'status' }],
    ['CRLF line ends', 'action=off\r\nplug=n1\r\n', { action: 'off', plug: 'n1' }],
    ['- and _ are the same in names', 'key-value=id\ncluster-name=c1\ncorosync_conf=/x\n', { key_value: 'id', cluster_name: 'c1', corosync_conf: '/x' }],
    ['names are case-insensitive', 'ACTION=off\nPlug=n2\n', { action: 'off', plug: 'n2' }],
    ['port is plug', 'port=node2\n', { plug: 'node2' }],
    ['option is action', 'option=status\n', { action: 'status' }],
    ['nodename is its own parameter', 'nodename=node3\nplug=n3\n', { nodename: 'node3', plug: 'n3' }],
    ['nodeid as Pacemaker passes it', 'nodeid=3\n', { nodeid: '3' }],
    ['the last value wins', 'action=on\naction=off\n', { action: 'off' }],
    ['flags: 1/yes/on/true set', 'aptpl=yes\nverbose=1\nquiet=true\n', { aptpl: '1', verbose: '1', quiet: '1' }, 1],
    ['flags: 0/no/off/false clear', 'aptpl=1\naptpl=no\nverbose=off\n', {}, 0],
    ['empty input', '', {}],
  ];
  for (const [label, text, values, verbose] of cases) {
    it(label, () => {
      const r = parseStdin(text);
      expect(r.source).toBe('stdin');
      expect(obj(r.values)).toEqual(values);
      expect(r.warnings).toEqual([]);
      if (verbose !== undefined) expect(r.verboseCount).toBe(verbose);
    });
  }

  it('warns about (and ignores) unknown parameters, never failing', () => {
    const r = parseStdin('action=off\npcmk_host_list=n1 n2\nfoo=bar\nplug=n1\n');
    expect(obj(r.values)).toEqual({ action: 'off', plug: 'n1' });
    expect(r.warnings).toEqual(["Parse error: Ignoring unknown option 'pcmk_host_list=n1 n2'", "Parse error: Ignoring unknown option 'foo=bar'"]);
  });

  it('warns about a flag without a boolean value and ignores it', () => {
    const r = parseStdin('aptpl=maybe\n');
    expect(obj(r.values)).toEqual({});
    expect(r.warnings[0]).toMatch(/Ignoring option 'aptpl'.*boolean/);
  });

  it('reads exactly what Pacemaker sends for an off request', () => {
    const pacemaker = ['action=off', 'nodename=node3', 'nodeid=3', 'port=node3', 'devices=/dev/sdb,/dev/sdc', 'key_value=hash', 'cluster_name=mycluster'].join('\n') + '\n';
    const r = parseStdin(pacemaker);
    expect(obj(r.values)).toEqual({ action: 'off', nodename: 'node3', nodeid: '3', plug: 'node3', devices: '/dev/sdb,/dev/sdc', key_value: 'hash', cluster_name: 'mycluster' });
  });
});

describe('command line (getopt)', () => {
  const cases: Array<[string, string[], Record<string, string>, number?]> = [
    ['--name=value', ['--action=off', '--plug=node3'], { action: 'off', plug: 'node3' }],
    ['--name value', ['--action', 'off', '--devices', '/dev/sdb'], { action: 'off', devices: '/dev/sdb' }],
    ['short options with a separate value', ['-o', 'off', '-n', 'node3', '-d', '/dev/sdb,/dev/sdc', '-k', '0x1a'], { action: 'off', plug: 'node3', devices: '/dev/sdb,/dev/sdc', key: '0x1a' }],
    ['short options with an attached value', ['-ooff', '-nnode3'], { action: 'off', plug: 'node3' }],
    ['stacked flags', ['-vv', '-a'], { verbose: '1', aptpl: '1' }, 2],
    ['flags then a value in one cluster', ['-vaooff'], { verbose: '1', aptpl: '1', action: 'off' }, 1],
    ['long aliases: --port, --option, --nodename', ['--port=n2', '--option=status', '--nodename=n9'], { plug: 'n2', action: 'status', nodename: 'n9' }],
    ['_ and - spellings', ['--key_value=id', '--cluster_name=c', '--key-value=hash'], { key_value: 'hash', cluster_name: 'c' }],
    ['unique prefix of a long option', ['--act=status', '--dev=/dev/sdb'], { action: 'status', devices: '/dev/sdb' }],
    ['a value that looks like an option', ['--plug', '-x'], { plug: '-x' }],
    ['empty value', ['--plug='], { plug: '' }],
    ['-H is delay, -f logfile, -D debug-file, -q quiet', ['-H', '5', '-f', '/tmp/l', '-D', '/tmp/d', '-q'], { delay: '5', logfile: '/tmp/l', debug_file: '/tmp/d', quiet: '1' }],
    ['-h and -V', ['-h', '-V'], { help: '1', version: '1' }],
  ];
  for (const [label, argv, values, verbose] of cases) {
    it(label, () => {
      const r = parseArgv(argv);
      expect(r.source).toBe('argv');
      expect(obj(r.values)).toEqual(values);
      expect(r.warnings).toEqual([]);
      if (verbose !== undefined) expect(r.verboseCount).toBe(verbose);
    });
  }

  const errors: Array<[string, string[], RegExp]> = [
    ['unknown long option', ['--bogus=1'], /option --bogus not recognized/],
    ['unknown short option', ['-z'], /option -z not recognized/],
    ['missing value (long)', ['--action'], /option --action requires argument/],
    ['missing value (short)', ['-o'], /option -o requires argument/],
    ['value given to a flag', ['--aptpl=1'], /option --aptpl must not have an argument/],
    ['ambiguous prefix', ['--d=1'], /not a unique prefix/],
  ];
  for (const [label, argv, re] of errors) {
    it(`fails on ${label}`, () => {
      expect(() => parseArgv(argv)).toThrow(AgentInputError);
      expect(() => parseArgv(argv)).toThrow(re);
    });
  }

  it('warns about leftover arguments, and -- ends the options', () => {
    const r = parseArgv(['-o', 'off', 'extra', '--', '-n', 'x']);
    expect(obj(r.values)).toEqual({ action: 'off' });
    expect(r.warnings).toEqual(['Unused arguments on command line: "extra", "-n", "x"']);
  });
});

describe('where options come from', () => {
  it('stdin when there are no arguments', () => {
    let read = 0;
    const r = parseInput([], () => {
      read++;
      return 'action=status\n';
    });
    expect(read).toBe(1);
    expect(r.source).toBe('stdin');
    expect(r.values.get('action')).toBe('status');
  });
  it('argv only (stdin untouched) when there is at least one argument', () => {
    const r = parseInput(['-o', 'on'], () => {
      throw new Error('stdin must not be read');
    });
    expect(r.values.get('action')).toBe('on');
  });
});

describe('values', () => {
  it('splits devices on commas and/or white space', () => {
    expect(splitDevices('/dev/sdb,/dev/sdc')).toEqual(['/dev/sdb', '/dev/sdc']);
    expect(splitDevices(' /dev/sdb ,  /dev/sdc\t/dev/sdd ,, ')).toEqual(['/dev/sdb', '/dev/sdc', '/dev/sdd']);
    expect(splitDevices('')).toEqual([]);
  });

  const actions: Array<[string, string | undefined]> = [
    ['on', 'on'], ['OFF', 'off'], ['status', 'status'], ['monitor', 'monitor'], ['list', 'list'], ['metadata', 'metadata'],
    ['meta-data', 'metadata'], ['validate-all', 'validate-all'], ['enable', 'on'], ['disable', 'off'],
    ['reboot', undefined], ['list-status', undefined], ['explode', undefined], ['', undefined],
  ];
  for (const [input, expected] of actions) {
    it(`action ${JSON.stringify(input)} -> ${expected ?? 'unrecognised'}`, () => {
      expect(normaliseAction(input)).toBe(expected);
    });
  }

  it('reads seconds and integers strictly, with defaults', () => {
    expect(numberValue(new Map(), 'command_timeout')).toBe(30);
    expect(numberValue(new Map(), 'delay')).toBe(0);
    expect(numberValue(new Map([['delay', '2.5']]), 'delay')).toBe(2.5);
    expect(numberValue(new Map([['nodeid', '7']]), 'nodeid')).toBe(7);
    expect(() => numberValue(new Map([['delay', '5s']]), 'delay')).toThrow(/not a valid time in seconds/);
    expect(() => numberValue(new Map([['nodeid', '-1']]), 'nodeid')).toThrow(/not a valid integer/);
    expect(() => numberValue(new Map([['nodeid', '1.5']]), 'nodeid')).toThrow(/not a valid integer/);
  });

  it('every parameter is findable by each of its spellings, and short options are unique', () => {
    for (const p of AGENT_PARAMETERS) {
      expect(findParameter(p.name)).toBe(p);
      expect(findParameter(p.longopt)).toBe(p);
      expect(findParameter(p.name.replace(/_/g, '-'))).toBe(p);
    }
    const shorts = AGENT_PARAMETERS.flatMap((p) => (p.short ? [p.short] : []));
    expect(new Set(shorts).size).toBe(shorts.length);
  });

  it('usage names every option', () => {
    const u = usage('fence_scsi_pr');
    for (const p of AGENT_PARAMETERS) expect(u).toContain(`--${p.longopt}`);
    expect(u).toMatch(/standard input/);
  });
});
