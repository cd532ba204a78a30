// Plugins (spec/luban-protocol.md §9.2, client-features.md §8): the package's config.json, the
// plugin list / report_status / update_check bodies, statuses, arch names and version order.
// The stock agent decodes "fuzzily": numbers are accepted where strings are expected.
import { isObj, type Obj, type Validated } from './validate.js';

export const PLUGIN_STATUSES = [
  'PERSIST_RUNNING',
  'PERSIST_FAIL',
  'PERSIST_UNKNOWN',
  'ONCE_INSTALLED',
  'REMOVED',
] as const;
export type PluginStatus = (typeof PLUGIN_STATUSES)[number];
export const isPluginStatus = (s: string): s is PluginStatus => (PLUGIN_STATUSES as readonly string[]).includes(s);

export type PluginType = 'Once' | 'Persist';

/** config.json at the root of a plugin package (§8.1), normalised. */
export interface PluginConfig {
  name: string;
  version: string;
  /** `linux`, `windows`, `freebsd`, `both` or '' (any). */
  osType: string;
  /** `x64`, `x86`, `arm`, `all` or '' (any). */
  arch: string;
  /** Entry point, relative to the plugin dir. */
  runPath: string;
  /** Seconds, a string on the wire (stock); '' means the default 60. */
  timeout: string;
  publisher: string;
  pluginType: PluginType;
  /** Seconds between a persistent plugin's heartbeat writes (default 60). */
  heartbeatInterval: number;
  addSysTag: boolean;
}

/** One entry of the plugin list answer (§9.2). `sha256` is our extension; stock agents ignore it. */
export interface PluginInfo {
  pluginId: string;
  name: string;
  arch: string;
  osType: string;
  version: string;
  publisher: string;
  url: string;
  md5: string;
  sha256?: string;
  runPath: string;
  timeout: string;
  isPreInstalled: string;
  pluginType: PluginType;
  heartbeatInterval: number;
  isRemoved: boolean;
  addSysTag: boolean;
}

export interface PluginListRequest {
  osType: string;
  pluginName: string;
  version: string;
  arch: string;
}

export interface PluginStatusEntry {
  name: string;
  status: PluginStatus;
  version: string;
  sysTagType?: 'add' | 'remove';
}

export interface PluginUpdateCheckRequest {
  os: string;
  arch: string;
  plugin: { name: string; version: string }[];
}

export interface PluginUpdateCheckResponse {
  nextInterval: number;
  plugin: { name: string; version: string; timeout: number }[];
}

export interface PluginReportResponse {
  scanInterval: number;
  pullInterval: number;
  reportType: number;
}

export const DEFAULT_PLUGIN_TIMEOUT_S = 60;
export const DEFAULT_HEARTBEAT_INTERVAL_S = 60;
/** Stock truncation of report_status fields (bytes, §9.2). */
export const MAX_PLUGIN_NAME_BYTES = 255;
export const MAX_PLUGIN_VERSION_BYTES = 32;

/** Plugin names become directory names: letters, digits and `._-`, not starting with a dot. */
const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
/** Versions also become directory names: dot-separated numbers (`1.0`, `2.3.4.5`). */
const VERSION_RE = /^\d{1,9}(\.\d{1,9}){0,5}$/;
const OS_TYPES = ['linux', 'windows', 'freebsd', 'both', ''];
const ARCHES = ['x64', 'x86', 'arm', 'all', ''];

export const isPluginName = (s: string): boolean => NAME_RE.test(s);
export const isPluginVersion = (s: string): boolean => VERSION_RE.test(s);

/** The plugin arch name of a Node `process.arch` (§8.5: x64, x86, arm, unknown). */
export function pluginArch(arch: string): string {
  return arch === 'x64' ? 'x64' : arch === 'ia32' ? 'x86' : arch.startsWith('arm') ? 'arm' : 'unknown';
}

/** The plugin os name of a Node `process.platform`. */
export function pluginOs(platform: string): string {
  return platform === 'win32' ? 'windows' : platform;
}

