// Session Manager data-channel frames (spec/luban-protocol.md §6): a 60-byte little-endian header
// followed by the payload, in both directions between the agent and `/luban/session/backend`.

/** `MessageType` values. 4 is unused by the stock agent. */
export const SessionMessageType = {
  /** server → agent: bytes for the PTY or the forwarded socket */
  InputStreamData: 0,
  /** agent → server: bytes read from the PTY or the forwarded socket */
  OutputStreamData: 1,
  /** server → agent: JSON `{"cols","rows"}` */
  SetSize: 2,
  /** defined by the stock agent and ignored by it */
  CloseDataChannel: 3,
  /** server → agent: first payload byte is a status code (7 = speed) */
  Status: 5,
} as const;
export type SessionMessageTypeValue = (typeof SessionMessageType)[keyof typeof SessionMessageType];

export const SESSION_SCHEMA_VERSION = '1.01';
export const SESSION_FRAME_HEADER_BYTES = 60;
/** The SessionId field is 32 bytes, so a channelId longer than that cannot travel. */
export const SESSION_ID_MAX_BYTES = 32;

const OFF_TYPE = 0;
const OFF_SCHEMA = 4;
const OFF_SESSION = 8;
const OFF_CREATED = 40;
const OFF_SEQUENCE = 48;
const OFF_LENGTH = 56;
const SCHEMA_BYTES = 4;

export interface SessionFrame {
  /** Any uint32; readers ignore types they do not know. */
  messageType: number;
  schemaVersion: string;
  sessionId: string;
  /** ms epoch; never 0 on a decoded frame */
  createdDate: number;
  sequenceNumber: number;
  payload: Buffer;
}

export interface SessionFrameInput {
  messageType: number;
  sessionId: string;
  payload: Uint8Array;
  sequenceNumber?: number;
  /** ms epoch; defaults to now (a 0 would make the peer drop the frame) */
  createdDate?: number;
  schemaVersion?: string;
}

/** A frame as the stock agent writes it: schema `1.01`, session id space-padded to 32 bytes. */
export function encodeSessionFrame(f: SessionFrameInput): Buffer {
  const id = Buffer.from(f.sessionId, 'ascii');
  if (id.length > SESSION_ID_MAX_BYTES) {
    throw new RangeError(`session id longer than ${SESSION_ID_MAX_BYTES} bytes: ${f.sessionId}`);
  }
  const createdDate = f.createdDate ?? Date.now();
  if (!Number.isSafeInteger(createdDate) || createdDate <= 0) {
    throw new RangeError(`createdDate must be a positive ms epoch, got ${createdDate}`);
  }
  const out = Buffer.allocUnsafe(SESSION_FRAME_HEADER_BYTES + f.payload.length);
  out.writeUInt32LE(f.messageType, OFF_TYPE);
  out.fill(0x20, OFF_SCHEMA, OFF_CREATED);
  out.write((f.schemaVersion ?? SESSION_SCHEMA_VERSION).slice(0, SCHEMA_BYTES), OFF_SCHEMA, 'ascii');
  id.copy(out, OFF_SESSION);
  out.writeBigUInt64LE(BigInt(createdDate), OFF_CREATED);
  out.writeBigInt64LE(BigInt(f.sequenceNumber ?? 0), OFF_SEQUENCE);
  out.writeUInt32LE(f.payload.length, OFF_LENGTH);
  out.set(f.payload, SESSION_FRAME_HEADER_BYTES);
  return out;
}

const trimField = (b: Buffer): string => b.toString('latin1').replace(/^[\0 ]+|[\0 ]+$/g, '');

/**
 * Reads a frame the way the stock agent does: string fields trimmed of NULs and spaces,
 * PayloadLength ignored (the payload is the rest of the frame). Undefined for a frame the
 * stock agent drops: shorter than the header, or CreatedDate 0.
 */
