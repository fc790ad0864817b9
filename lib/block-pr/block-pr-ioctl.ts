/**
 * The block PR ioctls (`<linux/pr.h>`) on one open block-device fd: one method
 * per IOC_PR_* request. Validates every argument before any I/O, builds the
 * struct (pr-ioctls.ts), runs it through the native `ioctlBuffer`, and sorts
 * the outcome:
 *
 * - a `pr_status` (the ioctl returned >= 0) → resolves with a
 *   {@link PrStatusResult} (`class` `'ok'`, `'reservation-conflict'`, `'path'`
 *   or `'error'`); the caller maps it. The reads add their data when `'ok'`;
 * - a refusal (-1/errno) → rejects with the library's `SyscallError`
 *   (`syscall: 'ioctl'`, path attached), except ENOTTY on READ_KEYS /
 *   READ_RESERVATION: a {@link KernelFeatureError} (the kernel predates 6.19).
 *
 * What each errno means: see pr-status.ts.
 */
import type { NativeBinding, NativeSyscallError } from '../transport/native';
import { toSyscallError } from '../transport/transport-common';
import { SyscallError } from '../errors';
import { ArgumentRangeError, ArgumentTypeError, describeValue } from '../invalid-argument';
import {
  IOC_PR,
  PR_FL_IGNORE_KEY,
  PR_KEYS_MAX,
  PR_READ_KEYS_PTR_OFFSET,
  PR_STRUCT_SIZE,
  type PrRequests,
  type PrTypeCode,
  decodeKeys,
  decodeReadKeys,
  decodeReadReservation,
  encodeClear,
  encodePreempt,
  encodeReadKeys,
  encodeRegistration,
  encodeReservation,
  isPrType,
} from './pr-ioctls';
import { type PrStatusClass, type PrStatusResult, classifyPrStatus } from './pr-status';
import { KernelFeatureError } from './kernel-feature-error';

/** The part of the native binding this class uses (a scripted fake in unit tests). */
export type BlockPrNative = Pick<NativeBinding, 'ioctlBuffer'>;

/** A read whose `pr_status` was not success: no data. */
export interface BlockPrReadFailed extends PrStatusResult {
  class: Exclude<PrStatusClass, 'ok'>;
}

/** IOC_PR_READ_KEYS succeeded. */
export interface BlockPrKeys extends PrStatusResult {
  class: 'ok';
  /** The device's PR generation. */
  generation: number;
  /** How many keys the device reported holding. */
  numKeys: number;
  /**
   * The registered keys, one per registration (a key registered through two
   * paths appears twice). Shorter than `numKeys` only when the device holds more
   * than PR_KEYS_MAX keys or kept gaining keys over every re-read.
   */
  keys: bigint[];
}

/** IOC_PR_READ_RESERVATION succeeded. */
export interface BlockPrReservation extends PrStatusResult {
  class: 'ok';
  /** Key of the holder (0 when none). */
  key: bigint;
  /** The device's PR generation. */
  generation: number;
  /** The block `pr_type` (1–6), or 0 when no reservation is held. */
  type: number;
}

/** Re-reads of READ_KEYS after the first, when the key count outgrew the buffer. */
const MAX_REREADS = 3;

/** Default first READ_KEYS capacity (keys): a cluster rarely has more registrations. */
const DEFAULT_KEYS_CAPACITY = 64;

const MAX_KEY = 0xffff_ffff_ffff_ffffn;

/** The block PR ioctls on one open fd (O_RDWR, or CAP_SYS_ADMIN; never a partition). */
export class BlockPrIoctl {
  /**
   * @param native   The addon (or a fake with the same `ioctlBuffer`).
   * @param fd       An open fd of the whole block device.
   * @param path     Its path, for error messages and `SyscallError.path`.
   * @param requests The IOC_PR_* numbers (default: this machine's).
   */
  constructor(
    private readonly native: BlockPrNative,
    readonly fd: number,
    readonly path: string,
    private readonly requests: PrRequests = IOC_PR,
  ) {}

  /**
   * IOC_PR_REGISTER: register `newKey` (replacing `oldKey`, 0 when none), or
   * unregister with `newKey` 0. `ignoreExistingKey` sets PR_FL_IGNORE_KEY
   * (REGISTER AND IGNORE EXISTING KEY: `oldKey` is not checked).
   */
  async register(oldKey: bigint, newKey: bigint, options: { ignoreExistingKey?: boolean } = {}): Promise<PrStatusResult> {
    checkKey(oldKey, 'oldKey');
    checkKey(newKey, 'newKey');
    const ignore = checkBooleanOption(options, 'ignoreExistingKey');
    return classifyPrStatus(await this.call('REGISTER', encodeRegistration(oldKey, newKey, ignore ? PR_FL_IGNORE_KEY : 0)));
  }

  /** IOC_PR_RESERVE: take a reservation of block type `prType` (1–6) with our `key`. */
  async reserve(key: bigint, prType: PrTypeCode): Promise<PrStatusResult> {
    checkKey(key, 'key');
    checkPrType(prType);
    return classifyPrStatus(await this.call('RESERVE', encodeReservation(key, prType, 0)));
  }

  /** IOC_PR_RELEASE: release our reservation (`key`, `prType` as held). */
  async release(key: bigint, prType: PrTypeCode): Promise<PrStatusResult> {
    checkKey(key, 'key');
    checkPrType(prType);
    return classifyPrStatus(await this.call('RELEASE', encodeReservation(key, prType, 0)));
  }

