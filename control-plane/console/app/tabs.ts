/// <reference lib="dom" />
// The page tabs, following the WAI-ARIA tabs pattern: one tab stop, arrow keys / Home / End move
// between tabs and open them, the selected tab's panel is the only one shown.
export class Tabs {
  readonly #tabs: HTMLButtonElement[];
  readonly #onOpen: (name: string) => void;
  current = '';

  constructor(list: HTMLElement, onOpen: (name: string) => void) {
    this.#tabs = [...list.querySelectorAll<HTMLButtonElement>('[role=tab]')];
    this.#onOpen = onOpen;
    for (const [i, tab] of this.#tabs.entries()) {
      tab.addEventListener('click', () => this.open(this.#name(tab)));
      tab.addEventListener('keydown', (ev) => {
        const n = this.#tabs.length;
        const to = { ArrowRight: i + 1, ArrowLeft: i - 1 + n, Home: 0, End: n - 1 }[ev.key];
        if (to !== undefined) {
          ev.preventDefault();
          const next = this.#tabs[to % n]!;
          next.focus();
          this.open(this.#name(next));
        }
      });
    }
  }

  open(name: string): void {
    this.current = name;
    for (const tab of this.#tabs) {
      const on = this.#name(tab) === name;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      document.getElementById(tab.getAttribute('aria-controls')!)!.hidden = !on;
    }
    this.#onOpen(name);
  }

  #name(tab: HTMLElement): string {
    return tab.id.replace(/^tab-/, '');
  }
}
