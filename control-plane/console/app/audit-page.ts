/// <reference lib="dom" />
// The audit trail: operator calls, newest first, filtered by user, key, action and result, read a
// page at a time (DescribeAuditEvents with NextToken).
import type { ConsoleContext, Page } from './context.js';
import { byId, guarded, h, status, table, time } from './dom.js';

interface AuditEvent {
  EventTime: string;
  IdentityType: string;
  UserName: string;
  AccessKeyId: string;
  EventAction: string;
  Result: string;
  SourceIp: string;
  RequestId: string;
  Resources: { Resource: string[] };
}

const PAGE_SIZE = 20;

const field = (label: string, name: string, placeholder = '') =>
  h('label', {}, `${label} `, h('input', { name, type: 'search', autocomplete: 'off', placeholder }));

export function createAuditPage(ctx: ConsoleContext): Page {
  const root = byId('audit-content');
  const error = byId('audit-error');
  const listEl = h('div', {});
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const form = h(
    'form',
    { class: 'row', 'aria-label': 'Filter audit events' },
    field('User', 'user'),
    field('Signed with key', 'key'),
    field('Action', 'action', 'RunCommand'),
    field('Result', 'result', 'Forbidden.RAM'),
    h('button', { type: 'submit' }, 'Search'),
  );
  root.replaceChildren(form, listEl, more);
  let events: AuditEvent[] = [];
  let next: string | undefined;

  const filters = () => {
    const v = (n: string) => (form.elements.namedItem(n) as HTMLInputElement).value.trim();
    return { UserName: v('user'), EventAccessKeyId: v('key'), EventAction: v('action'), Result: v('result') };
  };

  async function load(reset: boolean): Promise<void> {
    const r = (await ctx.api()('DescribeAuditEvents', {
      ...filters(),
      MaxResults: PAGE_SIZE,
      NextToken: reset ? undefined : next,
    })) as { AuditEvents: { AuditEvent: AuditEvent[] }; NextToken?: string; TotalCount: number };
    events = reset ? r.AuditEvents.AuditEvent : [...events, ...r.AuditEvents.AuditEvent];
    next = r.NextToken;
    more.hidden = next === undefined;
    listEl.replaceChildren(
      h('p', {}, `${r.TotalCount} event(s) match.`),
      table(
        'Audit events',
        ['Time', 'Who', 'AccessKeyId', 'Action', 'Result', 'Source', 'Resources', 'RequestId'],
        events.map((e) => [
          time(e.EventTime),
          e.IdentityType === 'RAMUser' ? e.UserName : e.IdentityType === 'Account' ? 'account' : 'unknown',
          e.AccessKeyId,
          e.EventAction,
          status(e.Result === 'Success' ? 'Success' : e.Result),
          e.SourceIp,
          e.Resources.Resource.join(' '),
          e.RequestId,
        ]),
        'No audit events match.',
      ),
    );
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void guarded(error, () => load(true));
  });
  more.addEventListener('click', () => void guarded(error, () => load(false)));
  return { show: () => load(true), hide: () => undefined };
}
