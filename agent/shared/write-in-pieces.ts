// Writes a new file the way tar and dpkg do, a piece at a time. On Linux 6.x a file written in a few
// large writes sits in the page cache in large folios, and a process started from it maps more of
// it: the agent and its watchdog, started from an executable the self-update had written in one
// write, each held about 2 MiB more RSS than when started from a packaged install, until the page
// cache dropped it (docs/benchmarks.md). 16 KiB pieces measured within half a MiB of a package install.
import { closeSync, openSync, writeSync } from 'node:fs';

/** The write size: 16 KiB measured as low as 4 and 8 KiB; 64 KiB and 1 MiB measured higher. */
export const WRITE_PIECE_BYTES = 16 * 1024;

/** One write(2): returns the bytes written, which may be fewer than asked. */
export type WriteFn = (fd: number, data: Buffer, offset: number, length: number) => number;

/** Writes all of `data` to `fd` in pieces of at most `WRITE_PIECE_BYTES`, in order. */
export function writeInPieces(fd: number, data: Buffer, write: WriteFn = writeSync): void {
  for (let offset = 0; offset < data.length;) {
    const n = write(fd, data, offset, Math.min(WRITE_PIECE_BYTES, data.length - offset));
    if (n <= 0) {
      throw new Error(`write made no progress at byte ${offset} of ${data.length}`);
    }
    offset += n;
  }
}

/**
 * Creates `path` (it must not exist: O_EXCL, as `writeFileSync`'s `wx`) with `mode` (less the
 * umask) and writes `data` in pieces.
 */
export function writeNewFileInPieces(path: string, data: Buffer, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    writeInPieces(fd, data);
  } finally {
    closeSync(fd);
  }
}
