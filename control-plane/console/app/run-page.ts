/// <reference lib="dom" />
// Run command: content, type, parameters, schedule with a preview, user, timeout, working dir,
// target instances, and "save as command" (RunCommand with KeepCommand).
import { listParam, type Params } from './api.js';
import type { ConsoleContext, Page } from './context.js';
import { announce, byId, field, guarded, h } from './dom.js';
import { toBase64 } from './encoding.js';
import { InstancePicker } from './instance-picker.js';
import { ParameterInputs } from './parameter-inputs.js';
import { detectParameters } from './parameters.js';
import { frequencyOf, previewFireTimes, type RateUnit, type RepeatMode, type ScheduleChoice } from './schedule.js';
import { isScriptKind, toCommand } from './script-types.js';

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** `YYYY-MM-DDTHH:mm` in the browser's zone, one hour from now: a sensible first `at`. */
function inAnHour(): string {
  const d = new Date(Date.now() + 3_600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function createRunPage(ctx: ConsoleContext): Page {
  const form = byId<HTMLFormElement>('run-form');
  const error = byId('run-error');
  const picker = new InstancePicker(byId('run-instances'), ctx.api, 'run');
  const params = new ParameterInputs(byId('run-param-inputs'), 'run');
  const get = (name: string) => field(form, name).value;
  field(form, 'atZone').value = browserZone();
  field(form, 'atLocal').value = inAnHour();

  const choice = (): ScheduleChoice => {
    const mode = (form.querySelector<HTMLInputElement>('input[name=mode]:checked')?.value ?? 'Once') as RepeatMode;
    if (mode !== 'Period') {
      return { mode };
    }
    switch (get('freqKind')) {
      case 'at':
        return { mode, kind: 'at', local: get('atLocal'), timeZone: get('atZone').trim() };
      case 'cron':
        return { mode, kind: 'cron', expression: get('cron') };
      default:
        return { mode, kind: 'rate', every: Number(get('rateEvery')), unit: get('rateUnit') as RateUnit };
    }
  };

  function showSchedule(): void {
    const c = choice();
    byId('period-options').hidden = c.mode !== 'Period';
    for (const el of form.querySelectorAll<HTMLElement>('[data-freq]')) {
      el.hidden = el.dataset['freq'] !== get('freqKind');
    }
    if (c.mode !== 'Period') {
      return;
    }
    const frequency = frequencyOf(c);
    byId('run-frequency').textContent = frequency;
    const p = previewFireTimes(frequency, {
      timeoutSeconds: Number(get('timeout')) || 60,
      nowMs: Date.now(),
      defaultTimeZone: browserZone(),
    });
    byId('run-preview').replaceChildren(
      ...(p.ok
        ? p.times.map((t) =>
            h('li', {}, h('time', { datetime: new Date(t).toISOString() }, new Date(t).toLocaleString())),
          )
        : []),
    );
    byId('run-preview-error').textContent = p.ok
      ? p.times.length === 0
        ? 'This schedule never fires again.'
        : ''
      : p.message;
  }

  function showParameters(): void {
    const names = detectParameters(get('content'));
    params.show(names);
    byId('run-params').hidden = names.length === 0;
  }

  form.addEventListener('input', (ev) => {
    if ((ev.target as HTMLElement).getAttribute('name') === 'content') {
      showParameters();
    } else {
      showSchedule();
    }
  });
  form.addEventListener('change', showSchedule);

  function request(): Params {
    const kind = get('kind');
    const cmd = toCommand(isScriptKind(kind) ? kind : 'shell', get('content'));
    const c = choice();
    const names = params.names;
    const keep = field(form, 'keep').checked;
    return {
      Type: cmd.type,
      CommandContent: toBase64(cmd.content),
      ContentEncoding: 'Base64',
      Timeout: get('timeout'),
      Username: get('username').trim(),
      WorkingDir: get('workdir').trim(),
      Name: get('name').trim(),
      Description: get('description').trim(),
      KeepCommand: keep || undefined,
      EnableParameter: names.length > 0 || undefined,
      Parameters: names.length > 0 ? JSON.stringify(params.values()) : undefined,
      RepeatMode: c.mode === 'Once' ? undefined : c.mode,
      Frequency: frequencyOf(c) || undefined,
      ...listParam('InstanceId', [...picker.selected]),
    };
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void guarded(error, async () => {
      if (picker.selected.size === 0) {
        throw new Error('Pick at least one instance.');
      }
      const r = (await ctx.api()('RunCommand', request())) as { InvokeId: string; CommandId: string };
      announce(`Started invocation ${r.InvokeId}.`);
      ctx.showInvocation(r.InvokeId);
    });
  });

  showParameters();
  showSchedule();
  return {
    show: () => picker.refresh(),
    hide: () => undefined,
  };
}
