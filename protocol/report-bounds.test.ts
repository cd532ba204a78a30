import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReportQuery } from './reports.js';
import { AGENT_CLOCK_LEAD_MAX_MS, AGENT_TIME_MIN_MS, DROPPED_MAX } from './report-bounds.js';
import { parseSendFileReportQuery } from './send-file.js';
import { parseTaskListQuery } from './task-list.js';

const NOW = Date.UTC(2025, 5, 1);
const finish = (q: string) => parseReportQuery('finish', new URLSearchParams(`taskId=t-1&${q}`), NOW);
const refused = (r: object) => 'error' in r;

describe('report bounds', () => {
  it('takes times from 2000 to a day past the server clock, and 0 as "not given"', () => {
    assert.deepEqual(finish(`start=${AGENT_TIME_MIN_MS}&end=${NOW + AGENT_CLOCK_LEAD_MAX_MS}&exitCode=0&dropped=0`), {
      kind: 'finish',
      taskId: 't-1',
      invokeVersion: 0,
      start: AGENT_TIME_MIN_MS,
      end: NOW + AGENT_CLOCK_LEAD_MAX_MS,
      exitCode: 0,
      dropped: 0,
    });
    assert.equal(refused(finish('start=0&end=0&exitCode=0&dropped=0')), false);
    assert.equal(refused(finish('exitCode=0')), false);
    for (const q of [
      'start=1&end=2',
      `start=${AGENT_TIME_MIN_MS - 1}`,
      `end=${NOW + AGENT_CLOCK_LEAD_MAX_MS + 1}`,
      'end=9000000000000000',
      'end=1e15',
      'end=-5',
      'start=NaN',
      'start=Infinity',
      'start=0x10',
      'start=+1700000000000',
      'start=1700000000000.5',
      `start=${'9'.repeat(400)}`,
      `start=${NOW}&currentTime=1`,
    ]) {
      assert.ok(refused(finish(q)), q);
    }
  });

  it('takes exit codes in the signed and unsigned 32-bit ranges, dropped from 0 to 1 TiB', () => {
    for (const c of ['-2147483648', '4294967295', '3221225477', '-1', '0']) {
      assert.equal(refused(finish(`exitCode=${c}`)), false, c);
    }
    for (const c of ['-2147483649', '4294967296', '99999999999', 'abc']) {
      assert.ok(refused(finish(`exitCode=${c}`)), c);
    }
    assert.equal(refused(finish(`dropped=${DROPPED_MAX}`)), false);
    assert.ok(refused(finish(`dropped=${DROPPED_MAX + 1}`)));
    assert.ok(refused(finish('dropped=-1')));
    assert.ok(refused(finish('invokeVersion=-1')));
    assert.ok(refused(finish('invokeVersion=2147483648')));
    assert.ok(refused(finish('offset=999999&timeZone=UTC&currentTime=0')));
  });

  it('reports every problem at once, and names the fields', () => {
    const r = finish('start=1&exitCode=x&dropped=-1');
    assert.ok('error' in r);
    assert.match(r.error, /start: .*; exitCode: .*; dropped: /);
  });

  it('refuses a stopped report whose result is neither killed nor completed', () => {
    const stopped = (result: string) =>
      parseReportQuery('stopped', new URLSearchParams(`taskId=t&exitcode=0&result=${result}`), NOW);
    assert.equal(refused(stopped('killed')), false);
    assert.equal(refused(stopped('completed')), false);
    assert.ok(refused(stopped('constructor')));
    assert.ok(refused(stopped('')));
  });

  it('refuses sendfile reports with codes, statuses or params the stock agent never sends', () => {
    const q = (s: string) => new URLSearchParams(`taskId=t&taskType=sendfile&${s}`);
    assert.equal(refused(parseSendFileReportQuery('finish', q('status=Success&errorcode=0'))), false);
    assert.equal(refused(parseSendFileReportQuery('finish', q('status=Failed&errorcode=4'))), false);
    for (const s of ['status=Success&errorcode=', 'status=Success&errorcode= 1', 'status=Success&errorcode=1e0']) {
      assert.ok(refused(parseSendFileReportQuery('finish', q(s))), s);
    }
    assert.ok(refused(parseSendFileReportQuery('finish', q('status=Maybe&errorcode=0'))));
    for (const p of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      assert.ok(refused(parseSendFileReportQuery('invalid', q(`param=${p}&value=x`))), p);
    }
  });

  it('bounds the task list query the same way', () => {
    const list = (s: string) => parseTaskListQuery(new URLSearchParams(`reason=kickoff&${s}`), NOW);
    assert.equal(list(`currentTime=${NOW}&offset=28800&timeZone=UTC`).ok, true);
    assert.equal(list(`currentTime=${NOW}&offset=0.5`).ok, false);
    assert.equal(list(`currentTime=1e400&offset=0`).ok, false);
    assert.equal(list(`currentTime=${NOW}&offset=86401`).ok, false);
    assert.equal(list(`offset=0`).ok, false);
  });
});
