/** Event-loop turns (the fake SAN's unit of delay) and a seeded random source. */

/** Resolve after `n` event-loop turns (setImmediate hops); never reads the clock. */
export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The promise's outcome without throwing: `{ value }` or `{ error }`. */
export async function settle<T>(p: Promise<T>): Promise<{ value: T; error?: undefined } | { value?: undefined; error: Error & { code?: string } }> {
  try {
    return { value: await p };
  } catch (e) {
    return { error: e as Error & { code?: string } };
  }
}
