// aliyun-service: the agent. Flags follow the stock client (spec/client-features.md §1.1):
//   aliyun-service                  run in the foreground until SIGTERM/SIGINT
//   aliyun-service -v               print the version
//   aliyun-service --register --RegionId R --ActivationCode C --ActivationId I [--InstanceName N] [--tag k=v]…
//   aliyun-service --deregister
//   aliyun-service --install | --start | --stop | --remove    the OS service (bin/service-control.ts)
// bin/aliyun-service.ts runs it as a program; bin/multicall.ts runs it by name inside the single binary.
import { parseArgs as parseFlags } from 'node:util';
import { createAgentHttpClient, createAgentLogger, runAgent } from '../agent/index.js';
import { loadAgentConfig, type AgentConfig } from '../agent/config/index.js';
import { deregisterInstance, parseTag, registerInstance } from '../agent/identity/index.js';
import { ExitCode, isAgentError } from '../agent/shared/index.js';
import { restartAgentServiceIfInstalled, runServiceAction } from './service-control.js';

// Parsed with node:util rather than yargs: the agent is resident for the life of the machine, and
// evaluating yargs (with the Intl.Segmenters its dependencies create) cost it 3.5 MiB of RSS
// (docs/decisions.md).
const OPTIONS = {
  version: { type: 'boolean', short: 'v', describe: 'print the version' },
  register: { type: 'boolean', short: 'r', describe: 'register as a managed instance' },
  deregister: { type: 'boolean', short: 'u', describe: 'deregister this managed instance' },
  RegionId: { type: 'string', short: 'R' },
  ActivationCode: { type: 'string', short: 'C' },
  ActivationId: { type: 'string', short: 'I' },
  InstanceName: { type: 'string', short: 'N' },
  NetworkMode: { type: 'string', short: 'm' },
  tag: { type: 'string', short: 'T', multiple: true, describe: 'key=value, repeatable' },
  LogPath: { type: 'string', short: 'L', describe: 'log directory' },
  daemon: { type: 'boolean', short: 'd', describe: 'accepted for compatibility; runs in the foreground' },
  install: { type: 'boolean', describe: 'install the OS service' },
  remove: { type: 'boolean', describe: 'uninstall the OS service' },
  start: { type: 'boolean', describe: 'start the OS service' },
  stop: { type: 'boolean', describe: 'stop the OS service' },
  help: { type: 'boolean', describe: 'show this help' },
} as const satisfies Record<
  string,
  { type: 'boolean' | 'string'; short?: string; multiple?: boolean; describe?: string }
>;

const USAGE = `usage: aliyun-service [options]
Options:
${Object.entries(OPTIONS)
  .map(([name, o]) => {
    const flag = `${'short' in o ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ' <value>' : ''}`;
    return `  ${flag.padEnd(30)}${'describe' in o ? o.describe : ''}`.trimEnd();
  })
  .join('\n')}`;

interface Args {
  version?: boolean;
  register?: boolean;
  deregister?: boolean;
  RegionId?: string;
  ActivationCode?: string;
  ActivationId?: string;
  InstanceName?: string;
  NetworkMode?: string;
  tag?: string[];
  LogPath?: string;
  daemon?: boolean;
  install?: boolean;
  remove?: boolean;
  start?: boolean;
  stop?: boolean;
  help?: boolean;
}

function parseArgs(args: string[]): Args {
  try {
    const options = Object.fromEntries(
      Object.entries(OPTIONS).map(([name, o]) => [
        name,
        { type: o.type, ...('short' in o ? { short: o.short } : {}), ...('multiple' in o ? { multiple: true } : {}) },
      ]),
    );
    return parseFlags({ args, options, strict: true, allowPositionals: false }).values as Args;
  } catch (e) {
    // As with any unknown or malformed flag: the usage and the problem on stderr, exit status 1.
    console.error(USAGE);
    console.error(`\n${e instanceof Error ? e.message : String(e)}`);
    process.exit(ExitCode.Fatal);
  }
}

function fail(e: unknown): never {
  const msg = isAgentError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  console.error(msg);
  process.exit(isAgentError(e) && e.code === 'CONFIG_INVALID' ? ExitCode.Usage : ExitCode.Fatal);
}

function requireServerHost(config: AgentConfig): string {
  if (!config.serverHost) {
    fail(new Error('set ALIYUN_ASSIST_SERVER_HOST to the control plane host[:port]'));
  }
  return config.serverHost;
}

async function register(argv: Args, config: AgentConfig): Promise<never> {
  const missing = (['RegionId', 'ActivationCode', 'ActivationId'] as const).filter((k) => !argv[k]);
  if (missing.length > 0) {
    console.error(`--register needs ${missing.map((k) => `--${k}`).join(', ')}`);
    process.exit(ExitCode.Usage);
  }
  const http = createAgentHttpClient(config);
  try {
    const { instanceId } = await registerInstance({
      paths: config.paths,
      serverHost: requireServerHost(config),
      http,
      regionId: argv.RegionId!,
      activationCode: argv.ActivationCode!,
      activationId: argv.ActivationId!,
      ...(argv.InstanceName ? { instanceName: argv.InstanceName } : {}),
      ...(argv.NetworkMode ? { networkMode: argv.NetworkMode } : {}),
      tags: (argv.tag ?? []).map(parseTag),
      log: createAgentLogger(config),
    });
    console.log('register ok');
    console.log(`instance id: ${instanceId}`);
    await restartAgentServiceIfInstalled(config);
    process.exit(ExitCode.Ok);
  } catch (e) {
    console.error('register failed');
    fail(e);
  } finally {
    http.close();
  }
}

async function deregister(config: AgentConfig): Promise<never> {
  const http = createAgentHttpClient(config);
  try {
    await deregisterInstance({
      paths: config.paths,
      serverHost: requireServerHost(config),
      http,
      log: createAgentLogger(config),
    });
    console.log('unregister ok');
    await restartAgentServiceIfInstalled(config);
    process.exit(ExitCode.Ok);
  } catch (e) {
    console.error('unregister failed');
    fail(e);
  } finally {
    http.close();
  }
}

async function run(config: AgentConfig): Promise<never> {
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => stop.abort());
  }
  // A stop that overruns its budget must still end the process.
  stop.signal.addEventListener('abort', () => setTimeout(() => process.exit(ExitCode.Fatal), 15_000).unref(), {
    once: true,
  });
  const code = await runAgent({ config, signal: stop.signal, onStarted: () => console.log('Started successfully') });
  process.exit(code);
}

async function runCli(args: string[]): Promise<void> {
  const argv = parseArgs(args);
  if (argv.help) {
    console.log(USAGE);
    process.exit(ExitCode.Ok);
  }
  let config: AgentConfig;
  try {
    config = loadAgentConfig(argv.LogPath ? { logPath: argv.LogPath } : {}, process.env);
  } catch (e) {
    fail(e);
  }
  if (argv.version) {
    console.log(config.version);
    process.exit(ExitCode.Ok);
  }
  if (argv.register) {
    await register(argv, config);
  }
  if (argv.deregister) {
    await deregister(config);
  }
  // The stock order of the service flags: stop, remove, install, start (§1.1).
  for (const action of ['stop', 'remove', 'install', 'start'] as const) {
    if (argv[action]) {
      process.exit(await runServiceAction(action, config));
    }
  }
  await run(config);
}

/** Runs aliyun-service with the given arguments (without the program name); always exits the process. */
export function main(args: string[]): Promise<void> {
  return runCli(args).catch(fail);
}
