/**
 * `fence_scsi_pr -o metadata`: the resource-agent XML Pacemaker (and pcs)
 * read to learn an agent's parameters and actions — the same layout
 * fence-agents prints: `<resource-agent name shortdesc>`, `<longdesc>`,
 * `<vendor-url>`, `<parameters>` (each `<parameter name unique required>` with
 * `<getopt mixed>`, `<content type default>`, `<shortdesc lang="en">`; an
 * alias kept for compatibility is listed with `deprecated="1"` and the new
 * name with `obsoletes`), and `<actions>`, where `on` carries
 * `on_target="1" automatic="1"`: Pacemaker runs it on the node being unfenced,
 * automatically, before resources start there (`meta provides=unfencing`).
 */
import { AGENT_PARAMETERS, type AgentParameter } from './fence-agent-options';

/** XML-escape text or an attribute value. */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const SHORTDESC = 'Fence agent for SCSI persistent reservations through Linux SG_IO (scsi-pr)';

const LONGDESC = [
  'fence_scsi_pr is an I/O fencing agent that uses SCSI-3 persistent reservations to control access to shared storage,',
  'like fence_scsi, but talks to the devices directly through SG_IO (the scsi-pr library): no sg_persist processes,',
  'every device in flight at once, results verified with READ FULL STATUS.',
  'Every node registers its own key on each device ("on", run by Pacemaker on the node itself when the stonith resource',
  'has meta provides=unfencing); one node holds a Write Exclusive, Registrants Only reservation. Fencing a node ("off")',
  'removes its key with PREEMPT AND ABORT; the node can no longer write until it is unfenced again. A manual reboot of the',
  'fenced node is required. Keys come from the "nodes" map or are derived from the cluster name and the node name',
  '(key_value=hash, fence_scsi compatible), the corosync nodelist position (key_value=id) or cluster_id and the corosync',
  'node id (key_value=cluster-id). "on" records this node\'s key and devices in /var/lib/scsi-pr/fence_scsi_pr.state',
  '(directory: SCSI_PR_STATE_DIR); "off", "status" and "monitor" read them from there when they are not given.',
].join(' ');

/** The actions advertised, in order. `on` gets on_target/automatic. */
const METADATA_ACTIONS = ['on', 'off', 'status', 'monitor', 'list', 'metadata', 'validate-all'] as const;

function getoptMixed(p: AgentParameter, spelling = p.longopt): string {
  const value = p.type === 'boolean' ? '' : `=${p.metavar ?? '[value]'}`;
  return `${p.short ? `-${p.short}, ` : ''}--${spelling}${value}`;
}

function contentType(p: AgentParameter): string {
  return p.type;
}

function parameterXml(p: AgentParameter, name: string, extra: string): string[] {
  const def = p.default !== undefined ? ` default="${xmlEscape(p.default)}"` : '';
  return [
    `\t<parameter name="${xmlEscape(name)}" unique="0" required="${p.required ? 1 : 0}"${extra}>`,
    `\t\t<getopt mixed="${xmlEscape(getoptMixed(p))}" />`,
    `\t\t<content type="${contentType(p)}"${def} />`,
    `\t\t<shortdesc lang="en">${xmlEscape(p.shortdesc)}</shortdesc>`,
    `\t</parameter>`,
  ];
}

/** The metadata XML document (ends with a newline). */
export function metadataXml(agentName = 'fence_scsi_pr'): string {
  const lines: string[] = [
    '<?xml version="1.0" ?>',
    `<resource-agent name="${xmlEscape(agentName)}" shortdesc="${xmlEscape(SHORTDESC)}" >`,
    `<longdesc>${xmlEscape(LONGDESC)}</longdesc>`,
    '<vendor-url></vendor-url>',
    '<parameters>',
  ];
  for (const p of AGENT_PARAMETERS) {
    if (p.hidden) continue;
    const deprecated = p.deprecatedAliases ?? [];
    lines.push(...parameterXml(p, p.name, deprecated.length > 0 ? ` obsoletes="${xmlEscape(deprecated[0])}"` : ''));
    for (const alias of deprecated) lines.push(...parameterXml(p, alias, ' deprecated="1"'));
  }
  lines.push('</parameters>', '<actions>');
  for (const a of METADATA_ACTIONS) {
    lines.push(a === 'on' ? '\t<action name="on" on_target="1" automatic="1"/>' : `\t<action name="${a}" />`);
  }
  lines.push('</actions>', '</resource-agent>');
  return lines.join('\n') + '\n';
}
