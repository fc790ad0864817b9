/**
 * One 'abort' listener per AbortSignal, whatever the number of calls waiting on
 * it: a single deadline signal shared by a whole fence (hundreds of commands)
 * must not trip Node's MaxListenersExceededWarning.
 */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/** Call `onAbort` once when `signal` aborts; returns the function that stops listening. */
export function onAbort(signal: AbortSignal, onAbort: () => void): () => void {
  let set = waiting.get(signal);
  if (!set) {
    const callbacks = new Set<() => void>();
    set = callbacks;
    waiting.set(signal, callbacks);
    signal.addEventListener(
      'abort',
      () => {
        waiting.delete(signal);
        for (const cb of [...callbacks]) cb();
      },
      { once: true },
    );
  }
  set.add(onAbort);
  const own = set;
  return () => {
    own.delete(onAbort);
  };
}
