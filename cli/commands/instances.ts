// assist instances: managed instances and their agents (DescribeManagedInstances and
// DescribeCloudAssistantStatus, joined by instance id).
import type { Argv } from 'yargs';
import type { ApiClient } from '../api-client.js';
import type { Context, GlobalArgs } from '../context.js';
import { renderTable } from '../table.js';
import { listManagedInstances } from '../targets.js';
import { printJson } from './shared.js';

interface InstancesArgs extends GlobalArgs {
  online: boolean;
  name?: string;
  json: boolean;
}

interface AssistantStatus {
  InstanceId: string;
  CloudAssistantStatus: string;
  CloudAssistantVersion: string;
  LastHeartbeatTime: string;
  ActiveTaskCount: number;
}

export function instancesCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  return y.command(
    'instances',
    'list managed instances and whether their agent is online',
    (c) =>
      c
        .option('online', { type: 'boolean', default: false, describe: 'only instances whose agent is online' })
        .option('name', { type: 'string', describe: 'only instances with this name (`*` matches any characters)' })
        .option('json', { type: 'boolean', default: false, describe: 'print the instances as JSON' }),
    (a) => instances(ctx, a as unknown as InstancesArgs),
  );
}

async function statusOf(api: ApiClient, ids: string[]): Promise<Map<string, AssistantStatus>> {
  const m = new Map<string, AssistantStatus>();
  for (let i = 0; i < ids.length; i += 50) {
    const r = await api.call<{ InstanceCloudAssistantStatusSet: { InstanceCloudAssistantStatus: AssistantStatus[] } }>(
      'DescribeCloudAssistantStatus',
      { InstanceId: ids.slice(i, i + 50), PageSize: 50 },
    );
    for (const s of r.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus) {
      m.set(s.InstanceId, s);
    }
  }
  return m;
}

async function instances(ctx: Context, a: InstancesArgs): Promise<void> {
  const api = ctx.api(a);
  const list = await listManagedInstances(api, { online: a.online, ...(a.name ? { name: a.name } : {}) });
  const status = await statusOf(
    api,
    list.map((i) => i.InstanceId),
  );
  const rows = list.map((i) => {
    const s = status.get(i.InstanceId);
    return {
      ...i,
      LastHeartbeatTime: s?.LastHeartbeatTime ?? '',
      ActiveTaskCount: s?.ActiveTaskCount ?? 0,
    };
  });
  if (a.json) {
    printJson(ctx, rows);
    return;
  }
  ctx.io.stdout.write(
    renderTable(
      ['INSTANCE', 'NAME', 'HOSTNAME', 'IP', 'OS', 'AGENT', 'ONLINE', 'RUNNING', 'LAST HEARTBEAT'],
      rows.map((r) => [
        r.InstanceId,
        r.InstanceName,
        r.Hostname,
        r.IntranetIp,
        r.OsType,
        r.AgentVersion,
        r.Connected ? 'yes' : 'no',
        r.ActiveTaskCount,
        r.LastHeartbeatTime,
      ]),
    ),
  );
}
