// Agent update packages the control plane offers (luban update_check, spec/luban-protocol.md §9.1),
// read from a directory laid out by OS and architecture, in the protocol's names:
//   <updatesDir>/linux/amd64/2.6.0.2_update.zip     (scripts/build-packages.ts output, unchanged)
//   <updatesDir>/linux/arm64/2.6.0.2_update.zip
// The newest version newer than the asking agent's wins. Files are served read-only under
// UPDATES_PATH/<os>/<arch>/<file>; their MD5 and SHA-256 are computed once per (size, mtime).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { compareVersions, type UpdateInfo } from '../../protocol/index.js';

export const UPDATES_PATH = '/assist/updates';

/**
 * `<version>_<rest>.zip` with exactly one `_`: the stock agent takes the version from the URL's
 * last segment split on `_` into exactly two parts.
 */
const PACKAGE_RE = /^(\d{1,9}(?:\.\d{1,9}){3})_[A-Za-z0-9.+-]{1,100}\.zip$/;
/** Protocol names: linux, windows, freebsd; amd64, arm64, 386. */
const SEGMENT_RE = /^[a-z0-9]{1,16}$/;

export interface UpdatePackage {
  version: string;
  fileName: string;
  path: string;
  size: number;
  md5: string;
  sha256: string;
}

interface Digests {
  size: number;
  mtimeMs: number;
  md5: string;
  sha256: string;
}

export class UpdateCatalog {
  readonly #dir: string;
  readonly #digests = new Map<string, Digests>();
  constructor(dir: string) {
    this.#dir = dir;
  }

  /** The newest package for `os`/`arch` newer than `currentVersion`; undefined when there is none. */
  async newerThan(os: string, arch: string, currentVersion: string): Promise<UpdatePackage | undefined> {
    if (!SEGMENT_RE.test(os) || !SEGMENT_RE.test(arch)) {
      return undefined;
    }
    const dir = join(this.#dir, os, arch);
    const names = await readdir(dir).catch(() => [] as string[]);
    const candidates = names
      .map((name) => ({ name, version: PACKAGE_RE.exec(name)?.[1] }))
      .filter((c): c is { name: string; version: string } => c.version !== undefined)
      .filter((c) => compareVersions(c.version, currentVersion) > 0)
      .sort((a, b) => compareVersions(b.version, a.version) || a.name.localeCompare(b.name));
    for (const c of candidates) {
      const pkg = await this.#describe(join(dir, c.name), c.name, c.version);
      if (pkg) {
        return pkg;
      }
    }
    return undefined;
  }

  /** The file to serve for UPDATES_PATH/<os>/<arch>/<name>: a regular file directly in its directory. */
  async file(os: string, arch: string, name: string): Promise<{ path: string; size: number } | undefined> {
    if (!SEGMENT_RE.test(os) || !SEGMENT_RE.test(arch) || !PACKAGE_RE.test(name)) {
      return undefined;
    }
    const path = join(this.#dir, os, arch, name);
    const st = await lstat(path).catch(() => undefined);
    return st?.isFile() ? { path, size: st.size } : undefined;
  }

  /** The update_info of a package, with its URL on the server the agent reached (`host` as it sent it). */
  static updateInfo(pkg: UpdatePackage, os: string, arch: string, host: string): UpdateInfo {
    return {
      file_name: pkg.fileName,
      md5: pkg.md5,
      url: `https://${host}${UPDATES_PATH}/${os}/${arch}/${encodeURIComponent(pkg.fileName)}`,
      sha256: pkg.sha256,
    };
  }

  async #describe(path: string, fileName: string, version: string): Promise<UpdatePackage | undefined> {
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isFile()) {
      return undefined;
    }
    let d = this.#digests.get(path);
    if (!d || d.size !== st.size || d.mtimeMs !== st.mtimeMs) {
      d = { size: st.size, mtimeMs: st.mtimeMs, ...(await digestsOf(path)) };
      this.#digests.set(path, d);
    }
    return { version, fileName, path, size: st.size, md5: d.md5, sha256: d.sha256 };
  }
}

function digestsOf(path: string): Promise<{ md5: string; sha256: string }> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  return new Promise((resolve, reject) => {
    createReadStream(path)
      .on('data', (c) => {
        md5.update(c);
        sha256.update(c);
      })
      .on('error', reject)
      .on('end', () => resolve({ md5: md5.digest('hex'), sha256: sha256.digest('hex') }));
  });
}
