// Unpacks a checked zip (protocol/zip.ts reads and checks every entry first) into an empty
// directory: regular files, directories and relative symlinks (zip -y), symlinks last.
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { entryData, readZipEntries, UnsafeZipError, type UnzipLimits, type ZipEntry } from '../../protocol/index.js';
import { writeNewFileInPieces } from '../shared/index.js';

export { UnsafeZipError };

/**
 * Checks the whole package, then writes it into `dest`, which must exist and be empty. With a
 * `topDir`, every entry lies below `dest/topDir/`; with '' the archive's root is `dest`.
 */
export function extractZip(zip: Buffer, topDir: string, dest: string, limits: UnzipLimits = {}): ZipEntry[] {
  const entries = readZipEntries(zip, topDir, limits);
  const data = entries.map((e) => (e.kind === 'dir' ? undefined : entryData(zip, e))); // all checked first
  if (readdirSync(dest).length > 0) {
    throw new UnsafeZipError(`${dest} is not empty`);
  }
  if (topDir !== '') {
    mkdirSync(join(dest, topDir), { mode: 0o755 });
  }
  // Symlinks last, so nothing is ever written through one.
  const order = entries.map((_e, i) => i).sort((a, b) => rank(entries[a]!) - rank(entries[b]!));
  for (const i of order) {
    const e = entries[i]!;
    const target = join(dest, e.name);
    if (e.kind === 'dir') {
      mkdirSync(target, { recursive: true, mode: 0o755 });
    } else if (e.kind === 'file') {
      mkdirSync(join(target, '..'), { recursive: true, mode: 0o755 });
      // In pieces: the agent's own executable is one of these files (agent/shared/write-in-pieces.ts).
      writeNewFileInPieces(target, data[i]!, e.mode);
    } else {
      mkdirSync(join(target, '..'), { recursive: true, mode: 0o755 });
      symlinkSync(data[i]!.toString('utf8'), target);
    }
  }
  return entries;
}

const rank = (e: ZipEntry): number => (e.kind === 'dir' ? 0 : e.kind === 'file' ? 1 : 2);
