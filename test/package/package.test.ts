/**
 * The package as a user gets it: `npm pack` (its prepack step builds dist/ and
 * the prebuilt addon), then an install of the tarball into an empty consumer
 * project with no compiler, make or python on PATH and no network (npm
 * --offline: the dependencies come from npm's cache). From that project:
 * require, ESM import, a strict TypeScript check (node16 and bundler
 * resolution), both CLIs through npx, and one real PR IN/OUT exchange with a
 * lab LUN through the installed copy.
 *
 * Runs on the host (it boots a 1 x 1 lab itself): `npm run test:package`.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type RunResult } from '../lab/lab-env';

const ROOT = resolve(__dirname, '..', '..');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };
/** Names the README documents; each must come through require and import alike. */
const DOCUMENTED = [
  'open',
  'Device',
  'readKeys',
  'readReservation',
  'readFullStatus',
  'reportCapabilities',
  'register',
  'registerAndIgnoreExistingKey',
  'reserve',
  'release',
  'clear',
  'preempt',
  'preemptAndAbort',
  'registerAndMove',
  'replaceLostReservation',
  'fence',
  'unfence',
  'status',
  'serviceStart',
  'serviceStop',
  'serviceStatus',
  'sharedVolumeGroupDevices',
  'ErrorCodes',
  'ScsiPrError',
  'ReservationConflictError',
  'parseTransportId',
  'formatTransportId',
];
/** What the consumer's tools may be: the install must not find anything that compiles. */
const COMPILERS = ['g++', 'gcc', 'cc', 'c++', 'make', 'python3', 'python'];

let dir: string;
let consumer: string;
let env: NodeJS.ProcessEnv;
let tarball: { files: Array<{ path: string; size: number }>; bytes: number };
let install: RunResult;

function ok(r: RunResult, what: string): RunResult {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** A PATH with node, npm, npx and sh (which npm runs scripts with) only. */
function toolbin(at: string): string {
  mkdirSync(at);
  symlinkSync(process.execPath, join(at, 'node'));
  symlinkSync('/bin/sh', join(at, 'sh'));
  const npmCli = process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath) ? process.env.npm_execpath : join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  for (const [name, script] of [
    ['npm', npmCli],
    ['npx', join(dirname(npmCli), 'npx-cli.js')],
  ]) {
    if (!existsSync(script)) throw new Error(`cannot find ${script} (npm's own scripts)`);
    writeFileSync(join(at, name), `#!/bin/sh\nexec "${process.execPath}" "${script}" "$@"\n`);
    chmodSync(join(at, name), 0o755);
  }
  return at;
}

beforeAll(async () => {
  mkdirSync(join(ROOT, '.lab'), { recursive: true });
  // Under the repository: the lab guest sees the host's filesystem there.
  dir = mkdtempSync(join(ROOT, '.lab', 'package-'));
  const packed = join(dir, 'packed');
  mkdirSync(packed);
  // With its lifecycle scripts: prepack must produce what is shipped.
  ok(await run('npm', ['pack', '--pack-destination', packed], { cwd: ROOT, timeoutMs: 600_000 }), 'npm pack');
  const tgz = readdirSync(packed).find((f) => f.startsWith(`${PKG.name}-`) && f.endsWith('.tgz'));
  if (!tgz) throw new Error('npm pack made no tarball');
  const listing = ok(await run('tar', ['-tzvf', join(packed, tgz)]), 'tar -t').stdout;
  const files = listing
    .trim()
    .split('\n')
    .map((line) => {
      const f = line.trim().split(/\s+/);
      return { path: f[f.length - 1]!.replace(/^package\//, ''), size: Number(f[2]) };
    });
  tarball = { files, bytes: readFileSync(join(packed, tgz)).length };

  consumer = join(dir, 'consumer');
  mkdirSync(consumer);
  // npm >= 11 skips dependencies' install scripts unless the project allows them: allow ours, so
  // node-gyp-build runs as it does for a user who approved it, and would compile without a usable prebuild.
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, allowScripts: { [PKG.name]: true } }, null, 2));
  env = { PATH: toolbin(join(dir, 'bin')), HOME: process.env.HOME, LANG: 'C.UTF-8', npm_config_update_notifier: 'false' };
  // The dependencies come from this checkout's node_modules, packed as the registry would serve
  // them, so that the install needs no network at all (--offline).
  const deps: string[] = [];
  for (const dep of Object.keys(PKG.dependencies)) {
    const r = ok(await run('npm', ['pack', '--pack-destination', packed, '--ignore-scripts', join(ROOT, 'node_modules', dep)], { cwd: packed }), `npm pack ${dep}`);
    deps.push(join(packed, r.stdout.trim().split('\n').pop()!));
  }
  install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--foreground-scripts', join(packed, tgz), ...deps], { cwd: consumer, env, timeoutMs: 300_000 });
});

