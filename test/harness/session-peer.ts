// A small agent-side Session Manager peer for control-plane tests: a registered instance (raw
// peer) that answers `kick_vm session start <id>` the way spec/luban-protocol.md §6 describes:
// session/list, the hybrid-signed `/luban/session/backend` WebSocket with 60-byte frames, a real
// shell under a real PTY (node-pty) as the requested user, or a TCP connection for port
// forwarding; `session stop`, an idle limit, and the final session/status report.
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { execFileSync } from 'node:child_process';
import * as pty from 'node-pty';
import { WebSocket } from 'ws';
import {
  decodeSessionFrame,
  encodeSessionFrame,
  LubanPath,
  parseSessionTask,
  parseSetSize,
  SessionMessageType,
  sessionStatusPath,
  userAgent,
  type SessionStatusCode,
  type SessionTask,
} from '../../protocol/index.js';
import { readRestBeforeDestroy } from '../../agent/session/node-pty-posix.js';
import type { Cleanup, TestControlPlane } from './control-plane.js';
import { registerRawPeer, type RawLubanPeer } from './raw-peer.js';

export interface SessionPeerOptions {
  /** No inbound frame for this long ends a session with Timeout (stock: 180 s). */
  idleMs?: number;
}

export interface PeerSession {
  task: SessionTask;
  /** The shell's pid (shell sessions). */
  pid?: number;
  ended?: SessionStatusCode;
  /** The error that ended it, for a failing test's message. */
  error?: string;
}

export interface SessionPeer {
  raw: RawLubanPeer;
  instanceId: string;
  sessions: Map<string, PeerSession>;
}

const UA = userAgent('linux', 'x64', '2.2.3.578');

export async function startSessionPeer(
  t: Cleanup,
  h: TestControlPlane,
  o: SessionPeerOptions = {},
): Promise<SessionPeer> {
  const raw = await registerRawPeer(t, h);
  const notify = await raw.connect();
  const ca = readFileSync(h.caPath, 'utf8');
  const sessions = new Map<string, PeerSession>();
  const stops = new Map<string, (code: SessionStatusCode) => void>();
  t.after(() => {
    for (const stop of stops.values()) {
      stop('Notified');
    }
  });

  const report = async (id: string, code: SessionStatusCode) => {
    await raw.send({ method: 'POST', path: sessionStatusPath(id, code), body: '' });
  };

  async function start(id: string): Promise<void> {
    const r = await raw.send({ method: 'POST', path: `${LubanPath.sessionList}?channelId=${id}`, body: '' });
    const entry = (JSON.parse(r.body) as { session?: unknown[] }).session?.[0];
    if (!entry) {
      return;
    }
    const parsed = parseSessionTask(entry);
    if (!parsed.ok) {
      throw new Error(parsed.errors.join('; '));
    }
    const task = parsed.value;
    const s: PeerSession = { task };
    sessions.set(id, s);
    const ws = new WebSocket(`wss://${h.hostPort}${LubanPath.sessionBackend}?channelId=${id}`, {
      headers: { 'User-Agent': UA, ...raw.identity() },
      ca,
    });
    let seq = 0;
    const out = (bytes: Uint8Array) => {
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(
          encodeSessionFrame({
            messageType: SessionMessageType.OutputStreamData,
            sessionId: id,
            payload: bytes,
            sequenceNumber: seq++,
          }),
        );
      }
    };
    let write: (b: Buffer) => void = () => {};
    let resize: (cols: number, rows: number) => void = () => {};
    let kill: () => void = () => {};
    let idle: NodeJS.Timeout | undefined;
    let done = false;
    const stop = (code: SessionStatusCode) => {
      if (done) {
        return;
      }
      done = true;
      s.ended = code;
      clearTimeout(idle);
      stops.delete(id);
      kill();
      ws.close();
      void report(id, code).catch(() => {});
    };
    stops.set(id, stop);
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => stop('Timeout'), o.idleMs ?? 180_000);
    };
    ws.on('open', () => {
      touch();
      ws.ping('keepalive');
      if (task.portNumber !== '') {
        const sock: Socket = connect(Number(task.portNumber), task.targetHost || 'localhost');
        sock.on('data', (d) => {
          out(d);
          // Backpressure toward the server: stop reading while the socket is full.
          if (ws.bufferedAmount > 1024 * 1024) {
            sock.pause();
            const wait = setInterval(() => {
              if (ws.bufferedAmount < 256 * 1024 || ws.readyState !== WebSocket.OPEN) {
                clearInterval(wait);
                sock.resume();
              }
            }, 2);
          }
        });
        let targetEnded = false;
        sock.on('end', () => (targetEnded = true));
        sock.on('error', (e) => {
          s.error ??= `target socket: ${e.message}`;
          stop('IO_port_failed');
        });
        sock.on('close', () => stop('Ok'));
        write = (b) => {
          // The client's keepalives are empty input frames; one that comes after the target's FIN
          // would be a write after end (EPIPE) on the way to 'close'.
          if (b.length === 0 || targetEnded) {
            return;
          }
          if (!sock.write(b)) {
            ws.pause();
            sock.once('drain', () => ws.resume());
          }
        };
        kill = () => sock.destroy();
        return;
      }
      const user = task.username || userInfo().username;
      const ids = {
        uid: Number(execFileSync('id', ['-u', user]).toString()),
        gid: Number(execFileSync('id', ['-g', user]).toString()),
      };
      const home = execFileSync('getent', ['passwd', user]).toString().split(':')[5] ?? '/';
      const argv = task.cmdContent ? ['/bin/sh', '-c', task.cmdContent] : ['/bin/bash', '--norc', '-i'];
      const term = pty.spawn(argv[0]!, argv.slice(1), {
        name: 'xterm',
        cols: 80,
        rows: 24,
        cwd: home,
        env: { HOME: home, USER: user, PATH: '/usr/local/bin:/usr/bin:/bin', TERM: 'xterm', PS1: 'peer$ ' },
        ...ids,
      });
      s.pid = term.pid;
      readRestBeforeDestroy(term); // the end of a command's output, on a busy machine
      term.onData((d) => out(Buffer.from(d, 'utf8')));
      term.onExit(() => stop('Ok'));
      write = (b) => term.write(b.toString('utf8'));
      resize = (c, r) => term.resize(c, r);
      // Everything of the session: the shell is a session leader (setsid), and background jobs
      // get process groups of their own, so the whole session id is killed.
      kill = () => {
        try {
          execFileSync('pkill', ['-KILL', '-s', String(term.pid)]);
        } catch {
          term.kill('SIGKILL');
        }
      };
    });
    ws.on('message', (data) => {
      const f = decodeSessionFrame(data as Buffer);
      if (!f) {
        return;
      }
      touch();
      if (f.messageType === SessionMessageType.InputStreamData) {
        write(f.payload);
      } else if (f.messageType === SessionMessageType.SetSize) {
        const size = parseSetSize(f.payload);
        if (size) {
          resize(size.cols, size.rows);
        }
      }
    });
    ws.on('close', () => stop('Notified'));
    ws.on('error', () => stop('Open_channel_failed'));
  }

  notify.on('message', (data) => {
    const text = String(data);
    notify.send(`accept:${text}`);
    const [, type, action, id] = text.split(' ');
    if (type !== 'session' || !id) {
      return;
    }
    if (action === 'start') {
      void start(id).catch(() => {});
    } else if (action === 'stop') {
      stops.get(id)?.('Notified');
    }
  });
  return { raw, instanceId: raw.instanceId, sessions };
}
