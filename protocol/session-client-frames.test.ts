import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClientMessageType,
  decodeClientFrame,
  encodeClientClosed,
  encodeClientFrame,
  encodeClientSize,
  encodeClientSpeed,
  parseClientSize,
  parseClientStatus,
} from './session-client-frames.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('user-side session frames (stock ali-instance-cli layout)', () => {
  it('writes the 30-byte header with empty id fields, as the stock client serialises', () => {
    const f = encodeClientFrame(ClientMessageType.Input, Buffer.from('ls\n'), 0, 1700000000000);
    // type 0 | "1.01" | sid len 0 | iid len 0 | CreatedDate LE | seq 0 | length 3 | "ls\n"
    assert.equal(
      hex(f),
      ['00000000', '312e3031', '00', '00', '0068e5cf8b010000', '0000000000000000', '03000000', '6c730a'].join(''),
    );
  });

  it('reads frames back, id fields of any length included, and drops a zero CreatedDate', () => {
    const f = decodeClientFrame(encodeClientFrame(ClientMessageType.Output, Buffer.from('hi'), 7, 1234));
    assert.equal(f?.messageType, ClientMessageType.Output);
    assert.equal(f?.sequenceNumber, 7);
    assert.equal(f?.createdDate, 1234);
    assert.equal(Buffer.from(f!.payload).toString(), 'hi');
    // session id "s-1" and instance id "i-9" written with their lengths
    const withIds = Buffer.concat([
      Buffer.from('01000000312e3031', 'hex'),
      Buffer.from([3]),
      Buffer.from('s-1'),
      Buffer.from([3]),
      Buffer.from('i-9'),
      Buffer.from('d204000000000000' + '0100000000000000' + '02000000', 'hex'),
      Buffer.from('ok'),
    ]);
    const g = decodeClientFrame(withIds);
    assert.equal(g?.sessionId, 's-1');
    assert.equal(g?.instanceId, 'i-9');
    assert.equal(g?.createdDate, 1234);
    assert.equal(Buffer.from(g!.payload).toString(), 'ok');
    assert.equal(decodeClientFrame(encodeClientFrame(0, Buffer.from('x'), 0, 0)), undefined);
    assert.equal(decodeClientFrame(new Uint8Array(29)), undefined);
    // an id length pointing past the end of the frame
    const short = encodeClientFrame(0, new Uint8Array(0), 0, 1);
    short[8] = 200;
    assert.equal(decodeClientFrame(short), undefined);
  });

  it('carries the window size as int16 LE rows then cols, and status codes 5 and 7', () => {
    assert.equal(hex(encodeClientSize(132, 43)), '2b008400');
    assert.deepEqual(parseClientSize(encodeClientSize(132, 43)), { cols: 132, rows: 43 });
    assert.equal(parseClientSize(new Uint8Array([0, 0, 1, 0])), undefined);
    assert.equal(parseClientSize(new Uint8Array(3)), undefined);
    assert.deepEqual(parseClientStatus(encodeClientClosed('AgentTimeout')), { code: 5, reason: 'AgentTimeout' });
    assert.equal(hex(encodeClientSpeed(1_000_000_000)), '073b9aca00');
  });
});
