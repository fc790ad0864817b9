/**
 * A scripted fake SAN for unit tests: real `Device` objects run against
 * simulated logical units in-process, through `FakePath`, a `ScsiTransport`.
 *
 *   const san = new FakeSan();
 *   const [lu0, lu1] = [san.addLu(), san.addLu()];
 *   const a = san.node('a');                       // an initiator with 2 ports = 2 I_T nexuses per LU
 *   a.registerEverywhere(0xaan);                   // set-up straight into the model
 *   const devices = a.devices();                   // one Device per LU per port
 *   a.path(lu0, 1).script('preempt-and-abort', { hostStatus: 0x0e });  // next PREEMPT AND ABORT on that path fails
 *   san.script({ lu: lu1, on: 'read-keys' }, { delayTurns: 5 }, 2);  // next 2 READ KEYS to lu1, any path
 *   san.log / san.commands({ node: a, name: 'preempt-and-abort' })  // what every path received, in order
 *
 * Each command gets the first matching scripted fault (the path's rules, then
 * the SAN's), else runs on the LU model (fake-logical-unit.ts). Delays are
 * event-loop turns (setImmediate hops), never wall time; `san.delay` adds
 * per-command turns before the command reaches the LU and before its answer
 * comes back (seeded random orderings). A hung command is answered like the
 * kernel answers one it timed out (host status DID_TIME_OUT) after its
 * `timeoutMs`, unless aborted or closed first. Like the real transports, an
 * abort or close settles the call at once while the command itself still runs.
 */
import { Device, type OpenOptions } from '../../../lib/device';
import { AbortError, DeviceClosedError } from '../../../lib/errors';
import type { RawResult } from '../../../lib/scsi/raw-result';
import type { ResetLevel, ScsiTransport, TransportCommand } from '../../../lib/transport/scsi-transport';
import { turns } from './event-loop';
import { CHECK_CONDITION, FakeLogicalUnit, nexus, type DeviceResponse, type LogicalUnitOptions, type Nexus } from './fake-logical-unit';
import { fixedSense } from './spc-bytes';

/** Command names in the log and in scripts. */
export type CommandName =
  | 'test-unit-ready'
  | 'inquiry'
  | 'read-capacity'
  | 'read'
  | 'write'
  | 'read-keys'
  | 'read-reservation'
  | 'report-capabilities'
  | 'read-full-status'
  | 'register'
  | 'reserve'
  | 'release'
  | 'clear'
  | 'preempt'
  | 'preempt-and-abort'
  | 'register-and-ignore-existing-key'
  | 'register-and-move'
  | 'replace-lost-reservation'
  | 'other';

const PR_IN: readonly CommandName[] = ['read-keys', 'read-reservation', 'report-capabilities', 'read-full-status'];
const PR_OUT: readonly CommandName[] = ['register', 'reserve', 'release', 'clear', 'preempt', 'preempt-and-abort', 'register-and-ignore-existing-key', 'register-and-move', 'replace-lost-reservation'];
const BY_OPCODE: ReadonlyMap<number, CommandName> = new Map([
  [0x00, 'test-unit-ready'],
  [0x12, 'inquiry'],
  [0x25, 'read-capacity'],
  [0x28, 'read'],
  [0x2a, 'write'],
]);

/** The name of the command in a CDB. */
export function commandNameOf(cdb: Buffer): CommandName {
  if (cdb[0] === 0x5e) return PR_IN[cdb[1] & 0x1f] ?? 'other';
  if (cdb[0] === 0x5f) return PR_OUT[cdb[1] & 0x1f] ?? 'other';
  return BY_OPCODE.get(cdb[0]) ?? 'other';
}

/** Whether a command name is a PERSISTENT RESERVE OUT service action. */
export function isPrOut(name: CommandName): boolean {
  return PR_OUT.includes(name);
}

/** Host status the kernel reports for a command it timed out. */
const DID_TIME_OUT = 0x03;

/** What a scripted command does instead of (or before) running normally. */
export type Fault =
  /** Answer with this SAM status (and sense) without running the command; `{ status: 0 }` is a target that claims success and does nothing. */
  | { status: number; sense?: { key: number; asc: number; ascq: number } }
  /** CHECK CONDITION with this sense, without running the command. */
  | { sense: { key: number; asc: number; ascq: number } }
  /** A transport failure (host status, e.g. 0x0e DID_TRANSPORT_DISRUPTED): the command never reached the LU. */
  | { hostStatus: number }
  /** Never answered: the kernel times it out after its timeoutMs (DID_TIME_OUT), unless aborted or closed first. */
  | { hang: true }
  /** Reaches the LU this many event-loop turns late, then runs normally. */
  | { delayTurns: number }
  /** Runs `action` on the LU just before the command executes (e.g. another node's PR OUT landing first), then runs normally. */
  | { before: (lu: FakeLogicalUnit) => void };

