// Debian's nginx terminating TLS in front of a plain-TCP server (stream module, `listen … ssl`,
// proxy_pass to the server): for bench/node-floor.ts's question whether a node holds its agents
// more cheaply when TLS ends in nginx. One worker; its pid is read for RSS and CPU figures.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nginxMainConfig } from './load-balancer.js';
import { sleep } from './metrics.js';
import { freePort } from './server-process.js';

const NGINX = '/usr/sbin/nginx';

export interface TlsTerminator {
  port: number;
  /** The worker process: it holds the connections. */
  workerPid: number;
  stop(): Promise<void>;
}

/** `connections`: client connections it must hold at once (each takes two of the worker's). */
export async function startTlsTerminator(
  upstreamPort: number,
  tls: { key: string; cert: string },
  connections: number,
): Promise<TlsTerminator> {
  const dir = mkdtempSync(join(tmpdir(), 'oca-bench-nginx-tls-'));
  const port = await freePort();
  const workerConnections = 2 * connections + 512;
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      ...nginxMainConfig(dir, 1, workerConnections),
      'stream {',
      '    server {',
      `        listen 127.0.0.1:${port} ssl;`,
      `        ssl_certificate ${tls.cert};`,
      `        ssl_certificate_key ${tls.key};`,
      `        proxy_pass 127.0.0.1:${upstreamPort};`,
      '        proxy_timeout 1h;',
      '    }',
      '}',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn(NGINX, ['-p', dir, '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let workerPid: number | undefined;
  for (let i = 0; i < 100 && workerPid === undefined; i++) {
    await sleep(50);
    try {
      workerPid = Number(execFileSync('pgrep', ['-P', String(proc.pid)], { encoding: 'utf8' }).trim());
    } catch {
      // no worker yet
    }
  }
  if (workerPid === undefined || proc.exitCode !== null) {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error('nginx did not start a worker');
  }
  return {
    port,
    workerPid,
    stop: async () => {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGQUIT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
