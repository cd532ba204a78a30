// A small, strict zip reader for update packages: reads the central directory, checks every entry
// before anything is written (no absolute paths, no `..`, nothing outside the one expected top
// directory, no links pointing out of it, no encryption, no zip64, sizes and CRC-32 checked), then
// writes regular files, directories and relative symlinks (zip -y) into an empty directory.
// Stored (0) and deflated (8) entries only, which is what zip(1) and every common tool write.
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { posix, join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';

export interface UnzipLimits {
  /** Sum of the uncompressed sizes; default 512 MiB. */
  maxTotalBytes?: number;
  /** Default 10 000. */
  maxEntries?: number;
}

export interface ZipEntry {
  name: string;
  kind: 'file' | 'dir' | 'symlink';
  /** Unix permission bits (files only), already reduced to at most 0755. */
  mode: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** Why a package was refused; the message names the entry. */
export class UnsafeZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeZipError';
  }
}

const SIG_EOCD = 0x06054b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const UNIX_HOST = 3;

/** Reads and checks the central directory; every entry must lie below `topDir/`. */
export function readZipEntries(zip: Buffer, topDir: string, limits: UnzipLimits = {}): ZipEntry[] {
  const maxEntries = limits.maxEntries ?? 10_000;
  const maxTotal = limits.maxTotalBytes ?? 512 * 2 ** 20;
  const eocd = findEocd(zip);
  const count = zip.readUInt16LE(eocd + 10);
  const cdSize = zip.readUInt32LE(eocd + 12);
  const cdOffset = zip.readUInt32LE(eocd + 16);
  if (zip.readUInt16LE(eocd + 4) !== 0 || zip.readUInt16LE(eocd + 6) !== 0 || count !== zip.readUInt16LE(eocd + 8)) {
    throw new UnsafeZipError('multi-disk archives are not supported');
  }
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new UnsafeZipError('zip64 archives are not supported');
  }
  if (count > maxEntries) {
    throw new UnsafeZipError(`too many entries (${count} > ${maxEntries})`);
  }
  if (cdOffset + cdSize > eocd) {
    throw new UnsafeZipError('the central directory lies outside the file (truncated?)');
  }
  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  let total = 0;
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdOffset + cdSize || zip.readUInt32LE(p) !== SIG_CENTRAL) {
      throw new UnsafeZipError(`central directory entry ${i} is damaged`);
    }
    const madeBy = zip.readUInt16LE(p + 4);
    const flags = zip.readUInt16LE(p + 8);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const compressedSize = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const external = zip.readUInt32LE(p + 38);
    const localHeaderOffset = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if ((flags & 0x1) !== 0) {
      throw new UnsafeZipError(`${name}: encrypted entries are not supported`);
    }
    if (method !== 0 && method !== 8) {
      throw new UnsafeZipError(`${name}: compression method ${method} is not supported`);
    }
    const unixMode = madeBy >> 8 === UNIX_HOST ? external >>> 16 : 0;
    const kind =
      name.endsWith('/') || (unixMode & S_IFMT) === S_IFDIR
        ? 'dir'
        : (unixMode & S_IFMT) === S_IFLNK
          ? 'symlink'
          : 'file';
    const clean = checkName(name, topDir);
    if (names.has(clean)) {
      throw new UnsafeZipError(`${name}: duplicate entry`);
    }
    names.add(clean);
    total += size;
    if (total > maxTotal) {
      throw new UnsafeZipError(`the package unpacks to more than ${maxTotal} bytes`);
    }
    if (localHeaderOffset + 30 + compressedSize > cdOffset) {
      throw new UnsafeZipError(`${name}: data lies outside the file (truncated?)`);
    }
    const mode = kind === 'file' ? (unixMode & 0o777 ? unixMode & 0o755 : 0o644) : 0o755;
    entries.push({ name: clean, kind, mode, method, crc, compressedSize, size, localHeaderOffset });
  }
  // A path below a symlink would be written through it, wherever it points.
  const links = entries.filter((e) => e.kind === 'symlink').map((e) => e.name);
  for (const e of entries) {
    if (links.some((l) => e.name.startsWith(`${l}/`))) {
      throw new UnsafeZipError(`${e.name}: lies below a symlink entry`);
    }
    if (e.kind === 'symlink') {
      checkLinkTarget(e, entryData(zip, e).toString('utf8'), topDir);
    }
  }
  return entries;
}

