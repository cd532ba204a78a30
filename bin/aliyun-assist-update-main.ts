// aliyun_assist_update: the updater (spec/client-features.md §1.2, §7). One mode at a time:
//   aliyun_assist_update -v | --version
//   aliyun_assist_update -c | --check_update      ask the control plane; install what it offers
//   aliyun_assist_update -f | --force_update -u URL -m MD5 [--sha256 HEX]
//                                                 install that package (how the agent runs it)
// Prints nothing on success; on failure `Error: <msg>` on stderr and exit 1 (stock). Logs to
// <ROOT>/<version>/log/aliyun_assist_update.log. bin/multicall.ts runs it by name.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAgentHttpClient } from '../agent/index.js';
import { discoverServer } from '../agent/channel/index.js';
import { loadAgentConfig, type AgentConfig } from '../agent/config/index.js';
import { createLogger, ExitCode, type Logger } from '../agent/shared/index.js';
import type { HttpClient } from '../agent/http/index.js';
import {
  decideUpdate,
  loadUpdaterSettings,
  requestUpdateCheck,
  runUpdater,
  UpdateState,
  type PackageRef,
} from '../agent/update/index.js';

const USAGE = `Usage: aliyun_assist_update [options]
  -h, --help                      print this help
  -v, --version                   print the version
  -c, --check_update              ask the server for an update and install it
  -f, --force_update              install the package given by --url and --md5
  -u, --url URL                   the package (<version>_<name>.zip)
  -m, --md5 MD5                   its MD5
      --sha256 SHA256             its SHA-256 (optional; checked when given)`;

/** Finding the server for --check_update: the stock startup budget. */
const DISCOVERY_TIMEOUT_MS = 40_000;

function fail(message: string, code: number = ExitCode.Fatal): never {
  console.error(`Error: ${message}`);
  process.exit(code);
}

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        check_update: { type: 'boolean', short: 'c' },
        force_update: { type: 'boolean', short: 'f' },
        url: { type: 'string', short: 'u' },
        md5: { type: 'string', short: 'm' },
        sha256: { type: 'string' },
      },
    }).values;
  } catch (e) {
    console.error(`Invalid options: ${e instanceof Error ? e.message : String(e)}`);
    console.error(USAGE);
    process.exit(ExitCode.Fatal);
  }
}

/** --check_update: the package the server offers, or undefined when there is nothing to do. */
async function offered(config: AgentConfig, http: HttpClient, log: Logger): Promise<PackageRef | undefined> {
  const host = await discoverServer({
    serverHost: config.serverHost,
    http,
    log,
    signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
  });
  if (host === undefined) {
    fail('no server found (set ALIYUN_ASSIST_SERVER_HOST)');
  }
  const response = await requestUpdateCheck({ host, http, version: config.version });
  const decision = decideUpdate({
    response,
    currentVersion: config.version,
    badVersions: new UpdateState(config.paths.stateDir).badVersions(),
  });
  if (decision.action === 'skip') {
    log.info('update not installed', { reason: decision.reason, version: decision.version });
    return undefined;
  }
  return decision.pkg;
}

async function run(args: string[]): Promise<never> {
  const v = parse(args);
  const modes = (['help', 'version', 'check_update', 'force_update'] as const).filter((m) => v[m] === true);
  if (modes.length > 1) {
    fail('specified options in conflict');
  }
  if (modes.length === 0 || v.help) {
    console.log(USAGE);
    process.exit(ExitCode.Ok);
  }
  let config: AgentConfig;
  try {
    config = loadAgentConfig({}, process.env);
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e), ExitCode.Usage);
  }
  if (v.version) {
    console.log(config.version);
    process.exit(ExitCode.Ok);
  }
  if (v.force_update && (!v.url || !v.md5)) {
    console.error('Invalid options: -f/--force_update option needs specifying -u/--url and -m/--md5');
    process.exit(ExitCode.Fatal);
  }
  const settings = loadUpdaterSettings(process.env);
  const log = createLogger({
    file: join(config.paths.logDir, 'aliyun_assist_update.log'),
    level: config.logLevel,
  }).child({ pid: process.pid });
  const http = createAgentHttpClient(config);
  let code: number = ExitCode.Ok;
  try {
    const pkg = v.force_update
      ? { url: v.url!, md5: v.md5!, ...(v.sha256 ? { sha256: v.sha256 } : {}) }
      : await offered(config, http, log);
    if (pkg) {
      await runUpdater({
        installDir: config.paths.installDir,
        stateDir: config.paths.stateDir,
        currentVersion: config.version,
        pkg,
        http,
        log,
        settings,
        env: process.env,
      });
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    log.error('update failed', { err, kind: (err as { kind?: string }).kind });
    console.error(`Error: ${err.message}`);
    code = ExitCode.Fatal;
  } finally {
    http.close();
    await log.flush();
  }
  process.exit(code);
}

/** Runs aliyun_assist_update with the given arguments (without the program name); always exits the process. */
export function main(args: string[]): Promise<void> {
  return run(args).catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
}
