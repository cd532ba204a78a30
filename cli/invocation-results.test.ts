import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderResults, toInstanceResult, waitUntilEnded, type InstanceResult } from './invocation-results.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('invocation results', () => {
  it('decodes the API result: output, duration from whole-second times, missing exit code', () => {
    const r = toInstanceResult({
      InstanceId: 'mi-1',
      InvocationStatus: 'Failed',
      InvokeRecordStatus: 'Finished',
      ExitCode: 3,
      ErrorCode: 'ExitCodeNonzero',
      StartTime: '2024-01-01T00:00:01Z',
      FinishedTime: '2024-01-01T00:00:04Z',
      Output: b64('hi\n中文\n'),
      Dropped: 0,
    });
    assert.equal(r.Output, 'hi\n中文\n');
    assert.equal(r.DurationMs, 3000);
    assert.equal(r.ExitCode, 3);
    const pending = toInstanceResult({
      InstanceId: 'mi-2',
      InvocationStatus: 'Pending',
      InvokeRecordStatus: 'Pending',
    });
    assert.equal(pending.ExitCode, undefined);
    assert.equal(pending.DurationMs, undefined);
    assert.equal(pending.Output, '');
  });

  it('renders the table, then each output under its instance', () => {
    const results: InstanceResult[] = [
      {
        ...base('mi-a'),
        Status: 'Failed',
        ExitCode: 3,
        ErrorCode: 'ExitCodeNonzero',
        DurationMs: 2000,
        Output: 'hi\n',
      },
      { ...base('mi-b'), Status: 'Timeout', RecordStatus: 'Failed', ErrorInfo: 'the command timed out', Dropped: 10 },
    ];
    assert.equal(
      renderResults(results),
      [
        'INSTANCE  STATUS   EXIT CODE  DURATION  ERROR',
        'mi-a      Failed   3          2s        ExitCodeNonzero',
        'mi-b      Timeout',
        '',
        '--- mi-a (Failed, exit code 3) ---',
        'hi',
        '',
        '--- mi-b (Timeout) ---',
        '(the command timed out)',
        '(10 bytes of earlier output dropped)',
        '(no output)',
        '',
      ].join('\n'),
    );
  });

  it('waits until every record has ended, reporting progress as it goes', async () => {
    const rounds: InstanceResult[][] = [
      [],
      [{ ...base('mi-a'), RecordStatus: 'Running' }],
      [{ ...base('mi-a'), RecordStatus: 'Finished', Status: 'Success' }],
    ];
    let calls = 0;
    let progress = '';
    const slept: number[] = [];
    const r = await waitUntilEnded<InstanceResult>({
      fetch: () => Promise.resolve(rounds[Math.min(calls++, rounds.length - 1)]!),
      ended: (x) => x.RecordStatus === 'Finished',
      ok: (x) => x.Status === 'Success',
      progress: { write: (s: string) => (progress += s) },
      sleep: (ms) => {
        slept.push(ms);
        return Promise.resolve();
      },
    });
    assert.equal(calls, 3);
    assert.equal(r[0]?.Status, 'Success');
    assert.deepEqual(slept, [500, 650]);
    assert.equal(
      progress,
      'progress: 0/0 instances finished\nprogress: 0/1 instances finished\nprogress: 1/1 instances finished\n',
    );
  });
});

function base(id: string): InstanceResult {
  return {
    InstanceId: id,
    Status: 'Running',
    RecordStatus: 'Finished',
    ExitCode: undefined,
    ErrorCode: '',
    ErrorInfo: '',
    StartTime: '',
    FinishedTime: '',
    DurationMs: undefined,
    Output: '',
    Dropped: 0,
  };
}
