/**
 * Module-level forms of the Device methods, for one-off use from a REPL or a
 * script: each takes a path (opened and closed around the one call) or an
 * already open Device (left open).
 *
 *   > await pr.readKeys('/dev/sg3')
 *   { generation: 4, keys: [ 0x1, 0x2 ], … }
 */
import { Device, open, type CallOptions, type CallReport, type OpenOptions, type PrOutResult } from './device';
import type { ReadFullStatusResult, ReadKeysResult, ReadReservationResult, ReportCapabilitiesResult } from './scsi/pr-in-parsers';
import type {
  ClearOptions,
  PreemptOptions,
  RegisterAndIgnoreExistingKeyOptions,
  RegisterAndMoveOptions,
  RegisterOptions,
  ReplaceLostReservationOptions,
  ReserveOptions,
} from './scsi/pr-out-requests';

/** A device path or an open Device. */
export type PathOrDevice = string | Device;

/** Call options plus, for a path, the options `open` takes. */
export type OneShotOptions = CallOptions & { open?: OpenOptions };

/** Run `fn` on `target`, opening and closing it when it is a path. */
export async function withDevice<T>(target: PathOrDevice, fn: (d: Device) => Promise<T>, openOptions?: OpenOptions): Promise<T> {
  if (target instanceof Device) return fn(target);
  const dev = await open(target, openOptions);
  try {
    return await fn(dev);
  } finally {
    await dev.close();
  }
}

function split<T extends OneShotOptions>(options: T | undefined): [Omit<T, 'open'>, OpenOptions | undefined] {
  const { open: openOptions, ...rest } = (options ?? {}) as T;
  return [rest, openOptions];
}

/** READ KEYS on a path or device. */
export function readKeys(target: PathOrDevice, options?: OneShotOptions): Promise<ReadKeysResult & CallReport> {
  const [o, oo] = split(options);
  return withDevice(target, (d) => d.readKeys(o), oo);
}
/** READ RESERVATION on a path or device. */
export function readReservation(target: PathOrDevice, options?: OneShotOptions): Promise<ReadReservationResult & CallReport> {
  const [o, oo] = split(options);
  return withDevice(target, (d) => d.readReservation(o), oo);
}
/** REPORT CAPABILITIES on a path or device. */
export function reportCapabilities(target: PathOrDevice, options?: OneShotOptions): Promise<ReportCapabilitiesResult & CallReport> {
  const [o, oo] = split(options);
  return withDevice(target, (d) => d.reportCapabilities(o), oo);
}
/** READ FULL STATUS on a path or device. */
export function readFullStatus(target: PathOrDevice, options?: OneShotOptions): Promise<ReadFullStatusResult & CallReport> {
  const [o, oo] = split(options);
  return withDevice(target, (d) => d.readFullStatus(o), oo);
}
/** REGISTER on a path or device. */
export function register(target: PathOrDevice, options: RegisterOptions & OneShotOptions): Promise<PrOutResult> {
  const [o, oo] = split(options);
  return withDevice(target, (d) => d.register(o), oo);
}
/** REGISTER AND IGNORE EXISTING KEY on a path or device. */
export function registerAndIgnoreExistingKey(target: PathOrDevice, options: RegisterAndIgnoreExistingKeyOptions & OneShotOptions): Promise<PrOutResult> {
  const [o, oo] = split(options);
  return withDevice(target, (d) => d.registerAndIgnoreExistingKey(o), oo);
}
/** RESERVE on a path or device. */
export function reserve(target: PathOrDevice, options: ReserveOptions & OneShotOptions): Promise<PrOutResult> {
  const [o, oo] = split(options);
  return withDevice(target, (d) => d.reserve(o), oo);
}
/** RELEASE on a path or device. */
export function release(target: PathOrDevice, options: ReserveOptions & OneShotOptions): Promise<PrOutResult> {
  const [o, oo] = split(options);
  return withDevice(target, (d) => d.release(o), oo);
}
/** CLEAR on a path or device. */
export function clear(target: PathOrDevice, options: ClearOptions & OneShotOptions): Promise<PrOutResult> {
  const [o, oo] = split(options);
  return withDevice(target, (d) => d.clear(o), oo);
}
/** PREEMPT on a path or device. */
export function preempt(target: PathOrDevice, options: PreemptOptions & OneShotOptions): Promise<PrOutResult> {
  const [o, oo] = split(options);
  return withDevice(target, (d) => d.preempt(o), oo);
}
/** PREEMPT AND ABORT on a path or device. */
export function preemptAndAbort(target: PathOrDevice, options: PreemptOptions & OneShotOptions): Promise<PrOutResult> {
  const [o, oo] = split(options);
  return withDevice(target, (d) => d.preemptAndAbort(o), oo);
}
/** REGISTER AND MOVE on a path or device. */
export function registerAndMove(target: PathOrDevice, options: RegisterAndMoveOptions & OneShotOptions): Promise<PrOutResult> {
  const [o, oo] = split(options);
  return withDevice(target, (d) => d.registerAndMove(o), oo);
}
/** REPLACE LOST RESERVATION on a path or device. */
export function replaceLostReservation(target: PathOrDevice, options: ReplaceLostReservationOptions & OneShotOptions): Promise<PrOutResult> {
  const [o, oo] = split(options);
  return withDevice(target, (d) => d.replaceLostReservation(o), oo);
}
