/**
 * fence_scsi_pr's parameters and the fence-agents calling convention.
 *
 * A fence agent gets its options in one of two ways (ClusterLabs fence-agents,
 * `lib/fencing.py`):
 *
 * - **command line** (when there is at least one argument): getopt-style,
 *   `--action=off`, `--action off`, `-o off`, `-ooff`, stacked flags `-vv`,
 *   unique prefixes of long names (`--act=off`), `--` ends the options. An
 *   unknown option or a missing value is a parse error (exit 1); leftover
 *   arguments are warned about.
 * - **standard input** (no arguments at all: this is how Pacemaker's fencer calls
 *   agents): one `name=value` per line; blank lines and lines starting with `#`
 *   are skipped; a line without `=` gives an empty value; one pair of surrounding
 *   double (or single) quotes is removed from the value; `-` and `_` are the same
 *   in names (`key-value` = `key_value`); names are case-insensitive. Unknown
 *   names are warned about and ignored, never fatal (Pacemaker passes parameters
 *   an agent may not know). A flag is set by `1`/`yes`/`on`/`true` and cleared by
 *   `0`/`no`/`off`/`false`; anything else is warned about and ignored.
 *
 * Aliases: `port` = `plug`, `option` = `action`. `nodename` is its own
 * parameter (Pacemaker always passes the target's name there) and wins over
 * `plug`, as in fence_scsi.
 */

/** How a parameter's value is read. */
export type ParamType = 'string' | 'boolean' | 'integer' | 'second';

/** One agent parameter. */
export interface AgentParameter {
  /** Canonical name (stdin, metadata, the parsed options). */
  readonly name: string;
  /** Long command-line option, without `--`. */
  readonly longopt: string;
  /** Short command-line option letter. */
  readonly short?: string;
  readonly type: ParamType;
  /** Placeholder shown in help/metadata, e.g. `[nodename]`. */
  readonly metavar?: string;
  readonly default?: string;
  readonly required?: boolean;
  /** Other names accepted on stdin and the command line (`port` for `plug`). */
  readonly aliases?: readonly string[];
  /** Metadata: also list these alias names, marked deprecated. */
  readonly deprecatedAliases?: readonly string[];
  /** Metadata: leave out of `<parameters>` (command-line-only switches). */
  readonly hidden?: boolean;
  readonly shortdesc: string;
}

/** Every parameter fence_scsi_pr understands, in metadata order. */
export const AGENT_PARAMETERS: readonly AgentParameter[] = [
  {
    name: 'action', longopt: 'action', short: 'o', type: 'string', metavar: '[action]', default: 'off', aliases: ['option'],
    shortdesc: 'Fencing action: on (unfence this node), off (fence the node named by plug/nodename), status, monitor, list, metadata, validate-all',
  },
  {
    name: 'plug', longopt: 'plug', short: 'n', type: 'string', metavar: '[nodename]', aliases: ['port'], deprecatedAliases: ['port'],
    shortdesc: 'Name of the node to act on (off: the node to fence; on: this node). Its key comes from "nodes" or is derived (key_value)',
  },
  {
    name: 'nodename', longopt: 'nodename', type: 'string', metavar: '[nodename]',
    shortdesc: 'Name of the target node; Pacemaker passes it on every fencing request. Wins over plug when both are given',
  },
  {
    name: 'nodeid', longopt: 'nodeid', type: 'integer', metavar: '[id]',
    shortdesc: 'Corosync node id of the target node (Pacemaker passes it when known); used by key_value=cluster-id',
  },
  {
    name: 'devices', longopt: 'devices', short: 'd', type: 'string', metavar: '[devices]',
    shortdesc: 'Shared devices, comma or space separated (/dev/sdX, /dev/sgN, /dev/disk/by-id/..., multipath maps expand to their paths). Optional after "on": read from the state file',
  },
  {
    name: 'key', longopt: 'key', short: 'k', type: 'string', metavar: '[key]',
    shortdesc: 'THIS node\'s reservation key (hex, 1-16 digits, 0x optional). Not the victim\'s key (fence_scsi differs). Leave unset in a cluster-wide stonith resource: it would be the same on every node',
  },
  {
    name: 'nodes', longopt: 'nodes', type: 'string', metavar: '[node:key,...]',
    shortdesc: 'Explicit node-to-key map, e.g. "node1:0x1a01,node2:0x1a02" (comma, space or semicolon separated; "=" also accepted). Wins over key_value derivation',
  },
  {
    name: 'key_value', longopt: 'key-value', type: 'string', metavar: '[hash|id|cluster-id]', default: 'hash',
    shortdesc: 'How keys are derived when "nodes" does not name the node: "hash" (fence_scsi compatible: md5 of cluster name and node name), "id" (fence_scsi compatible: node position in the corosync nodelist), "cluster-id" (cluster_id and the corosync node id)',
  },
  {
    name: 'cluster_name', longopt: 'cluster-name', type: 'string', metavar: '[name]',
    shortdesc: 'Cluster name for key_value=hash/id (default: totem.cluster_name from corosync_conf)',
  },
  {
    name: 'cluster_id', longopt: 'cluster-id', type: 'string', metavar: '[id]',
    shortdesc: 'Cluster id (hex) for key_value=cluster-id',
  },
  {
    name: 'corosync_conf', longopt: 'corosync-conf', type: 'string', metavar: '[path]', default: '/etc/corosync/corosync.conf',
    shortdesc: 'corosync.conf to read the cluster name and nodelist from (read as a file; no corosync-cmapctl process)',
  },
  {
    name: 'aptpl', longopt: 'aptpl', short: 'a', type: 'boolean',
    shortdesc: 'Use the APTPL flag for registrations (persist through power loss). Only used by the "on" action',
  },
  {
    name: 'require_abort', longopt: 'require-abort', type: 'boolean',
    shortdesc: 'Fail instead of fencing with PREEMPT where a device refuses PREEMPT AND ABORT (PREEMPT does not abort the victim\'s queued commands). Only used by the "off" action',
  },
  {
    name: 'command_timeout', longopt: 'command-timeout', type: 'second', metavar: '[seconds]', default: '30',
    shortdesc: 'Timeout of each SCSI command, in seconds',
  },
  {
    name: 'delay', longopt: 'delay', short: 'H', type: 'second', metavar: '[seconds]', default: '0',
    shortdesc: 'Wait this many seconds before fencing (off only)',
  },
  {
    name: 'logfile', longopt: 'logfile', short: 'f', type: 'string', metavar: '[file]',
    shortdesc: 'Append timestamped log lines to this file (debug lines too with verbose)',
  },
  {
    name: 'debug_file', longopt: 'debug-file', short: 'D', type: 'string', metavar: '[file]',
    shortdesc: 'Append every log line, debug included, to this file',
  },
  { name: 'verbose', longopt: 'verbose', short: 'v', type: 'boolean', shortdesc: 'Verbose mode: debug lines (per-device results) on stderr and in logfile' },
  { name: 'quiet', longopt: 'quiet', short: 'q', type: 'boolean', shortdesc: 'No log lines on stderr (logfile and debug_file still get them)' },
  { name: 'version', longopt: 'version', short: 'V', type: 'boolean', shortdesc: 'Display version information and exit' },
  { name: 'help', longopt: 'help', short: 'h', type: 'boolean', shortdesc: 'Display help and exit' },
];