/** Whether a package built for `osType`/`arch` runs on `os`/`hostArch`. */
export function pluginFits(p: { osType: string; arch: string }, os: string, hostArch: string): boolean {
  const osOk = p.osType === '' || p.osType === 'both' || p.osType.toLowerCase() === os;
  const archOk = p.arch === '' || p.arch === 'all' || p.arch.toLowerCase() === hostArch;
  return osOk && archOk;
}

/** <0, 0, >0: dot-separated numeric parts compared in order, a missing part counting as 0. */
export function comparePluginVersions(a: string, b: string): number {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = Number(x[i] ?? 0);
    const q = Number(y[i] ?? 0);
    if (Number.isNaN(p) || Number.isNaN(q)) {
      const s = x[i] ?? '';
      const t = y[i] ?? '';
      if (s !== t) {
        return s < t ? -1 : 1;
      }
    } else if (p !== q) {
      return p - q;
    }
  }
  return 0;
}

/** A string field, with numbers and booleans taken as their text (fuzzy decoding). */
function fuzzyStr(o: Obj, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) {
    return '';
  }
  if (typeof v === 'string') {
    return v;
  }
  if (typeof v === 'number' || typeof v === 'boolean') {
    return String(v);
  }
  return undefined;
}

function fuzzyInt(o: Obj, key: string, fallback: number): number | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') {
    return fallback;
  }
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}

function fuzzyBool(o: Obj, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) {
    return false;
  }
  if (typeof v === 'boolean') {
    return v;
  }
  if (v === 'true' || v === 1) {
    return true;
  }
  if (v === 'false' || v === 0) {
    return false;
  }
  return undefined;
}

/** `"Once"`/`"Persist"` or 0/1; missing means Once (§8.1). */
function pluginTypeOf(v: unknown): PluginType | undefined {
  if (v === undefined || v === null || v === '' || v === 'Once' || v === 0 || v === '0') {
    return 'Once';
  }
  if (v === 'Persist' || v === 1 || v === '1') {
    return 'Persist';
  }
  return undefined;
}

/**
 * Validates a package's config.json (already JSON-parsed): every problem reported at once. Ours is
 * stricter than the stock manager where a value becomes a path: name and version must be plain
 * directory names, runPath must stay inside the plugin dir.
 */
export function parsePluginConfig(json: unknown): Validated<PluginConfig> {
  if (!isObj(json)) {
    return { ok: false, errors: ['config.json: expected a JSON object'] };
  }
  const errors: string[] = [];
  const str = (key: string, check?: (s: string) => string | undefined): string => {
    const v = fuzzyStr(json, key);
    if (v === undefined) {
      errors.push(`config.json: ${key} must be a string`);
      return '';
    }
    const problem = check?.(v);
    if (problem) {
      errors.push(`config.json: ${key} ${problem}`);
    }
    return v;
  };
  const name = str('name', (s) => (isPluginName(s) ? undefined : 'must be 1-128 letters, digits, ".", "_" or "-"'));
  const version = str('version', (s) => (isPluginVersion(s) ? undefined : 'must be dot-separated numbers (1.0)'));
  const osType = str('osType', (s) =>
    OS_TYPES.includes(s.toLowerCase()) ? undefined : 'must be linux, windows, freebsd or both',
  );
  const arch = str('arch', (s) => (ARCHES.includes(s.toLowerCase()) ? undefined : 'must be x64, x86, arm or all'));
  const runPath = str('runPath', (s) => runPathProblem(s));
  const timeout = str('timeout', (s) => (s === '' || /^\d{1,7}$/.test(s) ? undefined : 'must be a number of seconds'));
  const publisher = str('publisher');
  const pluginType = pluginTypeOf(json['pluginType']);
  if (!pluginType) {
    errors.push('config.json: pluginType must be "Once" or "Persist" (or 0 / 1)');
  }
  const heartbeatInterval = fuzzyInt(json, 'heartbeatInterval', DEFAULT_HEARTBEAT_INTERVAL_S);
  if (heartbeatInterval === undefined || heartbeatInterval < 1) {
    errors.push('config.json: heartbeatInterval must be a positive number of seconds');
  }
  const addSysTag = fuzzyBool(json, 'addSysTag');
  if (addSysTag === undefined) {
    errors.push('config.json: addSysTag must be true or false');
  }
  if (errors.length > 0) {
    return { ok: false, errors };
  }
  return {
    ok: true,
    value: {
      name,
      version,
      osType: osType.toLowerCase(),
      arch: arch.toLowerCase(),
      runPath,
      timeout,
      publisher,
      pluginType: pluginType!,
      heartbeatInterval: heartbeatInterval!,
      addSysTag: addSysTag!,
    },
  };
}

