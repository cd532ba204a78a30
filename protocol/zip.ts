// A small, strict zip reader (and writer) for packages: reads the central directory, checks every
// entry before anything is used (no absolute paths, no `..`, nothing outside the expected top
// directory when one is given, no links pointing out of it, no encryption, no zip64, sizes and
// CRC-32 checked). Pure: buffers in, buffers out; the agent writes the files (agent/update).
// Stored (0) and deflated (8) entries only, which is what zip(1) and every common tool write.
import { posix } from 'node:path';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';

const SIG_EOCD = 0x06054b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const UNIX_HOST = 3;

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

/**
 * Reads and checks the central directory. With `topDir`, every entry must lie below `topDir/`;
 * with '' entries may lie anywhere below the archive's root (never above it).
 */
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
  if (topDir !== '' && parts[0] !== topDir) {
    throw new UnsafeZipError(`${name}: outside ${topDir}/`);
  }
  return parts.join('/');
}

function checkLinkTarget(e: ZipEntry, target: string, topDir: string): void {
  if (target.length === 0 || target.includes('\0') || posix.isAbsolute(target)) {
    throw new UnsafeZipError(`${e.name}: symlink to ${JSON.stringify(target)} is not relative`);
  }
  const resolved = posix.normalize(posix.join(posix.dirname(e.name), target));
  const inside = topDir === '' ? resolved !== '..' && !resolved.startsWith('../') : resolved.startsWith(`${topDir}/`);
  if (!inside || resolved === '.') {
    throw new UnsafeZipError(
      `${e.name}: symlink points outside ${topDir === '' ? 'the package' : `${topDir}/`} (${target})`,
    );
  }
}

/** The entry's uncompressed bytes, size and CRC-32 checked. */
export function entryData(zip: Buffer, e: ZipEntry): Buffer {
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

/** One file of an archive to write. */
export interface ZipInput {
  /** Relative path with `/` separators. */
  name: string;
  data: Buffer;
  /** Unix permission bits (default 0644). */
  mode?: number;
}

/** 1980-01-01 00:00, the earliest DOS date: fixed, so the same files give the same bytes. */
const DOS_DATE_1980 = (1 << 5) | 1;

/** A deflated zip of regular files (Unix modes kept), what readZipEntries reads back. */
export function writeZip(files: readonly ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(f.name, 'utf8');
    const packed = deflateRawSync(f.data);
    const crc = crc32(f.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(DOS_DATE_1980, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(SIG_CENTRAL, 0);
    central.writeUInt16LE((UNIX_HOST << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(DOS_DATE_1980, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(f.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((0o100000 | (f.mode ?? 0o644)) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += 30 + name.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(SIG_EOCD, 0);
  eocd.writeUInt16LE(files.length, 8);
  eocd.writeUInt16LE(files.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}
