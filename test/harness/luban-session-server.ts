// Stands in for the control plane's Session Manager routes (spec/luban-protocol.md §6) in agent
// tests: `POST session/list` answers the entries a test put there, `POST session/status` records
// the reports, and `wss …/luban/session/backend?channelId=` speaks the 60-byte frames. Enough of
// the rest (connection_detect, heart-beat, an empty task list, the notify WebSocket) for a real
// agent process to start against it and take kicks. A real TLS server on 127.0.0.1, port 0, with
// the channel test peer's throwaway certificate.
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { testCert } from '../../agent/channel/test-peer.js';
import {
  decodeSessionFrame,
  encodeSessionFrame,
  encodeSetSize,
  encodeSpeedStatus,
  LubanPath,
  parseSessionStatusQuery,
  SessionMessageType,
  type SessionFrame,
  type SessionStatusReport,
} from '../../protocol/index.js';

export interface BackendConnection {
  channelId: string;
  ws: WebSocket;
  headers: IncomingHttpHeaders;
  /** Every frame the agent sent, decoded (undefined: a frame that did not decode). */
  frames: (SessionFrame | undefined)[];
  /** Whether each message was binary. */
  binary: boolean[];
  pings: string[];
  closed: boolean;
}

export interface SessionServer {
  host: string;
  /** session/list answers: channelId → the `session` entries to return. */
  entries: Map<string, unknown[]>;
  listRequests: { channelId: string | null; headers: IncomingHttpHeaders; body: string }[];
  reports: SessionStatusReport[];
  statusQueries: string[];
  connections: BackendConnection[];
  /** `session` entries for the next task-list answer only (§5.2), then emptied. */
  taskListSessions: unknown[];
  /** Open notify WebSockets (a real agent's kick channel). */
  notify: WebSocket[];
  /** Sends a kick (`kick_vm session start <id>`) on every notify socket; resolves with the replies. */
  kick(text: string): Promise<string[]>;
  /** How to answer a backend handshake (default: accept). */
  acceptBackend: (channelId: string) => boolean;
  /** The concatenated output payloads of every connection of a channel, in sequence order. */
  output(channelId: string): Buffer;
  /** The latest open connection of a channel. */
  connection(channelId: string): BackendConnection | undefined;
  sendInput(channelId: string, data: string | Buffer): void;
  sendSize(channelId: string, cols: number, rows: number): void;
  sendSpeed(channelId: string, bitsPerSecond: number): void;
  sendRaw(channelId: string, frame: Buffer): void;
  /** Drops every backend connection of a channel without a close handshake. */
  dropBackend(channelId: string): void;
  close(): Promise<void>;
}

export async function startSessionServer(): Promise<SessionServer> {
  const { cert, key } = testCert();
  const server = https.createServer({ cert, key });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const seq = new Map<string, number>();
  const s: SessionServer = {
    host: '',
    entries: new Map(),
    listRequests: [],
    reports: [],
    statusQueries: [],
    connections: [],
    notify: [],
    taskListSessions: [],
    kick(text) {
      return Promise.all(
        s.notify.map(
          (ws) =>
            new Promise<string>((resolve) => {
              ws.once('message', (d: Buffer) => resolve(d.toString('utf8')));
              ws.send(text);
            }),
        ),
      );
    },
    acceptBackend: () => true,
    output(channelId) {
      const parts = s.connections
        .filter((c) => c.channelId === channelId)
        .flatMap((c) => c.frames)
        .filter((f): f is SessionFrame => f !== undefined && f.messageType === SessionMessageType.OutputStreamData)
        .sort((a, b) => a.sequenceNumber - b.sequenceNumber);
      return Buffer.concat(parts.map((f) => f.payload));
    },
    connection(channelId) {
      return s.connections.filter((c) => c.channelId === channelId && !c.closed).at(-1);
    },
    sendRaw(channelId, frame) {
      const c = s.connection(channelId);
      if (c === undefined) {
        throw new Error(`no open backend connection for ${channelId}`);
      }
      c.ws.send(frame);
    },
    sendInput(channelId, data) {
      const payload = typeof data === 'string' ? Buffer.from(data) : data;
      s.sendRaw(channelId, frame(channelId, SessionMessageType.InputStreamData, payload));
    },
    sendSize(channelId, cols, rows) {
      s.sendRaw(channelId, frame(channelId, SessionMessageType.SetSize, encodeSetSize({ cols, rows })));
    },
    sendSpeed(channelId, bitsPerSecond) {
      s.sendRaw(channelId, frame(channelId, SessionMessageType.Status, encodeSpeedStatus(bitsPerSecond)));
    },
    dropBackend(channelId) {
      for (const c of s.connections) {
        if (c.channelId === channelId && !c.closed) {
          c.ws.terminate();
        }
      }
    },
    close: async () => {
      for (const c of wss.clients) {
        c.terminate();
      }
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const frame = (channelId: string, type: number, payload: Buffer): Buffer => {
    const n = seq.get(channelId) ?? 0;
    seq.set(channelId, n + 1);
    return encodeSessionFrame({ messageType: type, sessionId: channelId, sequenceNumber: n, payload });
  };
  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', 'https://peer');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.method === 'POST' && url.pathname === LubanPath.sessionList) {
        const channelId = url.searchParams.get('channelId');
        s.listRequests.push({ channelId, headers: req.headers, body });
        const session = s.entries.get(channelId ?? '') ?? [];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 200, instanceId: 'mi-test', session }));
        return;
      }
      if (req.method === 'POST' && url.pathname === LubanPath.sessionStatus) {
        s.statusQueries.push(url.search);
        const r = parseSessionStatusQuery(url.searchParams);
        if ('error' in r) {
          res.writeHead(400).end(r.error);
          return;
        }
        s.reports.push(r);
        res.writeHead(200).end('{"code":200}');
        return;
      }
      if (url.pathname === LubanPath.connectionDetect) {
        res.writeHead(200).end('ok');
        return;
      }
      if (url.pathname === LubanPath.heartbeat) {
        res.writeHead(200).end('{"code":200,"nextInterval":60000}');
        return;
      }
      if (url.pathname === LubanPath.taskList) {
        const session = s.taskListSessions.splice(0);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 200, instanceId: 'mi-test', session }));
        return;
      }
      res.writeHead(404).end('not found');
    });
  });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'https://peer');
    const channelId = url.searchParams.get('channelId') ?? '';
    if (url.pathname === LubanPath.notifyServer) {
      wss.handleUpgrade(req, socket, head, (ws) => {
        s.notify.push(ws);
        ws.on('close', () => s.notify.splice(s.notify.indexOf(ws), 1));
      });
      return;
    }
    if (url.pathname !== LubanPath.sessionBackend || !s.acceptBackend(channelId)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const c: BackendConnection = {
        channelId,
        ws,
        headers: req.headers,
        frames: [],
        binary: [],
        pings: [],
        closed: false,
      };
      s.connections.push(c);
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        c.frames.push(decodeSessionFrame(data));
        c.binary.push(isBinary);
      });
      ws.on('ping', (data: Buffer) => c.pings.push(data.toString('utf8')));
      ws.on('close', () => (c.closed = true));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  s.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return s;
}