function runPathProblem(s: string): string | undefined {
  if (s === '') {
    return 'is required';
  }
  const parts = s.replace(/\\/g, '/').split('/');
  if (s.startsWith('/') || /^[A-Za-z]:/.test(s) || parts.some((p) => p === '..' || p === '') || s.includes('\0')) {
    return 'must be a relative path inside the package';
  }
  return undefined;
}

/** A plugin list entry; undefined when it is not one (the agent skips it). */
export function parsePluginInfo(json: unknown): PluginInfo | undefined {
  if (!isObj(json)) {
    return undefined;
  }
  const s = (key: string) => fuzzyStr(json, key) ?? '';
  const pluginType = pluginTypeOf(json['pluginType']);
  const name = s('name');
  if (!pluginType || name === '') {
    return undefined;
  }
  const sha256 = s('sha256');
  return {
    pluginId: s('pluginId'),
    name,
    arch: s('arch'),
    osType: s('osType'),
    version: s('version'),
    publisher: s('publisher'),
    url: s('url'),
    md5: s('md5'),
    ...(sha256 ? { sha256 } : {}),
    runPath: s('runPath'),
    timeout: s('timeout'),
    isPreInstalled: s('isPreInstalled'),
    pluginType,
    heartbeatInterval:
      fuzzyInt(json, 'heartbeatInterval', DEFAULT_HEARTBEAT_INTERVAL_S) ?? DEFAULT_HEARTBEAT_INTERVAL_S,
    isRemoved: fuzzyBool(json, 'isRemoved') ?? false,
    addSysTag: fuzzyBool(json, 'addSysTag') ?? false,
  };
}

