#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Runs inside the NVMe lab guest. Builds the device map (node -> namespace ->
 * path -> block device / generic char device) from sysfs: every controller under
 * /sys/class/nvme whose host NQN is a lab node's, and its namespaces
 * (nvme-core multipath=N: one nvme<C>n<N> per controller and namespace).
 * Lab namespace i (0-based, like the iSCSI lab's LUN numbers) is NSID i+1.
 *
 *   node guest-nvme-map.js wait <map.json>   wait until every expected namespace exists, write map.json + map.env
 *   node guest-nvme-map.js print             print the current map as JSON
 */
const fs = require('node:fs');
const path = require('node:path');

const CONTROLLERS = '/sys/class/nvme';

/** @param {string} p */
function readText(p) {
  try { return fs.readFileSync(p, 'utf8').trim(); } catch { return ''; }
}

/** @param {string} dir @param {RegExp} re */
function list(dir, re) {
  try { return fs.readdirSync(dir).filter((n) => re.test(n)); } catch { return []; }
}

/**
 * Every controller and its namespaces.
 * @returns {Array<{controller: string, hostnqn: string, hostid: string, subsysnqn: string, cntlid: number, state: string, nsid: number, block: string, generic: string, nguid: string, wwid: string}>}
 */
function scan() {
  const out = [];
  for (const c of list(CONTROLLERS, /^nvme\d+$/)) {
    const cdir = path.join(CONTROLLERS, c);
    const base = {
      controller: c,
      hostnqn: readText(path.join(cdir, 'hostnqn')),
      hostid: readText(path.join(cdir, 'hostid')),
      subsysnqn: readText(path.join(cdir, 'subsysnqn')),
      cntlid: Number(readText(path.join(cdir, 'cntlid'))),
      state: readText(path.join(cdir, 'state')),
    };
    for (const ns of list(cdir, new RegExp(`^${c}n\\d+$`))) {
      const ndir = path.join(cdir, ns);
      const nsid = Number(readText(path.join(ndir, 'nsid')));
      // The generic char device carries the block device's numbers (nvme0n2 <-> ng0n2), which
      // follow the order namespaces were found in, not the NSID.
      const generic = `ng${ns.slice('nvme'.length)}`;
      out.push({
        ...base,
        nsid,
        block: `/dev/${ns}`,
        generic: fs.existsSync(`/dev/${generic}`) ? `/dev/${generic}` : '',
        nguid: readText(path.join(ndir, 'nguid')),
        wwid: readText(path.join(ndir, 'wwid')),
      });
    }
  }
  return out;
}

/**
 * The scan as consumers use it. A node's paths are its controllers, in instance order.
 * @param {ReturnType<typeof scan>} found
 */
function buildMap(found) {
  const nodes = Number(process.env.LAB_NODES);
  const prefix = process.env.LAB_HOST_NQN_PREFIX || '';
  const sub = process.env.LAB_SUBSYS_NQN || '';
  const mine = found.filter((d) => d.hostnqn.startsWith(prefix) && d.subsysnqn === sub);
  /** @type {Map<number, string[]>} controllers of each node, instance order */
  const controllers = new Map();
  for (const d of [...mine].sort((a, b) => Number(a.controller.slice(4)) - Number(b.controller.slice(4)))) {
    const node = Number(d.hostnqn.slice(prefix.length));
    const cs = controllers.get(node) ?? [];
    if (!cs.includes(d.controller)) cs.push(d.controller);
    controllers.set(node, cs);
  }
  const devices = mine
    .map((d) => {
      const node = Number(d.hostnqn.slice(prefix.length));
      return { node, ns: d.nsid - 1, path: (controllers.get(node) ?? []).indexOf(d.controller), ...d };
    })
    .sort((a, b) => a.node - b.node || a.ns - b.ns || a.path - b.path);
  return {
    target: { kind: 'nvmet', subsysnqn: sub },
    options: {
      nodes, namespaces: Number(process.env.LAB_LUNS), luns: Number(process.env.LAB_LUNS),
      paths: Number(process.env.LAB_PATHS), lunMb: Number(process.env.LAB_LUN_MB),
    },
    nodes: Array.from({ length: nodes }, (_, i) => ({
      node: i + 1,
      hostnqn: `${prefix}${i + 1}`,
      hostid: devices.find((d) => d.node === i + 1)?.hostid ?? '',
      controllers: controllers.get(i + 1) ?? [],
      namespaces: devices.filter((d) => d.node === i + 1 && d.path === 0)
        .map(({ ns, nsid, block, generic, nguid, wwid, controller, cntlid }) => ({ ns, nsid, block, generic, nguid, wwid, controller, cntlid })),
    })),
    devices,
  };
}

/** @param {ReturnType<typeof buildMap>} map */
function toEnv(map) {
  const lines = [];
  for (const d of map.devices) {
    const k = `LAB_N${d.node}_NS${d.ns}${d.path ? `_P${d.path}` : ''}`;
    lines.push(`export ${k}=${d.block}`, `export ${k}_NG=${d.generic}`);
  }
  return lines.join('\n') + '\n';
}

function main() {
  const [cmd, out] = process.argv.slice(2);
  if (cmd === 'print') {
    process.stdout.write(JSON.stringify(buildMap(scan()), null, 2) + '\n');
    return;
  }
  if (cmd !== 'wait' || !out) {
    console.error('usage: guest-nvme-map.js wait <map.json> | print');
    process.exit(2);
  }
  const expected = Number(process.env.LAB_NODES) * Number(process.env.LAB_LUNS) * Number(process.env.LAB_PATHS);
  const deadline = Date.now() + Number(process.env.LAB_DEVICE_WAIT_MS || 60000);
  for (;;) {
    const map = buildMap(scan());
    const ready = map.devices.filter((d) => d.generic && fs.existsSync(d.block) && d.state === 'live');
    if (ready.length >= expected) {
      fs.writeFileSync(out, JSON.stringify(map, null, 2) + '\n');
      fs.writeFileSync(out.replace(/\.json$/, '.env'), toEnv(map));
      return;
    }
    if (Date.now() > deadline) {
      console.error(`lab: ${ready.length}/${expected} namespace devices appeared`);
      process.exit(1);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

if (require.main === module) main();
module.exports = { scan, buildMap };
