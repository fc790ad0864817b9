#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Runs the lab suites of `npm test` in lanes: the scripts of one lane run one
 * after another, the lanes run at the same time. Each lab script boots its own
 * User-Mode Linux guest (its own kernel, network stack and iSCSI target), so two
 * lanes share nothing but the host's CPUs; a UML guest is a single virtual CPU,
 * so on a 2-core machine two lanes take about as long as the longer one.
 *
 *   node scripts/run-labs.js 'test:lab' 'test:lab-tgt,test:lab-faults'
 *
 * Every argument is a lane: npm script names separated by commas. A failing script
 * does not stop its lane: every script runs, so one red run shows every failure
 * (a green run takes as long anyway). Each line of output
 * is prefixed with its script's name. Exit status 0 only when every script passed.
 * SCSI_PR_LABS_SERIAL=1 runs the lanes one after another instead (a machine with
 * one core, or to read a log without interleaving).
 */
const { spawn } = require('node:child_process');

/**
 * @param {string} script
 * @returns {Promise<{script: string, status: number, ms: number}>}
 */
function runScript(script) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn('npm', ['run', '--silent', script], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    const prefix = `[${script}] `;
    for (const [from, to] of /** @type {const} */ ([[child.stdout, process.stdout], [child.stderr, process.stderr]])) {
      let rest = '';
      from.setEncoding('utf8');
      from.on('data', (/** @type {string} */ chunk) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        if (lines.length) to.write(lines.map((l) => prefix + l).join('\n') + '\n');
      });
      from.on('end', () => {
        if (rest) to.write(prefix + rest + '\n');
      });
    }
    child.on('error', (e) => {
      process.stderr.write(`${prefix}cannot start npm: ${e.message}\n`);
      resolve({ script, status: 127, ms: Date.now() - started });
    });
    child.on('close', (code, signal) => resolve({ script, status: code ?? (signal ? 128 : 1), ms: Date.now() - started }));
  });
}

/**
 * @param {string[]} lane
 * @returns {Promise<Array<{script: string, status: number, ms: number}>>}
 */
async function runLane(lane) {
  const results = [];
  for (const script of lane) {
    const r = await runScript(script);
    results.push(r);
  }
  return results;
}

async function main() {
  const lanes = process.argv.slice(2).map((a) => a.split(',').map((s) => s.trim()).filter(Boolean));
  if (lanes.length === 0 || lanes.some((l) => l.length === 0)) {
    console.error('usage: node scripts/run-labs.js <script[,script...]> [<script[,script...]> ...]');
    process.exit(2);
  }
  const started = Date.now();
  /** @type {Array<Array<{script: string, status: number, ms: number}>>} */
  let results;
  if (process.env.SCSI_PR_LABS_SERIAL === '1') {
    results = [];
    for (const lane of lanes) results.push(await runLane(lane));
  } else {
    results = await Promise.all(lanes.map(runLane));
  }
  console.log(`\nrun-labs: ${lanes.length} lane(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  let ok = true;
  lanes.forEach((lane, i) => {
    const done = results[i];
    const parts = lane.map((script) => {
      const r = done.find((x) => x.script === script);
      if (!r) return `${script} not run`;
      if (r.status !== 0) ok = false;
      return `${script} ${r.status === 0 ? 'passed' : `FAILED (exit ${r.status})`} in ${(r.ms / 1000).toFixed(1)} s`;
    });
    console.log(`  lane ${i + 1}: ${parts.join(' -> ')}`);
  });
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
