/// <reference lib="dom" />
// Activation codes: create one (the code, and the install scripts when the server returns them,
// are shown once), list them (DescribeActivations), disable and delete them.
import type { ConsoleContext, Page } from './context.js';
import { announce, byId, field, guarded, h, status, table, time } from './dom.js';
import { Pager } from './pager.js';

interface Activation {
  ActivationId: string;
  InstanceName: string;
  InstanceCount: number;
  RegisteredCount: number;
  Disabled: boolean;
  TimeToLiveInHours: number;
  IpAddressRange: string;
  CreationTime: string;
}

/** CreateActivation's InstallScripts extension (control-plane/install), when packages are served. */
interface InstallScripts {
  Linux?: string;
  LinuxCommand?: string;
  Windows?: string;
}

const PAGE_SIZE = 10;

async function copy(text: string, what: string): Promise<void> {
  await navigator.clipboard.writeText(text);
  announce(`${what} copied.`);
}

function secretBlock(title: string, text: string, copyLabel: string): HTMLElement {
  const id = `once-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return h(
    'div',
    { class: 'once-item' },
    h('h4', { id }, title),
    h('pre', { 'aria-labelledby': id, tabindex: 0 }, text),
    h(
      'button',
      { type: 'button', onclick: () => void guarded(byId('activation-error'), () => copy(text, title)) },
      copyLabel,
    ),
  );
}

export function createActivationsPage(ctx: ConsoleContext): Page {
  const form = byId<HTMLFormElement>('activation-form');
  const error = byId('activation-error');
  const created = byId('activation-created');
  const pager = new Pager('Activation codes', () => void guarded(error, list));

  async function list(): Promise<void> {
    const d = (await ctx.api()('DescribeActivations', { PageNumber: pager.pageNumber, PageSize: PAGE_SIZE })) as {
      TotalCount: number;
      ActivationList: Activation[];
    };
    byId('activations-list').replaceChildren(
      table(
        'Activation codes',
        ['Activation', 'Name prefix', 'Registered', 'State', 'Hours valid', 'Source range', 'Created', 'Actions'],
        d.ActivationList.map((a) => [
          a.ActivationId,
          a.InstanceName,
          `${a.RegisteredCount} / ${a.InstanceCount}`,
          status(a.Disabled ? 'Disabled or expired' : 'Active'),
          a.TimeToLiveInHours,
          a.IpAddressRange || 'any',
          time(a.CreationTime),
          h(
            'span',
            { class: 'actions' },
            a.Disabled
              ? ''
              : h(
                  'button',
                  {
                    type: 'button',
                    'aria-label': `Disable ${a.ActivationId}`,
                    onclick: () => void guarded(error, () => act('DisableActivation', a)),
                  },
                  'Disable',
                ),
            h(
              'button',
              {
                type: 'button',
                'aria-label': `Delete ${a.ActivationId}`,
                onclick: () => void guarded(error, () => act('DeleteActivation', a)),
              },
              'Delete',
            ),
          ),
        ]),
        'No activation codes yet.',
      ),
      pager.el,
    );
    pager.render(d.TotalCount, PAGE_SIZE);
  }

  async function act(action: 'DisableActivation' | 'DeleteActivation', a: Activation): Promise<void> {
    const verb = action === 'DisableActivation' ? 'Disable' : 'Delete';
    if (!confirm(`${verb} the activation code ${a.ActivationId}?`)) {
      return;
    }
    await ctx.api()(action, { ActivationId: a.ActivationId });
    announce(`${verb}d ${a.ActivationId}.`);
    await list();
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void guarded(error, async () => {
      const get = (n: string) => field(form, n).value.trim();
      const r = (await ctx.api()('CreateActivation', {
        InstanceName: get('name'),
        InstanceCount: get('count'),
        TimeToLiveInHours: get('ttl'),
        IpAddressRange: get('range'),
        Description: get('description'),
      })) as { ActivationId: string; ActivationCode: string; InstallScripts?: InstallScripts };
      const s = r.InstallScripts ?? {};
      // The host comes first: without it the agent would register with Alibaba Cloud's endpoints.
      const register =
        `ALIYUN_ASSIST_SERVER_HOST=${location.host} aliyun-service --register --RegionId cn-local` +
        ` --ActivationCode ${r.ActivationCode} --ActivationId ${r.ActivationId}`;
      created.replaceChildren(
        h(
          'section',
          { class: 'once', 'aria-labelledby': 'once-title' },
          h('h3', { id: 'once-title' }, 'New activation code: shown once'),
          h('p', {}, 'Copy what you need now: the code cannot be shown again.'),
          h('dl', {}, h('dt', {}, 'ActivationId'), h('dd', {}, r.ActivationId)),
          h('dl', {}, h('dt', {}, 'ActivationCode'), h('dd', {}, r.ActivationCode)),
          s.LinuxCommand ? secretBlock('Linux one-line install', s.LinuxCommand, 'Copy Linux one-liner') : '',
          s.Linux ? secretBlock('Linux install script', s.Linux, 'Copy Linux script') : '',
          s.Windows ? secretBlock('Windows install script (PowerShell)', s.Windows, 'Copy Windows script') : '',
          s.Linux ? '' : secretBlock('Register an installed agent (as root)', register, 'Copy register command'),
          s.Linux
            ? ''
            : h(
                'p',
                { class: 'hint' },
                "Set ALIYUN_ASSIST_CERT_PATH to the control plane's CA certificate if it is not publicly trusted.",
              ),
          h('button', { type: 'button', onclick: () => created.replaceChildren() }, 'Done, hide the code'),
        ),
      );
      announce(`Created activation ${r.ActivationId}. The code is shown once.`);
      await list();
      created.querySelector('h3')?.setAttribute('tabindex', '-1');
      created.querySelector<HTMLElement>('h3')?.focus();
    });
  });

  return { show: list, hide: () => undefined };
}
