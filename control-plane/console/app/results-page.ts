/// <reference lib="dom" />
// Execution results: the invocations (DescribeInvocations), and for one of them the per-instance
// records (DescribeInvocationResults) with live output while anything runs, exit codes and stop
// buttons (StopInvocation for the whole invocation or one instance).
import { listParam } from './api.js';
import type { ConsoleContext, Page } from './context.js';
import { announce, byId, field, guarded, h, status, table, time } from './dom.js';
import { Pager } from './pager.js';

interface Invocation {
  InvokeId: string;
  CommandName: string;
  CommandType: string;
  InvocationStatus: string;
  RepeatMode: string;
  Frequency: string;
  CreationTime: string;
  InvokeInstances: { InvokeInstance: unknown[] };
}

interface InvocationResult {
  InstanceId: string;
  InvocationStatus: string;
  ExitCode?: number;
  ErrorCode: string;
  ErrorInfo: string;
  StartTime: string;
  FinishedTime: string;
  Output: string;
  Dropped: number;
  Repeats: number;
}

const ACTIVE = new Set(['Pending', 'Scheduled', 'Running', 'Stopping']);
const POLL_MS = 1500;
const LIST_SIZE = 10;
const DETAIL_SIZE = 20;

export function createResultsPage(ctx: ConsoleContext): Page & { open(invokeId: string): void } {
  const filter = byId<HTMLFormElement>('results-filter');
  const listPager = new Pager('Invocation list', () => void guarded(byId('results-error'), list));
  const detailPager = new Pager('Instance results', () => void refreshDetail());
  let openId: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let visible = false;

  async function stop(invokeId: string, instanceId?: string): Promise<void> {
    await ctx.api()('StopInvocation', {
      InvokeId: invokeId,
      ...listParam('InstanceId', instanceId ? [instanceId] : []),
    });
    announce(`Stop requested for ${instanceId ?? invokeId}.`);
    await refreshDetail();
  }

  async function list(): Promise<void> {
    const d = (await ctx.api()('DescribeInvocations', {
      InvokeStatus: field<HTMLSelectElement>(filter, 'status').value,
      PageNumber: listPager.pageNumber,
      PageSize: LIST_SIZE,
      ContentEncoding: 'PlainText',
    })) as { TotalCount: number; Invocations: { Invocation: Invocation[] } };
    byId('invocations').replaceChildren(
      table(
        'Invocations, newest first',
        ['Invocation', 'Command', 'Status', 'Schedule', 'Instances', 'Created'],
        d.Invocations.Invocation.map((inv) => [
          h('button', { type: 'button', class: 'link', onclick: () => open(inv.InvokeId) }, inv.InvokeId),
          inv.CommandName || inv.CommandType,
          status(inv.InvocationStatus),
          inv.Frequency || inv.RepeatMode,
          inv.InvokeInstances.InvokeInstance.length,
          time(inv.CreationTime),
        ]),
        'No commands run yet.',
      ),
      listPager.el,
    );
    listPager.render(d.TotalCount, LIST_SIZE);
  }

  async function refreshDetail(): Promise<void> {
    clearTimeout(timer);
    const invokeId = openId;
    if (!invokeId) {
      return;
    }
    const api = ctx.api();
    const [invs, res] = await Promise.all([
      api('DescribeInvocations', { InvokeId: invokeId, ContentEncoding: 'PlainText' }),
      api('DescribeInvocationResults', {
        InvokeId: invokeId,
        ContentEncoding: 'PlainText',
        PageNumber: detailPager.pageNumber,
        PageSize: DETAIL_SIZE,
      }),
    ]);
    if (invokeId !== openId) {
      return; // another invocation was opened meanwhile
    }
    const inv = (invs as { Invocations: { Invocation: Invocation[] } }).Invocations.Invocation[0];
    const r = res as {
      Invocation: { TotalCount: number; InvocationResults: { InvocationResult: InvocationResult[] } };
    };
    const records = r.Invocation.InvocationResults.InvocationResult;
    const overall = inv?.InvocationStatus ?? 'unknown';
    const done = records.filter((x) => !ACTIVE.has(x.InvocationStatus)).length;
    byId('detail-summary').textContent = `Status ${overall}: ${done} of ${records.length} execution(s) done.`;
    byId<HTMLButtonElement>('detail-stop').hidden = !ACTIVE.has(overall);
    byId('detail-results').replaceChildren(
      table(
        `Results of ${invokeId}`,
        ['Instance', 'Status', 'Exit code', 'Error', 'Started', 'Finished', 'Output', ''],
        records.map((x) => [
          x.InstanceId,
          status(x.InvocationStatus),
          x.ExitCode ?? '',
          [x.ErrorCode, x.ErrorInfo].filter(Boolean).join(': '),
          time(x.StartTime),
          time(x.FinishedTime),
          h(
            'pre',
            { tabindex: 0, 'aria-label': `Output of ${x.InstanceId}` },
            x.Dropped > 0 ? `(${x.Dropped} earlier bytes dropped)\n` : '',
            x.Output,
          ),
          ACTIVE.has(x.InvocationStatus)
            ? h(
                'button',
                {
                  type: 'button',
                  onclick: () => void guarded(byId('detail-error'), () => stop(invokeId, x.InstanceId)),
                },
                `Stop on ${x.InstanceId}`,
              )
            : '',
        ]),
        'No execution records yet.',
      ),
      detailPager.el,
    );
    detailPager.render(r.Invocation.TotalCount, DETAIL_SIZE);
    const active = ACTIVE.has(overall) || records.some((x) => ACTIVE.has(x.InvocationStatus));
    if (active && visible) {
      timer = setTimeout(() => void guarded(byId('detail-error'), refreshDetail), POLL_MS);
    } else if (!active) {
      void guarded(byId('results-error'), list); // the list's status column catches up
    }
  }

  function open(invokeId: string): void {
    openId = invokeId;
    detailPager.reset();
    byId('invocation-detail').hidden = false;
    byId('detail-title').textContent = `Invocation ${invokeId}`;
    void guarded(byId('detail-error'), refreshDetail);
  }

  filter.addEventListener('submit', (ev) => {
    ev.preventDefault();
    listPager.reset();
    void guarded(byId('results-error'), list);
  });
  byId('detail-stop').addEventListener('click', () => {
    if (openId) {
      void guarded(byId('detail-error'), () => stop(openId!));
    }
  });

  return {
    open,
    async show() {
      visible = true;
      await list();
      if (openId) {
        await refreshDetail();
      }
    },
    hide() {
      visible = false;
      clearTimeout(timer);
    },
  };
}
