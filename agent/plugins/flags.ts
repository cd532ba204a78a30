// acs-plugin-manager's command line, parsed by the stock rules (spec/client-features.md §1.0, §1.3):
// `--name value`, `--name=value`, `--name:value`, `-x value`, `-x=value`; a flag that takes a value
// takes the next argument verbatim even when it starts with `-` (so `--params --enable` passes
// `--enable` to the plugin); unknown flags are accepted and ignored; flags are case-sensitive.
import { shlexSplit, ShlexError } from '../shared/index.js';

export interface PluginFlags {
  help: boolean;
  verbose: boolean;
  version: boolean;
  list: boolean;
  local: boolean;
  exec: boolean;
  status: boolean;
  remove: boolean;
  verify: boolean;
  /** The persistent-plugin verbs given with --exec (--start, --stop, …), passed to the plugin too. */
  plugin?: string;
  pluginId?: string;
  pluginVersion?: string;
  params?: string;
  paramsV2?: string;
  separator?: string;
  file?: string;
  url?: string;
  /** Seconds; undefined = the default. */
  fetchTimeout?: number;
  timeout?: number;
  /** Flags nobody here knows (accepted, as stock). */
  unknown: string[];
  /** Arguments that are not flags. */
  positionals: string[];
}

/** Why a command line cannot be parsed (a value missing or not a number). */
export class FlagError extends Error {
  override name = 'FlagError';
}

type BoolKey = 'help' | 'verbose' | 'version' | 'list' | 'local' | 'exec' | 'status' | 'remove' | 'verify';
type StrKey = 'plugin' | 'pluginId' | 'pluginVersion' | 'params' | 'paramsV2' | 'separator' | 'file' | 'url';
type NumKey = 'fetchTimeout' | 'timeout';

const BOOLS: Record<string, BoolKey> = {
  help: 'help',
  h: 'help',
  verbose: 'verbose',
  V: 'verbose',
  version: 'version',
  v: 'version',
  list: 'list',
  l: 'list',
  local: 'local',
  L: 'local',
  exec: 'exec',
  e: 'exec',
  status: 'status',
  S: 'status',
  remove: 'remove',
  r: 'remove',
  verify: 'verify',
  f: 'verify',
};
const STRINGS: Record<string, StrKey> = {
  plugin: 'plugin',
  P: 'plugin',
  pluginId: 'pluginId',
  pluginVersion: 'pluginVersion',
  n: 'pluginVersion',
  params: 'params',
  p: 'params',
  paramsV2: 'paramsV2',
  separator: 'separator',
  s: 'separator',
  file: 'file',
  F: 'file',
  url: 'url',
  u: 'url',
};
const NUMBERS: Record<string, NumKey> = { fetchTimeout: 'fetchTimeout', timeout: 'timeout' };

export function parsePluginFlags(argv: readonly string[]): PluginFlags {
  const f: PluginFlags = {
    help: false,
    verbose: false,
    version: false,
    list: false,
    local: false,
    exec: false,
    status: false,
    remove: false,
    verify: false,
    unknown: [],
    positionals: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^(--?)([^=:]+?)(?:([=:])(.*))?$/s.exec(arg);
    if (!m || arg === '-' || arg === '--') {
      f.positionals.push(arg);
      continue;
    }
    const long = m[1] === '--';
    const name = m[2]!;
    // `:value` is a long-flag form only; a short flag's value comes with `=` or as the next argument.
    const inline = m[3] === '=' || (m[3] === ':' && long) ? m[4]! : undefined;
    if (!long && name.length !== 1) {
      f.unknown.push(arg);
      continue;
    }
    if (Object.hasOwn(BOOLS, name)) {
      f[BOOLS[name]!] = inline === undefined ? true : !['false', '0'].includes(inline);
      continue;
    }
    const strKey = Object.hasOwn(STRINGS, name) ? STRINGS[name] : undefined;
    const numKey = Object.hasOwn(NUMBERS, name) ? NUMBERS[name] : undefined;
    if (strKey === undefined && numKey === undefined) {
      f.unknown.push(arg);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) {
        throw new FlagError(`${arg} needs a value`);
      }
      value = argv[++i]!; // verbatim, even when it starts with '-'
    }
    if (strKey !== undefined) {
      f[strKey] = value;
    } else {
      const n = Number(value);
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
        throw new FlagError(`${arg} needs a number of seconds, got ${JSON.stringify(value)}`);
      }
      f[numKey!] = n;
    }
  }
  return f;
}

/**
 * The plugin's arguments: `--paramsV2` split shell-style as is; else `--params` with each
 * separator (default `,`) turned into a space, then split shell-style.
 */
export function pluginArgs(f: Pick<PluginFlags, 'params' | 'paramsV2' | 'separator'>): string[] {
  if (f.paramsV2 !== undefined) {
    return shellSplit(f.paramsV2);
  }
  if (f.params === undefined) {
    return [];
  }
  const sep = f.separator === undefined || f.separator === '' ? ',' : f.separator;
  return shellSplit(f.params.split(sep).join(' '));
}

/** The stock agent's shlex splitting of `--params`; a line it cannot split is a flag error. */
export function shellSplit(s: string): string[] {
  try {
    return shlexSplit(s);
  } catch (e) {
    if (e instanceof ShlexError) {
      throw new FlagError(`--params: ${e.message}`);
    }
    throw e;
  }
}