/** Canonical action names, and accepted synonyms. */
export const ACTIONS = ['on', 'off', 'status', 'monitor', 'list', 'metadata', 'validate-all'] as const;
export type AgentAction = (typeof ACTIONS)[number];
const ACTION_SYNONYMS: Record<string, AgentAction> = { enable: 'on', disable: 'off', 'meta-data': 'metadata' };

/** Normalise an action name (case-insensitive; `enable`/`disable`/`meta-data` synonyms). Undefined when unknown. */
export function normaliseAction(value: string): AgentAction | undefined {
  const v = value.trim().toLowerCase();
  if ((ACTIONS as readonly string[]).includes(v)) return v as AgentAction;
  return ACTION_SYNONYMS[v];
}

/** Result of parsing the input. `values` holds canonical names; flags are `'1'` when set. */
export interface ParsedInput {
  source: 'argv' | 'stdin';
  values: Map<string, string>;
  /** Times `-v` was given (stacked `-vv` counts 2); 1 for verbose=1 on stdin. */
  verboseCount: number;
  /** Non-fatal problems, to log as warnings once logging is set up. */
  warnings: string[];
}

/** A fatal input error (unknown command-line option, missing value, …). */
export class AgentInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentInputError';
  }
}

const TRUE_WORDS = ['1', 'yes', 'on', 'true'];
const FALSE_WORDS = ['0', 'no', 'off', 'false'];

function canon(name: string): string {
  return name.trim().toLowerCase().replace(/-/g, '_');
}

const BY_NAME = new Map<string, AgentParameter>();
for (const p of AGENT_PARAMETERS) {
  for (const n of [p.name, p.longopt, ...(p.aliases ?? [])]) BY_NAME.set(canon(n), p);
}

/** The parameter called `name` (any spelling: `_`/`-`, case, aliases), if any. */
export function findParameter(name: string): AgentParameter | undefined {
  return BY_NAME.get(canon(name));
}

function unquote(v: string): string {
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) return v.slice(1, -1);
  return v;
}

/** Parse `name=value` lines (Pacemaker's way of calling an agent). Never throws. */
export function parseStdin(text: string): ParsedInput {
  const values = new Map<string, string>();
  const warnings: string[] = [];
  let verboseCount = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = (eq < 0 ? line : line.slice(0, eq)).trim();
    const value = unquote((eq < 0 ? '' : line.slice(eq + 1)).trim());
    const p = findParameter(name);
    if (!p) {
      warnings.push(`Parse error: Ignoring unknown option '${line}'`);
      continue;
    }
    if (p.type === 'boolean') {
      const v = value.toLowerCase();
      if (TRUE_WORDS.includes(v)) {
        values.set(p.name, '1');
        if (p.name === 'verbose') verboseCount = Math.max(verboseCount, 1);
      } else if (FALSE_WORDS.includes(v)) {
        values.delete(p.name);
        if (p.name === 'verbose') verboseCount = 0;
      } else {
        warnings.push(`Parse error: Ignoring option '${name}' because it does not have a boolean value (1/yes/on/true or 0/no/off/false): '${value}'`);
      }
      continue;
    }
    values.set(p.name, value);
  }
  return { source: 'stdin', values, verboseCount, warnings };
}

