// assist send-file: SendFile a local file to instances, then wait for DescribeSendFileResults.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Argv } from 'yargs';
import type { ApiClient } from '../api-client.js';
import type { Context } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { waitUntilEnded } from '../invocation-results.js';
import { println } from '../io.js';
import { formatDuration, renderTable } from '../table.js';
import { resolveTargets } from '../targets.js';
import { printJson, withTargets, withWait, type TargetArgs } from './shared.js';

interface SendFileArgs extends TargetArgs {
  localFile: string;
  targetDir: string;
  name?: string;
  mode?: string;
  owner?: string;
  group?: string;
  overwrite: boolean;
  timeout?: number;
  description?: string;
  wait: boolean;
  json: boolean;
}

interface SendFileResult {
  InstanceId: string;
  InvocationStatus: string;
  ErrorCode?: string;
  ErrorInfo?: string;
  StartTime?: string;
  FinishTime?: string;
}

/** Per-instance SendFile statuses that no longer change. */
const ENDED = new Set(['Success', 'Failed', 'Invalid', 'Aborted', 'Timeout', 'Error', 'Stopped', 'Cancelled']);

export function sendFileCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  return y.command(
    'send-file <local-file>',
    'send a file to instances (SendFile) and show where it arrived',
    (c) =>
      withWait(withTargets(c))
        .positional('local-file', {
          type: 'string',
          demandOption: true,
          describe: 'the file to send (at most 32 KB once base64-encoded)',
        })
        .option('target-dir', {
          type: 'string',
          demandOption: true,
          describe: 'directory on the instances (created if absent)',
        })
        .option('name', { type: 'string', describe: 'file name on the instances (default: the local name)' })
        .option('mode', { type: 'string', describe: 'permissions, as for chmod (default 0644)' })
        .option('owner', { type: 'string', describe: 'owner on the instances (default root)' })
        .option('group', { type: 'string', describe: 'group on the instances (default root)' })
        .option('overwrite', { type: 'boolean', default: false, describe: 'replace a file of the same name' })
        .option('timeout', { alias: 't', type: 'number', describe: 'seconds the delivery may take (default 60)' })
        .option('description', { type: 'string' }),
    (a) => sendFile(ctx, a as unknown as SendFileArgs),
  );
}

async function fetchSendResults(api: ApiClient, invokeId: string): Promise<SendFileResult[]> {
  const r = await api.call<{
    Invocations: { Invocation: { InvokeInstances: { InvokeInstance: SendFileResult[] } }[] };
  }>('DescribeSendFileResults', { InvokeId: invokeId });
  return r.Invocations.Invocation[0]?.InvokeInstances.InvokeInstance ?? [];
}

async function sendFile(ctx: Context, a: SendFileArgs): Promise<void> {
  let content: Buffer;
  try {
    content = readFileSync(ctx.path(a.localFile));
  } catch (e) {
    throw new CliError('FILE', `cannot read ${a.localFile}: ${(e as Error).message}`, { cause: e });
  }
  const api = ctx.api(a);
  const instanceIds = await resolveTargets(api, a);
  const r = await api.call<{ InvokeId: string }>('SendFile', {
    Name: a.name ?? basename(a.localFile),
    TargetDir: a.targetDir,
    Content: content.toString('base64'),
    ContentType: 'Base64',
    InstanceId: instanceIds,
    FileMode: a.mode,
    FileOwner: a.owner,
    FileGroup: a.group,
    Overwrite: a.overwrite,
    Timeout: a.timeout,
    Description: a.description,
  });
  if (!a.wait) {
    if (a.json) {
      printJson(ctx, { InvokeId: r.InvokeId });
    } else {
      println(ctx.io.stdout, r.InvokeId);
    }
    return;
  }
  println(ctx.io.stderr, `file delivery ${r.InvokeId} to ${instanceIds.length} instance(s)`);
  const ok = (x: SendFileResult) => x.InvocationStatus === 'Success';
  const results = await waitUntilEnded({
    fetch: () => fetchSendResults(api, r.InvokeId),
    ended: (x) => ENDED.has(x.InvocationStatus),
    ok,
    progress: ctx.io.stderr,
  });
  if (a.json) {
    printJson(ctx, { InvokeId: r.InvokeId, Results: results });
  } else {
    ctx.io.stdout.write(
      renderTable(
        ['INSTANCE', 'STATUS', 'DURATION', 'ERROR'],
        results.map((x) => [
          x.InstanceId,
          x.InvocationStatus,
          x.StartTime && x.FinishTime ? formatDuration(Date.parse(x.FinishTime) - Date.parse(x.StartTime)) : '',
          [x.ErrorCode, x.ErrorInfo].filter(Boolean).join(': '),
        ]),
      ),
    );
  }
  if (!results.every(ok)) {
    ctx.setExitCode(EXIT.INSTANCE_FAILED);
  }
}
