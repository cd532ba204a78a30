// One session's state on this node (its sockets, queues and timers), the relay's limits, and
// the wording of an end for the stock client.
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { Recording } from './recorder.js';

/** Unsent bytes on one socket above which the other side is paused, and below which it resumes. */
export const HIGH_WATER = 1024 * 1024;
export const LOW_WATER = 256 * 1024;
/** Frames held for a side that has not connected yet, before its counterpart is paused. */
export const EARLY_BUFFER_BYTES = 256 * 1024;
/** How long a session outlives its agent's data channel (the stock agent reconnects within ~20 s). */
export const AGENT_RECONNECT_GRACE_MS = 30_000;
export const EXPIRY_SWEEP_MS = 5_000;
/** Old recordings are looked for this often (a directory listing: not every few seconds). */
export const RECORDING_SWEEP_MS = 10 * 60_000;
/** Agent output frames are merged into client frames of at most this size. */
export const COALESCE_MAX_BYTES = 64 * 1024;
/** How long an ended session waits for its agent to finish the close handshake. */
export const AGENT_CLOSE_WAIT_MS = 3_000;
/** How often a client waiting for its agent checks whether the agent landed on another node. */
export const AGENT_WATCH_MS = 200;

/** The stock client's wording of an end (agent errorcode or server reason → Closed status text). */
export const CLIENT_REASON: Record<string, string> = {
  Ok: 'Exit',
  Notified: 'Exit',
  EndedByUser: 'Exit',
  ClientClosed: 'Exit',
  ServerShutdown: 'Exit',
  Timeout: 'AgentTimeout',
  Init_channel_failed: 'InitChannelFailed',
  Open_channel_failed: 'OpenChannelFailed',
  AgentNeverConnected: 'OpenChannelFailed',
  Session_id_duplicate: 'SessionIdDuplicated',
  Process_data_error: 'ProcessDataError',
  Open_pty_failed: 'OpenPtyFailed',
};

export const refuse = (socket: Duplex, status: string): void => {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
};

export const asBuffer = (d: RawData): Buffer =>
  Buffer.isBuffer(d) ? d : Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d);

/** One session's two sockets and what flows between them. */
export class Link {
  agent: WebSocket | undefined;
  client: WebSocket | undefined;
  /** Front mode (a cluster): the socket to the node that holds the agent's data channel. */
  bridge: WebSocket | undefined;
  connectionId: string | undefined;
  /** Client messages, as received, that arrived before the agent (or a bridge) was there. */
  early: Buffer[] = [];
  earlyBytes = 0;
  watch: NodeJS.Timeout | undefined;
  /** Frames (already re-framed) waiting for a side that is not connected yet. */
  toAgent: Buffer[] = [];
  toClient: Uint8Array[] = [];
  toAgentBytes = 0;
  /** Agent output gathered within one turn of the event loop, sent to the client as one frame. */
  outParts: Uint8Array[] = [];
  outBytes = 0;
  outScheduled = false;
  toClientBytes = 0;
  agentSeq = 0;
  clientSeq = 0;
  ended = false;
  endReason = '';
  agentGrace: NodeJS.Timeout | undefined;
  closeWait: NodeJS.Timeout | undefined;
  recording: Recording | undefined;
  readonly sessionId: string;
  readonly portForward: boolean;
  constructor(sessionId: string, portForward: boolean) {
    this.sessionId = sessionId;
    this.portForward = portForward;
  }
}
