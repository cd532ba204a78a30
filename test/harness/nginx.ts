// Debian's nginx as a TCP load balancer for tests: the stream config of deploy/nginx-stream.conf,
// rendered for upstreams on this machine, run in the foreground from a temp prefix on a free port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './control-plane.js';
import { eventually } from './eventually.js';
import { createServer } from 'node:net';
import { freePort } from './ports.js';

const NGINX = '/usr/sbin/nginx';
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
const DEPLOY_CONFIG = join(import.meta.dirname, '..', '..', 'deploy', 'nginx-stream.conf');

/** The shipped stream block with its example upstreams and port replaced by these. */
export function renderStreamConfig(upstreams: string[], listenPort: number): string {
  const shipped = readFileSync(DEPLOY_CONFIG, 'utf8');
  const servers = upstreams.map((u) => `        server ${u} max_fails=1 fail_timeout=5s;`).join('\n');
  return shipped
    .replace(/( {8}server \S+:8443 [^\n]*\n)+/, `${servers}\n`)
    .replace('listen 8443;', `listen 127.0.0.1:${listenPort};`);
}

export interface LoadBalancer {
  /** `127.0.0.1:<port>`. */
  hostPort: string;
  process: ChildProcess;
  /** What nginx logged (connections to upstreams at level info), for failure messages. */
  errorLog(): string;
  /** Rewrites the upstreams and reloads (SIGHUP): open connections stay where they are. */
  reload(upstreams: string[]): Promise<void>;
}

export async function startNginx(t: Cleanup, upstreams: string[]): Promise<LoadBalancer> {
  const dir = mkdtempSync(join(tmpdir(), 'oca-nginx-'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  const write = (list: string[]) =>
    writeFileSync(
      conf,
      [
        `load_module ${STREAM_MODULE};`,
        `pid ${join(dir, 'nginx.pid')};`,
        `error_log ${join(dir, 'error.log')} info;`,
        // The master runs as root here; workers need no privileges to proxy.
        'user nobody nogroup;',
        'worker_processes 1;',
        'events { worker_connections 1024; }',
        renderStreamConfig(list, port),
      ].join('\n'),
    );
  write(upstreams);
  const proc = spawn(NGINX, ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  t.after(async () => {
    proc.kill('SIGQUIT');
    await new Promise((r) => (proc.exitCode === null ? proc.once('exit', r) : r(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });
  await eventually(
    () =>
      new Promise<boolean>((resolve) => {
        if (proc.exitCode !== null) {
          throw new Error(`nginx exited: ${stderr}`);
        }
        const s = createServer();
        s.once('error', () => resolve(true)); // the port is taken: nginx listens
        s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
      }),
    { what: 'nginx to listen' },
  );
  return {
    hostPort: `127.0.0.1:${port}`,
    process: proc,
    reload: async (list) => {
      write(list);
      const before = readFileSync(join(dir, 'error.log'), 'utf8').split('reconfiguring').length;
      proc.kill('SIGHUP');
      await eventually(() => readFileSync(join(dir, 'error.log'), 'utf8').split('reconfiguring').length > before, {
        what: 'nginx to reload',
      });
    },
    errorLog: () => {
      try {
        return readFileSync(join(dir, 'error.log'), 'utf8');
      } catch {
        return '(no log)';
      }
    },
  };
}
