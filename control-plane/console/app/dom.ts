/// <reference lib="dom" />
// Small DOM helpers. Pages build their dynamic parts with h(), which sets text, never HTML, so
// nothing an instance reports (names, output) can inject markup.
type Prop = string | number | boolean | undefined | ((ev: Event) => unknown);
export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, Prop> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (v === true) {
      el.setAttribute(k, '');
    } else if (v !== false && v !== undefined) {
      el.setAttribute(k, String(v));
    }
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) {
      el.append(typeof c === 'number' ? String(c) : c);
    }
  }
  return el;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) {
    throw new Error(`#${id} is missing from index.html`);
  }
  return el as T;
}

/** The named control of a form (inputs, selects, textareas). */
export function field<T extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement = HTMLInputElement>(
  form: HTMLFormElement,
  name: string,
): T {
  const el = form.elements.namedItem(name);
  if (!el) {
    throw new Error(`form ${form.id} has no field ${name}`);
  }
  return el as T;
}

/** Says something to screen readers and sighted users through the page's polite live region. */
export function announce(message: string): void {
  const region = byId('announcer');
  region.textContent = '';
  // A new text node after clearing makes screen readers repeat identical messages.
  requestAnimationFrame(() => (region.textContent = message));
}

/** A data table with a caption (its accessible name) and column headers. */
export function table(caption: string, headers: string[], rows: Child[][], empty = 'Nothing to show.'): HTMLElement {
  if (rows.length === 0) {
    return h('p', { class: 'empty' }, empty);
  }
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...headers.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}

const STATUS_CLASS: Record<string, string> = {
  Success: 'ok',
  Finished: 'ok',
  true: 'ok',
  Online: 'ok',
  Active: 'ok',
  Running: 'busy',
  Pending: 'busy',
  Scheduled: 'busy',
  Stopping: 'busy',
};

/** A status word with a colour class; the word itself carries the meaning. */
export function status(text: string): HTMLElement {
  const cls =
    STATUS_CLASS[text] ?? (/^(Failed|PartialFailed|Error|Timeout|Invalid|Aborted|Crashed)$/.test(text) ? 'bad' : '');
  return h('span', { class: `status ${cls}`.trim() }, text);
}

/** An ISO time as a <time> element in the browser's zone; '' stays empty. */
export function time(iso: string | undefined): Child {
  if (!iso) {
    return '';
  }
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : h('time', { datetime: d.toISOString() }, d.toLocaleString());
}

/** Runs an action and shows its error in `errorEl` (a role=alert element) instead of throwing. */
export async function guarded(errorEl: HTMLElement, fn: () => Promise<unknown>): Promise<void> {
  errorEl.textContent = '';
  try {
    await fn();
  } catch (e) {
    errorEl.textContent = e instanceof Error ? e.message : String(e);
  }
}
