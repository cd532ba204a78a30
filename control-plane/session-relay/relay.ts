// The Session Manager relay: admits the agent's and the client's sockets of a session, pairs
// them (or bridges to the node that holds the agent) and ends the session; frames go via pump.ts.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { ClientMessageType, encodeClientClosed, encodeClientSpeed, LubanPath } from '../../protocol/index.js';
import type { HybridAuthenticator } from '../agent-api/index.js';
import type { SessionRow, SessionService } from '../services/index.js';
import type { Log } from '../shared/index.js';
import { BRIDGE_PATH, openBridge, verifyBridge } from './bridge.js';
import {
  AGENT_CLOSE_WAIT_MS,
  AGENT_RECONNECT_GRACE_MS,
  AGENT_WATCH_MS,
  asBuffer,
  CLIENT_REASON,
  EXPIRY_SWEEP_MS,
  Link,
  RECORDING_SWEEP_MS,
  refuse,
} from './link.js';
import { FramePump } from './pump.js';
import type { Recorder } from './recorder.js';

/** Where operators' clients connect (the path of StartTerminalSession's WebSocketUrl). */
export const CLIENT_SESSION_PATH = '/session';

export interface RelayDeps {
  sessions: SessionService;
  auth: HybridAuthenticator;
  log: Log;
  recorder?: Recorder;
}

/**
 * The agent's data channel (`/luban/session/backend`, 60-byte frames, hybrid-signed handshake) and
 * the operator's client socket (`/session?sessionId&token`, the stock user-side 30-byte frames)
 * meet here, one pair per session, and every frame is re-framed on its way across.
 */
