// Agent self-update check (spec/luban-protocol.md §9.1): the request, the response, the version
// taken from the package URL, and how four-part versions compare.
import { FieldReader, isObj, type Validated } from './validate.js';

export const UPDATE_APP_ID = 'aliyun assistant';

export interface UpdateCheckRequest {
  os: string;
  /** `amd64`, `386`, `arm64` or `unknown`. */
  arch: string;
  os_version: string;
  app_id: string;
  app_version: string;
  kernel_version: string;
}

export interface UpdateInfo {
  file_name: string;
  /** Hex MD5 of the package, the only digest the stock agent checks. */
  md5: string;
  url: string;
  /** Extension: hex SHA-256 of the package. Stock agents ignore it; ours checks it when present. */
  sha256?: string;
}

export interface UpdateCheckResponse {
  need_update: number;
  update_info?: UpdateInfo;
}

/** The protocol's arch names for a Node `process.arch`. */
export function updateArch(arch: string): string {
  return arch === 'x64' ? 'amd64' : arch === 'ia32' ? '386' : arch === 'arm64' ? 'arm64' : 'unknown';
}

/** The protocol's os names for a Node `process.platform`. */
export function updateOs(platform: string): string {
  return platform === 'win32' ? 'windows' : platform;
}

const VERSION_RE = /^\d{1,9}(\.\d{1,9}){3}$/;

/** A four-part version `a.b.c.d` (the install directory's name), or undefined. */
export function parseVersion(s: string): number[] | undefined {
  return VERSION_RE.test(s) ? s.split('.').map(Number) : undefined;
}

/** <0, 0, >0 like a comparator; both must be four-part versions (else compared as strings, last). */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) {
    return x ? 1 : y ? -1 : a < b ? -1 : a > b ? 1 : 0;
  }
  for (let i = 0; i < 4; i++) {
    if (x[i] !== y[i]) {
      return x[i]! - y[i]!;
    }
  }
  return 0;
}

/**
 * The target version of an update URL: its last path segment must split on `_` into exactly two
 * parts, the first being the version (§9.1). We also require that part to be a four-part version,
 * since it names a directory under the install root.
 */
export function versionFromUpdateUrl(url: string): string | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const last = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
  const parts = last.split('_');
  if (parts.length !== 2 || parts[1] === '') {
    return undefined;
  }
  return parseVersion(parts[0]!) ? parts[0] : undefined;
}

const HEX = (n: number) => new RegExp(`^[0-9a-fA-F]{${n}}$`);

export function parseUpdateCheckResponse(json: unknown): Validated<UpdateCheckResponse> {
  if (!isObj(json)) {
    return { ok: false, errors: ['update_check: expected an object'] };
  }
  const r = new FieldReader(json, 'update_check');
  const need = r.int('need_update');
  if (need === 0) {
    return r.errors.length > 0 ? { ok: false, errors: r.errors } : { ok: true, value: { need_update: 0 } };
  }
  const infoRaw = json['update_info'];
  if (!isObj(infoRaw)) {
    return { ok: false, errors: [...r.errors, 'update_check.update_info: required when need_update is 1'] };
  }
  const i = new FieldReader(infoRaw, 'update_info');
  const info: UpdateInfo = { file_name: i.str('file_name'), md5: i.str('md5', true), url: i.str('url', true) };
  const sha256 = i.str('sha256');
  const errors = [...r.errors, ...i.errors];
  if (info.md5 && !HEX(32).test(info.md5)) {
    errors.push('update_info.md5: expected 32 hex digits');
  }
  if (sha256) {
    if (HEX(64).test(sha256)) {
      info.sha256 = sha256.toLowerCase();
    } else {
      errors.push('update_info.sha256: expected 64 hex digits');
    }
  }
  if (info.url && versionFromUpdateUrl(info.url) === undefined) {
    errors.push('update_info.url: the last path segment must be <version>_<name>');
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: { need_update: need, update_info: info } };
}

export function parseUpdateCheckRequest(json: unknown): Validated<UpdateCheckRequest> {
  if (!isObj(json)) {
    return { ok: false, errors: ['update_check request: expected an object'] };
  }
  const r = new FieldReader(json, 'update_check');
  const value: UpdateCheckRequest = {
    os: r.str('os', true),
    arch: r.str('arch', true),
    os_version: r.str('os_version'),
    app_id: r.str('app_id'),
    app_version: r.str('app_version', true),
    kernel_version: r.str('kernel_version'),
  };
  return r.errors.length > 0 ? { ok: false, errors: r.errors } : { ok: true, value };
}
