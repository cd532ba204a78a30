import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  OutputAccounting,
  SKIP_EMPTY_MAX_SILENCE_MS,
  TailBuffer,
  effectiveQuota,
  reportIntervalMs,
} from './output-accounting.js';

/** Distinct bytes, so a wrong offset shows up as a content mismatch. */
const bytes = (n: number, from = 0): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) % 251));

/** Reference model: the whole stream in memory, exactly as §5.6 describes it. */
function reference(ops: ({ push: Buffer } | { tick: true })[], quota: number) {
  let pending = Buffer.alloc(0);
  let final = Buffer.alloc(0);
  let sent = 0;
  const bodies: Buffer[] = [];
  for (const op of ops) {
    if ('push' in op) {
      pending = Buffer.concat([pending, op.push]);
      continue;
    }
    const n = Math.min(2048, pending.length);
    if (sent <= 6000) {
      bodies.push(pending.subarray(0, n));
      sent += n;
    } else {
      final = Buffer.concat([final, pending.subarray(0, n)]);
      bodies.push(Buffer.alloc(0));
    }
    pending = pending.subarray(n);
  }
  final = Buffer.concat([final, pending]);
  const budget = quota - sent;
  const dropped = Math.max(0, final.length - budget);
  return { bodies, body: final.subarray(dropped), dropped, sent };
}

describe('effective limits', () => {
  it('raises logQuota to 12000 and the interval to 1000 ms', () => {
    assert.equal(effectiveQuota(0), 12_000);
    assert.equal(effectiveQuota(11_999), 12_000);
    assert.equal(effectiveQuota(24_576), 24_576);
    assert.equal(effectiveQuota(Number.NaN), 12_000);
    assert.equal(reportIntervalMs(0), 1_000);
    assert.equal(reportIntervalMs(-5), 1_000);
    assert.equal(reportIntervalMs(2_500), 2_500);
  });
});

describe('TailBuffer', () => {
  it('keeps the last cap bytes and counts everything', () => {
    const t = new TailBuffer(10);
    t.push(Buffer.from('abcdef'));
    t.push(Buffer.from('ghijklmno'));
    assert.equal(t.total, 15);
    assert.equal(t.tail(10).toString(), 'fghijklmno');
    assert.equal(t.tail(3).toString(), 'mno');
    t.push(Buffer.from('0123456789ABCDEF'));
    assert.equal(t.tail(10).toString(), '6789ABCDEF');
    assert.equal(t.total, 31);
  });
  it('copies what it keeps, so the caller may reuse its buffer', () => {
    const t = new TailBuffer(100);
    const b = Buffer.from('xyz');
    t.push(b);
    b.fill(0);
    assert.equal(t.tail(3).toString(), 'xyz');
  });
});

