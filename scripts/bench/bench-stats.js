// @ts-check
'use strict';
/**
 * Shared by the benchmarks: the C reference programs (compiled on demand), medians
 * with their spread, command-line options, and JSON output (`--json FILE`, plus a copy in the lab run directory when inside the
 * lab) so runs can be tracked and plotted.
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * The C reference program scripts/bench/NAME.c, compiled into .lab/NAME when missing
 * or older than its source. Returns its path.
 * @param {string} name
 */
function cProgram(name) {
  const out = path.join(ROOT, '.lab', name);
  const src = path.join(__dirname, `${name}.c`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs) execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', out, src]);
  return out;
}

/** The median (the upper one for an even count). @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median, min and max of `xs`. @param {number[]} xs */
const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length });

/** The value after `flag` on the command line, if any. @param {string} flag */
function argValue(flag) {
  const i = process.argv.indexOf(flag);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : undefined;
}

/**
 * Write `result` as JSON to `--json FILE` (or the older `--out FILE`) and, inside the
 * lab, to $SCSI_PR_LAB_RUN/`name`. Returns the text.
 * @param {string} name @param {unknown} result
 */
function writeJson(name, result) {
  const json = JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2) + '\n';
  if (process.env.SCSI_PR_LAB_RUN) fs.writeFileSync(path.join(process.env.SCSI_PR_LAB_RUN, name), json);
  const out = argValue('--json') ?? argValue('--out');
  if (out) fs.writeFileSync(out, json);
  return json;
}

module.exports = { cProgram, median, spread, argValue, writeJson };
