// Stages an update package as <ROOT>/<version>/ (spec/client-features.md §7.3, made safe): download
// into a private temporary directory inside <ROOT>, check MD5 (protocol) and SHA-256 (extension),
// unpack there with every entry checked, check the agent executable, then move the finished
// directory into place with one rename. Until that rename nothing in <ROOT> changes.
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  closeSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { versionFromUpdateUrl } from '../../protocol/index.js';
import type { Logger } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';
import { downloadPackage, type Downloaded } from './download.js';
import { extractZip, UnsafeZipError } from './safe-unzip.js';
import { UpdateError } from './update-errors.js';

export interface PackageRef {
  url: string;
  md5: string;
  sha256?: string;
}

export interface StageOptions {
  installDir: string;
  pkg: PackageRef;
  http: HttpClient;
  log: Logger;
  downloadTimeoutMs: number;
  maxBytes?: number;
  platform?: NodeJS.Platform;
  arch?: string;
  signal?: AbortSignal;
}

export interface Staged {
  version: string;
  dir: string;
  package: Omit<Downloaded, 'path'>;
}

export const AGENT_BINARY = 'aliyun-service';
export const INSTALL_SCRIPT = 'update_install';

export async function stagePackage(o: StageOptions): Promise<Staged> {
  const version = versionFromUpdateUrl(o.pkg.url);
  if (version === undefined) {
    throw new UpdateError('CheckUpdateFailed', `no version in the package URL ${o.pkg.url}`);
  }
  mkdirSync(o.installDir, { recursive: true, mode: 0o755 });
  // mkdtemp: a fresh 0700 directory with an unpredictable name, created atomically.
  const tmp = mkdtempSync(join(o.installDir, '.update-'));
  try {
    const got = await downloadPackage({
      url: o.pkg.url,
      file: join(tmp, 'package.zip'),
      http: o.http,
      timeoutMs: o.downloadTimeoutMs,
      ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    verifyDigests(got, o.pkg);
    const unpacked = join(tmp, 'unpacked');
    mkdirSync(unpacked, { mode: 0o700 });
    try {
      extractZip(readFileSync(got.path), version, unpacked);
    } catch (e) {
      if (e instanceof UnsafeZipError) {
        throw new UpdateError('ExtractPackageFailed', e.message, { cause: e });
      }
      throw new UpdateError('ExtractPackageFailed', (e as Error).message, { cause: e });
    }
    const staged = join(unpacked, version);
    checkExecutable(join(staged, AGENT_BINARY), o.platform ?? process.platform, o.arch ?? process.arch);
    if (!statSync(join(staged, INSTALL_SCRIPT), { throwIfNoEntry: false })?.isFile()) {
      throw new UpdateError('ExecuteUpdateScriptFailed', `the package has no ${version}/${INSTALL_SCRIPT}`, {
        reason: 'FileNotExist',
      });
    }
    const dir = join(o.installDir, version);
    // A directory left by an earlier attempt is replaced, never merged with.
    if (statSync(dir, { throwIfNoEntry: false })) {
      renameSync(dir, join(tmp, 'replaced'));
    }
    renameSync(staged, dir);
    o.log.info('update package staged', { version, dir, bytes: got.size, md5: got.md5, sha256: got.sha256 });
    return { version, dir, package: { size: got.size, md5: got.md5, sha256: got.sha256 } };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function verifyDigests(got: { md5: string; sha256: string }, want: { md5: string; sha256?: string }): void {
  if (got.md5.toLowerCase() !== want.md5.toLowerCase()) {
    throw new UpdateError('CheckMD5Failed', `package MD5 ${got.md5} is not the announced ${want.md5}`);
  }
  if (want.sha256 !== undefined && got.sha256.toLowerCase() !== want.sha256.toLowerCase()) {
    throw new UpdateError('CheckSHA256Failed', `package SHA-256 ${got.sha256} is not the announced ${want.sha256}`);
  }
}

/** ELF machine numbers a host of each Node arch can run (x86 hosts also run 386, §7.3). */
const ELF_MACHINES: Partial<Record<string, number[]>> = { x64: [62, 3], ia32: [3], arm64: [183] };
const ELF_OSABI: Partial<Record<string, number[]>> = { linux: [0, 3], freebsd: [9] };

/**
 * The agent executable must be something this host can run: an ELF file for its OS and
 * architecture, or a `#!` script (a launcher).
 */
export function checkExecutable(path: string, platform: NodeJS.Platform, arch: string): void {
  const fail = (why: string) => new UpdateError('ValidateExecutableFailed', `${path}: ${why}`);
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isFile()) {
    throw fail('missing or not a regular file');
  }
  if ((st.mode & 0o111) === 0) {
    throw fail('not executable');
  }
  const head = Buffer.alloc(20);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (n >= 2 && head[0] === 0x23 && head[1] === 0x21) {
    return; // #!
  }
  if (n < 20 || head.readUInt32BE(0) !== 0x7f454c46) {
    throw fail('neither an ELF executable nor a #! script');
  }
  if (head[5] !== 1) {
    throw fail('not little-endian');
  }
  const abis = ELF_OSABI[platform];
  if (!abis?.includes(head[7]!)) {
    throw fail(`ELF OS ABI ${head[7]} does not run on ${platform}`);
  }
  const machine = head.readUInt16LE(18);
  if (!ELF_MACHINES[arch]?.includes(machine)) {
    throw fail(`ELF machine ${machine} does not run on ${arch}`);
  }
}

/** Hex MD5 and SHA-256 of a file (for --force_update of a local package and for tests). */
export function fileDigests(path: string): { md5: string; sha256: string } {
  const data = readFileSync(path);
  return {
    md5: createHash('md5').update(data).digest('hex'),
    sha256: createHash('sha256').update(data).digest('hex'),
  };
}
