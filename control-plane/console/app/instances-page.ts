/// <reference lib="dom" />
// Managed instances: one server-side page at a time (DescribeManagedInstances), last heartbeat for
// that page only (DescribeCloudAssistantStatus), and deregistration (DeregisterManagedInstance).
import { listParam } from './api.js';
import type { ConsoleContext, Page } from './context.js';
import { announce, byId, field, guarded, h, status, table, time } from './dom.js';
import { instanceQuery, type OnlineFilter } from './instance-filter.js';
import { osLabel } from './os-label.js';
import { Pager } from './pager.js';

interface ManagedInstance {
  InstanceId: string;
  InstanceName: string;
  Connected: boolean;
  AgentVersion: string;
  OsType: string;
  OsVersion: string;
  IntranetIp: string;
  RegistrationTime: string;
}

const PAGE_SIZE = 20;

/** The distribution (or system and machine), the whole reported value in a tooltip. */
function osCell(i: ManagedInstance): HTMLElement {
  const { text, title } = osLabel(i.OsType, i.OsVersion);
  return h('span', { title }, text);
}

export function createInstancesPage(ctx: ConsoleContext): Page {
  const form = byId<HTMLFormElement>('instances-filter');
  const error = byId('instances-error');
  const pager = new Pager('Managed instances', () => void guarded(error, list));

  async function list(): Promise<void> {
    const api = ctx.api();
    const q = instanceQuery(
      field(form, 'search').value,
      field<HTMLSelectElement>(form, 'online').value as OnlineFilter,
      pager.pageNumber,
      PAGE_SIZE,
    );
    q['OsType'] = field<HTMLSelectElement>(form, 'os').value;
    const d = (await api('DescribeManagedInstances', q)) as { TotalCount: number; Instances: ManagedInstance[] };
    const ids = d.Instances.map((i) => i.InstanceId);
    const seen = new Map<string, string>();
    if (ids.length > 0) {
      const s = (await api('DescribeCloudAssistantStatus', {
        ...listParam('InstanceId', ids),
        PageSize: ids.length,
      })) as {
        InstanceCloudAssistantStatusSet: {
          InstanceCloudAssistantStatus: { InstanceId: string; LastHeartbeatTime: string }[];
        };
      };
      for (const x of s.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus) {
        seen.set(x.InstanceId, x.LastHeartbeatTime);
      }
    }
    byId('instances-list').replaceChildren(
      table(
        'Managed instances',
        ['Instance', 'Name', 'Status', 'Agent version', 'OS', 'IP', 'Last seen', 'Registered', 'Actions'],
        d.Instances.map((i) => [
          i.InstanceId,
          i.InstanceName,
          status(i.Connected ? 'Online' : 'Offline'),
          i.AgentVersion,
          osCell(i),
          i.IntranetIp,
          time(seen.get(i.InstanceId)),
          time(i.RegistrationTime),
          h(
            'span',
            { class: 'actions' },
            i.Connected
              ? h(
                  'button',
                  {
                    type: 'button',
                    'aria-label': `Connect to ${i.InstanceId}`,
                    onclick: () => ctx.connect(i.InstanceId),
                  },
                  'Connect',
                )
              : null,
            h(
              'button',
              // The id is in the accessible name (which row), not on screen (the row shows it).
              {
                type: 'button',
                'aria-label': `Deregister ${i.InstanceId}`,
                onclick: () => void guarded(error, () => deregister(i)),
              },
              'Deregister',
            ),
          ),
        ]),
        'No instance matches.',
      ),
      pager.el,
    );
    pager.render(d.TotalCount, PAGE_SIZE);
  }

  async function deregister(i: ManagedInstance): Promise<void> {
    if (!confirm(`Deregister ${i.InstanceName || i.InstanceId} (${i.InstanceId})? Its agent stops being served.`)) {
      return;
    }
    await ctx.api()('DeregisterManagedInstance', { InstanceId: i.InstanceId });
    announce(`Deregistered ${i.InstanceId}.`);
    await list();
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    pager.reset();
    void guarded(error, list);
  });
  return { show: list, hide: () => undefined };
}
