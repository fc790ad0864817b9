// @ts-check
'use strict';
/**
 * The NVMe lab's kernel: a Debian kernel new enough for nvmet reservations
 * (Linux 6.13) and the block layer's read ioctls IOC_PR_READ_KEYS /
 * IOC_PR_READ_RESERVATION (6.19), fetched by package name from Debian's
 * registry with a private apt configuration (own sources list and state under
 * .lab/nvme-kernel/apt; the host's dpkg database is never touched), extracted
 * with `dpkg -x`, indexed with `depmod -b`, plus a busybox initramfs that mounts
 * the host's root over virtio-9p and hands over to scripts/lab/guest-nvme-init.sh.
 *
 *   node scripts/lab/nvme-kernel.js    fetch (when missing) and print what the lab will boot
 *
 * The kernel, its modules and its initramfs are kept per version; which one the
 * lab boots is remembered per set of suites (current-<suites>.json).
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { PrereqError, LAB_DIR } = require('./prereqs');

const CACHE = path.join(LAB_DIR, 'nvme-kernel');
/**
 * Suites tried in order; the newest suitable kernel among them wins.
 * SCSI_PR_NVME_KERNEL_SUITES=sid (comma-separated) picks others, e.g. to boot
 * the 7.2 kernel whose nvmet keeps a preempted key (see README, NVMe).
 */
const SUITES_FROM_ENV = (process.env.SCSI_PR_NVME_KERNEL_SUITES ?? '').split(',').map((x) => x.trim()).filter(Boolean);
const SUITES = SUITES_FROM_ENV.length ? SUITES_FROM_ENV : ['sid', 'trixie-backports', 'forky'];
const MIRROR = process.env.SCSI_PR_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
/** nvmet reservations need 6.13; IOC_PR_READ_KEYS / IOC_PR_READ_RESERVATION need 6.19. */
const MIN_VERSION = [6, 19];
/** Modules the initramfs loads to mount the host root over virtio-9p (virtio_pci is built in). */
const INITRAMFS_MODULES = ['fs/netfs/netfs', 'net/9p/9pnet', 'net/9p/9pnet_virtio', 'fs/9p/9p'];

/**
 * @param {string} cmd @param {string[]} args @param {import('node:child_process').SpawnSyncOptions} [opts]
 * @returns {string} stdout
 */
function must(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) {
    throw new PrereqError(`NVMe lab kernel: \`${cmd} ${args.join(' ')}\` failed (exit ${r.status ?? r.signal}):\n${String(r.stderr ?? r.error ?? '').trim().split('\n').slice(-8).join('\n')}`);
  }
  return String(r.stdout);
}

/** '7.2.13+deb14' -> [7, 2, 13]. @param {string} v */
function versionParts(v) {
  return (/^(\d+)\.(\d+)(?:\.(\d+))?/.exec(v) ?? []).slice(1).map((x) => Number(x ?? 0));
}

