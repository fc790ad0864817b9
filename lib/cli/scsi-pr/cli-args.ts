/**
 * A small, strict getopt_long-style command-line parser for scsi-pr's tools.
 *
 * Accepted forms: `--name=value`, `--name value`, `-K value`, `-Kvalue`,
 * stacked flags (`-ok`, `-oGK 0x1`), `--` ends the options, a lone `-` is a
 * positional. Long names must be written in full (no unique-prefix matching:
 * for a fencing tool a typo must not silently become another option).
 *
 * Refused with a {@link UsageError}: unknown options, a missing value, a value
 * given to a flag (`--json=1`), and a value option given twice unless it is
 * declared repeatable (sg_persist silently keeps the last `--param-rk`; a
 * fencing tool should not guess which key you meant).
 */

/** One option the parser knows. */
export interface OptionSpec {
  /** Key of the option in {@link ParsedArgs} (e.g. `'param-rk'`). */
  readonly name: string;
  /** Long spellings without the leading `--` (first one is canonical). */
  readonly long: readonly string[];
  /** Short letter (without `-`), if any. */
  readonly short?: string;
  /** true: the option takes a value. Default: a flag. */
  readonly takesValue?: boolean;
  /** A value option that may be given several times (values are collected in order). */
  readonly repeatable?: boolean;
}

/** The parse result. */
export interface ParsedArgs {
  /** Flags that were given (by `name`). */
  readonly flags: ReadonlySet<string>;
  /** Values of value options, in the order given (one entry unless repeatable). */
  readonly values: ReadonlyMap<string, readonly string[]>;
  /** Non-option arguments, in order. */
  readonly positionals: readonly string[];
  /** How each option was first written (`-K`, `--param-rk`), for messages. */
  readonly spelling: ReadonlyMap<string, string>;
}

/** A command-line error: the tool prints the message (and a usage hint) and exits with 2. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Parse `argv` (without the program name) against `specs`.
 *
 * @throws UsageError on any malformed command line.
 * @example
 * parseArgs(['-oGK', '0x1', '--param-sark=0x2', '/dev/sg1'], specs)
 * // flags {out, register}, values {param-rk: ['0x1'], param-sark: ['0x2']}, positionals ['/dev/sg1']
 */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const byLong = new Map<string, OptionSpec>();
  const byShort = new Map<string, OptionSpec>();
  for (const s of specs) {
    for (const l of s.long) {
      if (byLong.has(l)) throw new Error(`cli-args: duplicate long option --${l}`);
      byLong.set(l, s);
    }
    if (s.short !== undefined) {
      if (s.short.length !== 1 || byShort.has(s.short)) throw new Error(`cli-args: bad or duplicate short option -${s.short}`);
      byShort.set(s.short, s);
    }
  }
  const flags = new Set<string>();
  const values = new Map<string, string[]>();
  const positionals: string[] = [];
  const spelling = new Map<string, string>();

  const record = (spec: OptionSpec, written: string, value?: string): void => {
    if (!spelling.has(spec.name)) spelling.set(spec.name, written);
    if (!spec.takesValue) {
      flags.add(spec.name);
      return;
    }
    const list = values.get(spec.name) ?? [];
    if (list.length > 0 && !spec.repeatable) {
      throw new UsageError(`${written} given more than once (${spelling.get(spec.name)} ${list[0]} and ${written} ${value ?? ''})`.trimEnd());
    }
    list.push(value!);
    values.set(spec.name, list);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const spec = byLong.get(name);
      if (!spec) throw new UsageError(`unknown option --${name}`);
      const written = `--${name}`;
      if (!spec.takesValue) {
        if (eq !== -1) throw new UsageError(`${written} takes no value (got ${JSON.stringify(arg.slice(eq + 1))})`);
        record(spec, written);
        continue;
      }
      let value: string | undefined;
      if (eq !== -1) value = arg.slice(eq + 1);
      else if (i + 1 < argv.length) value = argv[++i];
      if (value === undefined) throw new UsageError(`${written} needs a value`);
      record(spec, written, value);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // A cluster of short options; a value option takes the rest of the cluster or the next argument.
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const spec = byShort.get(letter);
        if (!spec) throw new UsageError(`unknown option -${letter}${arg.length > 2 ? ` (in ${arg})` : ''}`);
        const written = `-${letter}`;
        if (!spec.takesValue) {
          record(spec, written);
          continue;
        }
        let value: string | undefined;
        if (j + 1 < arg.length) value = arg.slice(j + 1);
        else if (i + 1 < argv.length) value = argv[++i];
        if (value === undefined) throw new UsageError(`${written} needs a value`);
        record(spec, written, value);
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return { flags, values, positionals, spelling };
}

/** The single value of option `name`, or undefined. */
export function valueOf(args: ParsedArgs, name: string): string | undefined {
  return args.values.get(name)?.[0];
}

/** How option `name` was written (or its canonical `--long` form when it was not given). */
export function spelled(args: ParsedArgs, name: string, specs: readonly OptionSpec[]): string {
  const s = args.spelling.get(name);
  if (s) return s;
  const spec = specs.find((x) => x.name === name);
  return spec ? `--${spec.long[0]}` : name;
}

/** Options present in `args` (flags and values), by name. */
export function givenOptions(args: ParsedArgs): string[] {
  return [...args.flags, ...args.values.keys()];
}
