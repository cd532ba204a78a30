/// <reference lib="dom" />
// Previous / next paging for a server-side paged list (PageNumber / PageSize / TotalCount).
import { h } from './dom.js';

export class Pager {
  pageNumber = 1;
  readonly el: HTMLElement;
  readonly #onChange: () => void;

  constructor(label: string, onChange: () => void) {
    this.el = h('nav', { class: 'pager', 'aria-label': `${label} pages` });
    this.#onChange = onChange;
  }

  /** Back to the first page (after a filter changed). */
  reset(): void {
    this.pageNumber = 1;
  }

  render(totalCount: number, pageSize: number): void {
    const pages = Math.max(1, Math.ceil(totalCount / pageSize));
    const go = (n: number) => () => {
      this.pageNumber = n;
      this.#onChange();
    };
    this.el.replaceChildren(
      h('button', { type: 'button', disabled: this.pageNumber <= 1, onclick: go(this.pageNumber - 1) }, 'Previous'),
      h('span', {}, `Page ${this.pageNumber} of ${pages} (${totalCount} in all)`),
      h('button', { type: 'button', disabled: this.pageNumber >= pages, onclick: go(this.pageNumber + 1) }, 'Next'),
    );
  }
}
