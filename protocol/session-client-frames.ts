// The user-side Session Manager framing: what the stock `ali-instance-cli` (aliyun_assist_client
// agent/session/plugin/message) speaks to the server's session WebSocket. It is NOT the agent's
// 60-byte layout (session-frames.ts): the session id and instance id are length-prefixed (one byte
// each, and the stock client writes both lengths as 0), so the usual header is 30 bytes:
//   0  u32 LE  MessageType (0 input, 1 output, 2 set_size, 3 close, 5 status)
//   4  4 B     SchemaVersion "1.01"
//   8  u8      session id length n, then n bytes
//   9+n u8     instance id length m, then m bytes
//   …  u64 LE  CreatedDate (ms; 0 makes the stock client drop the frame)
//   …  i64 LE  SequenceNumber
//   …  u32 LE  PayloadLength (readers take the rest of the frame, as the stock client does)
//   …          payload
// Browser-safe (Uint8Array and DataView only): the console's terminal uses it too.

export const CLIENT_FRAME_HEADER_BYTES = 30;

export const ClientMessageType = {
  Input: 0,
  Output: 1,
  SetSize: 2,
  Close: 3,
  Status: 5,
} as const;

/** Status codes the server sends the client (first payload byte of a type-5 frame). */
export const ClientStatusCode = {
  /** the session closed; the rest of the payload is the reason (see CLIENT_CLOSE_REASONS) */
  Closed: 5,
  /** the rest is a big-endian speed in bits/s the client may send at */
  Speed: 7,
} as const;

/** Reasons of a Closed status the stock client knows how to word. */
export const CLIENT_CLOSE_REASONS = [
  'Exit',
  'AgentTimeout',
  'InitChannelFailed',
  'OpenChannelFailed',
  'SessionIdDuplicated',
  'ProcessDataError',
  'OpenPtyFailed',
  'FlowExceedLimit',
] as const;

export interface ClientFrame {
  messageType: number;
  schemaVersion: string;
  sessionId: string;
  instanceId: string;
  createdDate: number;
  sequenceNumber: number;
  payload: Uint8Array;
}

const ascii = (b: Uint8Array): string => String.fromCharCode(...b).replace(/^[\0 ]+|[\0 ]+$/g, '');

/** A frame as the stock client writes it: empty id fields, schema `1.01`. */
export function encodeClientFrame(
  messageType: number,
  payload: Uint8Array,
  sequenceNumber = 0,
  createdDate = Date.now(),
): Uint8Array {
  const out = new Uint8Array(CLIENT_FRAME_HEADER_BYTES + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, messageType, true);
  out.set([0x31, 0x2e, 0x30, 0x31], 4); // "1.01"
  // bytes 8 and 9: both id lengths 0
  v.setBigUint64(10, BigInt(createdDate), true);
  v.setBigInt64(18, BigInt(sequenceNumber), true);
  v.setUint32(26, payload.length, true);
  out.set(payload, CLIENT_FRAME_HEADER_BYTES);
  return out;
}

/** Reads a client frame; undefined when it is too short for its own id lengths or CreatedDate is 0. */
export function decodeClientFrame(data: Uint8Array): ClientFrame | undefined {
  if (data.length < CLIENT_FRAME_HEADER_BYTES) {
    return undefined;
  }
  const v = new DataView(data.buffer, data.byteOffset, data.length);
  const sidLen = data[8]!;
  const iidAt = 9 + sidLen;
  if (data.length < CLIENT_FRAME_HEADER_BYTES + sidLen) {
    return undefined;
  }
  const iidLen = data[iidAt]!;
  const at = iidAt + 1 + iidLen;
  if (data.length < at + 20) {
    return undefined;
  }
  const createdDate = v.getBigUint64(at, true);
  if (createdDate === 0n) {
    return undefined;
  }
  return {
    messageType: v.getUint32(0, true),
    schemaVersion: ascii(data.subarray(4, 8)),
    sessionId: ascii(data.subarray(9, 9 + sidLen)),
    instanceId: ascii(data.subarray(iidAt + 1, at)),
    createdDate: Number(createdDate),
    sequenceNumber: Number(v.getBigInt64(at + 8, true)),
    payload: data.subarray(at + 20),
  };
}

/** The stock client's set_size payload: int16 LE rows, then int16 LE cols. */
export function encodeClientSize(cols: number, rows: number): Uint8Array {
  const out = new Uint8Array(4);
  const v = new DataView(out.buffer);
  v.setInt16(0, rows, true);
  v.setInt16(2, cols, true);
  return out;
}

/** Undefined unless 4 bytes of positive rows and cols. */
export function parseClientSize(payload: Uint8Array): { cols: number; rows: number } | undefined {
  if (payload.length !== 4) {
    return undefined;
  }
  const v = new DataView(payload.buffer, payload.byteOffset, 4);
  const rows = v.getInt16(0, true);
  const cols = v.getInt16(2, true);
  return rows > 0 && cols > 0 ? { cols, rows } : undefined;
}

/** Status payload telling the client the session closed, and why. */
export function encodeClientClosed(reason: string): Uint8Array {
  const out = new Uint8Array(1 + reason.length);
  out[0] = ClientStatusCode.Closed;
  for (let i = 0; i < reason.length; i++) {
    out[1 + i] = reason.charCodeAt(i) & 0x7f;
  }
  return out;
}

/** Status payload with the speed the client may send at: 4 bytes big-endian bits/s. */
export function encodeClientSpeed(bitsPerSecond: number): Uint8Array {
  const out = new Uint8Array(5);
  out[0] = ClientStatusCode.Speed;
  new DataView(out.buffer).setUint32(1, Math.min(bitsPerSecond, 0xffffffff), false);
  return out;
}

/** Reads a status payload: the code, and for Closed the reason text. */
export function parseClientStatus(payload: Uint8Array): { code: number; reason: string } | undefined {
  const code = payload[0];
  return code === undefined
    ? undefined
    : { code, reason: code === ClientStatusCode.Closed ? ascii(payload.subarray(1)) : '' };
}
