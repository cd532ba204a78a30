// Plain text tables: a header row, columns padded to their widest cell, two spaces between.

export type Cell = string | number | boolean | undefined | null;

const text = (c: Cell): string => (c === undefined || c === null ? '' : String(c));

/** Columns are as wide as their widest cell; line feeds in a cell become spaces; no trailing spaces. */
export function renderTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const all = [headers, ...rows].map((r) => headers.map((_, i) => text(r[i]).replace(/\r?\n/g, ' ')));
  const widths = headers.map((_, i) => Math.max(...all.map((r) => [...r[i]!].length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => cell + ' '.repeat(widths[i]! - [...cell].length))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

/**
 * `<1s`, `42s`, `3m07s`, `2h05m`; empty when unknown. Whole seconds: the API's times have no
 * fractions, so anything finer would be made up.
 */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    return '';
  }
  const s = Math.round(ms / 1000);
  if (s < 1) {
    return '<1s';
  }
  if (s < 60) {
    return `${s}s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  }
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
