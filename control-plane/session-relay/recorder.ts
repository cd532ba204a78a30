// Optional session recording: a shell session's output, with timing, as an asciicast v2 file
// (`<dataDir>/sessions/<sessionId>.cast`: a JSON header line, then `[seconds, "o", text]` and
// `[seconds, "r", "COLSxROWS"]` lines). Port-forwarding sessions carry arbitrary bytes and are
// not recorded. Files older than the retention are deleted by sweep().
import { createWriteStream, mkdirSync, readdirSync, statSync, unlinkSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

export interface RecordingOptions {
  /** `<dataDir>/sessions`. */
  dir: string;
  /** Recordings older than this are deleted (default 30 days). */
  retentionMs: number;
  /** A recording stops growing past this many bytes (default 64 MiB); the session goes on. */
  maxBytes: number;
}

export const DEFAULT_RECORDING_RETENTION_MS = 30 * 24 * 3600_000;
export const DEFAULT_RECORDING_MAX_BYTES = 64 * 1024 * 1024;

export class Recording {
  readonly #out: WriteStream;
  readonly #started: number;
  readonly #decoder = new TextDecoder('utf-8');
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(path: string, maxBytes: number, nowMs: number) {
    this.#out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    this.#out.on('error', () => {}); // a full disk must not end the session
    this.#started = nowMs;
    this.#maxBytes = maxBytes;
    this.#line({ version: 2, width: 80, height: 24, timestamp: Math.floor(nowMs / 1000) });
  }

  output(bytes: Uint8Array, nowMs: number): void {
    // A streaming decoder keeps a character split across two frames whole.
    const text = this.#decoder.decode(bytes, { stream: true });
    if (text !== '') {
      this.#line([(nowMs - this.#started) / 1000, 'o', text]);
    }
  }

  resize(cols: number, rows: number, nowMs: number): void {
    this.#line([(nowMs - this.#started) / 1000, 'r', `${cols}x${rows}`]);
  }

  close(): void {
    this.#out.end();
  }

  #line(v: unknown): void {
    if (this.#bytes >= this.#maxBytes) {
      return;
    }
    const s = `${JSON.stringify(v)}\n`;
    this.#bytes += Buffer.byteLength(s);
    this.#out.write(s);
  }
}

export class Recorder {
  readonly #o: RecordingOptions;

  constructor(o: RecordingOptions) {
    this.#o = o;
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  }

  /** Starts a recording; the file name relative to the data dir is `sessions/<id>.cast`. */
  open(sessionId: string, nowMs: number): { recording: Recording; relPath: string } {
    const name = `${sessionId}.cast`;
    return { recording: new Recording(join(this.#o.dir, name), this.#o.maxBytes, nowMs), relPath: `sessions/${name}` };
  }

  /** Deletes recordings past the retention; returns how many. */
  sweep(nowMs: number): number {
    let n = 0;
    for (const name of readdirSync(this.#o.dir)) {
      const path = join(this.#o.dir, name);
      try {
        if (name.endsWith('.cast') && statSync(path).mtimeMs < nowMs - this.#o.retentionMs) {
          unlinkSync(path);
          n++;
        }
      } catch {
        // gone already
      }
    }
    return n;
  }
}
