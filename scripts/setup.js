#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * One-shot set-up for a fresh Debian 12 machine: the lab's Debian packages,
 * npm dependencies (when node_modules is missing or stale) and the UML shim.
 * Used by `npm test` and `npm run demo`; safe to run again.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ensureLabPrereqs, PrereqError, ROOT } = require('./lab/prereqs');

function npmDepsStale() {
  const stamp = path.join(ROOT, 'node_modules', '.package-lock.json');
  if (!fs.existsSync(stamp)) return true;
  const lock = path.join(ROOT, 'package-lock.json');
  return fs.existsSync(lock) && fs.statSync(lock).mtimeMs > fs.statSync(stamp).mtimeMs;
}

try {
  ensureLabPrereqs();
  if (npmDepsStale()) {
    console.error('setup: installing npm dependencies …');
    // `npm install` follows package-lock.json. (`npm ci` is not used: npm 11 writes locks
    // without other platforms' optional packages and then refuses them in `npm ci`.)
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new PrereqError(`npm install failed (exit ${r.status})`);
  }
} catch (e) {
  console.error(`setup: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
