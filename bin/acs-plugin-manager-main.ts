// acs-plugin-manager: installs, runs, lists and removes plugins (spec/client-features.md §1.3, §8).
//   acs-plugin-manager --list [--local] [--plugin NAME]
//   acs-plugin-manager --exec --plugin NAME [--pluginVersion V] [--params a,b] [--local] [--separator S]
//   acs-plugin-manager --exec --file PLUGIN.zip [--params …]
//   acs-plugin-manager --status | --remove --plugin NAME | --verify --url URL
// Exit code: the plugin's own, or the manager's 232–247. bin/multicall.ts runs it by name.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAgentHttpClient } from '../agent/index.js';
import { loadAgentConfig, type AgentConfig } from '../agent/config/index.js';
import {
  execFromFile,
  execPlugin,
  FlagError,
  guarded,
  listPlugins,
  LubanPluginCatalog,
  parsePluginFlags,
  pluginArgs,
  pluginDirs,
  pluginRunLog,
  removePlugin,
  statusAll,
  verifyPlugin,
  type ManagerContext,
  type PluginFlags,
} from '../agent/plugins/index.js';
import { ExitCode } from '../agent/shared/index.js';
import type { HttpClient } from '../agent/http/index.js';
import { pluginArch, pluginOs } from '../protocol/index.js';

const USAGE = `Usage:
  acs-plugin-manager [Flags]

Flags:
  -h, --help                 print this help
  -V, --verbose              echo the options and the command line
  -v, --version              print the agent version
  -l, --list                 list plugins online for this OS and arch; with --local, the installed ones
  -L, --local                use the local installation only (with --list or --exec)
  -e, --exec                 run a plugin: --plugin NAME [--pluginVersion V] [--params …], or --file ZIP
  -P, --plugin NAME          the plugin
  -n, --pluginVersion V      the version to fetch or run
  -p, --params STRING        the plugin's arguments, separated by --separator (default ",")
      --paramsV2 STRING      the plugin's arguments, split shell-style (takes precedence over --params)
  -s, --separator CHARS      the separator of --params
  -F, --file ZIP             install the plugin package ZIP and run it
  -u, --url URL              the package --verify fetches (http(s):// or file://)
  -f, --verify               fetch --url, check it and run it without installing it
  -S, --status               the state of every persistent plugin, as JSON
  -r, --remove               uninstall --plugin NAME
      --fetchTimeout SECONDS download and unpack limit (default 20; 0 = none)
      --timeout SECONDS      run-time limit (default: the plugin's own, else 60; 0 = none)`;

/** The env file the service units read (installer): the agent's server and CA when not in the environment. */
const SERVICE_ENV_FILE = '/etc/sysconfig/aliyun';
const SERVICE_ENV_KEYS = ['ALIYUN_ASSIST_SERVER_HOST', 'ALIYUN_ASSIST_CERT_PATH', 'ALIYUN_ASSIST_PROXY'];

/** The environment with what the service's env file sets for keys the environment lacks. */
function withServiceEnv(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  let text: string;
  try {
    text = readFileSync(env['ALIYUN_ASSIST_ENV_FILE'] ?? SERVICE_ENV_FILE, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Z_]+)=(.*)$/.exec(line);
    if (m && SERVICE_ENV_KEYS.includes(m[1]!) && !out[m[1]!]) {
      out[m[1]!] = m[2]!.trim().replace(/^(['"])(.*)\1$/, '$2');
    }
  }
  return out;
}

async function run(args: string[]): Promise<number> {
  let f: PluginFlags;
  try {
    f = parsePluginFlags(args);
  } catch (e) {
    if (e instanceof FlagError) {
      console.error(`ERROR: ${e.message}`);
      console.error(USAGE);
      return ExitCode.Usage;
    }
    throw e;
  }
  const env = withServiceEnv(process.env);
  let config: AgentConfig;
  try {
    config = loadAgentConfig({}, env);
  } catch (e) {
    console.error(`ERROR: ${(e as Error).message}`);
    return ExitCode.Usage;
  }
  if (f.verbose) {
    console.log(`command line: ${JSON.stringify(args)}`);
    console.log(`options: ${JSON.stringify(f)}`);
  }
  if (f.help || (!f.list && !f.exec && !f.status && !f.remove && !f.verify && !f.version)) {
    console.log(USAGE);
    return 0;
  }
  if (f.version) {
    console.log(config.version);
    return 0;
  }
  const log = pluginRunLog(join(config.paths.logDir, 'acs_plugin_manager.log'));
  // The plugin's parameters are not logged: they may hold secrets.
  const mode = (['list', 'status', 'verify', 'remove', 'exec'] as const).find((m) => f[m]);
  log('info', 'acs-plugin-manager started', { mode, plugin: f.plugin, local: f.local, file: f.file });
  let http: HttpClient | undefined;
  const catalog = config.serverHost
    ? new LubanPluginCatalog({ host: config.serverHost, http: (http = createAgentHttpClient(config)) })
    : undefined;
  const ctx: ManagerContext = {
    dirs: pluginDirs(config.paths.installDir),
    os: pluginOs(process.platform),
    arch: pluginArch(process.arch),
    catalog,
    out: (text) => process.stdout.write(text),
    err: (line) => {
      log('warn', 'acs-plugin-manager error', { line: line.trimEnd() });
      process.stderr.write(`${line.trimEnd()}\n`);
    },
    env: process.env,
  };
  const limits = {
    args: pluginArgs(f),
    ...(f.timeout !== undefined ? { timeoutS: f.timeout } : {}),
    ...(f.fetchTimeout !== undefined ? { fetchTimeoutS: f.fetchTimeout } : {}),
  };
  let code: number = ExitCode.Fatal;
  try {
    code = await guarded(ctx, async () => {
      if (f.list) {
        return listPlugins(ctx, { local: f.local, ...(f.plugin !== undefined ? { name: f.plugin } : {}) });
      }
      if (f.status) {
        return statusAll(ctx);
      }
      if (f.verify) {
        if (!f.url) {
          ctx.err('VerifyPlugin PACKAGE_NOT_FOUND: --verify needs --url');
          return ExitCode.Usage;
        }
        return verifyPlugin(ctx, f.url, limits);
      }
      if (f.remove) {
        if (!f.plugin) {
          ctx.err('RemovePlugin error, --remove needs --plugin');
          return ExitCode.Usage;
        }
        return removePlugin(ctx, f.plugin);
      }
      if (f.file !== undefined) {
        return execFromFile(ctx, f.file, limits);
      }
      if (!f.plugin) {
        ctx.err('ExecutePlugin PACKAGE_NOT_FOUND: --exec needs --plugin NAME or --file ZIP');
        return ExitCode.Usage;
      }
      return execPlugin(ctx, {
        name: f.plugin,
        local: f.local,
        ...(f.pluginVersion !== undefined ? { version: f.pluginVersion } : {}),
        ...limits,
      });
    });
    return code;
  } finally {
    http?.close();
    log('info', 'acs-plugin-manager exited', { exitCode: code });
  }
}

/** Runs acs-plugin-manager with the given arguments (without the program name); always exits the process. */
export function main(args: string[]): Promise<void> {
  return run(args).then(
    (code) => {
      process.exitCode = code;
      // stdout may be a pipe (RunCommand): exit once what was written has been flushed.
      process.stdout.write('', () => process.exit(code));
    },
    (e: unknown) => {
      console.error(`acs-plugin-manager: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exit(ExitCode.Fatal);
    },
  );
}
