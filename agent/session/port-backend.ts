// Port forwarding: the session's frames carry one TCP connection to `targetHost:portNumber`
// (default localhost) made by the agent.
import { connect, type Socket } from 'node:net';
import type { SessionTask } from '../../protocol/index.js';
import { SessionStartError, type BackendContext, type SessionBackend } from './backend.js';

const CONNECT_TIMEOUT_MS = 10_000;

export async function startPort(task: SessionTask, ctx: BackendContext): Promise<SessionBackend> {
  const port = Number(task.portNumber);
  const host = task.targetHost === '' ? 'localhost' : task.targetHost;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SessionStartError('Open_port_failed', `not a port: ${task.portNumber}`);
  }
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host, port });
    const timer = setTimeout(
      () => s.destroy(new Error(`connect timed out after ${CONNECT_TIMEOUT_MS} ms`)),
      CONNECT_TIMEOUT_MS,
    );
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(new SessionStartError('Open_port_failed', `connect ${host}:${port}: ${e.message}`, { cause: e }));
    });
  });
  ctx.log.info('session port connected', { host, port });
  return new PortBackend(socket, ctx);
}

class PortBackend implements SessionBackend {
  readonly #socket: Socket;
  #writeFailed = false;
  #ended = false;

  constructor(socket: Socket, ctx: BackendContext) {
    this.#socket = socket;
    socket.setNoDelay(true);
    const end = (code: 'Ok' | 'Read_port_failed' | 'IO_port_failed', why: string) => {
      if (!this.#ended) {
        this.#ended = true;
        ctx.onEnd(code, why);
      }
    };
    socket.on('data', (d: Buffer) => ctx.onData(d));
    socket.on('end', () => end('Ok', 'target closed the connection'));
    socket.on('error', (e) => end(this.#writeFailed ? 'IO_port_failed' : 'Read_port_failed', e.message));
    socket.on('close', () => end('Ok', 'connection closed'));
  }

  write(data: Buffer): boolean {
    // An empty frame is the client's keepalive; after the target's FIN a write fails with EPIPE.
    if (data.length === 0 || this.#ended || this.#socket.destroyed) {
      return true;
    }
    return this.#socket.write(data, (err) => {
      if (err) {
        this.#writeFailed = true;
      }
    });
  }

  onDrain(listener: () => void): void {
    if (this.#socket.writableNeedDrain) {
      this.#socket.once('drain', listener);
    } else {
      listener();
    }
  }

  resize(): void {
    // a TCP connection has no size
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  close(): Promise<void> {
    this.#ended = true;
    this.#socket.destroy();
    return Promise.resolve();
  }
}
