// What the managed instances page shows for an instance's OS. Agents report OsVersion as
// `<sysname>_<…>_<machine>` on Unix: the stock agent puts the kernel build (`uname -v`, e.g.
// `Linux_#1 SMP PREEMPT_DYNAMIC Fri Oct 6 2023_x86_64`) in the middle, ours the distribution from
// os-release (`Linux_Debian GNU/Linux 12 (bookworm)_x86_64`); Windows agents send a product name.
// A kernel build says little to a person: it is shown as `Linux x86_64` (with the distribution
// when the build names one, as Ubuntu's and Debian's do), and the full value goes in a tooltip.

export interface OsLabel {
  /** The short text for the cell. */
  text: string;
  /** The whole reported value, for a tooltip. */
  title: string;
}

/** `<sysname>_<middle>_<machine>`; machine is `x86_64` or one word without `_` (aarch64, i686, …). */
const UNIX_SHAPE = /^([A-Za-z][A-Za-z0-9]*)_(.+?)_(x86_64|[A-Za-z0-9.]+)$/;

/** The distribution a kernel build string names, if any. */
function distributionIn(build: string): string | undefined {
  const ubuntu = /~(\d+\.\d+)(?:\.\d+)*-Ubuntu\b/.exec(build);
  if (ubuntu) {
    return `Ubuntu ${ubuntu[1]}`;
  }
  const named = /\b(Ubuntu|Debian)\b/.exec(build);
  return named?.[1];
}

export function osLabel(osType: string, osVersion: string): OsLabel {
  const title = [osType, osVersion].filter(Boolean).join(' ');
  const m = UNIX_SHAPE.exec(osVersion);
  if (!m) {
    return { text: osVersion || osType, title };
  }
  const [, sysname, middle, machine] = m as unknown as [string, string, string, string];
  // A kernel build: Linux `uname -v` starts with `#<n>`, the BSDs' with the system's name.
  const isBuild = middle.startsWith('#') || middle.startsWith(`${sysname} `);
  if (!isBuild) {
    return { text: `${middle} · ${machine}`, title };
  }
  const distribution = distributionIn(middle);
  return { text: distribution ? `${distribution} · ${sysname} ${machine}` : `${sysname} ${machine}`, title };
}
