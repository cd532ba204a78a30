/// <reference lib="dom" />
// File sends: SendFile (typed or uploaded content, owner, group, mode, overwrite, timeout) and
// the sends so far with per-instance results (DescribeSendFileResults), refreshed while active.
import { listParam } from './api.js';
import type { ConsoleContext, Page } from './context.js';
import { announce, byId, field, guarded, h, status, table, time } from './dom.js';
import { bytesToBase64, toBase64 } from './encoding.js';
import { InstancePicker } from './instance-picker.js';
import { Pager } from './pager.js';

interface FileSend {
  InvokeId: string;
  Name: string;
  TargetDir: string;
  InvocationStatus: string;
  CreationTime: string;
  InvokeInstances: {
    InvokeInstance: { InstanceId: string; InvocationStatus: string; ErrorCode?: string; ErrorInfo?: string }[];
  };
}

const MAX_BASE64 = 32 * 1024;
const PAGE_SIZE = 10;
const POLL_MS = 1500;
const ACTIVE = new Set(['Pending', 'Running', 'Scheduled', 'Stopping']);

export function createFilesPage(ctx: ConsoleContext): Page {
  const form = byId<HTMLFormElement>('file-form');
  const error = byId('file-error');
  const picker = new InstancePicker(byId('file-instances'), ctx.api, 'file');
  const pager = new Pager('Sent files', () => void guarded(error, list));
  let timer: ReturnType<typeof setTimeout> | undefined;
  let visible = false;

  async function list(): Promise<void> {
    clearTimeout(timer);
    const d = (await ctx.api()('DescribeSendFileResults', { PageNumber: pager.pageNumber, PageSize: PAGE_SIZE })) as {
      TotalCount: number;
      Invocations: { Invocation: FileSend[] };
    };
    const sends = d.Invocations.Invocation;
    byId('file-results').replaceChildren(
      table(
        'Sent files, newest first',
        ['Invocation', 'File', 'Target directory', 'Status', 'Per instance', 'Created'],
        sends.map((s) => [
          s.InvokeId,
          s.Name,
          s.TargetDir,
          status(s.InvocationStatus),
          h(
            'ul',
            { class: 'plain' },
            s.InvokeInstances.InvokeInstance.map((i) =>
              h(
                'li',
                {},
                `${i.InstanceId}: `,
                status(i.InvocationStatus),
                i.ErrorCode ? ` ${i.ErrorCode}${i.ErrorInfo ? `: ${i.ErrorInfo}` : ''}` : '',
              ),
            ),
          ),
          time(s.CreationTime),
        ]),
        'No files sent yet.',
      ),
      pager.el,
    );
    pager.render(d.TotalCount, PAGE_SIZE);
    if (visible && sends.some((s) => ACTIVE.has(s.InvocationStatus))) {
      timer = setTimeout(() => void guarded(error, list), POLL_MS);
    }
  }

  async function content(): Promise<string> {
    const file = field(form, 'upload').files?.[0];
    const b64 = file ? bytesToBase64(new Uint8Array(await file.arrayBuffer())) : toBase64(field(form, 'content').value);
    if (b64.length > MAX_BASE64) {
      throw new Error(`The content is ${b64.length} bytes after base64 encoding; the limit is ${MAX_BASE64}.`);
    }
    return b64;
  }

  form.addEventListener('change', (ev) => {
    const file = field(form, 'upload').files?.[0];
    if ((ev.target as HTMLElement).getAttribute('name') === 'upload' && file && !field(form, 'name').value) {
      field(form, 'name').value = file.name;
    }
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void guarded(error, async () => {
      const get = (n: string) => field(form, n).value.trim();
      if (!get('name')) {
        throw new Error('Enter a file name.');
      }
      if (picker.selected.size === 0) {
        throw new Error('Pick at least one instance.');
      }
      const r = (await ctx.api()('SendFile', {
        Name: get('name'),
        TargetDir: get('targetDir'),
        Content: await content(),
        ContentType: 'Base64',
        FileOwner: get('fileOwner'),
        FileGroup: get('fileGroup'),
        FileMode: get('fileMode'),
        Overwrite: field(form, 'overwrite').checked || undefined,
        Timeout: get('timeout'),
        Description: get('description'),
        ...listParam('InstanceId', [...picker.selected]),
      })) as { InvokeId: string };
      announce(`Sending ${get('name')}: invocation ${r.InvokeId}.`);
      pager.reset();
      await list();
    });
  });

  return {
    async show() {
      visible = true;
      await Promise.all([picker.refresh(), list()]);
    },
    hide() {
      visible = false;
      clearTimeout(timer);
    },
  };
}
