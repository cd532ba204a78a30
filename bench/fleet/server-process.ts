// The control plane as a separate process: `node <bundle> start --data-dir … --host 127.0.0.1
// --port …` plus any extra flags, with a raised open-file limit; its log (stderr) goes to a file.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import type { AccessKey } from './api-client.js';
import { spawnLimited, type FileLimit } from './spawn-limited.js';

/** A TCP port that was free a moment ago (the server binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * `assist-server keys create`: a new AccessKey pair in the data dir's store, or the one `args` name
 * (`--database URL`); run while the server is down.
 */
export async function createAccessKey(bin: string, dataDir: string, args: string[] = []): Promise<AccessKey> {
  const p = spawn(
    process.execPath,
    [bin, 'keys', 'create', '--data-dir', dataDir, '--description', 'fan-out bench', ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => p.on('close', r));
  const k = /\{.*\}/.exec(out)?.[0];
  if (code !== 0 || !k) {
    throw new Error(`assist-server keys create failed (exit ${code}): ${out}`);
  }
  const j = JSON.parse(k) as { AccessKeyId: string; AccessKeySecret: string };
  return { accessKeyId: j.AccessKeyId, accessKeySecret: j.AccessKeySecret };
}

export class ServerProcess {
  readonly #proc: ChildProcess;
  readonly pid: number;
  readonly hostPort: string;
  readonly caPath: string;
  private constructor(proc: ChildProcess, hostPort: string, caPath: string) {
    this.#proc = proc;
    this.pid = proc.pid!;
    this.hostPort = hostPort;
    this.caPath = caPath;
  }

  static async start(o: {
    bin: string;
    /** Flags for node itself, before the bundle (e.g. --cpu-prof). */
    nodeFlags: string[];
    /** Environment added to this process's. */
    env?: Record<string, string>;
    dataDir: string;
    port: number;
    args: string[];
    limit: FileLimit;
    logFile: string;
    timeoutMs: number;
  }): Promise<ServerProcess> {
    const args = [
      ...o.nodeFlags,
      o.bin,
      'start',
      '--data-dir',
      o.dataDir,
      '--host',
      '127.0.0.1',
      '--port',
      String(o.port),
      ...o.args,
    ];
    const proc = spawnLimited(o.limit, process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...o.env },
    });
    const log = createWriteStream(o.logFile, { flags: 'a' });
    proc.stderr!.pipe(log);
    let out = '';
    const ready = await new Promise<{ caCert: string } | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), o.timeoutMs);
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.includes('"event":"ready"'));
        if (line) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as { caCert: string });
        }
      });
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    proc.stdout!.resume();
    if (!ready) {
      proc.kill('SIGKILL');
      throw new Error(`the control plane did not start (see ${o.logFile}): ${out}`);
    }
    return new ServerProcess(proc, `127.0.0.1:${o.port}`, ready.caCert);
  }

  get running(): boolean {
    return this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  /** SIGTERM (the server closes its sockets and store), SIGKILL if it has not exited in `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) {
      return;
    }
    const exited = new Promise((r) => this.#proc.once('exit', r));
    this.#proc.kill('SIGTERM');
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** For exit paths that cannot wait. */
  kill(): void {
    if (this.running) {
      this.#proc.kill('SIGKILL');
    }
  }
}
