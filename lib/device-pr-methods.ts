/**
 * The `Device` PR methods as the service-action table names them, for code that
 * runs an action chosen at run time (the module-level functions of pr-api.ts,
 * the scsi-pr CLI): their types, and the check that turns an options object
 * built at run time into a method's options.
 *
 * `PrOutOptions<M>` indexes `Device` by the table's method names, so a row
 * without its `Device` method does not compile.
 */
import type { Device } from './device';
import type { CallOptions } from './device-options';
import type { CallReport, PrOutResult } from './device-results';
import { prOutRequest } from './scsi/pr-out-requests';
import type { PrInMethod, PrInResult, PrOutMethod } from './scsi/pr-service-actions';

/** The options of PR OUT method `M`, e.g. `RegisterOptions & CallOptions` for `'register'`. */
export type PrOutOptions<M extends PrOutMethod> = Parameters<Device[M]>[0];

/** A Device's PR IN methods, by name (`const m: PrInMethods = device; m[method]()`). */
export type PrInMethods = { readonly [M in PrInMethod]: (options?: CallOptions) => Promise<PrInResult<M> & CallReport> };

/** A Device's PR OUT methods, by name (`const m: PrOutMethods = device; m[method](options)`). */
export type PrOutMethods = { readonly [M in PrOutMethod]: (options: PrOutOptions<M>) => Promise<PrOutResult> };

/**
 * Checks `options` completely (names, values, combinations) as PR OUT method
 * `method` will, without any I/O; `api` starts the messages (default `method`).
 *
 * @throws ArgumentTypeError / ArgumentRangeError, as the method would.
 */
export function assertPrOutOptions<M extends PrOutMethod>(method: M, options: object, api?: string): asserts options is PrOutOptions<M> {
  prOutRequest(method, options, api);
}
