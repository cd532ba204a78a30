import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WRITE_PIECE_BYTES, writeInPieces, writeNewFileInPieces, type WriteFn } from './write-in-pieces.js';

const P = WRITE_PIECE_BYTES;
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) % 251));

describe('writing a new file in pieces', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oca-pieces-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every byte, in order, at sizes around the piece size', () => {
    for (const n of [0, 1, P - 1, P, P + 1, 5 * P + 7]) {
      const path = join(dir, `f${n}`);
      const data = bytes(n);
      writeNewFileInPieces(path, data, 0o644);
      assert.deepEqual(readFileSync(path), data, `size ${n}`);
    }
  });

  it('asks for pieces of at most 16 KiB and carries on after a short write', () => {
    const asked: [number, number][] = [];
    const out = Buffer.alloc(3 * P + 5);
    // The kernel may write less than asked: this one writes at most 10,000 bytes a call.
    const shortWrites: WriteFn = (_fd, data, offset, length) => {
      asked.push([offset, length]);
      const n = Math.min(length, 10_000);
      data.copy(out, offset, offset, offset + n);
      return n;
    };
    const data = bytes(out.length);
    writeInPieces(-1, data, shortWrites);
    assert.deepEqual(out, data);
    assert.ok(asked.length > 3, 'more calls than pieces: each short write is continued');
    assert.ok(
      asked.every(([, length]) => length <= P),
      `a write of more than ${P} bytes: ${JSON.stringify(asked)}`,
    );
    assert.deepEqual(asked[0], [0, P]);
    assert.deepEqual(asked[1], [10_000, P]);
  });

  it('stops with an error when a write makes no progress, instead of looping', () => {
    assert.throws(() => writeInPieces(-1, bytes(10), () => 0), /no progress at byte 0 of 10/);
  });

  it('gives the new file its mode, less the umask', () => {
    const path = join(dir, 'exe');
    writeNewFileInPieces(path, bytes(10), 0o755);
    assert.equal(statSync(path).mode & 0o777, 0o755 & ~process.umask());
  });

  it('refuses a path that exists and leaves it as it was', () => {
    const path = join(dir, 'taken');
    writeFileSync(path, 'keep me');
    assert.throws(() => writeNewFileInPieces(path, bytes(100), 0o644), { code: 'EEXIST' });
    assert.equal(readFileSync(path, 'utf8'), 'keep me');
  });
});
