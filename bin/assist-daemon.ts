// assist_daemon: the watchdog of the agent (spec/client-features.md §1.4, §6.1).
//   assist_daemon --start    run the supervisor in the foreground until SIGTERM/SIGINT (how the
//                            service unit runs it); it starts the agent and keeps it running
//   assist_daemon --stop     stop the running watchdog: it stops the agent gracefully, then exits
//   assist_daemon --delete   --stop, then remove the watchdog's pid, status and liveness files
//   assist_daemon --status   running/stopped, the agent's pid, restarts and the last restart's
//                            reason; exit status as LSB: 0 running, 1 dead (stale pid file), 3 stopped
// Options: --state-dir DIR, --agent PATH [--agent-arg ARG]…, budget and timing overrides
// (--pss-mib, --rss-mib, --cpu-percent, …; each also an ASSIST_DAEMON_* variable, docs/configuration.md),
// --json (with --status). The arguments are process.argv[2…]: bin/multicall.ts sets them.
import './lite-mode.js';
import { parseArgs } from 'node:util';
import { createLogger, ExitCode, isAgentError } from '../agent/shared/index.js';
import {
  acquirePidFile,
  deleteWatchdog,
  formatStatus,
  loadWatchdogConfig,
  loadWatchdogFiles,
  probeWatchdog,
  resolveAgentCommand,
  runWatchdog,
  stopWatchdog,
  type StopOptions,
  type WatchdogFlags,
} from '../agent/watchdog/index.js';

const ACTIONS = ['start', 'stop', 'delete', 'status'] as const;
const NUMERIC = [
  'cpu-percent',
  'pss-mib',
  'rss-mib',
  'sample-ms',
  'strikes',
  'warmup-ms',
  'stop-grace-ms',
  'backoff-ms',
  'backoff-max-ms',
  'backoff-reset-ms',
  'liveness-stale-ms',
] as const;
/** The LSB status codes `--status` exits with. */
const Lsb = { Running: 0, Dead: 1, Stopped: 3 } as const;
/** How long `--stop` waits beyond the agent's grace for the watchdog to exit. */
const STOP_MARGIN_MS = 10_000;

const USAGE = `usage: assist_daemon --start | --stop | --delete | --status [--json]
  [--state-dir DIR] [--agent PATH [--agent-arg ARG]...]
  [--${NUMERIC.join(' N] [--')} N]`;

function usage(message?: string): never {
  if (message) {
    console.error(`assist_daemon: ${message}`);
  }
  console.error(USAGE);
  process.exit(ExitCode.Usage);
}

function parse() {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(ACTIONS.map((a) => [a, { type: 'boolean' as const }])),
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        'state-dir': { type: 'string' },
        agent: { type: 'string' },
        'agent-arg': { type: 'string', multiple: true },
        ...Object.fromEntries(NUMERIC.map((n) => [n, { type: 'string' as const }])),
      },
    }).values as Record<string, string | boolean | string[] | undefined>;
  } catch (e) {
    usage(e instanceof Error ? e.message : String(e));
  }
}

function flagsOf(v: Record<string, string | boolean | string[] | undefined>): WatchdogFlags {
  const str = (k: string) => (typeof v[k] === 'string' ? v[k] : undefined);
  const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  const flags: Record<string, unknown> = {
    stateDir: str('state-dir'),
    agent: str('agent'),
    agentArgs: Array.isArray(v['agent-arg']) ? v['agent-arg'] : undefined,
  };
  for (const n of NUMERIC) {
    flags[camel(n)] = str(n);
  }
  return flags as WatchdogFlags;
}

function fail(e: unknown): never {
  const msg = isAgentError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  console.error(`assist_daemon: ${msg}`);
  process.exit(isAgentError(e) && e.code === 'CONFIG_INVALID' ? ExitCode.Usage : ExitCode.Fatal);
}

