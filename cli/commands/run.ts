// assist run: RunCommand on some instances, then wait for and show the results.
import { randomUUID } from 'node:crypto';
import type { Argv } from 'yargs';
import type { Context } from '../context.js';
import { resolveTargets } from '../targets.js';
import {
  finishInvocation,
  parametersOf,
  SCRIPT_TYPES,
  scriptOf,
  withTargets,
  withWait,
  type TargetArgs,
} from './shared.js';

interface RunArgs extends TargetArgs {
  file?: string;
  type: string;
  user?: string;
  timeout?: number;
  workdir?: string;
  name?: string;
  param?: string[];
  wait: boolean;
  json: boolean;
  '--'?: (string | number)[];
}

export function runCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  return y.command(
    'run',
    'run a script on instances (RunCommand) and show the results',
    (c) =>
      withWait(withTargets(c))
        .usage("assist run (--instances ID… | --all | --tag k=v) [options] -- 'script'   or   --file script.sh")
        .option('file', { alias: 'f', type: 'string', describe: 'read the script from this file' })
        .option('type', { type: 'string', choices: SCRIPT_TYPES, default: 'RunShellScript' })
        .option('user', { alias: 'u', type: 'string', describe: 'run as this user (default root / System)' })
        .option('timeout', {
          alias: 't',
          type: 'number',
          describe: 'seconds before the script is stopped (default 60)',
        })
        .option('workdir', { type: 'string', describe: 'working directory of the script' })
        .option('name', { type: 'string', describe: 'name of the command' })
        .option('param', {
          alias: 'p',
          type: 'string',
          array: true,
          describe: 'custom parameter name=value, used as {{name}} in the script (repeat)',
        })
        .example("assist run --all -- 'uptime'", 'every online instance')
        .example("assist run -i mi-1 --param who=world -- 'echo hello {{who}}'", 'with a custom parameter'),
    (a) => run(ctx, a as unknown as RunArgs),
  );
}

async function run(ctx: Context, a: RunArgs): Promise<void> {
  const script = scriptOf(ctx, a);
  const parameters = parametersOf(a.param);
  const api = ctx.api(a);
  const instanceIds = await resolveTargets(api, a);
  const r = await api.call<{ InvokeId: string; CommandId: string }>('RunCommand', {
    Type: a.type,
    CommandContent: script,
    ContentEncoding: 'PlainText',
    InstanceId: instanceIds,
    Name: a.name,
    Username: a.user,
    Timeout: a.timeout,
    WorkingDir: a.workdir,
    // Parameter-store references ({{oos:…}}, {{oos-secret:…}}) resolve only with parameters enabled.
    EnableParameter: parameters !== undefined || /\{\{\s*oos(-secret)?\s*:/.test(script),
    Parameters: parameters,
    // RunCommand is not read-only, so the client never retries it; the token still guards a proxy's retry.
    ClientToken: randomUUID(),
  });
  await finishInvocation(ctx, a, { InvokeId: r.InvokeId, CommandId: r.CommandId }, instanceIds.length);
}