/** Which commands a SAN-wide script applies to. */
export interface CommandMatch {
  /** Command name(s); default any. */
  on?: CommandName | readonly CommandName[];
  lu?: FakeLogicalUnit;
  node?: FakeNode;
}

interface Rule {
  match: CommandMatch;
  fault: Fault;
  remaining: number;
}

/** One command as a path received it. */
export interface CommandRecord {
  name: CommandName;
  /** The device path ('/dev/fake/<node>/<lu>/p<port>'). */
  path: string;
  node: FakeNode;
  lu: FakeLogicalUnit;
  nexus: Nexus;
  cdb: Buffer;
  /** A copy of the data-out bytes (PR OUT parameter list, WRITE data). */
  dataOut: Buffer | null;
  timeoutMs: number;
  /** PR OUT: the parameter list and type, decoded by the fake (not by lib/). */
  prOut?: { key: bigint; serviceActionKey: bigint; type: number; aptpl: boolean };
  /** The scripted fault applied to this command, if any. */
  fault?: Fault;
  /** The command ran on the LU model (false for injected answers, transport failures, hangs). */
  executed: boolean;
  /** Event numbers (one sequence for the whole SAN): submitted, answered by the LU (or the fault), settled. */
  submittedAt: number;
  executedAt?: number;
  settledAt?: number;
  outcome: 'pending' | 'answered' | 'timed-out' | 'aborted' | 'closed';
  /** What the LU (or the fault) answered. */
  response?: { status: number; hostStatus: number; sense: Buffer };
}

/** Filter of {@link FakeSan.commands}. */
export interface CommandFilter {
  node?: FakeNode;
  lu?: FakeLogicalUnit;
  name?: CommandName | readonly CommandName[];
  port?: number;
}

const matchesName = (want: CommandName | readonly CommandName[] | undefined, name: CommandName): boolean =>
  want === undefined || (typeof want === 'string' ? want === name : want.includes(name));

/** The simulated SAN: logical units, initiators (nodes), scripts and the command log. */
export class FakeSan {
  /** Every command any path received, in submission order. */
  readonly log: CommandRecord[] = [];
  readonly lus: FakeLogicalUnit[] = [];
  /** Turns before each command reaches its LU and before its answer comes back (default none). */
  delay: (record: CommandRecord) => { arrive: number; reply: number } = () => ({ arrive: 0, reply: 0 });
  private readonly rules: Rule[] = [];
  private event = 0;

  /** Add a logical unit; default name 'lu<n>' and an NAA WWN in creation order. */
  addLu(options: Partial<LogicalUnitOptions> = {}): FakeLogicalUnit {
    const n = this.lus.length;
    const lu = new FakeLogicalUnit({
      name: options.name ?? `lu${n}`,
      wwn: options.wwn === undefined ? `naa.6001405${(n + 1).toString(16).padStart(25, '0')}` : options.wwn,
      serial: options.serial,
    });
    this.lus.push(lu);
    return lu;
  }

  /** An initiator (cluster node) with `ports` initiator ports, i.e. `ports` I_T nexuses to every LU. */
  node(name: string, options: { ports?: number } = {}): FakeNode {
    return new FakeNode(this, name, options.ports ?? 2);
  }

  /** Script the next `times` commands matching `match` (any path) to `fault`. */
  script(match: CommandMatch, fault: Fault, times = 1): void {
    this.rules.push({ match, fault, remaining: times });
  }

  /** Commands received, in submission order, filtered. */
  commands(filter: CommandFilter = {}): CommandRecord[] {
    return this.log.filter(
      (r) =>
        (filter.node === undefined || r.node === filter.node) &&
        (filter.lu === undefined || r.lu === filter.lu) &&
        (filter.port === undefined || r.nexus.port === filter.port) &&
        matchesName(filter.name, r.name),
    );
  }

  /** PR OUT commands received, in submission order, filtered. */
  prOuts(filter: Omit<CommandFilter, 'name'> = {}): CommandRecord[] {
    return this.commands(filter).filter((r) => isPrOut(r.name));
  }

  /** @internal next number of the SAN-wide event sequence */
  nextEvent(): number {
    return ++this.event;
  }

  /** @internal the first SAN-wide rule matching `r`, consumed */
  takeRule(r: CommandRecord): Fault | undefined {
    return take(this.rules, (m) => (m.lu === undefined || m.lu === r.lu) && (m.node === undefined || m.node === r.node) && matchesName(m.on, r.name));
  }
}

