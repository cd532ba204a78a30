/// <reference lib="dom" />
// One labelled text input per custom parameter; keeps typed values when the list changes.
import { h } from './dom.js';

export class ParameterInputs {
  readonly #root: HTMLElement;
  readonly #prefix: string;
  #names: string[] = [];

  constructor(root: HTMLElement, prefix: string) {
    this.#root = root;
    this.#prefix = prefix;
  }

  get names(): string[] {
    return this.#names;
  }

  show(names: string[]): void {
    if (names.join('\n') === this.#names.join('\n')) {
      return;
    }
    const old = this.values();
    this.#names = names;
    this.#root.replaceChildren(
      ...names.map((n, i) => {
        const id = `${this.#prefix}-param-${i}`;
        return h(
          'div',
          { class: 'param' },
          h('label', { for: id }, `Parameter ${n}`),
          h('input', { id, 'data-param': n, value: old[n] ?? '', autocomplete: 'off' }),
        );
      }),
    );
  }

  values(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const el of this.#root.querySelectorAll<HTMLInputElement>('input[data-param]')) {
      out[el.dataset['param']!] = el.value;
    }
    return out;
  }
}
