import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createMemoryLogger } from '../shared/index.js';
import { ReportOutbox, type OutboxEntry, type OutboxItem, type OutboxReport } from './report-outbox.js';

const base = mkdtempSync(join(tmpdir(), 'oca-outbox-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(base, `box-${(n += 1)}`, 'outbox');

const fin = (taskId: string, exitCode = 0): OutboxReport => ({
  kind: 'finish',
  taskId,
  invokeVersion: 0,
  start: 1,
  end: 2,
  exitCode,
  dropped: 0,
});

/** A post that refuses the first `refuse` attempts per task, recording every attempt. */
function server(refuse = 0) {
  const attempts: { taskId: string; kind: string; body: string; at: number }[] = [];
  const post = async (r: OutboxItem, body: Buffer) => {
    attempts.push({ taskId: r.taskId, kind: r.kind, body: body.toString('latin1'), at: Date.now() });
    return attempts.filter((a) => a.taskId === r.taskId).length > refuse;
  };
  return { attempts, post };
}

describe('ReportOutbox', () => {
  it('writes the entry (0600 in a 0700 dir) before sending, removes it once accepted', async () => {
    const dir = freshDir();
    let onDiskWhenPosted: string[] = [];
    const accepted: OutboxEntry[] = [];
    const box = new ReportOutbox({
      dir,
      log: createMemoryLogger(),
      post: async () => {
        onDiskWhenPosted = readdirSync(dir);
        return true;
      },
      onAccepted: (e) => accepted.push(e),
    });
    await box.open();
    box.startSending();
    const body = Buffer.from([0xe4, 0xb8, 0x0a, 0xff]); // not valid UTF-8: kept byte for byte
    const e = await box.put(fin('t-1'), body);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, e.name)).mode & 0o777, 0o600);
    await box.idle();
    assert.deepEqual(onDiskWhenPosted, [e.name]);
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(accepted.length, 1);
    assert.deepEqual(accepted[0]!.body, body);
    assert.equal(box.pendingCount, 0);
  });

  it('retries with growing delays until accepted', async () => {
    const dir = freshDir();
    const s = server(3);
    const box = new ReportOutbox({
      dir,
      log: createMemoryLogger(),
      post: s.post,
      retry: { initialMs: 40, maxMs: 5_000 },
    });
    await box.open();
    box.startSending();
    await box.put(fin('t-2'));
    // 3 refusals: waits of 40, 80, 160 ms, jittered down to half at most (lower bounds only: a
    // loaded machine makes a wait longer, never shorter).
    await box.idle();
    assert.equal(s.attempts.length, 4);
    const gaps = s.attempts.slice(1).map((a, i) => a.at - s.attempts[i]!.at);
    assert.ok(gaps[0]! >= 15 && gaps[1]! >= 35 && gaps[2]! >= 75, `gaps ${gaps.join(',')}`);
    assert.equal(box.has('t-2'), false);
  });

  it('wake() cuts a retry wait short', async () => {
    const dir = freshDir();
    const s = server(1);
    // After the refusal the next try is 30-60 s away: only wake() brings it sooner.
    const log = createMemoryLogger();
    const box = new ReportOutbox({ dir, log, post: s.post, retry: { initialMs: 60_000, maxMs: 60_000 } });
    await box.open();
    box.startSending();
    await box.put(fin('t-2w'));
    // Wake it once it waits (the log line comes right before the wait starts).
    while (!log.events.some((e) => e.msg === 'task report will be retried')) {
      await new Promise((r) => setTimeout(r, 5));
    }
    box.wake();
    await box.idle();
    assert.equal(s.attempts.length, 2);
    const gap = s.attempts[1]!.at - s.attempts[0]!.at;
    assert.ok(gap < 20_000, `woken early: ${gap} ms, not the 30 s retry wait`);
    assert.equal(box.has('t-2w'), false);
  });

  it('keeps what was not accepted across a restart, with its power action, in order per task', async () => {
    const dir = freshDir();
    const refuseAll = async () => false;
    const a = new ReportOutbox({
      dir,
      log: createMemoryLogger(),
      post: refuseAll,
      retry: { initialMs: 10_000, maxMs: 10_000 },
    });
    await a.open();
    a.startSending();
    await a.put(fin('t-3', 194), Buffer.from('bye\n'), 'reboot');
    await a.put({
      kind: 'stopped',
      taskId: 't-3',
      invokeVersion: 0,
      start: 0,
      end: 0,
      exitCode: 0,
      dropped: 0,
      result: 'killed',
    });
    await a.put({ kind: 'invalid', taskId: 't-4', invokeVersion: 2, param: 'TypeInvalid', value: 'TypeInvalid_X' });
    assert.ok(a.has('t-3') && a.has('t-4'));
    a.stop();
    await a.idle();
    assert.equal(readdirSync(dir).length, 3);

    const s = server();
    const accepted: OutboxEntry[] = [];
    const b = new ReportOutbox({ dir, log: createMemoryLogger(), post: s.post, onAccepted: (e) => accepted.push(e) });
    assert.equal(await b.open(), 3);
    assert.equal(s.attempts.length, 0, 'nothing is sent before startSending()');
    b.startSending();
    await b.idle();
    assert.deepEqual(
      s.attempts.filter((x) => x.taskId === 't-3').map((x) => x.kind),
      ['finish', 'stopped'],
    );
    assert.equal(accepted.find((e) => e.report.kind === 'finish')?.after, 'reboot');
    assert.equal(accepted.find((e) => e.report.kind === 'finish')?.body.toString(), 'bye\n');
    assert.deepEqual(accepted.find((e) => e.report.kind === 'invalid')?.report, {
      kind: 'invalid',
      taskId: 't-4',
      invokeVersion: 2,
      param: 'TypeInvalid',
      value: 'TypeInvalid_X',
    });
    assert.deepEqual(readdirSync(dir), []);
  });

  it('drops half-written temporaries, sets aside unreadable entries', async () => {
    const dir = freshDir();
    const a = new ReportOutbox({ dir, log: createMemoryLogger(), post: async () => false });
    await a.open();
    writeFileSync(join(dir, '.tmp-abc-00000000000001-000001-finish-t-5.report'), '{"v":1,');
    writeFileSync(join(dir, '00000000000002-000001-finish-t-6.report'), 'not json\n');
    const good = `${JSON.stringify({ v: 1, report: fin('t-7'), bodyLength: 3 })}\nabc`;
    writeFileSync(join(dir, '00000000000003-000001-finish-t-7.report'), good);
    writeFileSync(
      join(dir, '00000000000004-000001-finish-t-8.report'),
      `${JSON.stringify({ v: 1, report: fin('t-8'), bodyLength: 9 })}\nshort`,
    );
    const log = createMemoryLogger();
    const b = new ReportOutbox({ dir, log, post: async () => true });
    assert.equal(await b.open(), 1);
    assert.ok(b.has('t-7') && !b.has('t-6') && !b.has('t-8'));
    assert.deepEqual(readdirSync(dir).sort(), [
      '00000000000002-000001-finish-t-6.report.corrupt',
      '00000000000003-000001-finish-t-7.report',
      '00000000000004-000001-finish-t-8.report.corrupt',
    ]);
    assert.equal(log.events.filter((e) => e.msg === 'outbox entry unreadable').length, 2);
  });

  it('keeps a report in memory and still sends it when the disk refuses the write', async () => {
    const dir = freshDir();
    const s = server();
    const log = createMemoryLogger();
    const box = new ReportOutbox({ dir, log, post: s.post });
    await box.open();
    box.startSending();
    // Replace the directory by a file: every write into it fails (ENOTDIR), even for root.
    rmSync(dir, { recursive: true });
    writeFileSync(dir, '');
    const e = await box.put(fin('t-9'), Buffer.from('x'));
    assert.equal(e.durable, false);
    await box.idle();
    assert.deepEqual(
      s.attempts.map((a) => a.taskId),
      ['t-9'],
    );
    assert.ok(
      log.events.some((x) => x.level === 'error' && x.msg === 'outbox write failed; report kept in memory only'),
    );
    assert.equal(readFileSync(dir, 'utf8'), '');
  });

  it('an unusable directory at open does not stop the agent: reports are held in memory', async () => {
    const parent = join(base, `file-${(n += 1)}`);
    writeFileSync(parent, 'not a directory');
    const s = server();
    const log = createMemoryLogger();
    const box = new ReportOutbox({ dir: join(parent, 'outbox'), log, post: s.post });
    assert.equal(await box.open(), 0);
    assert.ok(log.events.some((x) => x.level === 'error' && x.msg === 'outbox unusable'));
    box.startSending();
    assert.equal((await box.put(fin('t-10'))).durable, false);
    await box.idle();
    assert.deepEqual(
      s.attempts.map((a) => a.taskId),
      ['t-10'],
    );
  });
});
