// Debian's nginx as the TCP load balancer in front of the nodes: the stream block of
// deploy/nginx-stream.conf (least_conn, TLS passed through), rendered for the nodes here by
// test/harness/nginx.ts's renderStreamConfig, in the foreground from a temp prefix. Not the
// harness's startNginx itself: that one has `worker_connections 1024`, and nginx counts both ends
// of every proxied connection, so it stops accepting (“worker_connections are not enough”) at
// about 500 agents. Here the limit is sized for the fleet (its notify sockets plus the simulator's
// HTTPS pools, both ends), with the open-file limit to match. A worker is one process under the
// machine's open-file limit (20,000 here), so a fleet whose connections need more descriptors
// gets several workers, and the listening socket `reuseport` so the kernel spreads the agents
// over them.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderStreamConfig } from '../../test/harness/nginx.js';
import { sleep } from './metrics.js';
import { treeCpuSeconds } from './proc-tree.js';
import { freePort } from './server-process.js';

/** Descriptors one worker is given: under the open-file limit, with room for its own files. */
const WORKER_DESCRIPTORS = 16_000;

const NGINX = '/usr/sbin/nginx';
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/**
 * The top of an nginx.conf run from `dir` as root with unprivileged workers, the stream module
 * loaded, and each worker's descriptors sized for `workerConnections` (nginx counts both ends).
 */
export function nginxMainConfig(dir: string, workers: number, workerConnections: number): string[] {
  return [
    `load_module ${STREAM_MODULE};`,
    `pid ${join(dir, 'nginx.pid')};`,
    // Not `info`: that logs every connection of the fleet.
    `error_log ${join(dir, 'error.log')} notice;`,
    'user nobody nogroup;',
    `worker_processes ${workers};`,
    `worker_rlimit_nofile ${workerConnections + 256};`,
    `events { worker_connections ${workerConnections}; }`,
  ];
}

export class LoadBalancer {
  readonly #proc: ChildProcess;
  readonly #dir: string;
  readonly hostPort: string;
  private constructor(proc: ChildProcess, dir: string, hostPort: string) {
    this.#proc = proc;
    this.#dir = dir;
    this.hostPort = hostPort;
  }

  /** `connections`: client connections it must carry at once (each takes two of nginx's). */
  static async start(upstreams: string[], connections: number): Promise<LoadBalancer> {
    const dir = mkdtempSync(join(tmpdir(), 'oca-bench-nginx-'));
    const port = await freePort();
    const workers = Math.ceil((2 * connections + 512) / WORKER_DESCRIPTORS);
    // The kernel's spread over the workers is even only on average: a tenth more for each.
    const workerConnections = Math.ceil((2.2 * connections) / workers) + 512;
    const conf = join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      [
        ...nginxMainConfig(dir, workers, workerConnections),
        workers > 1
          ? renderStreamConfig(upstreams, port).replace(
              `listen 127.0.0.1:${port};`,
              `listen 127.0.0.1:${port} reuseport;`,
            )
          : renderStreamConfig(upstreams, port),
      ].join('\n'),
    );
    const proc = spawn(NGINX, ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lb = new LoadBalancer(proc, dir, `127.0.0.1:${port}`);
    for (let waited = 0; ; waited += 100) {
      if (proc.exitCode !== null || waited > 15_000) {
        lb.kill();
        throw new Error(`nginx did not start: ${stderr}${lb.errorLog()}`);
      }
      if (await accepts(port)) {
        return lb;
      }
      await sleep(100);
    }
  }

  get pid(): number {
    return this.#proc.pid!;
  }

  /** CPU seconds of the master and its worker so far. */
  cpuSeconds(): number {
    return treeCpuSeconds(this.pid);
  }

  errorLog(): string {
    try {
      return readFileSync(join(this.#dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Fast shutdown (SIGTERM: open connections are cut, not waited for), then the temp dir goes. */
  async stop(): Promise<void> {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) {
      const exited = new Promise((r) => this.#proc.once('exit', r));
      this.#proc.kill('SIGTERM');
      await exited;
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** For exit paths that cannot wait. */
  kill(): void {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) {
      this.#proc.kill('SIGTERM');
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
