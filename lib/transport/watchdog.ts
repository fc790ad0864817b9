/**
 * One coarse, shared watchdog for commands the kernel never hands back.
 *
 * The kernel enforces each command's timeout itself (sg_io_hdr.timeout); this is
 * only the safety net behind it. It deliberately avoids per-command timers:
 * arming a Node timer reads the clock, and on some systems (UML, no vDSO) every
 * clock read is a system call that costs as much as the SCSI command. Instead a
 * single unref'd ticker advances a counter once per second while anything is
 * watched, and entries expire when the counter passes their deadline; the
 * watchdog therefore fires between timeout+grace and timeout+grace+2 s
 * (never early).
 */
const TICK_MS = 1000;

interface Entry {
  deadlineTick: number;
  onExpire: () => void;
}

let tick = 0;
let ticker: NodeJS.Timeout | undefined;
const entries = new Set<Entry>();

function onTick(): void {
  tick++;
  for (const e of entries) {
    if (e.deadlineTick <= tick) {
      entries.delete(e);
      e.onExpire();
    }
  }
  if (entries.size === 0 && ticker) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

/** Call `onExpire` if not cancelled within `ms` (it fires after `ms` and before `ms` + 2 s). Returns the cancel function. */
export function watch(ms: number, onExpire: () => void): () => void {
  const entry: Entry = { deadlineTick: tick + Math.ceil(ms / TICK_MS) + 1, onExpire };
  entries.add(entry);
  if (!ticker) {
    ticker = setInterval(onTick, TICK_MS);
    ticker.unref();
  }
  return () => {
    entries.delete(entry);
  };
}