describe('OutputAccounting', () => {
  it('small output: one running chunk, nothing left for the final report', () => {
    const a = new OutputAccounting({ logQuota: 0, skipEmpty: false });
    a.started(0);
    a.push(Buffer.from('hello\n'));
    assert.equal(a.tick(1000)?.toString(), 'hello\n');
    assert.equal(a.runningSent, 6);
    assert.deepEqual(a.final(), { body: Buffer.alloc(0), dropped: 0 });
  });

  it('output that ends before any tick goes whole into the final report', () => {
    const a = new OutputAccounting({ logQuota: 0, skipEmpty: false });
    a.push(Buffer.from('hello\n'));
    assert.deepEqual(a.final(), { body: Buffer.from('hello\n'), dropped: 0 });
  });

  it('a body given back (its running report failed) is taken again first, then the final report has the rest', () => {
    const a = new OutputAccounting({ logQuota: 12000, skipEmpty: false });
    a.push(Buffer.from('first\n'));
    const lost = a.tick(0)!;
    assert.equal(lost.toString(), 'first\n');
    a.push(Buffer.from('second\n'));
    a.giveBack(lost);
    assert.equal(a.runningSent, 0);
    assert.equal(a.tick(1000)!.toString(), 'first\nsecond\n');
    a.push(Buffer.from('third\n'));
    assert.equal(a.final().body.toString(), 'third\n');
  });

  it('an idle tick without skipEmpty is an empty report', () => {
    const a = new OutputAccounting({ logQuota: 0, skipEmpty: false });
    a.started(0);
    assert.deepEqual(a.tick(1000), Buffer.alloc(0));
  });

  it('takes at most 2048 bytes per tick while S <= 6000, including at exactly 6000', () => {
    const a = new OutputAccounting({ logQuota: 0, skipEmpty: false });
    a.started(0);
    const data = bytes(6000);
    a.push(data);
    assert.deepEqual(a.tick(1), data.subarray(0, 2048));
    assert.deepEqual(a.tick(2), data.subarray(2048, 4096));
    assert.deepEqual(a.tick(3), data.subarray(4096, 6000));
    assert.equal(a.runningSent, 6000);
    // S == 6000 is still "<= 6000": the next tick takes another chunk.
    const more = bytes(3000, 6000);
    a.push(more);
    assert.deepEqual(a.tick(4), more.subarray(0, 2048));
    assert.equal(a.runningSent, 8048);
    // Now S > 6000: only empty pings, the rest stays for the final report.
    assert.deepEqual(a.tick(5), Buffer.alloc(0));
    assert.deepEqual(a.tick(6), Buffer.alloc(0));
    assert.equal(a.runningSent, 8048);
    assert.deepEqual(a.final(), { body: more.subarray(2048), dropped: 0 });
  });

  it('stops streaming once S is 6001', () => {
    const a = new OutputAccounting({ logQuota: 0, skipEmpty: false });
    a.started(0);
    a.push(bytes(2048));
    a.tick(1);
    a.push(bytes(2048));
    a.tick(2);
    a.push(bytes(1905));
    a.tick(3);
    assert.equal(a.runningSent, 6001);
    a.push(bytes(5000));
    assert.deepEqual(a.tick(4), Buffer.alloc(0));
    assert.equal(a.final().body.length, 5000);
  });

  it('final segment exactly at quota − S is sent whole; one byte more drops one', () => {
    const at = new OutputAccounting({ logQuota: 12_000, skipEmpty: false });
    at.push(bytes(12_000));
    assert.deepEqual(at.final(), { body: bytes(12_000), dropped: 0 });

    const over = new OutputAccounting({ logQuota: 12_000, skipEmpty: false });
    const data = bytes(12_001);
    over.push(data);
    assert.deepEqual(over.final(), { body: data.subarray(1), dropped: 1 });

    const afterRunning = new OutputAccounting({ logQuota: 12_000, skipEmpty: false });
    afterRunning.started(0);
    afterRunning.push(bytes(100));
    afterRunning.tick(1); // S = 100 → budget 11900
    afterRunning.push(bytes(11_900, 7));
    assert.equal(afterRunning.final().dropped, 0);
    afterRunning.push(Buffer.from('!'));
    const f = afterRunning.final();
    assert.equal(f.dropped, 1);
    assert.equal(f.body.length, 11_900);
    assert.equal(f.body.at(-1), '!'.charCodeAt(0));
  });

  it('> 6000 bytes streamed, then empty pings, and running + final == quota', () => {
    const a = new OutputAccounting({ logQuota: 0, skipEmpty: false });
    a.started(0);
    const data = bytes(20_000);
    const bodies: Buffer[] = [];
    for (let i = 0; i < 10; i += 1) {
      a.push(data.subarray(i * 2000, (i + 1) * 2000));
      bodies.push(a.tick(i + 1)!);
    }
    assert.deepEqual(
      bodies.map((b) => b.length),
      [2000, 2000, 2000, 2000, 0, 0, 0, 0, 0, 0],
    );
    assert.equal(a.runningSent, 8000);
    const f = a.final();
    assert.equal(f.body.length, 12_000 - 8000);
    assert.equal(f.dropped, 12_000 - 4000);
    assert.deepEqual(f.body, data.subarray(20_000 - 4000));
    assert.equal(a.runningSent + f.body.length, a.quota);
  });

  it('2 MB output: sent total == quota, dropped counts the rest, the kept bytes are the tail', () => {
    const a = new OutputAccounting({ logQuota: 24_576, skipEmpty: false });
    a.started(0);
    const total = 2 * 1024 * 1024;
    const data = bytes(total);
    let running = 0;
    for (let off = 0, t = 1; off < total; off += 65_536, t += 1) {
      a.push(data.subarray(off, off + 65_536));
      if (t % 4 === 0) {
        running += a.tick(t)!.length;
      }
    }
    assert.equal(running, a.runningSent);
    assert.equal(running, 3 * 2048);
    const f = a.final();
    assert.equal(running + f.body.length, 24_576);
    assert.equal(f.dropped, total - running - f.body.length);
    assert.deepEqual(f.body, data.subarray(total - f.body.length));
  });

  it('memory stays bounded for 50 MB of output', () => {
    const a = new OutputAccounting({ logQuota: 0, skipEmpty: false });
    a.started(0);
    const chunk = Buffer.alloc(65_536, 0x61);
    let peak = 0;
    for (let i = 0; i < 800; i += 1) {
      a.push(chunk);
      if (i % 50 === 0) {
        a.tick(i);
      }
      peak = Math.max(peak, a.bufferedBytes);
    }
    assert.ok(peak <= 12_000 + 65_536 + 8_048, `peak ${peak}`);
    const f = a.final();
    assert.equal(a.runningSent + f.body.length, 12_000);
    assert.equal(f.dropped, 800 * 65_536 - 12_000);
  });

  it('skipEmpty suppresses empty reports until a minute has passed since the last one', () => {
    const a = new OutputAccounting({ logQuota: 0, skipEmpty: true });
    a.started(0);
    assert.equal(a.tick(1_000), undefined);
    assert.equal(a.tick(SKIP_EMPTY_MAX_SILENCE_MS - 1), undefined);
    assert.deepEqual(a.tick(SKIP_EMPTY_MAX_SILENCE_MS), Buffer.alloc(0));
    assert.equal(a.tick(SKIP_EMPTY_MAX_SILENCE_MS + 1_000), undefined);
    // Output is never skipped, and it restarts the silence clock.
    a.push(Buffer.from('x'));
    assert.equal(a.tick(SKIP_EMPTY_MAX_SILENCE_MS + 2_000)?.toString(), 'x');
    assert.equal(a.tick(2 * SKIP_EMPTY_MAX_SILENCE_MS + 1_000), undefined);
    assert.deepEqual(a.tick(2 * SKIP_EMPTY_MAX_SILENCE_MS + 2_000), Buffer.alloc(0));
  });

  it('skipEmpty also suppresses the pings after the running cap', () => {
    const a = new OutputAccounting({ logQuota: 0, skipEmpty: true });
    a.started(0);
    a.push(bytes(10_000));
    for (let t = 1; t <= 3; t += 1) {
      assert.equal(a.tick(t)?.length, 2048);
    }
    assert.equal(a.runningSent, 6144);
    assert.equal(a.tick(4), undefined);
    assert.deepEqual(a.tick(3 + SKIP_EMPTY_MAX_SILENCE_MS), Buffer.alloc(0));
  });

  it('matches the whole-buffer reference model on random streams', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round += 1) {
      const quota = effectiveQuota(rand(3) === 0 ? 20_000 : 0);
      const ops: ({ push: Buffer } | { tick: true })[] = [];
      let off = 0;
      for (let k = rand(40); k > 0; k -= 1) {
        if (rand(2) === 0) {
          const n = [1, 100, 2047, 2048, 2049, 5000, 13_000][rand(7)]!;
          ops.push({ push: bytes(n, off) });
          off += n;
        } else {
          ops.push({ tick: true });
        }
      }
      const a = new OutputAccounting({ logQuota: quota, skipEmpty: false });
      a.started(0);
      const bodies: Buffer[] = [];
      ops.forEach((op, t) => ('push' in op ? a.push(op.push) : bodies.push(a.tick(t)!)));
      const want = reference(ops, quota);
      assert.deepEqual(
        bodies.map((b) => b.toString('hex')),
        want.bodies.map((b) => b.toString('hex')),
        `round ${round}`,
      );
      assert.equal(a.runningSent, want.sent);
      const f = a.final();
      assert.equal(f.dropped, want.dropped, `round ${round}`);
      assert.ok(f.body.equals(want.body), `round ${round}`);
    }
  });
});
