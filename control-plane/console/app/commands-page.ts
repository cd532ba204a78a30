/// <reference lib="dom" />
// Command library: saved commands (DescribeCommands, paged, filtered by exact name), run one on
// chosen instances (InvokeCommand) or delete it (DeleteCommand).
import { listParam } from './api.js';
import type { ConsoleContext, Page } from './context.js';
import { announce, byId, field, guarded, h, table, time } from './dom.js';
import { InstancePicker } from './instance-picker.js';
import { Pager } from './pager.js';
import { ParameterInputs } from './parameter-inputs.js';
import { detectParameters } from './parameters.js';

interface Command {
  CommandId: string;
  Name: string;
  Type: string;
  CommandContent: string;
  Timeout: number;
  InvokeTimes: number;
  CreationTime: string;
  EnableParameter: boolean;
}

const PAGE_SIZE = 10;

export function createCommandsPage(ctx: ConsoleContext): Page {
  const filter = byId<HTMLFormElement>('commands-filter');
  const invokeForm = byId<HTMLFormElement>('invoke-form');
  const invokeSection = byId('command-invoke');
  const error = byId('commands-error');
  const pager = new Pager('Command list', () => void guarded(error, list));
  const picker = new InstancePicker(byId('invoke-instances'), ctx.api, 'invoke');
  const params = new ParameterInputs(byId('invoke-param-inputs'), 'invoke');
  let chosen: Command | undefined;

  async function list(): Promise<void> {
    const d = (await ctx.api()('DescribeCommands', {
      Name: field(filter, 'name').value.trim(),
      PageNumber: pager.pageNumber,
      PageSize: PAGE_SIZE,
      ContentEncoding: 'PlainText',
    })) as { TotalCount: number; Commands: { Command: Command[] } };
    byId('commands-list').replaceChildren(
      table(
        'Saved commands',
        ['Name', 'Command', 'Type', 'Content', 'Timeout', 'Runs', 'Created', 'Actions'],
        d.Commands.Command.map((c) => [
          c.Name,
          c.CommandId,
          c.Type,
          h('pre', { class: 'short' }, c.CommandContent),
          `${c.Timeout} s`,
          c.InvokeTimes,
          time(c.CreationTime),
          h(
            'span',
            { class: 'actions' },
            h('button', { type: 'button', onclick: () => void guarded(error, () => choose(c)) }, `Run ${c.Name}`),
            h('button', { type: 'button', onclick: () => void guarded(error, () => remove(c)) }, `Delete ${c.Name}`),
          ),
        ]),
        'No saved commands. Save one from the Run command page.',
      ),
      pager.el,
    );
    pager.render(d.TotalCount, PAGE_SIZE);
  }

  async function choose(c: Command): Promise<void> {
    chosen = c;
    byId('command-invoke-title').textContent = `Run saved command ${c.Name}`;
    params.show(c.EnableParameter ? detectParameters(c.CommandContent) : []);
    field(invokeForm, 'timeout').value = String(c.Timeout);
    invokeSection.hidden = false;
    await picker.refresh();
    field(invokeForm, 'username').focus();
  }

  async function remove(c: Command): Promise<void> {
    if (!confirm(`Delete the saved command ${c.Name} (${c.CommandId})?`)) {
      return;
    }
    await ctx.api()('DeleteCommand', { CommandId: c.CommandId });
    announce(`Deleted ${c.Name}.`);
    if (chosen?.CommandId === c.CommandId) {
      invokeSection.hidden = true;
    }
    await list();
  }

  filter.addEventListener('submit', (ev) => {
    ev.preventDefault();
    pager.reset();
    void guarded(error, list);
  });
  byId('invoke-cancel').addEventListener('click', () => (invokeSection.hidden = true));
  invokeForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void guarded(byId('invoke-error'), async () => {
      if (!chosen) {
        return;
      }
      if (picker.selected.size === 0) {
        throw new Error('Pick at least one instance.');
      }
      const names = params.names;
      const r = (await ctx.api()('InvokeCommand', {
        CommandId: chosen.CommandId,
        Username: field(invokeForm, 'username').value.trim(),
        Timeout: field(invokeForm, 'timeout').value,
        Parameters: names.length > 0 ? JSON.stringify(params.values()) : undefined,
        ...listParam('InstanceId', [...picker.selected]),
      })) as { InvokeId: string };
      announce(`Started invocation ${r.InvokeId}.`);
      ctx.showInvocation(r.InvokeId);
    });
  });

  return { show: list, hide: () => undefined };
}