export function parsePluginListRequest(json: unknown): Validated<PluginListRequest> {
  if (!isObj(json)) {
    return { ok: false, errors: ['body: expected a JSON object'] };
  }
  const out = { osType: '', pluginName: '', version: '', arch: '' };
  const errors: string[] = [];
  for (const key of Object.keys(out) as (keyof typeof out)[]) {
    const v = fuzzyStr(json, key);
    if (v === undefined) {
      errors.push(`body.${key}: expected a string`);
    } else {
      out[key] = v;
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: out };
}

export function parsePluginListResponse(json: unknown): Validated<PluginInfo[]> {
  if (!isObj(json)) {
    return { ok: false, errors: ['plugin list answer: expected a JSON object'] };
  }
  const code = json['code'];
  if (typeof code === 'number' && code !== 200) {
    return { ok: false, errors: [`plugin list answered ${code}: ${String(json['errMsg'] ?? '')}`] };
  }
  const list = json['pluginList'];
  if (list !== undefined && list !== null && !Array.isArray(list)) {
    return { ok: false, errors: ['plugin list answer: pluginList must be an array'] };
  }
  return {
    ok: true,
    value: ((list as unknown[] | null | undefined) ?? [])
      .map(parsePluginInfo)
      .filter((p): p is PluginInfo => p !== undefined),
  };
}

/** A report_status body: `{plugin:[{name,status,version,sysTagType?}]}`. */
export function parsePluginStatusReport(json: unknown): Validated<PluginStatusEntry[]> {
  if (!isObj(json) || !Array.isArray(json['plugin'])) {
    return { ok: false, errors: ['body.plugin: expected an array'] };
  }
  const errors: string[] = [];
  const out: PluginStatusEntry[] = [];
  json['plugin'].forEach((e: unknown, i) => {
    if (!isObj(e)) {
      errors.push(`body.plugin[${i}]: expected an object`);
      return;
    }
    const name = fuzzyStr(e, 'name') ?? '';
    const status = fuzzyStr(e, 'status') ?? '';
    const version = fuzzyStr(e, 'version') ?? '';
    const tag = fuzzyStr(e, 'sysTagType') ?? '';
    if (name === '') {
      errors.push(`body.plugin[${i}].name: required`);
    }
    if (!isPluginStatus(status)) {
      errors.push(`body.plugin[${i}].status: must be one of ${PLUGIN_STATUSES.join(', ')}`);
    }
    if (tag !== '' && tag !== 'add' && tag !== 'remove') {
      errors.push(`body.plugin[${i}].sysTagType: must be add or remove`);
    }
    out.push({
      name: truncateBytes(name, MAX_PLUGIN_NAME_BYTES),
      status: status as PluginStatus,
      version: truncateBytes(version, MAX_PLUGIN_VERSION_BYTES),
      ...(tag === 'add' || tag === 'remove' ? { sysTagType: tag } : {}),
    });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: out };
}

export function parsePluginReportResponse(json: unknown): PluginReportResponse | undefined {
  if (!isObj(json)) {
    return undefined;
  }
  const n = (k: string, d: number) => fuzzyInt(json, k, d) ?? d;
  return { scanInterval: n('scanInterval', 900), pullInterval: n('pullInterval', 300), reportType: n('reportType', 0) };
}

export function parsePluginUpdateCheckRequest(json: unknown): Validated<PluginUpdateCheckRequest> {
  if (!isObj(json)) {
    return { ok: false, errors: ['body: expected a JSON object'] };
  }
  const os = fuzzyStr(json, 'os') ?? '';
  const arch = fuzzyStr(json, 'arch') ?? '';
  const list = json['plugin'] ?? [];
  if (!Array.isArray(list)) {
    return { ok: false, errors: ['body.plugin: expected an array'] };
  }
  const plugin = list
    .filter(isObj)
    .map((p) => ({ name: fuzzyStr(p, 'name') ?? '', version: fuzzyStr(p, 'version') ?? '' }))
    .filter((p) => p.name !== '');
  return { ok: true, value: { os, arch, plugin } };
}

export function parsePluginUpdateCheckResponse(json: unknown): Validated<PluginUpdateCheckResponse> {
  if (!isObj(json)) {
    return { ok: false, errors: ['update_check answer: expected a JSON object'] };
  }
  const code = json['code'];
  if (typeof code === 'number' && code !== 200) {
    return { ok: false, errors: [`plugin update_check answered ${code}: ${String(json['errMsg'] ?? '')}`] };
  }
  const list = Array.isArray(json['plugin']) ? json['plugin'] : [];
  return {
    ok: true,
    value: {
      nextInterval: fuzzyInt(json, 'nextInterval', 1800) ?? 1800,
      plugin: list
        .filter(isObj)
        .map((p) => ({
          name: fuzzyStr(p, 'name') ?? '',
          version: fuzzyStr(p, 'version') ?? '',
          timeout: fuzzyInt(p, 'timeout', DEFAULT_PLUGIN_TIMEOUT_S) ?? DEFAULT_PLUGIN_TIMEOUT_S,
        }))
        .filter((p) => p.name !== '' && p.version !== ''),
    },
  };
}

/** Cuts `s` to at most `max` UTF-8 bytes without splitting a character. */
export function truncateBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) {
    return s;
  }
  let out = '';
  for (const c of s) {
    if (Buffer.byteLength(out + c) > max) {
      break;
    }
    out += c;
  }
  return out;
}
