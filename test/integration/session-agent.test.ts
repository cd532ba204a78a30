// The agent's Session Manager against a real TLS WebSocket server standing in for the control
// plane's session routes: real PTYs (node-pty), real users, real TCP servers, real process trees.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { testCert } from '../../agent/channel/test-peer.js';
import { detectContainment } from '../../agent/executor/index.js';
import {
  SessionManager,
  sessionBackends,
  STOCK_SESSION_LIMITS,
  nodePtyPosix,
  type SessionLimits,
  type SessionUserOptions,
} from '../../agent/session/index.js';
import { createMemoryLogger, parseProxyUrl } from '../../agent/shared/index.js';
import { HttpClient } from '../../agent/http/index.js';
import { SESSION_PACKET_BYTES, SessionMessageType, type SessionFrame } from '../../protocol/index.js';
import { eventually } from '../harness/eventually.js';
import { startSessionServer, type SessionServer } from '../harness/luban-session-server.js';

const containment = detectContainment().containment;

interface Rig {
  server: SessionServer;
  manager: SessionManager;
  log: ReturnType<typeof createMemoryLogger>;
  /** Puts the entry on session/list and kicks `session start`. */
  start(entry: Record<string, unknown>): Promise<void>;
  report(channelId: string): Promise<string>;
  /** Waits until the channel's output contains `text`. */
  waitOutput(channelId: string, text: string | RegExp, timeoutMs?: number): Promise<string>;
}

async function rig(
  t: TestContext,
  o: { limits?: Partial<SessionLimits>; user?: Partial<SessionUserOptions>; proxy?: string } = {},
): Promise<Rig> {
  const server = await startSessionServer();
  const log = createMemoryLogger();
  const client = new HttpClient({
    userAgent: 'linux_amd64/2.2.3.578',
    caPem: testCert().cert,
    ...(o.proxy ? { proxy: parseProxyUrl(o.proxy) } : {}),
    identityHeaders: () => ({ 'x-acs-instance-id': 'mi-test', 'x-acs-request-id': randomBytes(8).toString('hex') }),
  });
  const manager = new SessionManager({
    host: server.host,
    http: client,
    log,
    limits: { ...STOCK_SESSION_LIMITS, ...o.limits },
    reportRetryMs: 100,
    backends: sessionBackends({
      pty: nodePtyPosix(),
      containment,
      user: {
        defaultUser: 'ecs-assist-user',
        sudoRule: true,
        sudoersDir: '/etc/sudoers.d',
        platform: 'linux',
        ...o.user,
      },
      command: { platform: 'linux', setpriv: '/usr/bin/setpriv', agentUid: 0, agentGid: 0 },
      killGraceMs: 300,
    }),
  });
  await manager.start();
  t.after(async () => {
    await manager.stop(AbortSignal.timeout(10_000));
    client.close();
    await server.close();
  });
  const r: Rig = {
    server,
    manager,
    log,
    async start(entry) {
      const id = String(entry['channelId']);
      server.entries.set(id, [entry]);
      manager.onKick({ type: 'session', action: 'start', id });
      await eventually(() => server.connection(id), { what: `backend connection of ${id}` });
    },
    async report(channelId) {
      const rep = await eventually(() => server.reports.find((x) => x.channelId === channelId), {
        what: `status report of ${channelId}`,
      });
      return `${rep!.status}/${rep!.errorcode}`;
    },
    async waitOutput(channelId, text, timeoutMs) {
      try {
        return await eventually(() => server.output(channelId).toString('utf8'), {
          what: `output ${String(text)} on ${channelId}`,
          until: (s) => (typeof text === 'string' ? s.includes(text) : text.test(s)),
          ...(timeoutMs ? { timeoutMs } : {}),
        });
      } catch (e) {
        // What the agent logged about the channel says where the output stopped.
        const events = log.events.filter((ev) => ev.fields['channelId'] === channelId);
        throw new Error(
          `${(e as Error).message}\nagent log of ${channelId}:\n${JSON.stringify(events, (_k, v: unknown) => (v instanceof Error ? v.message : v), 1)}`,
          { cause: e },
        );
      }
    },
  };
  return r;
}

