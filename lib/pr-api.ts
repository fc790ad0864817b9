/**
 * Module-level forms of the Device's PR methods, for one-off use from a REPL or
 * a script: each takes a path (opened and closed around the one call) or an
 * already open Device (left open). One per row of scsi/pr-service-actions.ts.
 *
 *   > await pr.readKeys('/dev/sg3')
 *   { generation: 4, keys: [ 0x1, 0x2 ], … }
 */
import { Device, open, type CallOptions, type CallReport, type OpenOptions, type PrOutResult } from './device';
import type { PrInMethods, PrOutMethods, PrOutOptions } from './device-pr-methods';
import type { PrInMethod, PrInResult, PrOutMethod } from './scsi/pr-service-actions';

/** A device path or an open Device. */
export type PathOrDevice = string | Device;

/** Call options plus, for a path, the options `open` takes. */
export type OneShotOptions = CallOptions & { open?: OpenOptions };

/** A module-level PR IN function: `readKeys(target, options?)`. */
export type PrInFunction<M extends PrInMethod> = (target: PathOrDevice, options?: OneShotOptions) => Promise<PrInResult<M> & CallReport>;

/** A module-level PR OUT function: `register(target, options)`. */
export type PrOutFunction<M extends PrOutMethod> = (target: PathOrDevice, options: PrOutOptions<M> & { open?: OpenOptions }) => Promise<PrOutResult>;

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

/** `options` without `open`, and `open`. */
function splitOpen<T extends object>(options: T & { open?: OpenOptions }): [T, OpenOptions | undefined] {
  const rest = { ...options }; // (null from a plain-JS caller spreads to {})
  const openOptions = rest.open;
  delete rest.open;
  return [rest, openOptions];
}

function prInFunction<M extends PrInMethod>(method: M): PrInFunction<M> {
  return (target, options) => {
    const [call, openOptions] = splitOpen<CallOptions>(options ?? {});
    return withDevice(
      target,
      (d) => {
        const methods: PrInMethods = d;
        return methods[method](call);
      },
      openOptions,
    );
  };
}

function prOutFunction<M extends PrOutMethod>(method: M): PrOutFunction<M> {
  return (target, options) => {
    const [prOptions, openOptions] = splitOpen(options);
    return withDevice(
      target,
      (d) => {
        const methods: PrOutMethods = d;
        return methods[method](prOptions);
      },
      openOptions,
    );
  };
}

/** READ KEYS on a path or device (see `Device.readKeys`). */
export const readKeys: PrInFunction<'readKeys'> = prInFunction('readKeys');
/** READ RESERVATION on a path or device (see `Device.readReservation`). */
export const readReservation: PrInFunction<'readReservation'> = prInFunction('readReservation');
/** REPORT CAPABILITIES on a path or device (see `Device.reportCapabilities`). */
export const reportCapabilities: PrInFunction<'reportCapabilities'> = prInFunction('reportCapabilities');
/** READ FULL STATUS on a path or device (see `Device.readFullStatus`). */
export const readFullStatus: PrInFunction<'readFullStatus'> = prInFunction('readFullStatus');
/** REGISTER on a path or device (see `Device.register`). */
export const register: PrOutFunction<'register'> = prOutFunction('register');
/** REGISTER AND IGNORE EXISTING KEY on a path or device (see `Device.registerAndIgnoreExistingKey`). */
export const registerAndIgnoreExistingKey: PrOutFunction<'registerAndIgnoreExistingKey'> = prOutFunction('registerAndIgnoreExistingKey');
/** RESERVE on a path or device (see `Device.reserve`). */
export const reserve: PrOutFunction<'reserve'> = prOutFunction('reserve');
/** RELEASE on a path or device (see `Device.release`). */
export const release: PrOutFunction<'release'> = prOutFunction('release');
/** CLEAR on a path or device (see `Device.clear`). */
export const clear: PrOutFunction<'clear'> = prOutFunction('clear');
/** PREEMPT on a path or device (see `Device.preempt`). */
export const preempt: PrOutFunction<'preempt'> = prOutFunction('preempt');
/** PREEMPT AND ABORT on a path or device (see `Device.preemptAndAbort`). */
export const preemptAndAbort: PrOutFunction<'preemptAndAbort'> = prOutFunction('preemptAndAbort');
/** REGISTER AND MOVE on a path or device (see `Device.registerAndMove`). */
export const registerAndMove: PrOutFunction<'registerAndMove'> = prOutFunction('registerAndMove');
/** REPLACE LOST RESERVATION on a path or device (see `Device.replaceLostReservation`). */
export const replaceLostReservation: PrOutFunction<'replaceLostReservation'> = prOutFunction('replaceLostReservation');