/** Checks the whole package, then writes it into `dest`, which must exist and be empty. */
export function extractZip(zip: Buffer, topDir: string, dest: string, limits: UnzipLimits = {}): ZipEntry[] {
  const entries = readZipEntries(zip, topDir, limits);
  const data = entries.map((e) => (e.kind === 'dir' ? undefined : entryData(zip, e))); // all checked first
  if (readdirSync(dest).length > 0) {
    throw new UnsafeZipError(`${dest} is not empty`);
  }
  mkdirSync(join(dest, topDir), { mode: 0o755 });
  // Symlinks last, so nothing is ever written through one.
  const order = entries.map((_e, i) => i).sort((a, b) => rank(entries[a]!) - rank(entries[b]!));
  for (const i of order) {
    const e = entries[i]!;
    const target = join(dest, e.name);
    if (e.kind === 'dir') {
      mkdirSync(target, { recursive: true, mode: 0o755 });
    } else if (e.kind === 'file') {
      mkdirSync(join(target, '..'), { recursive: true, mode: 0o755 });
      writeFileSync(target, data[i]!, { flag: 'wx', mode: e.mode });
    } else {
      mkdirSync(join(target, '..'), { recursive: true, mode: 0o755 });
      symlinkSync(data[i]!.toString('utf8'), target);
    }
  }
  return entries;
}

const rank = (e: ZipEntry): number => (e.kind === 'dir' ? 0 : e.kind === 'file' ? 1 : 2);

function findEocd(zip: Buffer): number {
  const stop = Math.max(0, zip.length - (22 + 0xffff));
  for (let p = zip.length - 22; p >= stop; p--) {
    if (zip.readUInt32LE(p) === SIG_EOCD && p + 22 + zip.readUInt16LE(p + 20) === zip.length) {
      return p;
    }
  }
  throw new UnsafeZipError('not a zip file (no end of central directory; truncated?)');
}

/** The entry's name, normalised; refused when it could land anywhere but below `topDir/`. */
function checkName(name: string, topDir: string): string {
  if (name.length === 0 || name.includes('\0') || name.includes('\\')) {
    throw new UnsafeZipError(`${JSON.stringify(name)}: invalid entry name`);
  }
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) {
    throw new UnsafeZipError(`${name}: absolute path`);
  }
  const parts = name.replace(/\/$/, '').split('/');
  if (parts.some((s) => s === '' || s === '.' || s === '..')) {
    throw new UnsafeZipError(`${name}: path escapes or is not normal`);
  }
  if (parts[0] !== topDir) {
    throw new UnsafeZipError(`${name}: outside ${topDir}/`);
  }
  return parts.join('/');
}

function checkLinkTarget(e: ZipEntry, target: string, topDir: string): void {
  if (target.length === 0 || target.includes('\0') || posix.isAbsolute(target)) {
    throw new UnsafeZipError(`${e.name}: symlink to ${JSON.stringify(target)} is not relative`);
  }
  const resolved = posix.normalize(posix.join(posix.dirname(e.name), target));
  if (!resolved.startsWith(`${topDir}/`)) {
    throw new UnsafeZipError(`${e.name}: symlink points outside ${topDir}/ (${target})`);
  }
}

/** The entry's uncompressed bytes, size and CRC-32 checked. */
function entryData(zip: Buffer, e: ZipEntry): Buffer {
  const p = e.localHeaderOffset;
  if (p + 30 > zip.length || zip.readUInt32LE(p) !== SIG_LOCAL) {
    throw new UnsafeZipError(`${e.name}: local header is damaged`);
  }
  const start = p + 30 + zip.readUInt16LE(p + 26) + zip.readUInt16LE(p + 28);
  const end = start + e.compressedSize;
  if (end > zip.length) {
    throw new UnsafeZipError(`${e.name}: data lies outside the file (truncated?)`);
  }
  const raw = zip.subarray(start, end);
  let out: Buffer;
  try {
    out = e.method === 0 ? raw : inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
  } catch (err) {
    throw new UnsafeZipError(`${e.name}: cannot inflate (${(err as Error).message})`);
  }
  if (out.length !== e.size || crc32(out) !== e.crc) {
    throw new UnsafeZipError(`${e.name}: size or CRC-32 does not match`);
  }
  return out;
}
