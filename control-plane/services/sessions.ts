// Session Manager business rules (StartTerminalSession, EndTerminalSession,
// DescribeTerminalSessions): sessions and their client connections in the store, the single-use
// WebSocket token, the agent's session/list entry and its final status report. The byte relay
// itself lives in control-plane/session-relay; this service only records what happens.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatKick, type SessionStatusReport, type SessionTask } from '../../protocol/index.js';
import { ApiError, isoTime } from '../shared/index.js';
import type { Db, TerminalSessionTable } from '../store/index.js';
import type { AgentNotifier } from './agent-notifier.js';
import { keysetPage, type KeyColumn, type Paging } from './paging.js';

export interface SessionOptions {
  /** How long a WebSocket token may wait for its one use (default 60 s). */
  tokenTtlMs: number;
  /** agent → server rate handed to agents in `flowLimit`, bits/s (default 1 Gbit/s: no pacing). */
  flowLimitBps: number;
  /** A session whose agent never opened its data channel this long after the start ends (default 60 s). */
  agentConnectTimeoutMs: number;
  /** Where recordings' relative paths start (the data dir). */
  dataDir?: string;
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = {
  tokenTtlMs: 60_000,
  flowLimitBps: 1_000_000_000,
  agentConnectTimeoutMs: 60_000,
};

export interface StartSessionInput {
  instanceIds: string[];
  commandLine: string;
  portNumber: number | undefined;
  targetServer: string;
  username: string;
  connectionType: string;
  accessKeyId: string;
}

export type SessionRow = TerminalSessionTable;

/** A session event for the audit trail (control-plane/access records it; wired in main.ts). */
export interface SessionAuditEvent {
  action: 'SessionConnected' | 'SessionDisconnected' | 'SessionEnded';
  sessionId: string;
  instanceId: string;
  /** The key that started the session (StartTerminalSession's caller). */
  accessKeyId: string;
  /** The client's address; '' where the event has no client (an end the agent reported). */
  sourceIp: string;
  /** `Success`, or why it ended or closed. */
  result: string;
  nowMs: number;
}

/** Why a session ended, as the server records it when the agent did not say. */
export type ServerEndReason = 'EndedByUser' | 'ClientClosed' | 'AgentLost' | 'AgentNeverConnected' | 'ServerShutdown';

/** CommandLine: "up to 512 characters" (the SDK model). */
const MAX_COMMAND_LINE = 512;
const MAX_USERNAME = 255;
/** A host name or an IPv4/IPv6 literal: the agent dials it, nothing else may reach its shell. */
const TARGET_SERVER_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|[0-9A-Fa-f:.]+)$/;
const SESSION_KEY: readonly KeyColumn[] = [
  { column: 'created_at', direction: 'desc', type: 'number' },
  { column: 'session_id', direction: 'desc', type: 'string' },
];
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `s-` and 20 random characters: 22 bytes, inside the 32-byte frame field, URL-safe. */
export function newSessionId(): string {
  let s = 's-';
  for (const b of randomBytes(20)) {
    s += ALPHABET[b % ALPHABET.length];
  }
  return s;
}

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export class SessionService {
  readonly #db: Db;
  readonly #notifier: AgentNotifier;
  readonly #o: SessionOptions;
  /** Called once when a session ends on this node's watch (the relay closes its sockets). */
  onEnded: (sessionId: string, reason: string) => void = () => {};
  /** Told of every client connection opened and closed, and every session end (the audit trail). */
  onAudit: (e: SessionAuditEvent) => void = () => {};

  constructor(db: Db, notifier: AgentNotifier, o: Partial<SessionOptions> = {}) {
    this.#db = db;
    this.#notifier = notifier;
    this.#o = { ...DEFAULT_SESSION_OPTIONS, ...o };
  }

  get options(): SessionOptions {
    return this.#o;
  }

  /** Records a session, kicks the agent, and returns the id and the token (shown once). */
  async start(input: StartSessionInput, nowMs: number): Promise<{ sessionId: string; token: string }> {
    const [instanceId, ...more] = input.instanceIds;
    if (instanceId === undefined) {
      throw new ApiError(
        'MissingParameter',
        'The input parameter "InstanceId" that is mandatory for processing this request is not supplied.',
      );
    }
    if (more.length > 0) {
      throw new ApiError('InvalidParameter.InstanceIds', 'A terminal session connects to exactly one instance.');
    }
    validateStart(input);
    const instance = await this.#db
      .selectFrom('instances')
      .select(['instance_id', 'os_type'])
      .where('instance_id', '=', instanceId)
      .where('deregistered_at', 'is', null)
      .executeTakeFirst();
    if (!instance) {
      throw new ApiError('InvalidInstanceId.NotFound', `The specified instance ${instanceId} does not exist.`);
    }
    if (!(await this.#notifier.connectedAmong([instanceId])).has(instanceId)) {
      throw new ApiError('ClientNotOnline', `The Cloud Assistant agent of ${instanceId} is not connected.`);
    }
    const sessionId = newSessionId();
    const token = randomBytes(32).toString('base64url');
    await this.#db
      .insertInto('terminal_sessions')
      .values({
        session_id: sessionId,
        instance_id: instanceId,
        command_line: input.commandLine,
        port_number: input.portNumber ?? 0,
        target_server: input.targetServer,
        username: input.username,
        connection_type: input.connectionType,
        status: 'Pending',
        access_key_id: input.accessKeyId,
        client_ip: '', // the client's, once it connects
        token_hash: hashToken(token),
        token_expires_at: nowMs + this.#o.tokenTtlMs,
        token_used: 0,
        created_at: nowMs,
        ended_at: null,
        end_reason: '',
        agent_status: '',
        recording: '',
        agent_node_url: '',
      })
      .execute();
    this.#notifier.kick([instanceId], formatKick({ type: 'session', action: 'start', id: sessionId }));
    return { sessionId, token };
  }

  async get(sessionId: string): Promise<SessionRow | undefined> {
    return this.#db.selectFrom('terminal_sessions').selectAll().where('session_id', '=', sessionId).executeTakeFirst();
  }

  /**
   * Spends a session's token: only once, only before it expires, only on a session still open.
   * The row is read first (constant-time compare of the hashes), then claimed with a conditional
   * UPDATE, so two sockets racing with the same token get one success between them.
   */
  async claimToken(
    sessionId: string,
    token: string,
    nowMs: number,
    clientIp: string,
  ): Promise<{ ok: true; session: SessionRow } | { ok: false; reason: string }> {
    const s = await this.get(sessionId);
    if (!s) {
      return { ok: false, reason: 'no such session' };
    }
    const given = Buffer.from(hashToken(token), 'hex');
    if (!timingSafeEqual(given, Buffer.from(s.token_hash, 'hex'))) {
      return { ok: false, reason: 'wrong token' };
    }
    if (s.status === 'Ended') {
      return { ok: false, reason: 'session ended' };
    }
    if (s.token_used !== 0) {
      return { ok: false, reason: 'token already used' };
    }
    if (s.token_expires_at < nowMs) {
      return { ok: false, reason: 'token expired' };
    }
    const r = await this.#db
      .updateTable('terminal_sessions')
      .set({ token_used: 1, client_ip: clientIp })
      .where('session_id', '=', sessionId)
      .where('token_used', '=', 0)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1 ? { ok: true, session: s } : { ok: false, reason: 'token already used' };
  }

  /** The agent's session/list answer: the entry for `channelId` if it is this instance's open session. */
  async taskFor(instanceId: string, channelId: string): Promise<SessionTask | undefined> {
    const s = await this.get(channelId);
    if (!s || s.instance_id !== instanceId || s.status === 'Ended') {
      return undefined;
    }
    return {
      channelId: s.session_id,
      cmdContent: s.command_line,
      username: s.username,
      windowsPasswordName: '',
      portNumber: s.port_number > 0 ? String(s.port_number) : '',
      targetHost: s.target_server,
      flowLimit: this.#o.flowLimitBps,
      websocketUrl: '',
    };
  }

  /** The agent opened the data channel of its own open session: true when that is what it is. */
  async agentConnected(instanceId: string, sessionId: string, nodeUrl: string): Promise<boolean> {
    const r = await this.#db
      .updateTable('terminal_sessions')
      .set({ status: 'Connected', agent_node_url: nodeUrl })
      .where('session_id', '=', sessionId)
      .where('instance_id', '=', instanceId)
      .where('status', '!=', 'Ended')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** The agent's final report; the first end wins (a later report only fills agent_status). */
  async applyAgentStatus(instanceId: string, r: SessionStatusReport, nowMs: number): Promise<boolean> {
    const s = await this.get(r.channelId);
    if (!s || s.instance_id !== instanceId) {
      return false;
    }
    await this.#db
      .updateTable('terminal_sessions')
      .set({ agent_status: r.status })
      .where('session_id', '=', r.channelId)
      .execute();
    await this.#markEnded(r.channelId, r.errorcode, nowMs);
    return true;
  }

  /**
   * Ends a session from the server's side (EndTerminalSession, client gone, agent lost): records
   * the reason unless it already ended, and tells the agent to stop it. False when it was over.
   */
  async end(sessionId: string, reason: ServerEndReason, nowMs: number): Promise<boolean> {
    const s = await this.get(sessionId);
    if (!s) {
      throw new ApiError('InvalidSessionId.NotFound', `The specified session ${sessionId} does not exist.`);
    }
    const ended = await this.#markEnded(sessionId, reason, nowMs);
    // Told even when the row was already over: a stop the agent already did is a no-op for it.
    this.#notifier.kick([s.instance_id], formatKick({ type: 'session', action: 'stop', id: sessionId }));
    return ended;
  }

  async #markEnded(sessionId: string, reason: string, nowMs: number): Promise<boolean> {
    const r = await this.#db
      .updateTable('terminal_sessions')
      .set({ status: 'Ended', ended_at: nowMs, end_reason: reason })
      .where('session_id', '=', sessionId)
      .where('status', '!=', 'Ended')
      .executeTakeFirst();
    const ended = Number(r.numUpdatedRows) === 1;
    if (ended) {
      this.onEnded(sessionId, reason);
      const s = await this.get(sessionId);
      if (s) {
        this.onAudit({
          action: 'SessionEnded',
          sessionId,
          instanceId: s.instance_id,
          accessKeyId: s.access_key_id,
          sourceIp: '',
          result: reason,
          nowMs,
        });
      }
    }
    return ended;
  }

  /** Pending sessions whose agent never connected within the window: ended, and their ids. */
  async expireUnconnected(nowMs: number): Promise<string[]> {
    const stale = await this.#db
      .selectFrom('terminal_sessions')
      .select('session_id')
      .where('status', '=', 'Pending')
      .where('created_at', '<', nowMs - this.#o.agentConnectTimeoutMs)
      .execute();
    const ids: string[] = [];
    for (const { session_id } of stale) {
      if (await this.#markEnded(session_id, 'AgentNeverConnected', nowMs)) {
        ids.push(session_id);
      }
    }
    return ids;
  }

  /** A recorded session's asciicast text (DescribeTerminalSessionRecording). */
  async readRecording(sessionId: string): Promise<string> {
    const s = await this.get(sessionId);
    if (!s?.recording || this.#o.dataDir === undefined) {
      throw new ApiError('InvalidSessionId.NotFound', `No recording of session ${sessionId} exists.`);
    }
    try {
      return await readFile(join(this.#o.dataDir, s.recording), 'utf8');
    } catch {
      // Deleted by the retention sweep.
      throw new ApiError('InvalidSessionId.NotFound', `The recording of session ${sessionId} is no longer kept.`);
    }
  }

  async setRecording(sessionId: string, relPath: string): Promise<void> {
    await this.#db
      .updateTable('terminal_sessions')
      .set({ recording: relPath })
      .where('session_id', '=', sessionId)
      .execute();
  }

  async openConnection(s: SessionRow, clientIp: string, nowMs: number): Promise<string> {
    const connectionId = `${s.session_id}.${randomBytes(6).toString('hex')}`;
    await this.#db
      .insertInto('terminal_session_connections')
      .values({
        connection_id: connectionId,
        session_id: s.session_id,
        instance_id: s.instance_id,
        access_key_id: s.access_key_id,
        client_ip: clientIp,
        status: 'Connected',
        started_at: nowMs,
        ended_at: null,
        closed_reason: '',
        failed_detail: '',
      })
      .execute();
    this.onAudit({
      action: 'SessionConnected',
      sessionId: s.session_id,
      instanceId: s.instance_id,
      accessKeyId: s.access_key_id,
      sourceIp: clientIp,
      result: 'Success',
      nowMs,
    });
    return connectionId;
  }

  async closeConnection(
    connectionId: string,
    closedReason: string,
    failedDetail: string,
    nowMs: number,
  ): Promise<void> {
    const r = await this.#db
      .updateTable('terminal_session_connections')
      .set({
        status: failedDetail ? 'Failed' : 'Closed',
        ended_at: nowMs,
        closed_reason: closedReason,
        failed_detail: failedDetail,
      })
      .where('connection_id', '=', connectionId)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    const c =
      Number(r.numUpdatedRows) === 1
        ? await this.#db
            .selectFrom('terminal_session_connections')
            .select(['session_id', 'instance_id', 'access_key_id', 'client_ip'])
            .where('connection_id', '=', connectionId)
            .executeTakeFirst()
        : undefined;
    if (c) {
      this.onAudit({
        action: 'SessionDisconnected',
        sessionId: c.session_id,
        instanceId: c.instance_id,
        accessKeyId: c.access_key_id,
        sourceIp: c.client_ip,
        result: failedDetail ? `Failed: ${failedDetail}` : closedReason || 'Closed',
        nowMs,
      });
    }
  }

  /** DescribeTerminalSessions: newest first, with each session's connection records. */
  async describe(f: { instanceId?: string; sessionId?: string; paging: Paging }) {
    let q = this.#db.selectFrom('terminal_sessions');
    if (f.instanceId) {
      q = q.where('instance_id', '=', f.instanceId);
    }
    if (f.sessionId) {
      q = q.where('session_id', '=', f.sessionId);
    }
    const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const page = await keysetPage(
      q.selectAll(),
      f.paging,
      SESSION_KEY,
      (r) => [r.created_at, r.session_id],
      Number(total.n),
    );
    const ids = page.rows.map((r) => r.session_id);
    const connections =
      ids.length === 0
        ? []
        : await this.#db
            .selectFrom('terminal_session_connections')
            .selectAll()
            .where('session_id', 'in', ids)
            .orderBy('started_at', 'asc')
            .execute();
    return {
      ...(page.fields.NextToken ? { NextToken: page.fields.NextToken } : {}),
      Sessions: {
        Session: page.rows.map((s) => ({
          SessionId: s.session_id,
          InstanceId: s.instance_id,
          CreationTime: isoTime(s.created_at),
          ...(s.ended_at !== null ? { EndTime: isoTime(s.ended_at) } : {}),
          Status: s.status,
          EndReason: s.end_reason,
          Username: s.username,
          PortNumber: s.port_number > 0 ? s.port_number : undefined,
          TargetServer: s.target_server,
          CommandLine: s.command_line,
          ClientIP: s.client_ip,
          IdentityType: 'AccessKey',
          PrincipalId: s.access_key_id,
          Recorded: s.recording !== '',
          Connections: {
            Connection: connections
              .filter((c) => c.session_id === s.session_id)
              .map((c) => ({
                InstanceId: c.instance_id,
                StartTime: isoTime(c.started_at),
                ...(c.ended_at !== null ? { EndTime: isoTime(c.ended_at) } : {}),
                Status: c.status,
                ClosedReason: c.closed_reason,
                FailedDetail: c.failed_detail,
                ClientIP: c.client_ip,
              })),
          },
        })),
      },
    };
  }
}

function validateStart(i: StartSessionInput): void {
  if (i.commandLine.length > MAX_COMMAND_LINE) {
    throw new ApiError('InvalidParameter.CommandLine', `CommandLine may be at most ${MAX_COMMAND_LINE} characters.`);
  }
  if (i.commandLine !== '' && (i.portNumber !== undefined || i.targetServer !== '')) {
    throw new ApiError('InvalidParameter.CommandLine', 'CommandLine cannot be given with PortNumber or TargetServer.');
  }
  if (i.portNumber !== undefined && (i.portNumber < 1 || i.portNumber > 65535)) {
    throw new ApiError('InvalidParameter.PortNumber', 'PortNumber must be from 1 to 65535.');
  }
  if (i.targetServer !== '') {
    if (i.portNumber === undefined) {
      throw new ApiError('InvalidParameter.TargetServer', 'TargetServer needs a PortNumber.');
    }
    if (i.targetServer.length > 253 || !TARGET_SERVER_RE.test(i.targetServer)) {
      throw new ApiError('InvalidParameter.TargetServer', 'TargetServer must be a host name or an IP address.');
    }
  }
  if (i.username.length > MAX_USERNAME) {
    throw new ApiError('Username.ExceedLimit', `Username may be at most ${MAX_USERNAME} characters.`);
  }
  if (i.connectionType !== 'Internet' && i.connectionType !== 'Intranet') {
    throw new ApiError('InvalidParameter.ConnectionType', 'ConnectionType must be Internet or Intranet.');
  }
}
