// Which instances a command goes to: --instances, --all or --tag, and `k=v` options.
import type { ApiClient } from './api-client.js';
import { CliError, usageError } from './errors.js';

export interface TargetFlags {
  instances?: string[] | undefined;
  all?: boolean | undefined;
  tag?: string[] | undefined;
}

export interface ManagedInstance {
  InstanceId: string;
  InstanceName: string;
  Hostname: string;
  IntranetIp: string;
  OsType: string;
  OsVersion: string;
  AgentVersion: string;
  Connected: boolean;
  RegistrationTime: string;
  LastInvokedTime: string;
  Tags: { TagKey: string; TagValue: string }[];
}

/** `k=v` items into pairs, split at the first `=`; the key must not be empty. */
export function parseKeyValues(items: readonly string[], flag: string): [string, string][] {
  return items.map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0) {
      throw usageError(`--${flag} takes key=value, got ${JSON.stringify(item)}`);
    }
    return [item.slice(0, eq), item.slice(eq + 1)];
  });
}

/** `--instances a,b --instances c` → [a, b, c], without duplicates. */
export function splitIds(values: readonly string[]): string[] {
  return [
    ...new Set(
      values
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .filter(Boolean),
    ),
  ];
}

/** Every managed instance the filter picks (all pages); the server filters, so only matches travel. */
export async function listManagedInstances(
  api: ApiClient,
  filter: { online?: boolean; name?: string } = {},
): Promise<ManagedInstance[]> {
  const all: ManagedInstance[] = [];
  for (let page = 1; ; page++) {
    const r = await api.call<{ TotalCount: number; Instances: ManagedInstance[] }>('DescribeManagedInstances', {
      PageNumber: page,
      PageSize: 50,
      ...(filter.online ? { Connected: 'true' } : {}),
      ...(filter.name ? { InstanceName: filter.name } : {}),
    });
    all.push(...r.Instances);
    if (r.Instances.length === 0 || all.length >= r.TotalCount) {
      return all;
    }
  }
}

/**
 * The instance ids to target. --all and --tag pick the instances that are online now (an offline
 * agent cannot be reached, and would only fail the run); --tag k=v may repeat (all must match).
 */
export async function resolveTargets(api: ApiClient, f: TargetFlags): Promise<string[]> {
  const given = [f.instances && f.instances.length > 0, f.all === true, f.tag && f.tag.length > 0].filter(Boolean);
  if (given.length !== 1) {
    throw usageError('give exactly one of --instances, --all or --tag k=v');
  }
  if (f.instances && f.instances.length > 0) {
    const ids = splitIds(f.instances);
    if (ids.length === 0) {
      throw usageError('--instances names no instance');
    }
    return ids;
  }
  const tags = parseKeyValues(f.tag ?? [], 'tag');
  const picked = (await listManagedInstances(api, { online: true })).filter(
    (i) => i.Connected && tags.every(([k, v]) => i.Tags.some((t) => t.TagKey === k && t.TagValue === v)),
  );
  if (picked.length === 0) {
    const what = f.all ? 'no instance is online' : `no online instance has tag ${(f.tag ?? []).join(' and ')}`;
    throw new CliError('NO_TARGET', `${what}; see assist instances`);
  }
  return picked.map((i) => i.InstanceId);
}