afterAll(() => {
  if (dir && process.env.SCSI_PR_KEEP_PACKAGE_TEST !== '1') rmSync(dir, { recursive: true, force: true });
});

describe('the tarball', () => {
  it('holds the library, both CLIs, their types, the native sources, the prebuilt addon and the docs', () => {
    const paths = tarball.files.map((f) => f.path);
    console.log(`tarball: ${paths.length} files, ${tarball.bytes} bytes packed, ${tarball.files.reduce((n, f) => n + f.size, 0)} bytes unpacked`);
    for (const p of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/scsi-pr.js', 'dist/cli/fence-scsi-pr.js', 'binding.gyp', 'native/addon.cc']) {
      expect(paths, p).toContain(p);
    }
    expect(paths.filter((p) => /^prebuilds\/linux-x64\/[^/]+\.node$/.test(p)), 'a linux-x64 prebuild').toHaveLength(1);
  });

  it('holds no lab, benchmark, sanitizer, test or build files', () => {
    const stray = tarball.files.map((f) => f.path).filter((p) => /^(scripts|test|docs|build|\.lab|lib)\//.test(p) || /(^CMakeLists\.txt|\.map|\.c|tsconfig\.json|vitest\.config\.ts|typedoc\.json)$/.test(p));
    expect(stray).toEqual([]);
  });
});

describe('installed with no compiler and no network', () => {
  it('the consumer PATH really has no compiler, make or python', async () => {
    for (const tool of COMPILERS) {
      const r = await run('/bin/sh', ['-c', `command -v ${tool}`], { env });
      expect(r.status, `${tool} found at ${r.stdout}`).not.toBe(0);
    }
  });

  it('npm install succeeds without compiling: the install script finds the prebuilt addon', () => {
    expect(install.status, `${install.stdout}\n${install.stderr}`).toBe(0);
    expect(install.stdout, 'the install script (node-gyp-build) did not run').toMatch(/> node-gyp-build/);
    expect(existsSync(join(consumer, 'node_modules', PKG.name, 'build')), 'a build/ directory: the install compiled').toBe(false);
    expect(`${install.stdout}\n${install.stderr}`).not.toMatch(/gyp (info|ERR)|node-gyp rebuild|g\+\+|make: /);
  });

  it('require() gives every documented name, loads the addon from prebuilds/, and nothing internal is importable', async () => {
    writeFileSync(
      join(consumer, 'check.cjs'),
      `const pr = require('scsi-pr');
const path = require('node:path');
let internal = 'importable';
try { require('scsi-pr/dist/device'); } catch (e) { internal = e.code; }
const addon = require('node-gyp-build').path(path.dirname(require.resolve('scsi-pr/package.json')));
console.log(JSON.stringify({ names: Object.keys(pr), addon, internal, deviceIsClass: typeof pr.Device === 'function' }));
`,
    );
    const out = JSON.parse(ok(await run('node', ['check.cjs'], { cwd: consumer, env }), 'node check.cjs').stdout) as { names: string[]; addon: string; internal: string; deviceIsClass: boolean };
    for (const name of DOCUMENTED) expect(out.names, name).toContain(name);
    expect(out.addon).toMatch(new RegExp(`/consumer/node_modules/${PKG.name}/prebuilds/linux-x64/[^/]+\\.node$`));
    expect(out.internal).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    expect(out.deviceIsClass).toBe(true);
  });

  it('import gives the same names as require', async () => {
    writeFileSync(
      join(consumer, 'check.mjs'),
      `import * as pr from 'scsi-pr';
import { open, fence, ErrorCodes } from 'scsi-pr';
import { createRequire } from 'node:module';
const cjs = Object.keys(createRequire(import.meta.url)('scsi-pr'));
const esm = Object.keys(pr).filter((k) => k !== 'default' && k !== 'module.exports' && k !== '__esModule');
console.log(JSON.stringify({ cjs, esm, named: [typeof open, typeof fence, typeof ErrorCodes] }));
`,
    );
    const out = JSON.parse(ok(await run('node', ['check.mjs'], { cwd: consumer, env }), 'node check.mjs').stdout) as { cjs: string[]; esm: string[]; named: string[] };
    expect([...out.esm].sort()).toEqual([...out.cjs].sort());
    expect(out.named).toEqual(['function', 'function', 'object']);
  });

  it('the types compile under tsc --strict with node16 and bundler resolution (and reject a misspelt error code)', async () => {
    const app = `import { open, fence, ReservationConflictError, type ErrorCode, type FenceReport, type Device } from 'scsi-pr';

export async function keysOf(path: string): Promise<bigint[]> {
  const dev: Device = await open(path, { timeoutMs: 5000 });
  try {
    return (await dev.readKeys()).keys;
  } finally {
    await dev.close();
  }
}

export async function fenceNode(devices: string[]): Promise<FenceReport> {
  return fence({ devices, key: 0x1n, victimKey: 0x2n });
}

export function isConflict(e: unknown): boolean {
  const code: ErrorCode = 'ERR_RESERVATION_CONFLICT';
  return e instanceof ReservationConflictError && e.code === code;
}

// @ts-expect-error a misspelt code is not an ErrorCode
export const misspelt: ErrorCode = 'ERR_RESERVATION_CONFLIKT';
`;
    writeFileSync(join(consumer, 'app.ts'), app);
    writeFileSync(join(consumer, 'app-esm.mts'), app);
    const base = { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', lib: ['ES2022'], types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] };
    const configs = {
      'tsconfig.node16.json': { compilerOptions: { ...base, module: 'node16', moduleResolution: 'node16' }, files: ['app.ts', 'app-esm.mts'] },
      'tsconfig.bundler.json': { compilerOptions: { ...base, module: 'esnext', moduleResolution: 'bundler' }, files: ['app.ts'] },
    };
    for (const [name, config] of Object.entries(configs)) {
      writeFileSync(join(consumer, name), JSON.stringify(config, null, 2));
      const r = await run('node', [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', name], { cwd: consumer, env, timeoutMs: 120_000 });
      expect(r.status, `${name}:\n${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it('npx scsi-pr --help and npx fence_scsi_pr -o metadata run from the installed copy', async () => {
    const help = ok(await run('npx', ['--offline', 'scsi-pr', '--help'], { cwd: consumer, env }), 'npx scsi-pr --help');
    expect(help.stdout).toMatch(/^Usage: scsi-pr /);
    const meta = ok(await run('npx', ['--offline', 'fence_scsi_pr', '-o', 'metadata'], { cwd: consumer, env }), 'npx fence_scsi_pr -o metadata');
    expect(meta.stdout).toContain('<resource-agent name="fence_scsi_pr"');
  });

  it('talks to a real LUN: REGISTER and READ KEYS through the installed copy agree with sg_persist', async () => {
    const out = join(dir, 'lab.json');
    writeFileSync(
      join(consumer, 'pr-in.cjs'),
      `const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const pr = require('scsi-pr');
(async () => {
  const sg = JSON.parse(fs.readFileSync(process.env.SCSI_PR_LAB_MAP, 'utf8')).nodes[0].luns[0].sg;
  await pr.register(sg, { newKey: 0x5ca1ab1en });
  const keys = await pr.readKeys(sg);
  const sgPersist = spawnSync('sg_persist', ['-n', '-k', sg], { encoding: 'utf8' });
  const addon = require('node-gyp-build').path(path.dirname(require.resolve('scsi-pr/package.json')));
  fs.writeFileSync(process.env.OUT, JSON.stringify({ keys: keys.keys.map(String), generation: keys.generation, sgPersist: sgPersist.stdout, addon }));
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    const r = await run(process.execPath, [join(ROOT, 'scripts', 'lab.js'), 'run', '--nodes', '1', '--luns', '1', '--timeout', '300', '--env', `OUT=${out}`, '--', process.execPath, join(consumer, 'pr-in.cjs')], { timeoutMs: 400_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const got = JSON.parse(readFileSync(out, 'utf8')) as { keys: string[]; generation: number; sgPersist: string; addon: string };
    expect(got.keys).toEqual([String(0x5ca1ab1e)]);
    expect(got.generation).toBeGreaterThan(0);
    expect(got.sgPersist).toMatch(/^\s+0x5ca1ab1e\s*$/m);
    expect(got.addon).toContain('/consumer/node_modules/scsi-pr/prebuilds/linux-x64/');
  });
});