/** @param {number[]} a @param {number[]} b */
function compareVersions(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** apt options of the private configuration (one per suite). @param {string} suite */
function aptOptions(suite) {
  const dir = path.join(CACHE, 'apt', suite);
  for (const d of ['lists/partial', 'cache/archives/partial', 'etc']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  const list = path.join(dir, 'etc', 'sources.list');
  fs.writeFileSync(list, `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${MIRROR} ${suite} main\n`);
  return [
    '-o', `Dir::Etc::SourceList=${list}`, '-o', 'Dir::Etc::SourceParts=/nonexistent',
    '-o', `Dir::State::Lists=${path.join(dir, 'lists')}`, '-o', `Dir::Cache=${path.join(dir, 'cache')}`,
    '-o', 'Dir::State::Status=/dev/null', '-o', 'APT::Architecture=amd64', '-o', 'Debug::NoLocking=1',
  ];
}

/**
 * The newest `linux-binary-<ver>-amd64` with its `linux-modules-<ver>-amd64`
 * among SUITES, at least MIN_VERSION.
 * @returns {{ version: string, suite: string, opts: string[] }}
 */
function findKernelPackage() {
  /** @type {{ version: string, suite: string, opts: string[] } | undefined} */
  let best;
  const seen = [];
  for (const suite of SUITES) {
    const opts = aptOptions(suite);
    const upd = spawnSync('apt-get', [...opts, 'update', '-qq'], { encoding: 'utf8' });
    if (upd.status !== 0) { seen.push(`${suite}: apt-get update failed`); continue; }
    const names = new Set(must('apt-cache', [...opts, 'pkgnames', 'linux-']).split('\n'));
    for (const n of names) {
      const m = /^linux-binary-(\d+\.\d+[^-]*)-amd64$/.exec(n);
      if (!m || !names.has(`linux-modules-${m[1]}-amd64`)) continue;
      seen.push(`${suite}: ${m[1]}`);
      if (compareVersions(versionParts(m[1]), MIN_VERSION) < 0) continue;
      if (!best || compareVersions(versionParts(m[1]), versionParts(best.version)) > 0) best = { version: m[1], suite, opts };
    }
  }
  if (!best) {
    throw new PrereqError(`the NVMe lab needs a Debian kernel >= ${MIN_VERSION.join('.')} (nvmet reservations, IOC_PR_READ_KEYS); ` +
      `none is reachable in ${SUITES.join(', ')} at ${MIRROR}. Found: ${seen.join('; ') || 'nothing'}`);
  }
  return best;
}

/**
 * Fetch and prepare the kernel when the cache has none; returns what the lab boots.
 * @param {{ quiet?: boolean }} [o]
 * @returns {{ version: string, vmlinuz: string, modules: string, initrd: string }}
 */
function ensureNvmeKernel(o = {}) {
  const stamp = path.join(CACHE, `current-${SUITES.join('+')}.json`);
  const initSrc = path.join(__dirname, 'nvme-initramfs-init.sh');
  if (fs.existsSync(stamp)) {
    const k = JSON.parse(fs.readFileSync(stamp, 'utf8'));
    if (fs.existsSync(k.vmlinuz) && fs.existsSync(k.initrd) && fs.statSync(k.initrd).mtimeMs >= fs.statSync(initSrc).mtimeMs) return k;
  }
  const { version, suite, opts } = findKernelPackage();
  if (!o.quiet) console.error(`lab: NVMe lab kernel ${version} from Debian ${suite}: fetching …`);
  const root = path.join(CACHE, version);
  const debs = path.join(CACHE, 'debs');
  fs.mkdirSync(debs, { recursive: true });
  if (!fs.existsSync(path.join(root, 'usr', 'lib', 'modules', `${version}-amd64`, 'vmlinuz'))) {
    for (const f of fs.readdirSync(debs)) fs.rmSync(path.join(debs, f));
    must('apt-get', [...opts, 'download', `linux-binary-${version}-amd64`, `linux-modules-${version}-amd64`], { cwd: debs });
    fs.rmSync(root, { recursive: true, force: true });
    for (const f of fs.readdirSync(debs).filter((f) => f.endsWith('.deb'))) must('dpkg', ['-x', path.join(debs, f), root]);
    for (const f of fs.readdirSync(debs)) fs.rmSync(path.join(debs, f));
  }
  const kver = `${version}-amd64`;
  const modules = path.join(root, 'usr', 'lib', 'modules', kver);
  must('depmod', ['-b', path.join(root, 'usr'), kver]);
  const initrd = buildInitramfs(modules, initSrc, path.join(root, 'initrd.gz'));
  const k = { version: kver, vmlinuz: path.join(modules, 'vmlinuz'), modules, initrd };
  fs.writeFileSync(stamp, JSON.stringify(k, null, 2) + '\n');
  if (!o.quiet) console.error(`lab: NVMe lab kernel ${kver} ready (${path.relative(process.cwd(), root)})`);
  return k;
}

/**
 * A gzip'd newc cpio: static busybox, the 9p modules (decompressed: busybox
 * insmod does not read .ko.xz) and nvme-initramfs-init.sh as /init.
 * @param {string} modules @param {string} initSrc @param {string} out
 */
function buildInitramfs(modules, initSrc, out) {
  const dir = path.join(CACHE, 'initramfs');
  fs.rmSync(dir, { recursive: true, force: true });
  for (const d of ['bin', 'mods', 'newroot', 'proc', 'sys', 'dev']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(dir, 'bin', 'busybox'));
  fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
  for (const m of INITRAMFS_MODULES) {
    const ko = path.join(dir, 'mods', `${path.basename(m)}.ko`);
    must('sh', ['-c', `xz -dc ${JSON.stringify(path.join(modules, 'kernel', `${m}.ko.xz`))} > ${JSON.stringify(ko)}`]);
  }
  fs.copyFileSync(initSrc, path.join(dir, 'init'));
  fs.chmodSync(path.join(dir, 'init'), 0o755);
  must('sh', ['-c', `find . | cpio -o -H newc --quiet | gzip -1 > ${JSON.stringify(out)}`], { cwd: dir });
  return out;
}

module.exports = { ensureNvmeKernel, compareVersions, versionParts, MIN_VERSION };

if (require.main === module) {
  try {
    const k = ensureNvmeKernel();
    console.log(JSON.stringify(k, null, 2));
  } catch (e) {
    console.error(`nvme-kernel: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  }
}
