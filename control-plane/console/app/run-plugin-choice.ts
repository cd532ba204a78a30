/// <reference lib="dom" />
// "Run a plugin" on the Run page: pick a published plugin and its parameters, and the command
// content becomes `acs-plugin-manager --exec --plugin <name> --params <params>` (a shell script).
import type { ConsoleContext, Page } from './context.js';
import { announce, byId, field, guarded, h } from './dom.js';
import { listPlugins } from './plugins-page.js';

/** A word for a POSIX shell: as is when safe, else single-quoted. */
export const shellWord = (s: string): string =>
  /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;

/** The command line that runs `name` with `params` (the manager's comma-separated --params). */
export function pluginCommandLine(name: string, params: string): string {
  const base = `acs-plugin-manager --exec --plugin ${shellWord(name)}`;
  return params.trim() === '' ? base : `${base} --params ${shellWord(params.trim())}`;
}

/** Adds the chooser to the Run form, above the command content; returns its refresh. */
export function attachPluginChoice(ctx: ConsoleContext): () => Promise<void> {
  const form = byId<HTMLFormElement>('run-form');
  const error = byId('run-error');
  const select = h('select', { name: 'plugin' }, h('option', { value: '' }, '(none published)'));
  const params = h('input', {
    name: 'pluginParams',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: '--section,os',
  });
  const use = h('button', { type: 'button' }, 'Use plugin');
  const box = h(
    'fieldset',
    { id: 'run-plugin' },
    h('legend', {}, 'Run a plugin'),
    h('p', { class: 'hint' }, 'Fills the command content with acs-plugin-manager; parameters are comma-separated.'),
    h('div', { class: 'row' }, h('label', {}, 'Plugin ', select), h('label', {}, 'Parameters ', params), use),
  );
  const content = field<HTMLTextAreaElement>(form, 'content');
  content.closest('label')!.before(box);
  use.addEventListener('click', () => {
    if (select.value === '') {
      error.textContent = 'Publish a plugin first (Plugins page).';
      return;
    }
    field<HTMLSelectElement>(form, 'kind').value = 'shell';
    content.value = pluginCommandLine(select.value, params.value);
    content.dispatchEvent(new Event('input', { bubbles: true }));
    announce(`Command content set to run plugin ${select.value}.`);
  });
  return () =>
    guarded(error, async () => {
      const names = [...new Set((await listPlugins(ctx)).map((p) => p.Name))];
      const keep = select.value;
      select.replaceChildren(
        ...(names.length === 0
          ? [h('option', { value: '' }, '(none published)')]
          : names.map((n) => h('option', { value: n }, n))),
      );
      if (names.includes(keep)) {
        select.value = keep;
      }
    });
}

/** `page` whose show() also runs `refresh` (the Run page refreshes its plugin list when opened). */
export const alsoOnShow = (page: Page, refresh: () => Promise<void>): Page => ({
  show: async () => {
    await Promise.all([page.show(), refresh()]);
  },
  hide: () => page.hide(),
});
