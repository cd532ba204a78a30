// The `assist` command line: global options, one command module per group, errors mapped to exit
// codes in one place. bin/assist.ts passes argv and the process's streams, and exits with the result.
import yargs from 'yargs';
import { activationCommand } from './commands/activation.js';
import { auditCommand } from './commands/audit.js';
import { commandsCommand } from './commands/commands.js';
import { configureCommand } from './commands/configure.js';
import { instancesCommand } from './commands/instances.js';
import { paramCommand } from './commands/param.js';
import { pluginCommand } from './commands/plugin.js';
import { invokeCommand } from './commands/invoke.js';
import { resultsCommand } from './commands/results.js';
import { runCommand } from './commands/run.js';
import { portForwardCommand } from './commands/port-forward.js';
import { ramCommand } from './commands/ram.js';
import { sendFileCommand } from './commands/send-file.js';
import { sessionCommand } from './commands/session.js';
import { stopCommand } from './commands/stop.js';
import { Context } from './context.js';
import { describeError, EXIT, exitCodeOf, isCliError, usageError, type ExitCode } from './errors.js';
import { println, type Io } from './io.js';

const EPILOGUE = `Credentials: --profile / ASSIST_PROFILE selects a profile of ~/.assist/config.json (assist configure);
ASSIST_ACCESS_KEY_ID, ASSIST_ACCESS_KEY_SECRET, ASSIST_ENDPOINT, ASSIST_REGION and ASSIST_CA_FILE override it,
and flags override both. Exit codes: 0 ok, 1 API or command failure, 2 usage error, 3 an instance did not succeed.`;

function parser(args: string[], ctx: Context) {
  let y = yargs(args)
    .scriptName('assist')
    .parserConfiguration({ 'populate--': true })
    .exitProcess(false)
    .strict()
    .version(false)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(120, ctx.io.stdout.columns ?? 100))
    .option('profile', { type: 'string', global: true, describe: 'profile of ~/.assist/config.json' })
    .option('endpoint', {
      type: 'string',
      global: true,
      describe: 'the control plane API, host:port or https://host:port',
    })
    .option('region', { type: 'string', global: true, describe: 'RegionId sent with every call' })
    .option('ca-file', { type: 'string', global: true, describe: "PEM file of the control plane's CA" })
    .epilogue(EPILOGUE)
    .demandCommand(1, 'give a command, e.g. assist run --all -- uptime')
    .recommendCommands()
    .fail((msg, err) => {
      // Validation problems come as a message; errors thrown by a handler come as err.
      throw err ?? usageError(msg);
    });
  for (const add of [
    runCommand,
    invokeCommand,
    resultsCommand,
    stopCommand,
    commandsCommand,
    sendFileCommand,
    instancesCommand,
    activationCommand,
    paramCommand,
    pluginCommand,
    configureCommand,
    ramCommand,
    auditCommand,
    sessionCommand,
    portForwardCommand,
  ]) {
    y = add(y, ctx);
  }
  return y;
}

/** Runs one `assist` command line to its end and returns the exit code. */
export async function runAssist(args: string[], io: Io): Promise<ExitCode> {
  const ctx = new Context(io);
  try {
    await parser(args, ctx).parseAsync();
    return ctx.exitCode;
  } catch (e) {
    for (const line of describeError(e)) {
      println(io.stderr, line);
    }
    return isCliError(e) ? exitCodeOf(e) : EXIT.FAILURE;
  } finally {
    ctx.close();
  }
}