export function decodeSessionFrame(data: Uint8Array): SessionFrame | undefined {
  if (data.length < SESSION_FRAME_HEADER_BYTES) {
    return undefined;
  }
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
  const createdDate = b.readBigUInt64LE(OFF_CREATED);
  if (createdDate === 0n) {
    return undefined;
  }
  return {
    messageType: b.readUInt32LE(OFF_TYPE),
    schemaVersion: trimField(b.subarray(OFF_SCHEMA, OFF_SESSION)),
    sessionId: trimField(b.subarray(OFF_SESSION, OFF_CREATED)),
    createdDate: Number(createdDate),
    sequenceNumber: Number(b.readBigInt64LE(OFF_SEQUENCE)),
    payload: b.subarray(SESSION_FRAME_HEADER_BYTES),
  };
}

// ---- set_size (type 2) -----------------------------------------------------------------------

export interface TerminalSize {
  cols: number;
  rows: number;
}

export const encodeSetSize = (s: TerminalSize): Buffer => Buffer.from(JSON.stringify({ cols: s.cols, rows: s.rows }));

/** Undefined unless the payload is JSON with positive integer `cols` and `rows` (≤ 65535). */
export function parseSetSize(payload: Uint8Array): TerminalSize | undefined {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) {
    return undefined;
  }
  const { cols, rows } = v as Record<string, unknown>;
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 0xffff;
  return ok(cols) && ok(rows) ? { cols, rows } : undefined;
}

// ---- status (type 5) -------------------------------------------------------------------------

/** The one status code the stock agent acts on: the rest of the payload is a speed. */
export const SESSION_STATUS_SPEED = 7;
export const SESSION_SPEED_MAX_BPS = 0xffffffff;

/** Status payload for code 7: the speed in bits/s, big-endian in the fewest of 1–4 bytes. */
export function encodeSpeedStatus(bitsPerSecond: number): Buffer {
  if (!Number.isInteger(bitsPerSecond) || bitsPerSecond <= 0 || bitsPerSecond > SESSION_SPEED_MAX_BPS) {
    throw new RangeError(`speed must be 1..${SESSION_SPEED_MAX_BPS} bits/s, got ${bitsPerSecond}`);
  }
  const bytes: number[] = [];
  for (let v = bitsPerSecond; v > 0; v = Math.floor(v / 256)) {
    bytes.unshift(v % 256);
  }
  return Buffer.from([SESSION_STATUS_SPEED, ...bytes]);
}

export type SessionStatusPayload = { code: number; speed?: number };

/** `speed` is set only for code 7 with 1–4 speed bytes (anything else carries no speed). */
export function parseStatusPayload(payload: Uint8Array): SessionStatusPayload | undefined {
  const code = payload[0];
  if (code === undefined) {
    return undefined;
  }
  const rest = payload.subarray(1);
  if (code !== SESSION_STATUS_SPEED || rest.length < 1 || rest.length > 4) {
    return { code };
  }
  let speed = 0;
  for (const byte of rest) {
    speed = speed * 256 + byte;
  }
  return { code, speed };
}

// ---- pacing (§6 "Outbound") ------------------------------------------------------------------

/** Bytes per read: 1024 for the shell, 2048 for port forwarding. */
export const SESSION_PACKET_BYTES = { shell: 1024, port: 2048 } as const;
/** Default agent → server rate when flowLimit is 0: 200 kbit/s. */
export const SESSION_DEFAULT_FLOW_LIMIT_BPS = 200_000;

/** The stock intervals at the default speed: 40 ms for the shell, 83 ms for a port. */
export const SESSION_DEFAULT_INTERVAL_MS = { shell: 40, port: 83 } as const;

/**
 * The stock send interval in ms for a speed: `1000 / (speed / 8 / packet)` in Go's integer
 * arithmetic, so a fast enough speed gives 0 (no pause). A speed below one packet per second
 * (where Go would divide by zero) gives one packet per second.
 */
export function sessionSendIntervalMs(bitsPerSecond: number, packetBytes: number): number {
  const packetsPerSecond = Math.floor(Math.floor(bitsPerSecond / 8) / packetBytes);
  return packetsPerSecond <= 0 ? 1000 : Math.floor(1000 / packetsPerSecond);
}
