/**
 * A minimal corosync.conf for the fence-agent tests: the cluster name and a
 * nodelist (`name` node<n>, `nodeid` n, `ring0_addr` 127.0.0.n), which is all
 * fence_scsi_pr reads from it (the cluster name for hash keys, the nodes for
 * `list` and for naming a node to fence).
 */
export function corosyncConf(clusterName: string, nodeIds: readonly number[]): string {
  const node = (n: number) => `    node {\n        ring0_addr: 127.0.0.${n}\n        name: node${n}\n        nodeid: ${n}\n    }\n`;
  return `totem {\n    version: 2\n    cluster_name: ${clusterName}\n}\n\nnodelist {\n` + nodeIds.map(node).join('\n') + '}\n';
}