function take(rules: Rule[], matches: (m: CommandMatch) => boolean): Fault | undefined {
  const rule = rules.find((x) => x.remaining > 0 && matches(x.match));
  if (!rule) return undefined;
  rule.remaining--;
  return rule.fault;
}

/** A cluster node: one initiator name, `ports` initiator ports (one ISID each). */
export class FakeNode {
  readonly initiator: string;
  /** Paths opened so far. */
  readonly paths: FakePath[] = [];

  constructor(
    readonly san: FakeSan,
    readonly name: string,
    readonly ports: number,
  ) {
    this.initiator = `iqn.2024-01.test.san:${name}`;
  }

  /** The nexus of this node's `port` (1-based). */
  nexus(port: number): Nexus {
    return nexus(this.initiator, `23d00000000${port}`, port);
  }

  /** Every nexus of this node. */
  nexuses(): Nexus[] {
    return Array.from({ length: this.ports }, (_, i) => this.nexus(i + 1));
  }

  /** Open a new path to `lu` through `port`. */
  open(lu: FakeLogicalUnit, port: number): FakePath {
    const p = new FakePath(this.san, this, lu, this.nexus(port));
    this.paths.push(p);
    return p;
  }

  /** The most recently opened path to `lu` through `port`. */
  path(lu: FakeLogicalUnit, port: number): FakePath {
    const p = [...this.paths].reverse().find((x) => x.lu === lu && x.nexus.port === port);
    if (!p) throw new Error(`fake SAN: ${this.name} has no open path to ${lu.name} through port ${port}`);
    return p;
  }

  /** Open every port to every LU in `lus` (default all), LU by LU: one Device per path. */
  devices(options: OpenOptions = {}, lus: readonly FakeLogicalUnit[] = this.san.lus): Device[] {
    return lus.flatMap((lu) => this.nexuses().map((x) => this.open(lu, x.port).device(options)));
  }

  /** Register `key` on every nexus of this node to every LU in `lus` (set-up, no generation bump). */
  registerEverywhere(key: bigint, lus: readonly FakeLogicalUnit[] = this.san.lus): void {
    for (const lu of lus) for (const x of this.nexuses()) lu.setRegistration(x, key);
  }

  /** Make port 1 of this node hold a reservation of `type` on every LU in `lus` (set-up). */
  reserveEverywhere(type: number, lus: readonly FakeLogicalUnit[] = this.san.lus): void {
    for (const lu of lus) lu.setReservation(this.nexus(1), type);
  }
}

interface Pending {
  record: CommandRecord;
  /** Settled for the caller (answered, timed out, aborted, closed). */
  settled: boolean;
  /** Handed back by the "kernel" (answered or timed out): no longer in flight. */
  returned: boolean;
  fail(outcome: 'aborted' | 'closed', error: Error): void;
  timer?: NodeJS.Timeout;
}

/** One open path (an fd on one I_T nexus): the ScsiTransport a Device is built on. */
export class FakePath implements ScsiTransport {
  readonly kind = 'sg-async' as const;
  /** The device path given to `Device`: '/dev/fake/<node>/<lu>/p<port>'. */
  readonly name: string;
  /** Commands this path received, in order. */
  readonly log: CommandRecord[] = [];
  closed = false;
  private readonly rules: Rule[] = [];
  private readonly pending = new Set<Pending>();

  constructor(
    private readonly san: FakeSan,
    readonly node: FakeNode,
    readonly lu: FakeLogicalUnit,
    readonly nexus: Nexus,
  ) {
    this.name = `/dev/fake/${node.name}/${lu.name}/p${nexus.port}`;
  }

  /** A Device over this path (no sgPath/blockPath: logical-units reads the WWN with INQUIRY, not from the host's sysfs). */
  device(options: OpenOptions = {}): Device {
    return new Device({ requested: this.name, resolved: this.name, openPath: this.name, via: 'sg', transport: 'sg-async' }, this, options);
  }

  /** Script the next `times` commands named `on` ('*': any) on this path to `fault`. */
  script(on: CommandName | readonly CommandName[] | '*', fault: Fault, times = 1): this {
    this.rules.push({ match: on === '*' ? {} : { on }, fault, remaining: times });
    return this;
  }

  get inFlight(): number {
    return [...this.pending].filter((p) => !p.returned).length;
  }

