import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ErrorCodes, type ErrorCode } from '../../lib/error-codes';
import {
  AbortError,
  DeviceClosedError,
  DeviceError,
  MalformedResponseError,
  ReservationConflictError,
  ScsiPrError,
  ScsiSenseError,
  ScsiStatusError,
  SyscallError,
  TimeoutError,
  TransportError,
} from '../../lib/errors';
import { ArgumentRangeError, ArgumentTypeError } from '../../lib/invalid-argument';
import { decodeSense } from '../../lib/scsi/sense';

const ROOT = join(__dirname, '..', '..');
const LIB = join(ROOT, 'lib');
const listed = new Set<string>(Object.values(ErrorCodes));
/** Node's own codes, which lib/ mentions in comments (a Buffer read past its end throws them). */
const NODE_CODES = new Set(['ERR_OUT_OF_RANGE', 'ERR_BUFFER_OUT_OF_BOUNDS']);

/** An error code as a string in source text: quoted, in backticks, or `ErrorCodes.X`. */
const CODE_IN_SOURCE = /(?:['"`]|ErrorCodes\.)(ERR_[A-Z0-9_]+|ABORT_ERR)\b/g;
/** An error code in Markdown: in backticks. */
const CODE_IN_MARKDOWN = /`(ERR_[A-Z0-9_]+|ABORT_ERR)`/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function codesIn(text: string, pattern: RegExp): Set<string> {
  return new Set([...text.matchAll(pattern)].map((m) => m[1]!));
}

/** Lines of the README from `## Errors` to the next `## ` heading. */
function readmeErrorsSection(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Errors\n');
  expect(start, 'README has a "## Errors" section').toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('ErrorCodes: the one list of error codes', () => {
  it('is frozen, and each key is its own value', () => {
    expect(Object.isFrozen(ErrorCodes)).toBe(true);
    for (const [key, value] of Object.entries(ErrorCodes)) expect(value).toBe(key);
  });

  it('holds every code a file in lib/ mentions', () => {
    const unlisted: string[] = [];
    for (const file of tsFiles(LIB)) {
      for (const code of codesIn(readFileSync(file, 'utf8'), CODE_IN_SOURCE)) {
        if (!listed.has(code) && !NODE_CODES.has(code)) unlisted.push(`${relative(ROOT, file)}: ${code}`);
      }
    }
    expect(unlisted, 'codes used in lib/ but missing from lib/error-codes.ts').toEqual([]);
  });

  it('holds no code that lib/ never uses', () => {
    const used = new Set<string>();
    for (const file of tsFiles(LIB)) {
      if (file.endsWith('error-codes.ts')) continue;
      for (const code of codesIn(readFileSync(file, 'utf8'), CODE_IN_SOURCE)) used.add(code);
    }
    expect([...listed].filter((c) => !used.has(c))).toEqual([]);
  });

  it("matches the README's error table exactly", () => {
    const section = readmeErrorsSection();
    const table = section.split('\n').filter((line) => line.startsWith('|')).join('\n');
    const inTable = codesIn(table, CODE_IN_MARKDOWN);
    expect([...listed].filter((c) => !inTable.has(c)), 'codes missing from the README table').toEqual([]);
    expect([...inTable].filter((c) => !listed.has(c)), 'README codes that do not exist').toEqual([]);
    expect([...codesIn(section, CODE_IN_MARKDOWN)].filter((c) => !listed.has(c))).toEqual([]);
  });
});

describe('the code each error class carries', () => {
  const sense = (key: number) => {
    const raw = Buffer.alloc(18);
    raw[0] = 0x70;
    raw[2] = key;
    raw[7] = 10;
    return decodeSense(raw)!;
  };

  it('ScsiSenseError: one code per sense key, ERR_CHECK_CONDITION for the rest', () => {
    const expected: Array<[number, ErrorCode]> = [
      [0x0, 'ERR_CHECK_CONDITION'],
      [0x1, 'ERR_CHECK_CONDITION'],
      [0x2, 'ERR_NOT_READY'],
      [0x3, 'ERR_MEDIUM_ERROR'],
      [0x4, 'ERR_HARDWARE_ERROR'],
      [0x5, 'ERR_ILLEGAL_REQUEST'],
      [0x6, 'ERR_UNIT_ATTENTION'],
      [0x7, 'ERR_DATA_PROTECT'],
      [0x8, 'ERR_CHECK_CONDITION'],
      [0xb, 'ERR_ABORTED_COMMAND'],
      [0xe, 'ERR_CHECK_CONDITION'],
    ];
    for (const [key, code] of expected) expect(new ScsiSenseError('x', sense(key)).code, `sense key ${key}`).toBe(code);
  });

  it('ScsiStatusError: BUSY, TASK SET FULL, anything else', () => {
    expect(new ScsiStatusError('x', { status: 0x08, statusName: 'BUSY' }).code).toBe('ERR_BUSY');
    expect(new ScsiStatusError('x', { status: 0x28, statusName: 'TASK SET FULL' }).code).toBe('ERR_TASK_SET_FULL');
    expect(new ScsiStatusError('x', { status: 0x40, statusName: 'TASK ABORTED' }).code).toBe('ERR_SCSI_STATUS');
  });

  it('the fixed-code classes', () => {
    const errors: Array<[ScsiPrError, ErrorCode]> = [
      [new TransportError('x', { hostStatus: 0x0f, driverStatus: 0, hostStatusName: 'DID_TRANSPORT_FAILFAST' }), 'ERR_TRANSPORT'],
      [new ReservationConflictError('x'), 'ERR_RESERVATION_CONFLICT'],
      [new TimeoutError('x', 1000), 'ERR_TIMEOUT'],
      [new AbortError('x'), 'ABORT_ERR'],
      [new MalformedResponseError('x'), 'ERR_MALFORMED_RESPONSE'],
      [new DeviceClosedError('x'), 'ERR_DEVICE_CLOSED'],
      [new DeviceError('ERR_PARTITION', 'x', { path: '/dev/sdb1' }), 'ERR_PARTITION'],
    ];
    for (const [error, code] of errors) {
      expect(error.code).toBe(code);
      expect(error).toBeInstanceOf(ScsiPrError);
      expect(error.name).toBe(error.constructor.name);
    }
  });

  it('SyscallError keeps the errno name it was given', () => {
    const e = new SyscallError('EACCES: permission denied', { code: 'EACCES', errno: -13, syscall: 'open' }, { path: '/dev/sg1' });
    expect([e.code, e.errno, e.syscall, e.path]).toEqual(['EACCES', -13, 'open', '/dev/sg1']);
  });

  it('argument errors are TypeError / RangeError with a listed code', () => {
    const t = new ArgumentTypeError('ERR_INVALID_KEY', 'x');
    const r = new ArgumentRangeError('ERR_INVALID_OPTION', 'x');
    expect(t).toBeInstanceOf(TypeError);
    expect(r).toBeInstanceOf(RangeError);
    expect(listed.has(t.code) && listed.has(r.code)).toBe(true);
  });

  it('a misspelt or misplaced code does not compile (checked by `tsc -p test/tsconfig.json`)', () => {
    // @ts-expect-error: not a code
    const misspelt = new ScsiPrError('ERR_NOT_REDY', 'x');
    // @ts-expect-error: a code, but not a DeviceError's
    const misplaced = new DeviceError('ERR_TIMEOUT', 'x');
    // @ts-expect-error: not an argument error's code
    const argument = new ArgumentRangeError('ERR_NO_PATH', 'x');
    const compare = (e: ScsiPrError) =>
      // @ts-expect-error: comparing with a code that does not exist
      e.code === 'ERR_NO_DEVICS';
    expect([misspelt.code, misplaced.code, argument.code, compare(misspelt)]).toEqual(['ERR_NOT_REDY', 'ERR_TIMEOUT', 'ERR_NO_PATH', false]);
  });
});
