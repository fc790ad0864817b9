/**
 * The PERSISTENT RESERVE service actions, one row each, keyed by the `Device`
 * method (and module-level function) that runs it. Everything else is derived
 * from these rows: the CDB's service action code, the SPC names in messages and
 * errors (classify.ts), the option checks of the PR OUT methods
 * (pr-out-requests.ts), the PR IN defaults and re-reads (pr-in-requests.ts,
 * device.ts), the module-level functions (pr-api.ts) and scsi-pr's
 * sg_persist-style options, usage and dispatch (lib/cli/scsi-pr/).
 *
 * Adding an action: one row here, plus its parameter builder (pr-out-builders.ts)
 * or response parser (pr-in-parsers.ts), plus the `Device` method (a one-liner;
 * the compiler refuses a row without one).
 */
import {
  MAX_FULL_STATUS_DESCRIPTOR_LENGTH,
  MAX_PR_IN_ALLOCATION_LENGTH,
  needsLargerAllocation,
  parseReadFullStatus,
  parseReadKeys,
  parseReadReservation,
  parseReportCapabilities,
  type PrInListResult,
} from './pr-in-parsers';
import {
  clearParameters,
  preemptParameters,
  registerAndIgnoreExistingKeyParameters,
  registerAndMoveParameters,
  registerParameters,
  replaceLostReservationParameters,
  reserveParameters,
  type PrOutOptionName,
  type PrOutOptionValues,
  type PrOutParameters,
} from './pr-out-builders';

/** A PERSISTENT RESERVE IN service action whose parser returns `Result`. */
export interface PrInServiceAction<Result = unknown> {
  /** Service action code (CDB byte 1). */
  readonly code: number;
  /** SPC name, as messages and errors spell it: `'READ KEYS'`. */
  readonly name: string;
  /** Kebab-case id: scsi-pr's `--json` `action` and the key of `DEFAULT_PR_IN_ALLOCATION_LENGTH`. */
  readonly id: string;
  /** scsi-pr's sg_persist-compatible option: `-k`, `--read-keys` (further long names are aliases). */
  readonly cli: { readonly short: string; readonly long: readonly [string, ...string[]] };
  /** Allocation length of the first attempt (1–65535). */
  readonly defaultAllocationLength: number;
  /** Parses the data-in buffer (see pr-in-parsers.ts). */
  parse(data: Buffer, validLength: number): Result;
  /**
   * List actions only: the allocation length to re-issue the command with, or
   * undefined when `result` is final (it is then marked `truncated` if it may go on).
   */
  reread?(result: Result, allocationLength: number): number | undefined;
}

/** A PERSISTENT RESERVE OUT service action. */
export interface PrOutServiceAction {
  /** Service action code (CDB byte 1). */
  readonly code: number;
  /** SPC name, as messages and errors spell it: `'PREEMPT AND ABORT'`. */
  readonly name: string;
  /** Kebab-case id, reported as `PrOutResult.action`: `'preempt-and-abort'`. */
  readonly id: string;
  /** scsi-pr's sg_persist-compatible option and what `scsi-pr --help` says it takes. */
  readonly cli: {
    readonly short: string;
    readonly long: string;
    /** The PR OUT parameters it needs, then [those it may take], as `--help` lists them. */
    readonly usage: string;
    /** scsi-pr refuses `--param-sark 0` (the library leaves that to the device, except where SPC forbids it outright). */
    readonly nonZeroServiceActionKey?: true;
  };
  /** The options it accepts, in the order messages list them; any other is refused. */
  readonly accepts: readonly PrOutOptionName[];
  /** The options it requires, each with what it is (scsi-pr's usage errors quote it). */
  readonly requires: Readonly<Partial<Record<PrOutOptionName, string>>>;
  /** Validates the option values; returns the CDB TYPE field and the parameter list. */
  build(options: PrOutOptionValues, api: string): PrOutParameters;
}

/**
 * READ KEYS and READ FULL STATUS: re-issue with a larger allocation while the
 * list did not fit (or may not have: LIO reports only what fit); still full at
 * the largest allocation, the list may go on, so it is never presented as complete.
 */