async function start(flags: WatchdogFlags): Promise<never> {
  const config = loadWatchdogConfig(flags, process.env);
  const pid = acquirePidFile(config);
  if ('heldBy' in pid) {
    console.error(`assist_daemon: already running (pid ${pid.heldBy})`);
    process.exit(ExitCode.Fatal);
  }
  const log = createLogger({ file: config.logFile, level: config.logLevel, console: true }).child({
    mod: 'watchdog',
  });
  const stop = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => stop.abort());
  }
  process.on('SIGHUP', () => log.info('SIGHUP ignored'));
  // A stop that overruns the agent's grace (plus SIGKILL's wait) must still end the watchdog.
  stop.signal.addEventListener(
    'abort',
    () => setTimeout(() => process.exit(ExitCode.Fatal), config.stopGraceMs + 15_000).unref(),
    { once: true },
  );
  try {
    await runWatchdog({
      resolveAgent: () => resolveAgentCommand(config.agent),
      env: process.env,
      log,
      signal: stop.signal,
      budget: config.budget,
      sampleIntervalMs: config.sampleIntervalMs,
      backoff: config.backoff,
      stopGraceMs: config.stopGraceMs,
      statusFile: config.statusFile,
      livenessFile: config.livenessFile,
    });
  } catch (e) {
    log.error('watchdog failed', { err: e instanceof Error ? e : new Error(String(e)) });
    await log.flush();
    pid.release();
    process.exit(ExitCode.Fatal);
  }
  await log.flush();
  pid.release();
  process.exit(ExitCode.Ok);
}

function stopOptions(flags: WatchdogFlags): StopOptions {
  let graceMs: number;
  try {
    graceMs = loadWatchdogConfig(flags, process.env).stopGraceMs;
  } catch {
    graceMs = loadWatchdogConfig({}, {}).stopGraceMs; // a bad setting must not block an uninstall
  }
  return { timeoutMs: graceMs + STOP_MARGIN_MS, agentGraceMs: graceMs };
}

async function stopOrDelete(flags: WatchdogFlags, remove: boolean): Promise<never> {
  const files = loadWatchdogFiles(flags, process.env);
  const o = stopOptions(flags);
  const r = remove ? await deleteWatchdog(files, o) : await stopWatchdog(files, o);
  if (!r.stopped) {
    const what = r.orphanAgentPid ? `the agent (pid ${r.orphanAgentPid})` : `assist_daemon (pid ${r.pid})`;
    console.error(`assist_daemon: ${what} did not stop within ${Math.round(o.timeoutMs / 1000)} s`);
    process.exit(ExitCode.Fatal);
  }
  if (r.orphanAgentPid) {
    console.log(`stopped the agent (pid ${r.orphanAgentPid}) left by a watchdog that had died`);
  }
  console.log(
    remove ? 'assist_daemon deleted' : r.wasRunning ? 'assist_daemon stopped' : 'assist_daemon is not running',
  );
  process.exit(ExitCode.Ok);
}

function status(flags: WatchdogFlags, json: boolean): never {
  const probe = probeWatchdog(loadWatchdogFiles(flags, process.env));
  console.log(json ? JSON.stringify(probe, null, 2) : formatStatus(probe));
  process.exit(probe.state === 'running' ? Lsb.Running : probe.state === 'dead' ? Lsb.Dead : Lsb.Stopped);
}

async function main(): Promise<void> {
  const v = parse();
  if (v['help']) {
    console.log(USAGE);
    process.exit(ExitCode.Ok);
  }
  const picked = ACTIONS.filter((a) => v[a] === true);
  if (picked.length !== 1) {
    usage(picked.length === 0 ? 'no action given' : `only one of --${picked.join(', --')} at a time`);
  }
  const flags = flagsOf(v);
  switch (picked[0]!) {
    case 'start':
      return start(flags);
    case 'stop':
      return stopOrDelete(flags, false);
    case 'delete':
      return stopOrDelete(flags, true);
    case 'status':
      return status(flags, v['json'] === true);
  }
}

main().catch(fail);