  /**
   * IOC_PR_PREEMPT, or IOC_PR_PREEMPT_ABORT with `abort`: with our key `oldKey`,
   * remove the registrations of `newKey` (the victim) and take/keep a
   * reservation of `prType`.
   */
  async preempt(oldKey: bigint, newKey: bigint, prType: PrTypeCode, options: { abort?: boolean } = {}): Promise<PrStatusResult> {
    checkKey(oldKey, 'oldKey');
    checkKey(newKey, 'newKey');
    checkPrType(prType);
    const abort = checkBooleanOption(options, 'abort');
    return classifyPrStatus(await this.call(abort ? 'PREEMPT_ABORT' : 'PREEMPT', encodePreempt(oldKey, newKey, prType, 0)));
  }

  /** IOC_PR_CLEAR: with our `key`, remove every registration and the reservation. */
  async clear(key: bigint): Promise<PrStatusResult> {
    checkKey(key, 'key');
    return classifyPrStatus(await this.call('CLEAR', encodeClear(key, 0)));
  }

  /**
   * IOC_PR_READ_KEYS (Linux 6.19+): the registered keys and the generation.
   * Starts with room for `initialCapacity` keys; when the device reports more,
   * reads again with room for exactly that many (up to PR_KEYS_MAX; sd refuses
   * more than 8190 with EINVAL: its PR IN allocation length is 16 bits).
   *
   * @throws KernelFeatureError when the kernel does not know the ioctl (ENOTTY).
   */
  async readKeys(initialCapacity: number = DEFAULT_KEYS_CAPACITY): Promise<BlockPrKeys | BlockPrReadFailed> {
    if (typeof initialCapacity !== 'number') {
      throw new ArgumentTypeError('ERR_INVALID_OPTION', `initialCapacity must be a number; received ${describeValue(initialCapacity)}`);
    }
    if (!Number.isInteger(initialCapacity) || initialCapacity < 0 || initialCapacity > PR_KEYS_MAX) {
      throw new ArgumentRangeError('ERR_INVALID_OPTION', `initialCapacity must be an integer 0–${PR_KEYS_MAX}; received ${initialCapacity}`);
    }
    let capacity = initialCapacity;
    for (let reread = 0; ; reread++) {
      const arg = encodeReadKeys(capacity);
      const keys = Buffer.alloc(capacity * 8);
      const r = classifyPrStatus(await this.call('READ_KEYS', arg, keys, PR_READ_KEYS_PTR_OFFSET));
      if (r.class !== 'ok') return r as BlockPrReadFailed;
      const { generation, numKeys } = decodeReadKeys(arg);
      if (numKeys <= capacity || capacity >= PR_KEYS_MAX || reread >= MAX_REREADS) {
        return { ...r, class: 'ok', generation, numKeys, keys: decodeKeys(keys, Math.min(numKeys, capacity)) };
      }
      capacity = Math.min(numKeys, PR_KEYS_MAX);
    }
  }

  /**
   * IOC_PR_READ_RESERVATION (Linux 6.19+): the reservation held, if any.
   *
   * @throws KernelFeatureError when the kernel does not know the ioctl (ENOTTY).
   */
  async readReservation(): Promise<BlockPrReservation | BlockPrReadFailed> {
    const arg = Buffer.alloc(PR_STRUCT_SIZE.readReservation);
    const r = classifyPrStatus(await this.call('READ_RESERVATION', arg));
    if (r.class !== 'ok') return r as BlockPrReadFailed;
    return { ...r, class: 'ok', ...decodeReadReservation(arg) };
  }

  private async call(name: keyof PrRequests, arg: Buffer, data: Buffer | null = null, offset = 0): Promise<number> {
    try {
      return await this.native.ioctlBuffer(this.fd, this.requests[name], arg, data, offset);
    } catch (e) {
      const err = toSyscallError(e as NativeSyscallError, this.path);
      if (err instanceof SyscallError && err.code === 'ENOTTY' && (name === 'READ_KEYS' || name === 'READ_RESERVATION')) {
        const requirement = `Linux 6.19 or later (IOC_PR_${name})`;
        throw new KernelFeatureError(`${this.path}: IOC_PR_${name} needs ${requirement}; this kernel does not know it (ENOTTY)`, requirement, { path: this.path }, err);
      }
      if (err instanceof SyscallError) err.message = `${this.path}: IOC_PR_${name}: ${err.message}`;
      throw err;
    }
  }
}

function checkKey(key: unknown, name: string): asserts key is bigint {
  if (typeof key !== 'bigint') {
    throw new ArgumentTypeError('ERR_INVALID_KEY', `${name} must be a bigint; received ${describeValue(key)}`);
  }
  if (key < 0n || key > MAX_KEY) {
    throw new ArgumentRangeError('ERR_INVALID_KEY', `${name} ${key}n is out of range; expected 0–2^64-1`);
  }
}

function checkPrType(prType: unknown): asserts prType is PrTypeCode {
  if (typeof prType !== 'number') {
    throw new ArgumentTypeError('ERR_INVALID_RESERVATION_TYPE', `prType must be a number; received ${describeValue(prType)}`);
  }
  if (!isPrType(prType)) {
    throw new ArgumentRangeError('ERR_INVALID_RESERVATION_TYPE', `prType ${prType} is not a block pr_type (1–6; SPC codes need prTypeFromSpc)`);
  }
}

function checkBooleanOption(options: unknown, name: string): boolean {
  if (typeof options !== 'object' || options === null) {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `options must be an object; received ${describeValue(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (k !== name) throw new ArgumentTypeError('ERR_INVALID_OPTION', `unknown option ${JSON.stringify(k)}; expected ${name}`);
  }
  const v = (options as Record<string, unknown>)[name];
  if (v !== undefined && typeof v !== 'boolean') {
    throw new ArgumentTypeError('ERR_INVALID_OPTION', `${name} must be a boolean; received ${describeValue(v)}`);
  }
  return v === true;
}