function rereadList(largestEntry: number): (list: PrInListResult, allocationLength: number) => number | undefined {
  return (list, allocationLength) => {
    const advice = needsLargerAllocation(list, allocationLength);
    if (advice.retry && advice.nextAllocationLength > allocationLength) return advice.nextAllocationLength;
    if (allocationLength >= MAX_PR_IN_ALLOCATION_LENGTH && (list.truncated || MAX_PR_IN_ALLOCATION_LENGTH - (8 + list.additionalLength) < largestEntry)) {
      list.truncated = true;
    }
    return undefined;
  };
}

/**
 * The PR IN service actions (SPC-4 §6.15). Default allocation lengths: 1024 for
 * READ KEYS (126 keys; re-issued with up to 65535 when the list says more is
 * available); 24 for READ RESERVATION (8-byte header + one 16-byte descriptor);
 * 8 for REPORT CAPABILITIES (the whole response); the maximum, 65535, for READ
 * FULL STATUS: LIO's bounds check ignores the 8-byte header and the 24-byte
 * descriptor header, so an allocation shorter than the list can overrun the
 * target's buffer (seen hanging the target at 8192 bytes).
 */
export const PR_IN_ACTIONS = {
  readKeys: {
    code: 0,
    name: 'READ KEYS',
    id: 'read-keys',
    cli: { short: 'k', long: ['read-keys'] },
    defaultAllocationLength: 1024,
    parse: parseReadKeys,
    reread: rereadList(8),
  },
  readReservation: {
    code: 1,
    name: 'READ RESERVATION',
    id: 'read-reservation',
    cli: { short: 'r', long: ['read-reservation'] },
    defaultAllocationLength: 24,
    parse: parseReadReservation,
  },
  reportCapabilities: {
    code: 2,
    name: 'REPORT CAPABILITIES',
    id: 'report-capabilities',
    cli: { short: 'c', long: ['report-capabilities'] },
    defaultAllocationLength: 8,
    parse: parseReportCapabilities,
  },
  readFullStatus: {
    code: 3,
    name: 'READ FULL STATUS',
    id: 'read-full-status',
    cli: { short: 's', long: ['read-full-status', 'read-status'] },
    defaultAllocationLength: 65535,
    parse: parseReadFullStatus,
    reread: rereadList(MAX_FULL_STATUS_DESCRIPTOR_LENGTH),
  },
} as const satisfies Readonly<Record<string, PrInServiceAction>>;

/** The PR OUT service actions (SPC-4 §6.16), in the order scsi-pr lists them. */
export const PR_OUT_ACTIONS = {
  register: {
    code: 0,
    name: 'REGISTER',
    id: 'register',
    cli: { short: 'G', long: 'register', usage: '-S (0 unregisters) [-K -Z -Y -X...]' },
    accepts: ['key', 'newKey', 'aptpl', 'allTargetPorts', 'transportIds'],
    requires: { newKey: 'the new key (0 unregisters)' },
    build: registerParameters,
  },
  registerAndIgnoreExistingKey: {
    code: 6,
    name: 'REGISTER AND IGNORE EXISTING KEY',
    id: 'register-and-ignore-existing-key',
    cli: { short: 'I', long: 'register-ignore', usage: '-S [-Z -Y]' },
    accepts: ['newKey', 'aptpl', 'allTargetPorts'],
    requires: { newKey: 'the new key (0 unregisters)' },
    build: registerAndIgnoreExistingKeyParameters,
  },
  reserve: {
    code: 1,
    name: 'RESERVE',
    id: 'reserve',
    cli: { short: 'R', long: 'reserve', usage: '-K -T' },
    accepts: ['key', 'type'],
    requires: { key: 'the key this initiator registered', type: 'the reservation type' },
    build: reserveParameters,
  },
  release: {
    code: 2,
    name: 'RELEASE',
    id: 'release',
    cli: { short: 'L', long: 'release', usage: '-K -T' },
    accepts: ['key', 'type'],
    requires: { key: 'the key this initiator registered', type: 'the type of the held reservation' },
    build: reserveParameters,
  },
  clear: {
    code: 3,
    name: 'CLEAR',
    id: 'clear',
    cli: { short: 'C', long: 'clear', usage: '-K' },
    accepts: ['key'],
    requires: { key: 'the key this initiator registered' },
    build: clearParameters,
  },
  preempt: {
    code: 4,
    name: 'PREEMPT',
    id: 'preempt',
    cli: { short: 'P', long: 'preempt', usage: '-K -S -T' },
    accepts: ['key', 'preemptKey', 'type'],
    requires: { key: 'our registered key', preemptKey: 'the key to preempt', type: 'the reservation type to take' },
    build: preemptParameters,
  },
  preemptAndAbort: {
    code: 5,
    name: 'PREEMPT AND ABORT',
    id: 'preempt-and-abort',
    cli: { short: 'A', long: 'preempt-abort', usage: '-K -S -T' },
    accepts: ['key', 'preemptKey', 'type'],
    requires: { key: 'our registered key', preemptKey: 'the key to preempt', type: 'the reservation type to take' },
    build: preemptParameters,
  },
  registerAndMove: {
    code: 7,
    name: 'REGISTER AND MOVE',
    id: 'register-and-move',
    cli: { short: 'M', long: 'register-move', usage: '-K -S -X -Q [-T -U -Z]', nonZeroServiceActionKey: true },
    accepts: ['key', 'newKey', 'transportId', 'relativeTargetPortId', 'unregister', 'aptpl', 'type'],
    requires: { key: 'the holder key', newKey: 'the key for the destination', transportId: 'the destination initiator', relativeTargetPortId: 'the destination target port' },
    build: registerAndMoveParameters,
  },
  replaceLostReservation: {
    code: 8,
    name: 'REPLACE LOST RESERVATION',
    id: 'replace-lost-reservation',
    cli: { short: 'x', long: 'replace-lost', usage: '-S -T', nonZeroServiceActionKey: true },
    accepts: ['newKey', 'type'],
    requires: { newKey: 'the new key', type: 'the reservation type' },
    build: replaceLostReservationParameters,
  },
} as const satisfies Readonly<Record<string, PrOutServiceAction>>;