  submit(command: TransportCommand): Promise<RawResult> {
    const context = { path: this.name, cdb: command.cdb };
    if (this.closed) return Promise.reject(new DeviceClosedError(`${this.name}: device is closed`, context));
    const signal = command.signal;
    if (signal?.aborted) return Promise.reject(new AbortError(`${this.name}: aborted before submission`, context, { cause: signal.reason }));
    const name = commandNameOf(command.cdb);
    const dataOut = command.direction === 'out' && command.data ? Buffer.from(command.data) : null;
    const record: CommandRecord = {
      name,
      path: this.name,
      node: this.node,
      lu: this.lu,
      nexus: this.nexus,
      cdb: Buffer.from(command.cdb),
      dataOut,
      timeoutMs: command.timeoutMs,
      executed: false,
      submittedAt: this.san.nextEvent(),
      outcome: 'pending',
    };
    if (isPrOut(name) && dataOut && dataOut.length >= 24) {
      record.prOut = { key: dataOut.readBigUInt64BE(0), serviceActionKey: dataOut.readBigUInt64BE(8), type: command.cdb[2] & 0x0f, aptpl: (dataOut[20] & 1) !== 0 };
    }
    this.log.push(record);
    this.san.log.push(record);
    return new Promise<RawResult>((resolve, reject) => {
      const onAbort = () => p.fail('aborted', new AbortError(`${this.name}: aborted`, context, { cause: signal?.reason }));
      const settle = (outcome: CommandRecord['outcome'], f: () => void) => {
        if (p.settled) return;
        p.settled = true;
        record.outcome = outcome;
        record.settledAt = this.san.nextEvent();
        signal?.removeEventListener('abort', onAbort);
        f();
      };
      const p: Pending = {
        record,
        settled: false,
        returned: false,
        fail: (outcome, error) => settle(outcome, () => reject(error)),
      };
      this.pending.add(p);
      signal?.addEventListener('abort', onAbort, { once: true });
      void this.run(command, p, (raw, outcome) => settle(outcome, () => resolve(raw)));
    });
  }

  /** Resets asked of this path; the fake SAN does not simulate their effect. */
  readonly resets: Array<[ResetLevel, boolean]> = [];

  reset(level: ResetLevel, escalate: boolean): Promise<void> {
    this.resets.push([level, escalate]);
    return Promise.resolve();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.fail('closed', new DeviceClosedError(`${this.name}: device closed with the command in flight`, { path: this.name }));
    }
    this.pending.clear();
  }

  private async run(command: TransportCommand, p: Pending, answer: (raw: RawResult, outcome: 'answered' | 'timed-out') => void): Promise<void> {
    const { record } = p;
    const fault = take(this.rules, (m) => matchesName(m.on, record.name)) ?? this.san.takeRule(record);
    if (fault) record.fault = fault;
    const { arrive, reply } = this.san.delay(record);
    const handBack = (r: DeviceResponse, hostStatus: number, outcome: 'answered' | 'timed-out') => {
      p.returned = true;
      this.pending.delete(p);
      answer(this.rawResult(command, r, hostStatus), outcome);
    };
    if (fault && 'hang' in fault) {
      p.timer = setTimeout(() => handBack({ status: 0 }, DID_TIME_OUT, 'timed-out'), command.timeoutMs);
      p.timer.unref();
      return;
    }
    await turns(arrive + (fault && 'delayTurns' in fault ? fault.delayTurns : 0));
    let response: DeviceResponse;
    let hostStatus = 0;
    if (fault && 'hostStatus' in fault) {
      hostStatus = fault.hostStatus;
      response = { status: 0 };
    } else if (fault && 'status' in fault) {
      response = { status: fault.status, ...(fault.sense ? { sense: fixedSense(fault.sense.key, fault.sense.asc, fault.sense.ascq) } : {}) };
    } else if (fault && 'sense' in fault) {
      response = { status: CHECK_CONDITION, sense: fixedSense(fault.sense.key, fault.sense.asc, fault.sense.ascq) };
    } else {
      if (fault && 'before' in fault) fault.before(this.lu);
      response = this.lu.execute(this.nexus, command.cdb, command.direction === 'out' ? command.data : null);
      record.executed = true;
    }
    record.executedAt = this.san.nextEvent();
    record.response = { status: response.status, hostStatus, sense: response.sense ?? Buffer.alloc(0) };
    await turns(reply);
    handBack(response, hostStatus, 'answered');
  }

  /** The sg_io_hdr outputs for a response: data-in copied into the caller's buffer, resid = what did not fit. */
  private rawResult(command: TransportCommand, r: DeviceResponse, hostStatus: number): RawResult {
    let resid = 0;
    if (command.direction === 'in' && command.data) {
      const n = r.data ? Math.min(r.data.length, command.data.length) : 0;
      r.data?.copy(command.data, 0, 0, n);
      resid = command.data.length - n;
    }
    const sense = r.sense ?? Buffer.alloc(0);
    return {
      status: r.status,
      hostStatus,
      driverStatus: sense.length > 0 ? 0x08 : 0,
      sense,
      resid,
      durationMs: 0,
      data: command.direction === 'in' ? command.data : null,
    };
  }
}
