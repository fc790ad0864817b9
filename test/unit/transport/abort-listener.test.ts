/** onAbort(): one 'abort' listener per signal whatever the number of waiters; each waiter called once unless it stopped. */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onAbort } from '../../../lib/transport/abort-listener';

describe('onAbort', () => {
  it('adds a single listener to the signal for any number of waiters', () => {
    const ac = new AbortController();
    for (let i = 0; i < 500; i++) onAbort(ac.signal, () => undefined);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
  });

  it('calls every waiter once on abort, except those that stopped listening', () => {
    const ac = new AbortController();
    const calls: number[] = [];
    const stops = [0, 1, 2, 3].map((i) => onAbort(ac.signal, () => calls.push(i)));
    stops[2]();
    ac.abort();
    ac.abort();
    expect(calls).toEqual([0, 1, 3]);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('keeps signals apart', () => {
    const [x, y] = [new AbortController(), new AbortController()];
    const calls: string[] = [];
    onAbort(x.signal, () => calls.push('x'));
    onAbort(y.signal, () => calls.push('y'));
    y.abort();
    expect(calls).toEqual(['y']);
  });

  it('lets a waiter stop listening from inside another waiter’s callback', () => {
    const ac = new AbortController();
    const calls: string[] = [];
    let stopSecond = () => {};
    onAbort(ac.signal, () => {
      calls.push('first');
      stopSecond();
    });
    stopSecond = onAbort(ac.signal, () => calls.push('second'));
    ac.abort();
    expect(calls).toEqual(['first', 'second']); // the set was copied before the callbacks ran
  });
});
