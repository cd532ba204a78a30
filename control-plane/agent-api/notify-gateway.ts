// The notify WebSocket (`/luban/notify_server`): one live socket per instance held by this node,
// kicks go down it. Services reach agents through the cluster's FleetNotifier, which uses this.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { LubanPath } from '../../protocol/index.js';
import type { Log } from '../shared/index.js';
import type { HybridAuthenticator } from './hybrid-auth.js';

export class NotifyGateway {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  readonly #sockets = new Map<string, WebSocket>();
  readonly #auth: HybridAuthenticator;
  readonly #log: Log;
  /** Called when an agent connects: it may have missed kicks while away. */
  onConnected: (instanceId: string) => void = () => {};
  /** Called when an agent's socket closes (not when a newer socket of the same agent replaced it). */
  onDisconnected: (instanceId: string) => void = () => {};

  constructor(auth: HybridAuthenticator, log: Log) {
    this.#auth = auth;
    this.#log = log;
  }

  get connectedCount(): number {
    return this.#sockets.size;
  }

  isConnected(instanceId: string): boolean {
    return this.#sockets.get(instanceId)?.readyState === WebSocket.OPEN;
  }

  connectedIds(): string[] {
    return [...this.#sockets].filter(([, ws]) => ws.readyState === WebSocket.OPEN).map(([id]) => id);
  }

  kick(instanceId: string, message: string): boolean {
    const ws = this.#sockets.get(instanceId);
    if (ws?.readyState !== WebSocket.OPEN) {
      return false;
    }
    ws.send(message);
    return true;
  }

  /** Handles an HTTP upgrade; returns false when the path is not ours. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (new URL(req.url ?? '/', 'http://x').pathname !== LubanPath.notifyServer) {
      return false;
    }
    void this.#auth.verify(req.headers, Date.now()).then(
      (auth) => {
        if (!auth.ok) {
          this.#log.warn('notify connection refused', { reason: auth.reason, ip: req.socket.remoteAddress });
          socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          return;
        }
        this.#wss.handleUpgrade(req, socket, head, (ws) => this.#adopt(auth.instanceId, ws));
      },
      () => socket.destroy(),
    );
    return true;
  }

  #adopt(instanceId: string, ws: WebSocket): void {
    const previous = this.#sockets.get(instanceId);
    if (previous && previous !== ws) {
      previous.close(4000, 'replaced by a newer connection');
    }
    this.#sockets.set(instanceId, ws);
    this.#log.info('agent connected', { instanceId });
    ws.on('message', (data) => {
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
      if (text.startsWith('reject:')) {
        this.#log.warn('agent rejected a kick', { instanceId, kick: text.slice(7) });
      }
    });
    ws.on('close', () => {
      if (this.#sockets.get(instanceId) === ws) {
        this.#sockets.delete(instanceId);
        this.onDisconnected(instanceId);
      }
      this.#log.info('agent disconnected', { instanceId });
    });
    ws.on('error', (err) => this.#log.warn('agent socket error', { instanceId, err: err.message }));
    this.onConnected(instanceId);
  }

  /** Closes one agent's socket (deregistration). */
  disconnect(instanceId: string): void {
    this.#sockets.get(instanceId)?.close(4001, 'deregistered');
  }

  close(): void {
    for (const ws of this.#sockets.values()) {
      ws.close(1001, 'server shutting down');
    }
    this.#sockets.clear();
    this.#wss.close();
  }
}
