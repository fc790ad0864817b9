/** The error `fn` throws; fails the test when it returns instead. */
export function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

/** The error `p` rejects with; fails the test when it resolves instead. */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string } & Record<string, unknown>> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string } & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}