const LONG_OPTS: Array<{ spelling: string; param: AgentParameter }> = [];
for (const p of AGENT_PARAMETERS) {
  const spellings = new Set<string>();
  for (const n of [p.longopt, p.name, ...(p.aliases ?? [])]) {
    spellings.add(n);
    spellings.add(n.replace(/_/g, '-'));
    spellings.add(n.replace(/-/g, '_'));
  }
  for (const s of spellings) LONG_OPTS.push({ spelling: s, param: p });
}

function findLong(name: string): AgentParameter {
  const exact = LONG_OPTS.find((o) => o.spelling === name);
  if (exact) return exact.param;
  // getopt accepts a unique prefix of a long option.
  const prefixed = new Set(LONG_OPTS.filter((o) => o.spelling.startsWith(name)).map((o) => o.param));
  if (prefixed.size === 1) return [...prefixed][0];
  if (prefixed.size > 1) throw new AgentInputError(`option --${name} not a unique prefix`);
  throw new AgentInputError(`option --${name} not recognized`);
}

/** Parse command-line arguments, getopt (GNU) style. Throws AgentInputError on a parse error. */
export function parseArgv(argv: readonly string[]): ParsedInput {
  const values = new Map<string, string>();
  const warnings: string[] = [];
  const leftover: string[] = [];
  let verboseCount = 0;
  const set = (p: AgentParameter, value: string | undefined) => {
    if (p.type === 'boolean') {
      values.set(p.name, '1');
      if (p.name === 'verbose') verboseCount++;
    } else {
      values.set(p.name, value ?? '');
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      leftover.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const p = findLong(name);
      if (p.type === 'boolean') {
        if (eq >= 0) throw new AgentInputError(`option --${p.longopt} must not have an argument`);
        set(p, undefined);
      } else if (eq >= 0) {
        set(p, arg.slice(eq + 1));
      } else {
        if (i + 1 >= argv.length) throw new AgentInputError(`option --${p.longopt} requires argument`);
        set(p, argv[++i]);
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // A cluster of short options: flags, then at most one taking a value (rest of the word or next arg).
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j];
        const p = AGENT_PARAMETERS.find((q) => q.short === letter);
        if (!p) throw new AgentInputError(`option -${letter} not recognized`);
        if (p.type === 'boolean') {
          set(p, undefined);
          continue;
        }
        let value = arg.slice(j + 1);
        if (value.length === 0) {
          if (i + 1 >= argv.length) throw new AgentInputError(`option -${letter} requires argument`);
          value = argv[++i];
        }
        set(p, value);
        break;
      }
      continue;
    }
    leftover.push(arg);
  }
  if (leftover.length > 0) warnings.push(`Unused arguments on command line: ${leftover.map((a) => JSON.stringify(a)).join(', ')}`);
  return { source: 'argv', values, verboseCount, warnings };
}

/**
 * fence-agents' rule: options come from the command line when there is at least
 * one argument, otherwise from standard input.
 */
export function parseInput(argv: readonly string[], readStdin: () => string): ParsedInput {
  return argv.length > 0 ? parseArgv(argv) : parseStdin(readStdin());
}

/** Split a `devices` value: comma and/or whitespace separated, empty entries dropped. */
export function splitDevices(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
}

/** The value of a `second`/`integer` parameter, or a clear error. */
export function numberValue(values: ReadonlyMap<string, string>, name: string): number {
  const p = findParameter(name);
  const raw = values.get(name) ?? p?.default;
  if (raw === undefined || raw === '') return NaN;
  const t = raw.trim();
  const ok = p?.type === 'second' ? /^\d+(?:\.\d+)?$/.test(t) : /^\d+$/.test(t);
  if (!ok) {
    throw new AgentInputError(
      p?.type === 'second'
        ? `The value you have entered for --${p.longopt} is not a valid time in seconds: '${raw}'`
        : `The value you have entered for --${p?.longopt ?? name} is not a valid integer: '${raw}'`,
    );
  }
  return Number(t);
}

/** Usage text for `-h`. */
export function usage(program: string): string {
  const lines = [`Usage:`, `\t${program} [options]`, `Options:`];
  for (const p of AGENT_PARAMETERS) {
    const left = `${p.short ? `-${p.short}, ` : '    '}--${p.longopt}${p.type === 'boolean' ? '' : `=${p.metavar ?? '[value]'}`}`;
    const def = p.default !== undefined ? ` (default ${p.default})` : '';
    lines.push(`   ${left.padEnd(34)} ${p.shortdesc}${def}`);
  }
  lines.push('', 'Without command-line arguments, options are read from standard input as name=value lines (Pacemaker).');
  return lines.join('\n') + '\n';
}
