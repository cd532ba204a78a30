// aliyun-service: the agent. Flags follow the stock client (spec/client-features.md §1.1):
//   aliyun-service                  run in the foreground until SIGTERM/SIGINT
//   aliyun-service -v               print the version
//   aliyun-service --register --RegionId R --ActivationCode C --ActivationId I [--InstanceName N] [--tag k=v]…
//   aliyun-service --deregister
import { hideBin } from 'yargs/helpers';
import yargs from 'yargs';
import { createAgentHttpClient, createAgentLogger, runAgent } from '../agent/index.js';
import { loadAgentConfig, type AgentConfig } from '../agent/config/index.js';
import { deregisterInstance, parseTag, registerInstance } from '../agent/identity/index.js';
import { ExitCode, isAgentError } from '../agent/shared/index.js';

function parseArgs() {
  return yargs(hideBin(process.argv))
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

async function main(): Promise<void> {
  const argv = await parseArgs();
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
  await run(config);
}

main().catch(fail);
