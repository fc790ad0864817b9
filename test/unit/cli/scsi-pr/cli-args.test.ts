import { describe, it, expect } from 'vitest';
import { parseArgs, UsageError, type OptionSpec } from '../../../../lib/cli/scsi-pr/cli-args';

const SPECS: OptionSpec[] = [
  { name: 'out', long: ['out'], short: 'o' },
  { name: 'register', long: ['register'], short: 'G' },
  { name: 'json', long: ['json'] },
  { name: 'rk', long: ['param-rk'], short: 'K', takesValue: true },
  { name: 'status', long: ['read-full-status', 'read-status'], short: 's' },
  { name: 'tid', long: ['transport-id'], short: 'X', takesValue: true, repeatable: true },
];

type Expect = { flags?: string[]; values?: Record<string, string[]>; positionals?: string[] };

describe('parseArgs — accepted forms', () => {
  const table: Array<[string, string[], Expect]> = [
    ['nothing', [], { flags: [], values: {}, positionals: [] }],
    ['long flag', ['--out', 'dev'], { flags: ['out'], positionals: ['dev'] }],
    ['long alias', ['--read-status'], { flags: ['status'] }],
    ['--name=value', ['--param-rk=0x1'], { values: { rk: ['0x1'] } }],
    ['--name value', ['--param-rk', '0x1'], { values: { rk: ['0x1'] } }],
    ['--name= empty value', ['--param-rk='], { values: { rk: [''] } }],
    ['-K value', ['-K', '0x1'], { values: { rk: ['0x1'] } }],
    ['-Kvalue', ['-K0x1'], { values: { rk: ['0x1'] } }],
    ['stacked flags', ['-oG'], { flags: ['out', 'register'] }],
    ['stacked flags then value letter', ['-oGK', '7'], { flags: ['out', 'register'], values: { rk: ['7'] } }],
    ['stacked flags with attached value', ['-oGK7'], { flags: ['out', 'register'], values: { rk: ['7'] } }],
    ['value that looks like an option', ['-K', '-o'], { flags: [], values: { rk: ['-o'] } }],
    ['repeatable option', ['-X', 'a', '--transport-id=b', '-Xc'], { values: { tid: ['a', 'b', 'c'] } }],
    ['repeated flag is harmless', ['-o', '--out'], { flags: ['out'] }],
    ['-- ends options', ['-o', '--', '-G', '--json'], { flags: ['out'], positionals: ['-G', '--json'] }],
    ['lone - is positional', ['-'], { positionals: ['-'] }],
    ['positionals anywhere', ['a', '-o', 'b'], { flags: ['out'], positionals: ['a', 'b'] }],
  ];
  for (const [label, argv, want] of table) {
    it(`${label}: ${argv.join(' ')}`, () => {
      const r = parseArgs(argv, SPECS);
      if (want.flags) expect([...r.flags].sort()).toEqual([...want.flags].sort());
      if (want.values) expect(Object.fromEntries(r.values)).toEqual(want.values);
      if (want.positionals) expect(r.positionals).toEqual(want.positionals);
    });
  }

  it('records how an option was written', () => {
    const r = parseArgs(['-K', '1', '--read-status'], SPECS);
    expect(r.spelling.get('rk')).toBe('-K');
    expect(r.spelling.get('status')).toBe('--read-status');
  });
});

describe('parseArgs — refused command lines', () => {
  const table: Array<[string, string[], RegExp]> = [
    ['unknown long option', ['--bogus'], /^unknown option --bogus$/],
    ['unknown short option', ['-q'], /^unknown option -q$/],
    ['unknown letter inside a cluster', ['-oq'], /unknown option -q \(in -oq\)/],
    ['unique prefixes are not expanded', ['--param'], /unknown option --param/],
    ['missing value (long)', ['--param-rk'], /--param-rk needs a value/],
    ['missing value (short)', ['-K'], /-K needs a value/],
    ['missing value at the end of a cluster', ['-oK'], /-K needs a value/],
    ['a flag given a value', ['--json=1'], /--json takes no value/],
    ['a value option given twice', ['-K', '1', '--param-rk', '2'], /given more than once/],
  ];
  for (const [label, argv, re] of table) {
    it(`${label}: ${argv.join(' ')}`, () => {
      let err: unknown;
      try {
        parseArgs(argv, SPECS);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).code).toBe('ERR_USAGE');
      expect((err as Error).message).toMatch(re);
    });
  }

  it('rejects a broken option table', () => {
    expect(() => parseArgs([], [{ name: 'a', long: ['x'] }, { name: 'b', long: ['x'] }])).toThrow(/duplicate long option/);
    expect(() => parseArgs([], [{ name: 'a', long: ['a'], short: 'ab' }])).toThrow(/short option/);
  });
});