/** Name of a `Device` method that runs a PR IN action: `'readKeys'`, … */
export type PrInMethod = keyof typeof PR_IN_ACTIONS;
/** Name of a `Device` method that runs a PR OUT action: `'register'`, `'preemptAndAbort'`, … */
export type PrOutMethod = keyof typeof PR_OUT_ACTIONS;
/** What the PR IN action run by `M` resolves with (before the call report). */
export type PrInResult<M extends PrInMethod> = ReturnType<(typeof PR_IN_ACTIONS)[M]['parse']>;

function keysOf<T extends object>(table: T): Array<Extract<keyof T, string>> {
  const keys: Array<Extract<keyof T, string>> = [];
  for (const k in table) keys.push(k);
  return keys;
}

/** The PR IN methods, in table order. */
export const PR_IN_METHODS: readonly PrInMethod[] = Object.freeze(keysOf(PR_IN_ACTIONS));
/** The PR OUT methods, in table order. */
export const PR_OUT_METHODS: readonly PrOutMethod[] = Object.freeze(keysOf(PR_OUT_ACTIONS));

/** The row of PR IN method `method`, typed with its result. */
export function prInAction<M extends PrInMethod>(method: M): PrInServiceAction<PrInResult<M>> {
  const rows: { readonly [K in PrInMethod]: PrInServiceAction<PrInResult<K>> } = PR_IN_ACTIONS;
  return rows[method];
}

/** The row of PR OUT method `method`. */
export function prOutAction(method: PrOutMethod): PrOutServiceAction {
  return PR_OUT_ACTIONS[method];
}

function codesByName(rows: ReadonlyArray<{ readonly name: string; readonly code: number }>): Readonly<Record<string, number>> {
  return Object.freeze(Object.fromEntries(rows.map((r) => [r.name.replaceAll(' ', '_'), r.code])));
}

/** PERSISTENT RESERVE IN service action codes by SPC name: `PrInAction.READ_KEYS` = 0. */
export const PrInAction = codesByName(Object.values(PR_IN_ACTIONS));
/** PERSISTENT RESERVE OUT service action codes by SPC name: `PrOutAction.PREEMPT_AND_ABORT` = 5. */
export const PrOutAction = codesByName(Object.values(PR_OUT_ACTIONS));

/** SPC name of PR IN (`direction` 'in') or PR OUT service action `code`, or undefined for a code no row has. */
export function prServiceActionName(direction: 'in' | 'out', code: number): string | undefined {
  const rows: ReadonlyArray<{ readonly name: string; readonly code: number }> = Object.values(direction === 'in' ? PR_IN_ACTIONS : PR_OUT_ACTIONS);
  return rows.find((r) => r.code === code)?.name;
}
