// @ts-check
'use strict';
/**
 * Host prerequisites of the SAN lab: Debian packages, the UML xstate shim.
 * Installs what is missing when it can (root + apt-get), otherwise throws with
 * the exact command to run.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const LAB_DIR = path.join(ROOT, '.lab');

/** Debian package -> a file that proves it is installed. */
const PACKAGES = {
  'user-mode-linux': '/usr/bin/linux.uml',
  'open-iscsi': '/usr/sbin/iscsiadm',
  'sg3-utils': '/usr/bin/sg_persist',
  iproute2: '/usr/sbin/tc',
  // `npm run bench:syscalls` counts system calls per command in the guest
  strace: '/usr/bin/strace',
  kmod: '/usr/sbin/modprobe',
  gcc: '/usr/bin/gcc',
  // LVM shared VGs for the service tests (lvmlockd in test mode inside the guest)
  lvm2: '/usr/sbin/lvm',
  dmsetup: '/usr/sbin/dmsetup', // dm maps in the bad-input, service and NVMe block-PR tests (lvm2 pulls it in too)
  'lvm2-lockd': '/usr/sbin/lvmlockd',
  // A real cluster manager driving fence_scsi_pr (test/lab/pacemaker.test.ts, scripts/lab/guest-pacemaker.sh)
  corosync: '/usr/sbin/corosync',
  pacemaker: '/usr/sbin/pacemakerd',
  'pacemaker-cli-utils': '/usr/sbin/stonith_admin',
  'pacemaker-resource-agents': '/usr/lib/ocf/resource.d/pacemaker/Dummy',
  pcs: '/usr/sbin/pcs',
  // The second target implementation (`--target tgt`): Debian's user-space iSCSI target
  tgt: '/usr/sbin/tgtd',
  // The NVMe lab (`--target nvmet`): a QEMU guest with a newer Debian kernel (scripts/lab/nvme-kernel.js
  // fetches it with a private apt configuration), a busybox initramfs (cpio, xz for its modules),
  // and nvme-cli as the reference peer (`nvme resv-report --eds`)
  'qemu-system-x86': '/usr/bin/qemu-system-x86_64',
  'busybox-static': '/bin/busybox',
  cpio: '/usr/bin/cpio',
  'xz-utils': '/usr/bin/xz',
  'nvme-cli': '/usr/sbin/nvme',
};

class PrereqError extends Error {}

/** @param {string} cmd @param {string[]} args @param {object} [opts] */
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, error: r.error };
}

/** Install missing Debian packages, or explain how. @param {{quiet?: boolean}} [o] */
function ensurePackages(o = {}) {
  const missing = Object.entries(PACKAGES).filter(([, f]) => !fs.existsSync(f)).map(([p]) => p);
  if (missing.length === 0) return [];
  const cmd = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new PrereqError(`the SAN lab needs Debian packages: ${missing.join(', ')}.\nRun as root:\n  sudo sh -c '${cmd}'`);
  }
  if (!o.quiet) console.error(`lab: installing ${missing.join(', ')} …`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const upd = run('apt-get', ['update', '-qq'], { env });
  const inst = run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  if (!inst.ok) {
    throw new PrereqError(`apt-get install failed:\n${upd.out}\n${inst.out}\nRun yourself:\n  ${cmd}`);
  }
  return missing;
}

/** Build the LD_PRELOAD shim UML needs on AMX hosts; returns its path. */
function ensureShim() {
  const src = path.join(__dirname, 'uml-xstate-shim.c');
  const out = path.join(LAB_DIR, 'uml-xstate-shim.so');
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(src).mtimeMs) return out;
  fs.mkdirSync(LAB_DIR, { recursive: true });
  const r = run('gcc', ['-O2', '-shared', '-fPIC', '-o', out, src, '-ldl']);
  if (!r.ok) throw new PrereqError(`cannot build ${src}:\n${r.out}`);
  return out;
}

/** The UML kernel's version, from its module tree. */
function umlKernelVersion() {
  const dir = '/usr/lib/uml/modules';
  const v = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  if (v.length === 0) throw new PrereqError(`no UML modules under ${dir} (package user-mode-linux)`);
  return v[v.length - 1];
}

/** Everything the lab needs on the host. @param {{quiet?: boolean}} [o] */
function ensureLabPrereqs(o = {}) {
  ensurePackages(o);
  // The guest mounts a tmpfs on /lib/modules; the mount point must exist on the host.
  if (!fs.existsSync('/lib/modules')) {
    if (process.getuid?.() !== 0) throw new PrereqError('/lib/modules is missing: run `sudo mkdir -p /lib/modules`');
    fs.mkdirSync('/lib/modules', { recursive: true });
  }
  return { shim: ensureShim(), kernel: umlKernelVersion() };
}

module.exports = { ensureLabPrereqs, ensurePackages, ensureShim, PrereqError, ROOT, LAB_DIR };
