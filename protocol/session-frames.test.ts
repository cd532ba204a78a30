import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeSessionFrame,
  encodeSessionFrame,
  encodeSetSize,
  encodeSpeedStatus,
  parseSessionStatusQuery,
  parseSessionTask,
  parseSetSize,
  parseStatusPayload,
  SESSION_DEFAULT_FLOW_LIMIT_BPS,
  SESSION_FRAME_HEADER_BYTES,
  SESSION_PACKET_BYTES,
  SessionMessageType,
  sessionSendIntervalMs,
  sessionStatusPath,
} from './index.js';

// The example of spec §6, fields separated by spaces.
const SPEC_EXAMPLE_HEX =
  '01000000 312e3031 732d303132333435363738396162636465662020202020202020202020202020 ' +
  '0068e5cf8b010000 0000000000000000 03000000 6c730a';

describe('session frames', () => {
  it('encodes the spec example byte for byte', () => {
    const frame = encodeSessionFrame({
      messageType: SessionMessageType.OutputStreamData,
      sessionId: 's-0123456789abcdef',
      createdDate: 1700000000000,
      sequenceNumber: 0,
      payload: Buffer.from('ls\n'),
    });
    assert.equal(frame.toString('hex'), SPEC_EXAMPLE_HEX.replace(/ /g, ''));
    assert.equal(frame.length, SESSION_FRAME_HEADER_BYTES + 3);
  });

  it('decodes the spec example', () => {
    const f = decodeSessionFrame(Buffer.from(SPEC_EXAMPLE_HEX.replace(/ /g, ''), 'hex'));
    assert.deepEqual(f, {
      messageType: 1,
      schemaVersion: '1.01',
      sessionId: 's-0123456789abcdef',
      createdDate: 1700000000000,
      sequenceNumber: 0,
      payload: Buffer.from('ls\n'),
    });
  });

  it('reads as the stock agent: trims NULs and spaces, ignores PayloadLength, drops CreatedDate 0', () => {
    const f = encodeSessionFrame({
      messageType: 0,
      sessionId: 'c-1',
      createdDate: 5,
      sequenceNumber: 9,
      payload: Buffer.from('abc'),
    });
    f.fill(0, 8 + 3, 40); // NUL padding instead of spaces
    f.writeUInt32LE(1, 56); // a wrong PayloadLength
    const d = decodeSessionFrame(f);
    assert.equal(d?.sessionId, 'c-1');
    assert.equal(d?.sequenceNumber, 9);
    assert.equal(d?.payload.toString(), 'abc');
    f.writeBigUInt64LE(0n, 40);
    assert.equal(decodeSessionFrame(f), undefined);
    assert.equal(decodeSessionFrame(Buffer.alloc(59, 1)), undefined);
  });

  it('refuses a session id longer than the field and a zero date', () => {
    assert.throws(
      () => encodeSessionFrame({ messageType: 1, sessionId: 'x'.repeat(33), payload: Buffer.alloc(0) }),
      RangeError,
    );
    assert.throws(
      () => encodeSessionFrame({ messageType: 1, sessionId: 'x', createdDate: 0, payload: Buffer.alloc(0) }),
      RangeError,
    );
    const full = encodeSessionFrame({ messageType: 1, sessionId: 'y'.repeat(32), payload: Buffer.alloc(0) });
    assert.equal(decodeSessionFrame(full)?.sessionId, 'y'.repeat(32));
  });

  it('round-trips set_size and refuses bad sizes', () => {
    assert.equal(encodeSetSize({ cols: 120, rows: 40 }).toString(), '{"cols":120,"rows":40}');
    assert.deepEqual(parseSetSize(Buffer.from('{"cols":120,"rows":40}')), { cols: 120, rows: 40 });
    assert.equal(parseSetSize(Buffer.from('{"cols":-1,"rows":40}')), undefined);
    assert.equal(parseSetSize(Buffer.from('{"cols":80}')), undefined);
    assert.equal(parseSetSize(Buffer.from('nope')), undefined);
  });

  it('encodes the speed status big-endian in 1-4 bytes', () => {
    assert.deepEqual([...encodeSpeedStatus(200)], [7, 200]);
    assert.deepEqual([...encodeSpeedStatus(200_000)], [7, 0x03, 0x0d, 0x40]);
    assert.deepEqual([...encodeSpeedStatus(0xffffffff)], [7, 0xff, 0xff, 0xff, 0xff]);
    assert.deepEqual(parseStatusPayload(Buffer.from([7, 0x03, 0x0d, 0x40])), { code: 7, speed: 200_000 });
    assert.deepEqual(parseStatusPayload(Buffer.from([7, 0, 1])), { code: 7, speed: 1 });
    assert.deepEqual(parseStatusPayload(Buffer.from([7, 1, 2, 3, 4, 5])), { code: 7 });
    assert.deepEqual(parseStatusPayload(Buffer.from([3, 1])), { code: 3 });
    assert.equal(parseStatusPayload(Buffer.alloc(0)), undefined);
    assert.throws(() => encodeSpeedStatus(2 ** 32), RangeError);
  });

  it('paces like the stock agent and stops pausing at high speeds', () => {
    assert.equal(sessionSendIntervalMs(SESSION_DEFAULT_FLOW_LIMIT_BPS * 2, SESSION_PACKET_BYTES.shell), 20);
    assert.equal(sessionSendIntervalMs(8 * 2048 * 12, SESSION_PACKET_BYTES.port), 83);
    assert.equal(sessionSendIntervalMs(400_000_000, SESSION_PACKET_BYTES.port), 0);
    assert.equal(sessionSendIntervalMs(100, SESSION_PACKET_BYTES.shell), 1000);
  });
});

describe('session control messages', () => {
  it('reads a session entry with the wire types', () => {
    const r = parseSessionTask({
      channelId: 's-1',
      cmdContent: '',
      username: null,
      portNumber: '8080',
      targetHost: '',
      flowLimit: 0,
      websocketUrl: 'wss://x',
      extra: 1,
    });
    assert.equal(r.ok, true);
    assert.deepEqual(r.ok && r.value, {
      channelId: 's-1',
      cmdContent: '',
      username: '',
      windowsPasswordName: '',
      portNumber: '8080',
      targetHost: '',
      flowLimit: 0,
      websocketUrl: 'wss://x',
    });
  });

  it('refuses ids that cannot travel in a frame and non-string ports', () => {
    const bad = parseSessionTask({ channelId: 'x'.repeat(33), portNumber: 22 });
    assert.equal(bad.ok, false);
    assert.equal(!bad.ok && bad.errors.length, 2);
    assert.equal(parseSessionTask({ channelId: 'a b' }).ok, false);
    assert.equal(parseSessionTask({}).ok, false);
  });

  it('builds and reads the status report query', () => {
    const path = sessionStatusPath('s-1', 'Timeout');
    assert.equal(path, '/luban/api/v1/session/status?channelId=s-1&status=Success&errorcode=Timeout');
    const q = new URL(`http://h${sessionStatusPath('s-2', 'Open_pty_failed')}`).searchParams;
    assert.deepEqual(parseSessionStatusQuery(q), { channelId: 's-2', status: 'Failed', errorcode: 'Open_pty_failed' });
    assert.ok('error' in parseSessionStatusQuery(new URLSearchParams('channelId=a&status=Success&errorcode=Nope')));
  });
});
