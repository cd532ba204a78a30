/// <reference lib="dom" />
// Picks target instances: search, online filter and server-side paging; the selection survives
// paging and filtering. Used by the Run, Commands and Files pages.
import type { Api } from './api.js';
import { h } from './dom.js';
import { instanceQuery, type OnlineFilter } from './instance-filter.js';
import { Pager } from './pager.js';

interface ManagedInstance {
  InstanceId: string;
  InstanceName: string;
  Connected: boolean;
  OsType: string;
}

const PAGE_SIZE = 20;

export class InstancePicker {
  readonly selected = new Set<string>();
  readonly #api: () => Api;
  readonly #search: HTMLInputElement;
  readonly #online: HTMLSelectElement;
  readonly #list = h('div', { class: 'picker-list' });
  readonly #count = h('p', { 'aria-live': 'polite' });
  readonly #pager = new Pager('Instance list', () => void this.refresh());
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Builds the picker inside `root` (a fieldset with a legend); `prefix` keeps ids unique. */
  constructor(root: HTMLElement, api: () => Api, prefix: string) {
    this.#api = api;
    this.#search = h('input', { id: `${prefix}-search`, type: 'search', autocomplete: 'off' });
    this.#online = h(
      'select',
      { id: `${prefix}-online` },
      h('option', { value: 'online' }, 'Online'),
      h('option', { value: 'all' }, 'All'),
      h('option', { value: 'offline' }, 'Offline'),
    );
    const changed = () => {
      this.#pager.reset();
      void this.refresh();
    };
    this.#search.addEventListener('input', () => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(changed, 300);
    });
    this.#online.addEventListener('change', changed);
    root.append(
      h(
        'div',
        { class: 'row' },
        h('label', { for: this.#search.id }, 'Search instances (id or name)'),
        this.#search,
        h('label', { for: this.#online.id }, 'Status'),
        this.#online,
      ),
      this.#list,
      this.#pager.el,
      this.#count,
    );
  }

  async refresh(): Promise<void> {
    const q = instanceQuery(this.#search.value, this.#online.value as OnlineFilter, this.#pager.pageNumber, PAGE_SIZE);
    const d = (await this.#api()('DescribeManagedInstances', q)) as {
      TotalCount: number;
      Instances: ManagedInstance[];
    };
    this.#list.replaceChildren(
      ...(d.Instances.length === 0 ? [h('p', { class: 'empty' }, 'No instance matches.')] : []),
      ...d.Instances.map((i) => {
        const box = h('input', { type: 'checkbox', value: i.InstanceId, checked: this.selected.has(i.InstanceId) });
        box.addEventListener('change', () => {
          if (box.checked) {
            this.selected.add(i.InstanceId);
          } else {
            this.selected.delete(i.InstanceId);
          }
          this.#showCount();
        });
        return h(
          'label',
          { class: 'check' },
          box,
          ` ${i.InstanceName || i.InstanceId} (${i.InstanceId})`,
          h('span', { class: `status ${i.Connected ? 'ok' : ''}` }, i.Connected ? ' online' : ' offline'),
        );
      }),
    );
    this.#pager.render(d.TotalCount, PAGE_SIZE);
    this.#showCount();
  }

  clear(): void {
    this.selected.clear();
    for (const box of this.#list.querySelectorAll('input')) {
      box.checked = false;
    }
    this.#showCount();
  }

  #showCount(): void {
    this.#count.textContent = `${this.selected.size} instance(s) selected.`;
  }
}