const shell = (channelId: string, extra: Record<string, unknown> = {}) => ({
  channelId,
  cmdContent: '',
  username: 'root',
  windowsPasswordName: '',
  portNumber: '',
  targetHost: '',
  flowLimit: 0,
  websocketUrl: 'wss://ignored.example/x',
  ...extra,
});

const outputFrames = (s: SessionServer, id: string): SessionFrame[] =>
  s.connections
    .filter((c) => c.channelId === id)
    .flatMap((c) => c.frames)
    .filter((f): f is SessionFrame => f?.messageType === SessionMessageType.OutputStreamData);

/** Processes whose command line contains `marker`. */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) {
      continue;
    }
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').includes(marker)) {
        found.push(Number(name));
      }
    } catch {
      // exited
    }
  }
  return found;
}

function makeUser(t: TestContext, prefix: string): string {
  const name = `${prefix}${randomBytes(3).toString('hex')}`;
  execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', name]);
  t.after(() => {
    try {
      execFileSync('userdel', ['--force', '--remove', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  });
  return name;
}

async function listen(server: Server | http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as AddressInfo).port;
}

describe('session manager: shell', () => {
  it('types echo through frames and reads the output; frames are stock', async (t) => {
    const r = await rig(t);
    await r.start(shell('s-echo'));
    const req = r.server.listRequests[0]!;
    assert.equal(req.channelId, 's-echo');
    assert.equal(req.headers['user-agent'], 'linux_amd64/2.2.3.578');
    const conn = r.server.connection('s-echo')!;
    assert.equal(conn.headers['x-acs-instance-id'], 'mi-test', 'the handshake carries the identity headers');
    assert.equal(conn.headers['user-agent'], 'linux_amd64/2.2.3.578');
    r.server.sendInput('s-echo', 'echo hi-$((40+2))\n');
    await r.waitOutput('s-echo', 'hi-42');
    await eventually(() => conn.pings.includes('keepalive'), { what: 'keepalive ping' });
    const frames = outputFrames(r.server, 's-echo');
    assert.ok(conn.binary.every(Boolean), 'the agent sends binary frames');
    assert.deepEqual(
      frames.map((f) => f.sequenceNumber),
      frames.map((_, i) => i),
      'sequence numbers count up from 0',
    );
    for (const f of frames) {
      assert.equal(f.schemaVersion, '1.01');
      assert.equal(f.sessionId, 's-echo');
      assert.ok(Math.abs(f.createdDate - Date.now()) < 120_000);
      assert.ok(f.payload.length <= SESSION_PACKET_BYTES.shell);
    }
    r.server.sendInput('s-echo', 'exit\n');
    assert.equal(await r.report('s-echo'), 'Success/Ok');
    assert.equal(r.server.statusQueries[0], '?channelId=s-echo&status=Success&errorcode=Ok');
  });

  it('applies a set_size sent before the PTY starts, and later resizes', async (t) => {
    const r = await rig(t);
    await r.start(shell('s-size'));
    r.server.sendSize('s-size', 100, 30); // within the 1 s before the PTY starts
    r.server.sendInput('s-size', 'echo size-$(stty size | tr " " x)\n');
    await r.waitOutput('s-size', 'size-30x100');
    r.server.sendSize('s-size', 132, 43);
    r.server.sendInput('s-size', 'echo size-$(stty size | tr " " x)\n');
    await r.waitOutput('s-size', 'size-43x132');
  });

  it('runs cmdContent, shlex-split, under the PTY', async (t) => {
    const r = await rig(t);
    await r.start(shell('s-cmd', { cmdContent: `/bin/sh -c 'echo "cmd $((1+1))"; test -t 0 && echo tty-yes'` }));
    await r.waitOutput('s-cmd', /cmd 2[\s\S]*tty-yes/);
    assert.equal(await r.report('s-cmd'), 'Success/Ok');
  });

  it('runs as a non-root user with its own home and groups', async (t) => {
    const user = makeUser(t, 'oca-s1u-');
    const group = `${user}g`;
    execFileSync('groupadd', [group]);
    t.after(() => execFileSync('groupdel', [group], { stdio: 'ignore' }));
    execFileSync('usermod', ['-aG', group, user]);
    const r = await rig(t);
    await r.start(shell('s-user', { username: user }));
    // R$((1+1)) prints as R2 only in the output, never in the echoed input.
    r.server.sendInput('s-user', 'echo "R$((1+1)) who=$(id -un) home=$HOME groups=$(id -Gn) end"\n');
    const out = await r.waitOutput('s-user', /R2 who=\S+ home=\S+ groups=[^\r\n]* end/);
    const m = /R2 who=(\S+) home=(\S+) groups=([^\r\n]*) end/.exec(out)!;
    assert.equal(m[1], user);
    assert.equal(m[2], `/home/${user}`);
    assert.ok(m[3]!.split(' ').includes(group), `supplementary group kept: ${m[3]}`);
    r.server.sendInput('s-user', 'exit\n');
    assert.equal(await r.report('s-user'), 'Success/Ok'); // before the user is deleted
  });

  it('fails with Open_pty_failed for a user that does not exist', async (t) => {
    const r = await rig(t);
    await r.start(shell('s-nouser', { username: 'oca-no-such-user-x' }));
    assert.equal(await r.report('s-nouser'), 'Failed/Open_pty_failed');
  });

  it('creates the default user on demand with the sudo rule, and removes the rule when turned off', async (t) => {
    const name = `oca-s1d-${randomBytes(3).toString('hex')}`;
    const sudoersDir = mkdtempSync(join(tmpdir(), 'oca-sudoers-'));
    t.after(() => {
      rmSync(sudoersDir, { recursive: true, force: true });
      try {
        execFileSync('userdel', ['--force', '--remove', name], { stdio: 'ignore' });
      } catch {
        // not created
      }
    });
    const r = await rig(t, { user: { defaultUser: name, sudoersDir } });
    await r.start(shell('s-default', { username: '' }));
    r.server.sendInput('s-default', 'echo "me=$(id -un)"\n');
    await r.waitOutput('s-default', `me=${name}`);
    const rule = join(sudoersDir, name);
    assert.equal(readFileSync(rule, 'utf8'), `${name} ALL=(ALL) NOPASSWD:ALL\n`);
    assert.equal(statSync(rule).mode & 0o777, 0o440);
    assert.deepEqual(readdirSync(sudoersDir), [name], 'no temporary file left');

    const off = await rig(t, { user: { defaultUser: name, sudoersDir, sudoRule: false } });
    await off.start(shell('s-default2', { username: '' }));
    off.server.sendInput('s-default2', 'echo "me=$(id -un)"\n');
    await off.waitOutput('s-default2', `me=${name}`);
    r.server.sendInput('s-default', 'exit\n');
    off.server.sendInput('s-default2', 'exit\n');
    assert.equal(await r.report('s-default'), 'Success/Ok');
    assert.equal(await off.report('s-default2'), 'Success/Ok');
    assert.deepEqual(readdirSync(sudoersDir), [], 'the rule is removed when turned off');
  });

  it('ends an idle session with Timeout and leaves no process behind', async (t) => {
    const r = await rig(t, { limits: { idleMs: 1500 } });
    await r.start(shell('s-idle', { cmdContent: 'sleep 6661' }));
    await eventually(() => processesWith('sleep 6661').length === 1, { what: 'the command to run' });
    assert.equal(await r.report('s-idle'), 'Success/Timeout');
    await eventually(() => processesWith('sleep 6661').length === 0, { what: 'the command to be gone' });
  });

  it('ends the hard-limited session with Timeout even while input keeps coming', async (t) => {
    const r = await rig(t, { limits: { maxMs: 2500, idleMs: 60_000 } });
    await r.start(shell('s-max'));
    const ticker = setInterval(() => r.server.connection('s-max') && r.server.sendInput('s-max', ':\n'), 200);
    t.after(() => clearInterval(ticker));
    assert.equal(await r.report('s-max'), 'Success/Timeout');
  });

  it('a stop kick ends the whole process tree, setsid escapees included, with Notified', async (t) => {
    const r = await rig(t);
    await r.start(shell('s-stop'));
    r.server.sendInput('s-stop', 'sleep 7771 & setsid sleep 7772 & nohup sleep 7773 >/dev/null 2>&1 & sleep 7774\n');
    await eventually(() => [7771, 7772, 7773, 7774].every((n) => processesWith(`sleep ${n}`).length === 1), {
      what: 'all four sleeps to run',
    });
    r.manager.onKick({ type: 'session', action: 'stop', id: 's-stop' });
    assert.equal(await r.report('s-stop'), 'Success/Notified');
    for (const n of [7771, 7772, 7773, 7774]) {
      assert.deepEqual(processesWith(`sleep ${n}`), [], `sleep ${n} is gone`);
    }
    assert.deepEqual(r.manager.running, []);
  });

  it('cuts output only at UTF-8 boundaries and paces by the speed status', async (t) => {
    const r = await rig(t);
    await r.start(
      shell('s-utf8', {
        cmdContent: `/bin/sh -c 'sleep 1.5; i=0; while [ $i -lt 3000 ]; do printf "€"; i=$((i+1)); done; echo; echo done-utf8'`,
      }),
    );
    r.server.sendSpeed('s-utf8', 8 * 1024 * 10); // 10 packets a second: 100 ms apart
    const started = Date.now();
    await r.waitOutput('s-utf8', 'done-utf8');
    const frames = outputFrames(r.server, 's-utf8');
    for (const f of frames) {
      const text = f.payload.toString('utf8');
      assert.ok(!text.includes('\uFFFD'), `frame ${f.sequenceNumber} holds only whole characters`);
      assert.ok(f.payload.length <= SESSION_PACKET_BYTES.shell);
    }
    // 9000+ bytes at 1024 bytes per 100 ms: at least 8 pauses.
    assert.ok(Date.now() - started >= 800, `paced: took ${Date.now() - started} ms`);
    assert.ok(frames.length >= 9);
  });

  it('reopens a dropped channel and goes on; a channel that stays away ends with Timeout', async (t) => {
    const r = await rig(t, { limits: { reconnect: { initialMs: 100, maxMs: 400, attempts: 4 } } });
    await r.start(shell('s-drop'));
    r.server.sendInput('s-drop', 'echo one-$((1+1))\n');
    await r.waitOutput('s-drop', 'one-2');
    r.server.dropBackend('s-drop');
    await eventually(
      () => r.server.connections.filter((c) => c.channelId === 's-drop').length === 2 && r.server.connection('s-drop'),
      {
        what: 'the channel to be reopened',
      },
    );
    r.server.sendInput('s-drop', 'echo two-$((1+2))\n');
    await r.waitOutput('s-drop', 'two-3');
    const seqs = outputFrames(r.server, 's-drop').map((f) => f.sequenceNumber);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i),
      'sequence numbers go on across the reconnect',
    );
    r.server.acceptBackend = () => false;
    r.server.dropBackend('s-drop');
    assert.equal(await r.report('s-drop'), 'Success/Timeout');
  });

  it('reports Session_id_duplicate for a second start and keeps the first session', async (t) => {
    const r = await rig(t);
    await r.start(shell('s-dup'));
    r.manager.onKick({ type: 'session', action: 'start', id: 's-dup' });
    assert.equal(await r.report('s-dup'), 'Failed/Session_id_duplicate');
    r.server.sendInput('s-dup', 'echo still-$((2*2))\n');
    await r.waitOutput('s-dup', 'still-4');
  });
});

