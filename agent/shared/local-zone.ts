// The host's time zone, read once and without Intl: one Intl.DateTimeFormat maps ICU's locale data,
// about 8 MiB that stay resident for the life of the agent (docs/decisions.md). The name comes from
// $TZ or the /etc/localtime link, the way ICU itself finds it; offsets come from Date, which follows
// the same zone. Only when neither names a zone that exists does it ask Intl, as before.
import { readlinkSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export interface LocalZone {
  /** IANA name (`Asia/Shanghai`; the UTC family reads `UTC`, as Intl says it). */
  readonly name: string;
  /**
   * Where the name came from. With `tz` and `link` the zone's offsets are Date's (offsetMs below);
   * with `intl` the name is Intl's guess, and offsets should come from Intl for that name too.
   */
  readonly source: 'tz' | 'link' | 'intl';
  /** Offset from UTC at that instant, in ms (east positive), as Date sees the local zone. */
  offsetMs(utcMs: number): number;
}

export interface ZoneSources {
  /** The TZ environment variable. */
  tz: string | undefined;
  /** The target of a symbolic link, or undefined when `path` is not one. */
  readLink(path: string): string | undefined;
  /** Whether a file of the tz database exists at this absolute path. */
  isFile(path: string): boolean;
  /** The zone Intl resolves for the host (only asked when nothing else names one). */
  intlName(): string | undefined;
  /** Where the tz database lives ($TZDIR, else the C library's default). */
  zoneDirs: readonly string[];
}

/** The names Intl reports as `UTC` (V8 canonicalizes these). */
const UTC_NAMES = new Set([
  'UTC',
  'UCT',
  'GMT',
  'GMT0',
  'GMT+0',
  'GMT-0',
  'Greenwich',
  'Universal',
  'Zulu',
  'Etc/UTC',
  'Etc/UCT',
  'Etc/GMT',
  'Etc/GMT0',
  'Etc/GMT+0',
  'Etc/GMT-0',
  'Etc/Greenwich',
  'Etc/Universal',
  'Etc/Zulu',
]);
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;
const ZONEINFO = '/zoneinfo/';

/** `…/zoneinfo/[posix/|right/]Area/City` → `Area/City`. */
function nameFromPath(path: string): string | undefined {
  const i = path.indexOf(ZONEINFO);
  return i < 0 ? undefined : path.slice(i + ZONEINFO.length).replace(/^(posix|right)\//, '');
}

const localOffsetMs = (utcMs: number): number => -new Date(utcMs).getTimezoneOffset() * 60_000;

/** Reads the host's zone from `sources` (not cached: see localZone). */
export function readLocalZone(sources: ZoneSources): LocalZone {
  const make = (name: string, source: LocalZone['source']): LocalZone => ({
    name: UTC_NAMES.has(name) ? 'UTC' : name,
    source,
    offsetMs: localOffsetMs,
  });
  const known = (name: string | undefined): name is string =>
    name !== undefined && ZONE_NAME.test(name) && sources.zoneDirs.some((d) => sources.isFile(join(d, name)));
  if (sources.tz !== undefined) {
    // `:Area/City`, `Area/City` or a file of the tz database (glibc's forms); a POSIX rule such as
    // `CST-8`, or an empty TZ, names no zone and goes to Intl, as it did before.
    const tz = sources.tz.startsWith(':') ? sources.tz.slice(1) : sources.tz;
    const name = isAbsolute(tz) ? (sources.isFile(tz) ? nameFromPath(tz) : undefined) : tz;
    if (name !== undefined && ZONE_NAME.test(name) && (isAbsolute(tz) || known(name))) {
      return make(name, 'tz');
    }
  } else {
    const link = sources.readLink('/etc/localtime');
    const name = link === undefined ? undefined : nameFromPath(link);
    if (name !== undefined && ZONE_NAME.test(name) && sources.isFile('/etc/localtime')) {
      return make(name, 'link');
    }
  }
  return make(sources.intlName() || 'UTC', 'intl');
}

export function systemZoneSources(env: Readonly<Record<string, string | undefined>> = process.env): ZoneSources {
  return {
    tz: env['TZ'],
    readLink: (path) => {
      try {
        return readlinkSync(path);
      } catch {
        return undefined;
      }
    },
    isFile: (path) => statSync(path, { throwIfNoEntry: false })?.isFile() === true,
    intlName: () => {
      try {
        return Intl.DateTimeFormat().resolvedOptions().timeZone;
      } catch {
        return undefined;
      }
    },
    zoneDirs: env['TZDIR'] ? [env['TZDIR']] : ['/usr/share/zoneinfo', '/usr/lib/zoneinfo', '/usr/share/lib/zoneinfo'],
  };
}

let cached: LocalZone | undefined;

/** The host's zone, read on first use and then kept (the agent runs in one zone). */
export function localZone(): LocalZone {
  cached ??= readLocalZone(systemZoneSources());
  return cached;
}
