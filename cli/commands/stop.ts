// assist stop: StopInvocation, on every instance of the invocation or some of them.
import type { Argv } from 'yargs';
import type { Context, GlobalArgs } from '../context.js';
import { println } from '../io.js';
import { splitIds } from '../targets.js';

interface StopArgs extends GlobalArgs {
  invokeId: string;
  instances?: string[];
}

export function stopCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  return y.command(
    'stop <invoke-id>',
    'stop an invocation (StopInvocation)',
    (c) =>
      c
        .positional('invoke-id', { type: 'string', demandOption: true, describe: 't-… from assist run or invoke' })
        .option('instances', { alias: 'i', type: 'string', array: true, describe: 'only on these instances' }),
    (a) => stop(ctx, a as unknown as StopArgs),
  );
}

async function stop(ctx: Context, a: StopArgs): Promise<void> {
  const instanceIds = splitIds(a.instances ?? []);
  await ctx.api(a).call('StopInvocation', {
    InvokeId: a.invokeId,
    InstanceId: instanceIds.length > 0 ? instanceIds : undefined,
  });
  println(ctx.io.stdout, `stop requested for ${a.invokeId}; see assist results ${a.invokeId} --watch`);
}
