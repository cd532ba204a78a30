// assist invoke: InvokeCommand (a saved command) on some instances, then the results as for run.
import type { Argv } from 'yargs';
import type { Context } from '../context.js';
import { resolveTargets } from '../targets.js';
import { finishInvocation, parametersOf, withTargets, withWait, type TargetArgs } from './shared.js';

interface InvokeArgs extends TargetArgs {
  commandId: string;
  user?: string;
  timeout?: number;
  workdir?: string;
  param?: string[];
  wait: boolean;
  json: boolean;
}

export function invokeCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  return y.command(
    'invoke <command-id>',
    'run a saved command on instances (InvokeCommand) and show the results',
    (c) =>
      withWait(withTargets(c))
        .positional('command-id', { type: 'string', demandOption: true, describe: 'c-… from assist commands list' })
        .option('user', { alias: 'u', type: 'string', describe: 'run as this user' })
        .option('timeout', {
          alias: 't',
          type: 'number',
          describe: "seconds before the script is stopped (default: the command's)",
        })
        .option('workdir', { type: 'string', describe: "working directory (default: the command's)" })
        .option('param', { alias: 'p', type: 'string', array: true, describe: 'custom parameter name=value (repeat)' }),
    (a) => invoke(ctx, a as unknown as InvokeArgs),
  );
}

async function invoke(ctx: Context, a: InvokeArgs): Promise<void> {
  const api = ctx.api(a);
  const instanceIds = await resolveTargets(api, a);
  const r = await api.call<{ InvokeId: string }>('InvokeCommand', {
    CommandId: a.commandId,
    InstanceId: instanceIds,
    Username: a.user,
    Timeout: a.timeout,
    WorkingDir: a.workdir,
    Parameters: parametersOf(a.param),
  });
  await finishInvocation(ctx, a, { InvokeId: r.InvokeId, CommandId: a.commandId }, instanceIds.length);
}
