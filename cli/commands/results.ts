// assist results: the results of an invocation, now or (--watch) once every instance has ended.
import type { Argv } from 'yargs';
import type { Context, GlobalArgs } from '../context.js';
import { EXIT } from '../errors.js';
import { fetchInvocationResults, hasEnded, succeeded, waitUntilEnded } from '../invocation-results.js';
import { CliError } from '../errors.js';
import { printResults } from './shared.js';

interface ResultsArgs extends GlobalArgs {
  invokeId: string;
  watch: boolean;
  json: boolean;
}

export function resultsCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  return y.command(
    'results <invoke-id>',
    'show the results of an invocation (DescribeInvocationResults)',
    (c) =>
      c
        .positional('invoke-id', { type: 'string', demandOption: true, describe: 't-… from assist run or invoke' })
        .option('watch', {
          alias: 'w',
          type: 'boolean',
          default: false,
          describe: 'wait until every instance has ended',
        })
        .option('json', { type: 'boolean', default: false, describe: 'print the results as JSON' }),
    (a) => results(ctx, a as unknown as ResultsArgs),
  );
}

async function results(ctx: Context, a: ResultsArgs): Promise<void> {
  const api = ctx.api(a);
  let commandId: string | undefined;
  const fetch = async () => {
    const { CommandId, Results: r } = await fetchInvocationResults(api, a.invokeId);
    commandId = CommandId;
    if (r.length === 0) {
      // DescribeInvocationResults filters rather than looks up: no rows means no such invocation.
      throw new CliError('API', `The specified invocation does not exist: ${a.invokeId}`, {
        api: { apiCode: 'InvalidInvokeId.NotFound' },
      });
    }
    return r;
  };
  const r = a.watch
    ? await waitUntilEnded({ fetch, ended: hasEnded, ok: succeeded, progress: ctx.io.stderr })
    : await fetch();
  printResults(ctx, a.json, { InvokeId: a.invokeId, CommandId: commandId }, r);
  if (a.watch && !r.every(succeeded)) {
    ctx.setExitCode(EXIT.INSTANCE_FAILED);
  }
}
