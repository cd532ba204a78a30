// Sessions across the nodes of a cluster: the client's socket and the agent's data channel may
// land on different nodes behind the load balancer. The node holding the client (the front)
// opens a bridge WebSocket to the node holding the agent channel (recorded in the session row),
// which treats the bridge as the session's client; the front passes frames through unchanged.
// The bridge is authenticated with an HMAC keyed by the session's token hash, which only nodes
// (readers of the shared store) know, and a timestamp.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { WebSocket } from 'ws';

export const BRIDGE_PATH = '/session/bridge';
const SIGNATURE_HEADER = 'x-oca-bridge-signature';
const TIME_HEADER = 'x-oca-bridge-time';
const WINDOW_MS = 60_000;

const sign = (tokenHash: string, sessionId: string, time: string): string =>
  createHmac('sha256', tokenHash).update(`${sessionId}\n${time}`).digest('hex');

/** Opens the bridge from this node to `nodeUrl` (`https://host:port` of the agent's node). */
export function openBridge(nodeUrl: string, ca: string | undefined, sessionId: string, tokenHash: string): WebSocket {
  const time = String(Date.now());
  const url = `${nodeUrl.replace(/^http/, 'ws')}${BRIDGE_PATH}?sessionId=${encodeURIComponent(sessionId)}`;
  return new WebSocket(url, {
    ...(ca ? { ca } : {}),
    perMessageDeflate: false,
    headers: { [SIGNATURE_HEADER]: sign(tokenHash, sessionId, time), [TIME_HEADER]: time },
  });
}

/** Whether a bridge handshake was signed for this session within the time window. */
export function verifyBridge(
  headers: IncomingHttpHeaders,
  sessionId: string,
  tokenHash: string,
  nowMs: number,
): boolean {
  const time = headers[TIME_HEADER];
  const given = headers[SIGNATURE_HEADER];
  if (typeof time !== 'string' || typeof given !== 'string' || Math.abs(nowMs - Number(time)) > WINDOW_MS) {
    return false;
  }
  const want = Buffer.from(sign(tokenHash, sessionId, time), 'hex');
  const got = Buffer.from(given, 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}