export class SessionRelay {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, perMessageDeflate: false });
  readonly #links = new Map<string, Link>();
  readonly #d: RelayDeps;
  #sweep: NodeJS.Timeout | undefined;
  /** Set by close(): socket events no longer touch the store. */
  #closing = false;
  #lastRecordingSweep = 0;
  /** This node's address for bridges from other nodes, and the CA to check theirs. */
  #node: { url: string; ca: string | undefined } = { url: '', ca: undefined };
  readonly #pump: FramePump;

  constructor(d: RelayDeps) {
    this.#d = d;
    d.sessions.onEnded = (id, reason) => this.#endLink(id, reason);
    this.#pump = new FramePump({
      startRecording: (link) => {
        if (!this.#d.recorder) {
          return;
        }
        // Recorded where the agent's channel is (in a cluster, not on the front node).
        const r = this.#d.recorder.open(link.sessionId, Date.now());
        link.recording = r.recording;
        void this.#d.sessions.setRecording(link.sessionId, r.relPath).catch(() => {});
      },
      clientClosed: (link) => {
        void this.#d.sessions.end(link.sessionId, 'ClientClosed', Date.now()).catch(() => {});
      },
    });
  }

  /** Sessions with at least one socket open on this node. */
  get openCount(): number {
    return this.#links.size;
  }

  /** Called once the server listens: `url` is how other nodes reach this one. */
  setNode(url: string, ca: string | undefined): void {
    this.#node = { url, ca };
  }

  start(): void {
    this.#sweep = setInterval(() => {
      void this.#d.sessions
        .expireUnconnected(Date.now())
        .catch((e: unknown) => this.#d.log.warn('session expiry failed', { err: String(e) }));
      if (this.#d.recorder && Date.now() - this.#lastRecordingSweep >= RECORDING_SWEEP_MS) {
        this.#lastRecordingSweep = Date.now();
        this.#d.recorder.sweep(Date.now());
      }
    }, EXPIRY_SWEEP_MS);
    this.#sweep.unref();
  }

  /** Handles an HTTP upgrade on one of the two session paths; false for any other path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === LubanPath.sessionBackend) {
      void this.#upgradeAgent(req, socket, head, url.searchParams.get('channelId') ?? '').catch(() => socket.destroy());
      return true;
    }
    if (url.pathname === CLIENT_SESSION_PATH) {
      const tokenHeader = req.headers['x-acs-session-token'];
      const token = url.searchParams.get('token') || (typeof tokenHeader === 'string' ? tokenHeader : '');
      const sessionId = url.searchParams.get('sessionId') ?? url.searchParams.get('sessionid') ?? '';
      void this.#upgradeClient(req, socket, head, sessionId, token).catch(() => socket.destroy());
      return true;
    }
    if (url.pathname === BRIDGE_PATH) {
      void this.#upgradeBridge(req, socket, head, url.searchParams.get('sessionId') ?? '').catch(() =>
        socket.destroy(),
      );
      return true;
    }
    return false;
  }

  async #upgradeAgent(req: IncomingMessage, socket: Duplex, head: Buffer, channelId: string): Promise<void> {
    const auth = await this.#d.auth.verify(req.headers, Date.now());
    if (!auth.ok) {
      this.#d.log.warn('session channel refused', { reason: auth.reason, ip: req.socket.remoteAddress });
      return refuse(socket, '401 Unauthorized');
    }
    if (!(await this.#d.sessions.agentConnected(auth.instanceId, channelId, this.#node.url))) {
      this.#d.log.warn('session channel refused', {
        instanceId: auth.instanceId,
        sessionId: channelId,
        reason: 'no such open session',
      });
      return refuse(socket, '410 Gone');
    }
    const session = (await this.#d.sessions.get(channelId))!;
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#adoptAgent(session, ws));
  }

  async #upgradeClient(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    sessionId: string,
    token: string,
  ): Promise<void> {
    const ip = req.socket.remoteAddress ?? '';
    const claim = sessionId && token ? await this.#d.sessions.claimToken(sessionId, token, Date.now(), ip) : undefined;
    if (!claim?.ok) {
      this.#d.log.warn('session client refused', { sessionId, ip, reason: claim?.reason ?? 'no session id or token' });
      return refuse(socket, '401 Unauthorized');
    }
    const connectionId = await this.#d.sessions.openConnection(claim.session, ip, Date.now());
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#adoptClient(claim.session, connectionId, ws));
  }

  /** Another node's front for a client of a session whose agent channel this node holds. */
  async #upgradeBridge(req: IncomingMessage, socket: Duplex, head: Buffer, sessionId: string): Promise<void> {
    const s = sessionId ? await this.#d.sessions.get(sessionId) : undefined;
    if (!s || s.status === 'Ended' || !verifyBridge(req.headers, sessionId, s.token_hash, Date.now())) {
      this.#d.log.warn('session bridge refused', { sessionId, ip: req.socket.remoteAddress });
      return refuse(socket, '401 Unauthorized');
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#adoptClient(s, undefined, ws));
  }

  #link(s: SessionRow): Link {
    let link = this.#links.get(s.session_id);
    if (!link) {
      link = new Link(s.session_id, s.port_number > 0);
      this.#links.set(s.session_id, link);
    }
    return link;
  }

  #adoptAgent(s: SessionRow, ws: WebSocket): void {
    const link = this.#link(s);
    if (link.ended) {
      ws.close(1000, 'session ended');
      return;
    }
    clearTimeout(link.agentGrace);
    link.agent?.terminate();
    link.agent = ws;
    this.#d.log.info('session agent connected', { sessionId: s.session_id, instanceId: s.instance_id });
    clearInterval(link.watch);
    this.#pump.flushQueued(link.toAgent, ws, () => {
      link.toAgentBytes = 0;
    });
    link.toAgent = [];
    this.#pump.replayEarly(link);
    if (link.client?.isPaused) {
      link.client.resume();
    }
    ws.on('message', (data) => this.#pump.fromAgent(link, asBuffer(data)));
    ws.on('close', () => {
      if (link.agent !== ws) {
        return;
      }
      link.agent = undefined;
      if (this.#closing) {
        return;
      }
      if (link.ended) {
        this.#finishClient(link);
        return;
      }
      // Ended on another node (EndTerminalSession there): finish here too. Otherwise the stock
      // agent reopens a broken channel; if it does not, the session is over.
      void this.#d.sessions.get(s.session_id).then(
        (row) => {
          if (row?.status === 'Ended') {
            this.#endLink(s.session_id, row.end_reason);
            return;
          }
          link.agentGrace = setTimeout(() => {
            void this.#d.sessions.end(s.session_id, 'AgentLost', Date.now()).catch(() => {});
          }, AGENT_RECONNECT_GRACE_MS);
        },
        () => {},
      );
    });
    ws.on('error', (e) => this.#d.log.warn('session agent socket error', { sessionId: s.session_id, err: e.message }));
  }

  /** A client socket, or (connectionId undefined) a bridge from the node that holds the client. */
  #adoptClient(s: SessionRow, connectionId: string | undefined, ws: WebSocket): void {
    const link = this.#link(s);
    if (link.ended) {
      ws.close(1000, 'session ended');
      return;
    }
    link.client = ws;
    link.connectionId = connectionId;
    this.#d.log.info('session client connected', { sessionId: s.session_id, accessKeyId: s.access_key_id });
    // The stock client sends at 200 kbit/s until told a speed.
    ws.send(
      this.#pump.clientFrame(link, ClientMessageType.Status, encodeClientSpeed(this.#d.sessions.options.flowLimitBps)),
    );
    this.#pump.flushQueued(link.toClient, ws, () => {
      link.toClientBytes = 0;
    });
    link.toClient = [];
    if (link.agent?.isPaused) {
      link.agent.resume();
    }
    if (!link.agent) {
      this.#watchForAgent(link);
    }
    ws.on('message', (data) => this.#pump.fromClient(link, asBuffer(data)));
    ws.on('close', (code) => {
      if (link.client !== ws) {
        return;
      }
      link.client = undefined;
      clearInterval(link.watch);
      link.bridge?.close(1000);
      if (this.#closing) {
        return;
      }
      if (connectionId !== undefined) {
        void this.#d.sessions
          .closeConnection(connectionId, link.ended ? 'SessionEnded' : 'ClientClosed', '', Date.now())
          .catch(() => {});
      }
      if (!link.ended) {
        this.#d.log.info('session client left', { sessionId: s.session_id, code });
        void this.#d.sessions.end(s.session_id, 'ClientClosed', Date.now()).catch(() => {});
      }
      this.#forgetIfIdle(link);
    });
    ws.on('error', (e) => this.#d.log.warn('session client socket error', { sessionId: s.session_id, err: e.message }));
  }

  /** Until the agent's channel is here: if it opens on another node, bridge the client there. */
  #watchForAgent(link: Link): void {
    clearInterval(link.watch);
    link.watch = setInterval(() => {
      if (link.ended || link.agent || link.bridge || !link.client || this.#closing) {
        clearInterval(link.watch);
        return;
      }
      void this.#d.sessions.get(link.sessionId).then(
        (row) => {
          if (!row || row.status === 'Ended') {
            clearInterval(link.watch);
          } else if (row.agent_node_url !== '' && row.agent_node_url !== this.#node.url && !link.bridge) {
            clearInterval(link.watch);
            this.#openBridge(link, row);
          }
        },
        () => {},
      );
    }, AGENT_WATCH_MS);
    link.watch.unref();
  }

  #openBridge(link: Link, row: SessionRow): void {
    const ws = openBridge(row.agent_node_url, this.#node.ca, row.session_id, row.token_hash);
    link.bridge = ws;
    ws.on('open', () => {
      this.#d.log.info('session bridged', { sessionId: row.session_id, to: row.agent_node_url });
      const early = link.early;
      link.early = [];
      link.earlyBytes = 0;
      for (const m of early) {
        ws.send(m);
      }
      link.client?.resume();
    });
    // The far node speaks to the client in the client's framing already: passed through.
    ws.on('message', (data) => this.#pump.send(link, asBuffer(data), link.client, ws, 'toClient'));
    ws.on('close', () => {
      link.bridge = undefined;
      // The far node ended the session (its Closed status came through) or died: either way over.
      link.ended = true;
      link.client?.close(1000, 'session ended');
      this.#forgetIfIdle(link);
    });
    ws.on('error', (e) => this.#d.log.warn('session bridge error', { sessionId: row.session_id, err: e.message }));
  }

  /**
   * The session ended (any reason, recorded by SessionService). The agent's socket is closed
   * first and the client told only once it is gone: output the agent sent before its close is
   * still delivered.
   */
  #endLink(sessionId: string, reason: string): void {
    const link = this.#links.get(sessionId);
    if (!link || link.ended) {
      return;
    }
    link.ended = true;
    link.endReason = reason;
    clearTimeout(link.agentGrace);
    const agent = link.agent;
    if (agent && agent.readyState !== WebSocket.CLOSED) {
      agent.resume(); // a paused socket would never read the peer's close frame
      agent.close(1000, 'session ended');
      // A peer that goes quiet without answering the close handshake is cut off (#fromAgent
      // restarts the wait while output still arrives: it is delivered, not dropped).
      link.closeWait = setTimeout(() => agent.terminate(), AGENT_CLOSE_WAIT_MS);
      link.closeWait.unref();
      return;
    }
    this.#finishClient(link);
  }

  #finishClient(link: Link): void {
    this.#pump.flushOutput(link);
    clearInterval(link.watch);
    link.bridge?.close(1000);
    link.recording?.close();
    link.recording = undefined;
    const client = link.client;
    if (client?.readyState === WebSocket.OPEN) {
      client.send(
        this.#pump.clientFrame(
          link,
          ClientMessageType.Status,
          encodeClientClosed(CLIENT_REASON[link.endReason] ?? link.endReason),
        ),
      );
      client.close(1000, 'session ended');
    }
    this.#forgetIfIdle(link);
  }

  #forgetIfIdle(link: Link): void {
    if (link.ended && !link.agent && !link.client) {
      this.#links.delete(link.sessionId);
    }
  }

  /**
   * Server shutdown: records the open connections as closed, then closes every socket. The
   * sessions themselves stay as they are: their agents end them (idle limit) and report.
   */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#sweep);
    const now = Date.now();
    for (const link of this.#links.values()) {
      if (link.client && link.connectionId) {
        await this.#d.sessions.closeConnection(link.connectionId, 'ServerShutdown', '', now).catch(() => {});
      }
    }
    for (const link of this.#links.values()) {
      clearTimeout(link.agentGrace);
      link.recording?.close();
      link.client?.close(1001, 'server shutting down');
      link.agent?.close(1001, 'server shutting down');
    }
    this.#links.clear();
    this.#wss.close();
  }
}
