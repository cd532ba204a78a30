// Progress of an invocation while `assist` waits: a bar redrawn in place on a terminal, one plain
// line per change otherwise (logs and CI output stay readable).
import type { Out } from './io.js';

export interface ProgressCounts {
  /** Instances whose record has ended (Finished, Failed or Stopped). */
  done: number;
  total: number;
  /** Of those ended, how many did not succeed. */
  failed: number;
}

/** `[#######-------------]`: `width` cells, filled in proportion to done/total. */
export function progressBar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.min(width, Math.floor((done / total) * width)) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

export function progressText(c: ProgressCounts): string {
  const failed = c.failed > 0 ? `, ${c.failed} failed` : '';
  return `${c.done}/${c.total} instances finished${failed}`;
}

export class ProgressRenderer {
  readonly #out: Out;
  readonly #tty: boolean;
  #last = '';
  #drawn = false;

  constructor(out: Out, o: { tty?: boolean } = {}) {
    this.#out = out;
    this.#tty = o.tty ?? out.isTTY === true;
  }

  update(c: ProgressCounts): void {
    const line = progressText(c);
    if (this.#tty) {
      // \r back to column 0, then erase what a longer previous line left behind.
      this.#out.write(`\r${progressBar(c.done, c.total)} ${line}\x1b[K`);
      this.#drawn = true;
    } else if (line !== this.#last) {
      this.#out.write(`progress: ${line}\n`);
    }
    this.#last = line;
  }

  /** Ends the bar's line so what follows starts on a fresh one. */
  finish(): void {
    if (this.#tty && this.#drawn) {
      this.#out.write('\n');
      this.#drawn = false;
    }
  }
}
