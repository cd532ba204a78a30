// aliyun-service: the agent. Flags follow the stock client (spec/client-features.md §1.1):
//   aliyun-service                  run in the foreground until SIGTERM/SIGINT
//   aliyun-service -v               print the version
//   aliyun-service --register --RegionId R --ActivationCode C --ActivationId I [--InstanceName N] [--tag k=v]…
//   aliyun-service --deregister
//   aliyun-service --install | --start | --stop | --remove    the OS service (bin/service-control.ts)
// bin/aliyun-service.ts runs it as a program; bin/multicall.ts runs it by name inside the single binary.
import yargs from 'yargs';
import { createAgentHttpClient, createAgentLogger, runAgent } from '../agent/index.js';
import { loadAgentConfig, type AgentConfig } from '../agent/config/index.js';
import { deregisterInstance, parseTag, registerInstance } from '../agent/identity/index.js';
import { ExitCode, isAgentError } from '../agent/shared/index.js';
import { restartAgentServiceIfInstalled, runServiceAction } from './service-control.js';

function parseArgs(args: string[]) {
  return yargs(args)
    .scriptName('aliyun-service')
    .parserConfiguration({ 'camel-case-expansion': false, 'strip-dashed': false })
    .version(false)
    .option('version', { alias: 'v', type: 'boolean', describe: 'print the version' })
    .option('register', { alias: 'r', type: 'boolean', describe: 'register as a managed instance' })
    .option('deregister', { alias: 'u', type: 'boolean', describe: 'deregister this managed instance' })
    .option('RegionId', { alias: 'R', type: 'string' })
    .option('ActivationCode', { alias: 'C', type: 'string' })
    .option('ActivationId', { alias: 'I', type: 'string' })
    .option('InstanceName', { alias: 'N', type: 'string' })
    .option('NetworkMode', { alias: 'm', type: 'string' })
    .option('tag', { alias: 'T', type: 'string', array: true })
    .option('LogPath', { alias: 'L', type: 'string', describe: 'log directory' })
    .option('daemon', { alias: 'd', type: 'boolean', describe: 'accepted for compatibility; runs in the foreground' })
    .option('install', { type: 'boolean', describe: 'install the OS service' })
    .option('remove', { type: 'boolean', describe: 'uninstall the OS service' })
    .option('start', { type: 'boolean', describe: 'start the OS service' })
    .option('stop', { type: 'boolean', describe: 'stop the OS service' })
    .strict()
    .help()
    .parseAsync();
}
type Args = Awaited<ReturnType<typeof parseArgs>>;

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
  const argv = await parseArgs(args);
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
