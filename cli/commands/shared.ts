// Options and steps that several commands share.
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import type { Context, GlobalArgs } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';
import {
  fetchResults,
  hasEnded,
  renderResults,
  succeeded,
  waitUntilEnded,
  type InstanceResult,
} from '../invocation-results.js';
import { println } from '../io.js';
import { parseKeyValues, type TargetFlags } from '../targets.js';

export const SCRIPT_TYPES = ['RunShellScript', 'RunBatScript', 'RunPowerShellScript'] as const;

export interface TargetArgs extends GlobalArgs, TargetFlags {}

export function withTargets<T>(y: Argv<T>) {
  return y
    .option('instances', {
      alias: 'i',
      type: 'string',
      array: true,
      describe: 'instance ids (repeat, or separate with commas)',
    })
    .option('all', { type: 'boolean', describe: 'every instance that is online' })
    .option('tag', {
      type: 'string',
      array: true,
      describe: 'online instances with tag key=value (repeat: all match)',
    });
}

export function withWait<T>(y: Argv<T>) {
  return y
    .option('wait', {
      type: 'boolean',
      default: true,
      describe: 'wait for the results (--no-wait: print the id and return)',
    })
    .option('json', { type: 'boolean', default: false, describe: 'print the results as JSON' });
}

/** The script: the words after `--`, or the contents of --file; exactly one of them. */
export function scriptOf(
  ctx: Context,
  a: { file?: string | undefined; '--'?: (string | number)[] | undefined },
): string {
  const words = (a['--'] ?? []).map(String);
  if (a.file !== undefined && words.length > 0) {
    throw usageError('give the script after -- or with --file, not both');
  }
  if (a.file !== undefined) {
    try {
      return readFileSync(ctx.path(a.file), 'utf8');
    } catch (e) {
      throw new CliError('FILE', `cannot read ${a.file}: ${(e as Error).message}`, { cause: e });
    }
  }
  if (words.length === 0) {
    throw usageError("give the script after --, e.g. assist run --all -- 'uptime', or with --file script.sh");
  }
  return words.join(' ');
}

/** --param k=v … → the Parameters map; undefined when none is given. */
export function parametersOf(params: readonly string[] | undefined): Record<string, string> | undefined {
  if (!params || params.length === 0) {
    return undefined;
  }
  const map: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of parseKeyValues(params, 'param')) {
    if (k in map) {
      throw usageError(`--param ${k} is given twice`);
    }
    map[k] = v;
  }
  return map;
}

export function printJson(ctx: Context, value: unknown): void {
  println(ctx.io.stdout, JSON.stringify(value, null, 2));
}

/**
 * After RunCommand/InvokeCommand: print the id and return (--no-wait), or wait with progress on
 * stderr, print the results, and end with exit code 3 when an instance did not succeed.
 */
export async function finishInvocation(
  ctx: Context,
  a: GlobalArgs & { wait: boolean; json: boolean },
  ids: { InvokeId: string; CommandId?: string | undefined },
  instanceCount: number,
): Promise<void> {
  if (!a.wait) {
    if (a.json) {
      printJson(ctx, ids);
    } else {
      println(ctx.io.stdout, ids.InvokeId);
    }
    return;
  }
  println(
    ctx.io.stderr,
    `invocation ${ids.InvokeId} on ${instanceCount} instance(s); Ctrl-C stops waiting, not the command`,
  );
  const api = ctx.api(a);
  const results = await waitUntilEnded<InstanceResult>({
    fetch: () => fetchResults(api, ids.InvokeId),
    ended: hasEnded,
    ok: succeeded,
    progress: ctx.io.stderr,
  });
  printResults(ctx, a.json, ids, results);
  if (!results.every(succeeded)) {
    ctx.setExitCode(EXIT.INSTANCE_FAILED);
  }
}

export function printResults(
  ctx: Context,
  json: boolean,
  ids: { InvokeId: string; CommandId?: string | undefined },
  results: InstanceResult[],
): void {
  if (json) {
    printJson(ctx, { ...ids, Results: results });
  } else {
    ctx.io.stdout.write(renderResults(results));
  }
}
