// @ts-check
'use strict';
/**
 * Child process of faults.test.ts ("more paths than the process may open"): run
 * under `prlimit --nofile=N:N`, it fences over the device paths given in argv
 * with the compiled library (dist/), and prints one JSON line: the report's
 * summary or the error thrown, and its own open fds (/proc/self/fd) before and
 * after. It exits 0 unless something outside fence() failed: a crash shows as a
 * signal or another status.
 *
 *   node fd-limit-child.js <key> <victimKey> <timeoutMs> <retriesUA> <device>...
 */
const fs = require('node:fs');
const path = require('node:path');
const { fence } = require(path.join(__dirname, '..', '..', 'dist'));

const fds = () => fs.readdirSync('/proc/self/fd').length;

async function main() {
  const [key, victimKey, timeoutMs, ua, ...devices] = process.argv.slice(2);
  const before = fds();
  /** @type {Record<string, unknown>} */
  const out = { fdsBefore: before, paths: devices.length };
  try {
    const r = await fence({ devices, key, victimKey, timeoutMs: Number(timeoutMs), open: { retries: { unitAttention: Number(ua) } } });
    out.report = { ok: r.ok, lost: r.lost, fenced: r.fenced, notFenced: r.notFenced, devices: r.devices.map((d) => ({ device: d.device, outcome: d.outcome, ok: d.ok, error: d.error && { code: /** @type {any} */ (d.error).code, message: d.error.message } })) };
  } catch (e) {
    const err = /** @type {any} */ (e);
    out.error = { name: err?.constructor?.name, code: err?.code, message: err?.message };
  }
  out.fdsAfter = fds();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`fd-limit-child: ${e && e.stack ? e.stack : e}\n`);
  process.exit(3);
});
