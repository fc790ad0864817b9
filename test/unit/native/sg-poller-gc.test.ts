/**
 * A closed sg channel must be garbage-collectable: the addon's SgPoller holds its
 * callback through a strong reference, and the callback's closure holds the
 * SgAsyncChannel that holds the poller. If close() kept that reference, every
 * Device ever opened and closed would stay in memory until exit (found by the
 * lab soak). Runs on the host with the real addon: a FIFO opened O_RDWR stands in
 * for the sg fd (it is pollable; nothing is written to it here).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../../lib/transport/native';
import { SgAsyncChannel } from '../../../lib/transport/sg-async-channel';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const dir = mkdtempSync(join(tmpdir(), 'scsi-pr-gc-'));
const fifo = join(dir, 'fd');
execFileSync('mkfifo', [fifo]);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Opens and closes `n` channels, registering each with `registry`; returns nothing that refers to them. */
function openAndClose(n: number, registry: FinalizationRegistry<number>): void {
  const native = loadNative();
  for (let i = 0; i < n; i++) {
    const fd = native.openDevice(fifo, true);
    const ch = new SgAsyncChannel(native, fd, fifo);
    registry.register(ch, i);
    ch.close();
  }
}

describe('SgPoller and SgAsyncChannel after close', () => {
  it('closed channels are garbage-collected (their poller lets go of the callback)', async () => {
    let collected = 0;
    const registry = new FinalizationRegistry<number>(() => collected++);
    openAndClose(50, registry);
    for (let round = 0; round < 20 && collected < 50; round++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(collected, 'channels collected of 50 opened and closed').toBe(50);
  });
});
