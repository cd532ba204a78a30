/// <reference lib="dom" />
// The page tabs, following the WAI-ARIA tabs pattern: one tab stop, arrow keys / Home / End move
// between tabs and open them, the selected tab's panel is the only one shown. The page heading
// (and the document title) name the open tab.
export class Tabs {
  readonly #tabs: HTMLButtonElement[];
  readonly #onOpen: (name: string) => void;
  readonly #heading: HTMLElement | undefined;
  readonly #baseTitle = document.title;
  current = '';

  constructor(list: HTMLElement, onOpen: (name: string) => void, heading?: HTMLElement) {
    this.#tabs = [...list.querySelectorAll<HTMLButtonElement>('[role=tab]')];
    this.#onOpen = onOpen;
    this.#heading = heading;
    for (const tab of this.#tabs) {
      tab.addEventListener('click', () => this.open(this.#name(tab)));
      tab.addEventListener('keydown', (ev) => {
        // Hidden tabs (pages this key may not use) are skipped.
        const shown = this.#tabs.filter((t) => !t.hidden);
        const at = shown.indexOf(tab);
        const n = shown.length;
        const to = { ArrowRight: at + 1, ArrowLeft: at - 1 + n, Home: 0, End: n - 1 }[ev.key];
        if (to !== undefined) {
          ev.preventDefault();
          const next = shown[to % n]!;
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
      if (on) {
        const label = (tab.textContent ?? '').replace(/\s+/g, ' ').trim();
        if (this.#heading) {
          this.#heading.textContent = label;
        }
        document.title = `${label} · ${this.#baseTitle}`;
      }
    }
    this.#onOpen(name);
  }

  #name(tab: HTMLElement): string {
    return tab.id.replace(/^tab-/, '');
  }
}
