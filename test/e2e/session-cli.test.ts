// `assist session` and `assist port-forward` end to end: the real CLI entry point (bin/assist.ts
// through tsx) in a real terminal (tmux), against a real control plane and a real agent.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet, createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { freePort } from '../harness/ports.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const ASSIST = join(ROOT, 'bin', 'assist.ts');

describe('assist session and port-forward', () => {
  let h: TestControlPlane;
  let agent: TestAgent;
  let home: string;
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup);
    agent = await startAgent(cleanup, h);
    home = mkdtempSync(join(tmpdir(), 'oca-session-cli-'));
    cleanup.after(() => rmSync(home, { recursive: true, force: true }));
  });

  const env = () => ({
    HOME: home,
    ASSIST_ACCESS_KEY_ID: h.key.accessKeyId,
    ASSIST_ACCESS_KEY_SECRET: h.key.accessKeySecret,
    ASSIST_ENDPOINT: h.hostPort,
    ASSIST_CA_FILE: h.caPath,
  });

  const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });

  it('gives an interactive shell in the terminal, follows a window resize, and restores the tty', async () => {
    const name = `oca-s2-${process.pid}`;
    const exports = Object.entries(env())
      .map(([k, v]) => `${k}='${v}'`)
      .join(' ');
    tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '40', 'bash --norc --noprofile');
    cleanup.after(() => execFileSync('tmux', ['kill-session', '-t', name], { stdio: 'ignore' }));
    const pane = () => tmux('capture-pane', '-p', '-J', '-t', name, '-S', '-200');
    tmux(
      'send-keys',
      '-t',
      name,
      `env ${exports} ${process.execPath} --import ${TSX} ${ASSIST} session ${agent.instanceId} --user root`,
      'Enter',
    );
    // Typed until the remote shell answers (the first keys may arrive before its prompt).
    await eventually(
      () => {
        tmux('send-keys', '-t', name, 'echo remote-$((6*7))', 'Enter');
        return eventually(() => /^remote-42/m.test(pane()), { timeoutMs: 2_000, what: 'remote echo' });
      },
      { what: 'the remote shell to answer' },
    );
    tmux('send-keys', '-t', name, 'stty size', 'Enter');
    await eventually(() => /^40 120/m.test(pane()), { what: 'stty size 40 120' });
    tmux('resize-window', '-t', name, '-x', '100', '-y', '30');
    await eventually(
      () => {
        tmux('send-keys', '-t', name, 'stty size', 'Enter');
        return eventually(() => /^30 100/m.test(pane()), { timeoutMs: 2_000, what: 'stty size 30 100' });
      },
      { what: 'the resize to reach the remote terminal' },
    );
    tmux('send-keys', '-t', name, 'exit', 'Enter');
    await eventually(() => /session s-\w+ closed: Exit/.test(pane()), { what: 'the session to close' });
    // Back in the local shell: the terminal is in canonical mode again.
    tmux('send-keys', '-t', name, 'stty -a | grep -o -- "-\\?icanon" ; echo local-done', 'Enter');
    await eventually(() => /^local-done/m.test(pane()), { what: 'the local shell' });
    assert.match(pane(), /^icanon$/m);
  });

  it('forwards a local port to a server beside the agent', async () => {
    const web = createHttpServer((_req, res) => res.end('forwarded by assist'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    cleanup.after(() => web.close());
    const local = await freePort();
    const p = spawn(
      process.execPath,
      [
        '--import',
        TSX,
        ASSIST,
        'port-forward',
        agent.instanceId,
        `${local}:${(web.address() as AddressInfo).port}@127.0.0.1`,
      ],
      { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanup.after(() => p.kill());
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await eventually(() => out.includes('forwarding'), { what: 'the listener' });
    const get = () =>
      new Promise<string>((resolve, reject) => {
        httpGet({ host: '127.0.0.1', port: local, path: '/', agent: false }, (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => resolve(b));
        }).on('error', reject);
      });
    assert.equal(await get(), 'forwarded by assist');
    // Each connection is a session of its own.
    assert.equal(await get(), 'forwarded by assist');
  });
});
