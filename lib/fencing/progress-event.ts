/** The multi-device operations that report progress. */
export type ProgressOperation = 'fence' | 'unfence' | 'status' | 'service-start' | 'service-stop' | 'service-status';

/**
 * Progress of a multi-device operation ({@link ProgressOperation}): one event
 * each time a logical unit finishes a phase. `fence` has four phases, in this
 * order per LU: `'check'` (every LU but the first in WWN order, whose preempt
 * goes out unchecked), `'arbiter'` (only the LUs tried as arbiter),
 * `'preempt'` (the fan-out), `'verify'`; every other operation has one,
 * named like the operation (`unfence` → `'unfence'`, `service-stop` →
 * `'service-stop'`).
 */
export interface ProgressEvent {
  /** The operation reporting. */
  operation: ProgressOperation;
  /** The phase the LU just finished. */
  phase: 'check' | 'arbiter' | 'preempt' | 'verify' | Exclude<ProgressOperation, 'fence'>;
  /** The LU's name: the first device name the caller gave for it. */
  device: string;
  /** LUs that finished this phase so far, this one included. */
  done: number;
  /** LUs in the operation. */
  total: number;
  /** The LU came through this phase without an error. */
  ok: boolean;
}
