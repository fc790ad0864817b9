/**
 * fence_scsi_pr, one run: parse the options (argv or stdin, the fence-agents
 * calling convention), answer help / version / metadata, set up the log, and
 * dispatch to the action (`fence-agent-actions.ts`) with the parsed settings
 * (`fence-agent-settings.ts`). Everything the agent touches outside itself
 * comes in through {@link AgentDeps}; exit codes are {@link EXIT}.
 */
import { normaliseAction, parseInput, usage, type ParsedInput } from './fence-agent-options';
import { AgentLog } from './fence-agent-log';
import { metadataXml } from './fence-agent-metadata';
import { defaultDeps, type AgentDeps } from './fence-agent-deps';
import { settingsFrom } from './fence-agent-settings';
import { EXIT, errorText, Failure, type ActionContext } from './fence-agent-context';
import { actionList, actionMonitor, actionOff, actionOn, actionStatus, validateAll } from './fence-agent-actions';

export { EXIT } from './fence-agent-context';
export type { AgentDeps } from './fence-agent-deps';

/** Input and output of one agent run. */
export interface AgentIo {
  argv: readonly string[];
  readStdin: () => string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Program name for usage text. */
  program?: string;
}

/** Run the agent once. Resolves with the exit code; never rejects. */
export async function runAgent(io: AgentIo, deps: AgentDeps = defaultDeps()): Promise<number> {
  const program = io.program ?? 'fence_scsi_pr';
  let input: ParsedInput;
  try {
    input = parseInput(io.argv, io.readStdin);
  } catch (e) {
    const log = new AgentLog({ verbose: false, quiet: false, stderr: io.stderr });
    log.error(`Parse error: ${errorText(e)}`);
    log.error("Please use '-h' for usage");
    return EXIT.ERROR;
  }
  const v = input.values;
  if (v.get('help') === '1') {
    io.stdout(usage(program));
    return EXIT.OK;
  }
  if (v.get('version') === '1') {
    io.stdout(deps.version() + '\n');
    return EXIT.OK;
  }
  const rawAction = v.get('action')?.trim() || 'off';
  const action = normaliseAction(rawAction);
  if (action === 'metadata') {
    io.stdout(metadataXml(program));
    return EXIT.OK;
  }
  const log = new AgentLog({
    verbose: input.verboseCount > 0 || v.get('verbose') === '1',
    quiet: v.get('quiet') === '1',
    ...(v.get('logfile')?.trim() ? { logfile: v.get('logfile')!.trim() } : {}),
    ...(v.get('debug_file')?.trim() ? { debugFile: v.get('debug_file')!.trim() } : {}),
    action: action ?? rawAction,
    stderr: io.stderr,
  });
  for (const w of input.warnings) log.warn(w);
  if (!action) {
    log.error(`Failed: Unrecognised action '${rawAction}' (expected on, off, status, monitor, list, metadata or validate-all)`);
    return EXIT.ERROR;
  }
  log.debug(`${action}: options from ${input.source}: ${[...v.entries()].map(([k, x]) => `${k}=${x}`).join(' ')}`);

  const problems: string[] = [];
  const s = settingsFrom(input, action, deps, problems);
  const out = (line: string) => {
    io.stdout(line + '\n');
    log.result(line);
  };
  const ctx: ActionContext = { s, deps, log, out, env: io.env };
  try {
    if (action === 'validate-all') return await validateAll(ctx, problems);
    if (problems.length > 0) {
      for (const p of problems) log.error(`Failed: ${p}`);
      return EXIT.ERROR;
    }
    switch (action) {
      case 'on':
        return await actionOn(ctx);
      case 'off':
        return await actionOff(ctx);
      case 'status':
        return await actionStatus(ctx);
      case 'monitor':
        return await actionMonitor(ctx);
      case 'list':
        return actionList(ctx);
    }
  } catch (e) {
    if (!(e instanceof Failure)) log.error(`Failed: ${errorText(e)}`);
    return EXIT.ERROR;
  }
}