describe('session manager: proxy', () => {
  it('reaches session/list and the data channel through ALIYUN_ASSIST_PROXY', async (t) => {
    const connects: string[] = [];
    const proxy = createServer((client) => {
      client.once('data', (d: Buffer) => {
        const m = /^CONNECT (\S+):(\d+) HTTP\/1\.1\r\n/.exec(d.toString('latin1'));
        if (!m) {
          client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
          return;
        }
        connects.push(`${m[1]}:${m[2]}`);
        const upstream = createConnection({ host: m[1], port: Number(m[2]) }, () => {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          client.pipe(upstream).pipe(client);
        });
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      });
    });
    const port = await listen(proxy);
    t.after(() => proxy.close());
    const r = await rig(t, { proxy: `http://127.0.0.1:${port}` });
    await r.start(shell('x-proxy'));
    r.server.sendInput('x-proxy', 'echo via-$((6*6))\n');
    await r.waitOutput('x-proxy', 'via-36');
    assert.ok(connects.length >= 2, `session/list and the WebSocket each tunnelled: ${connects.join(', ')}`);
    assert.ok(connects.every((c) => c === r.server.host));
  });
});

describe('session manager: port forwarding', () => {
  it('carries an HTTP request to a server on the agent side', async (t) => {
    const web = http.createServer((req, res) => res.end(`hello from ${req.url}`));
    const port = await listen(web);
    t.after(() => web.close());
    const r = await rig(t);
    await r.start(shell('p-http', { portNumber: String(port), targetHost: '127.0.0.1', username: '' }));
    r.server.sendInput('p-http', `GET /pf-test HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const out = await r.waitOutput('p-http', 'hello from /pf-test');
    assert.match(out, /^HTTP\/1\.1 200 OK/);
    assert.equal(await r.report('p-http'), 'Success/Ok', 'the target closing ends the session');
  });

  it('keeps a 20 MB download and a 20 MB upload intact at a large flow limit', async (t) => {
    const down = randomBytes(20 * 1024 * 1024);
    const source = createServer((s) => s.end(down));
    const sourcePort = await listen(source);
    t.after(() => source.close());
    const sink = createServer((s) => {
      const h = createHash('sha256');
      let n = 0;
      s.on('data', (d: Buffer) => {
        h.update(d);
        n += d.length;
        if (n >= 20 * 1024 * 1024) {
          s.end(`${h.digest('hex')}\n`);
        }
      });
    });
    const sinkPort = await listen(sink);
    t.after(() => sink.close());
    const r = await rig(t);
    await r.start(shell('p-down', { portNumber: String(sourcePort), flowLimit: 4_000_000_000 }));
    assert.equal(await r.report('p-down'), 'Success/Ok');
    const got = r.server.output('p-down');
    assert.equal(got.length, down.length);
    assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(down).digest('hex'));

    const up = randomBytes(20 * 1024 * 1024);
    await r.start(shell('p-up', { portNumber: String(sinkPort), targetHost: 'localhost' }));
    for (let off = 0; off < up.length; off += 64 * 1024) {
      r.server.sendInput('p-up', up.subarray(off, off + 64 * 1024));
    }
    const answer = await r.waitOutput('p-up', '\n', 60_000);
    assert.equal(answer.trim(), createHash('sha256').update(up).digest('hex'));
  });

  it('fails with Open_port_failed when nothing listens', async (t) => {
    const closed = createServer();
    const port = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await rig(t);
    await r.start(shell('p-closed', { portNumber: String(port), targetHost: '127.0.0.1' }));
    assert.equal(await r.report('p-closed'), 'Failed/Open_port_failed');
  });
});
