import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Report, TaskListQuery } from '../../protocol/index.js';
import { isApiError } from '../shared/index.js';
import { instanceRow, runCommandInput } from '../../test/harness/store-rows.js';
import { forEachStore } from '../../test/harness/stores.js';
import type { Db } from '../store/index.js';
import { InvocationService } from './invocations.js';
import { resolveSchedule } from './schedules.js';

const code = (c: string) => (e: unknown) => isApiError(e) && e.code === c;
const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);
const CRON = '0/10 * * * * ?';

/** A real store (of the dialect under test) and service; the notifier is the service's port, recorded. */
async function setup(open: () => Promise<Db>, connected = true) {
  const db: Db = await open();
  const kicks: string[] = [];
  const svc = new InvocationService(
    db,
    {
      connectedAmong: async (ids) => new Set(connected ? ids : []),
      kick: (ids, m) => kicks.push(...ids.map((id) => `${id} ${m}`)),
      disconnect: () => {},
    },
    'cn-local',
  );
  await db
    .insertInto('instances')
    .values(instanceRow('mi-1', { instance_name: 'one', registered_at: T0 }))
    .execute();
  const run = (extra: { repeatMode?: string; frequency?: string; timeout?: number } = {}) =>
    svc.runCommand(
      runCommandInput(['mi-1'], {
        timeout: extra.timeout ?? 10,
        repeatMode: extra.repeatMode ?? 'Once',
        frequency: extra.frequency,
      }),
      T0,
    );
  const fetch = (q: Partial<TaskListQuery> = {}) =>
    svc.tasksFor('mi-1', { reason: 'kickoff', currentTime: T0, offset: 0, timeZone: 'UTC', ...q }, T0);
  const startup = (coldStart: boolean) => fetch({ reason: 'startup', coldStart });
  const finish = (taskId: string, start: number, exitCode = 0, out = `run ${start}\n`) =>
    svc.applyReport(
      'mi-1',
      { kind: 'finish', taskId, invokeVersion: 0, start, end: start + 5, exitCode, dropped: 0 },
      Buffer.from(out),
      start + 6,
    );
  const report = (r: Report) => svc.applyReport('mi-1', r, Buffer.alloc(0), T0 + 100_000);
  const invocation = async (id: string) =>
    (
      await svc.describeInvocations({
        invokeId: id,
        includeOutput: true,
        contentEncoding: 'PlainText',
        paging: { mode: 'page', pageNumber: 1, pageSize: 10 },
      })
    ).Invocations.Invocation[0]!;
  const results = async (id: string, includeHistory = false) =>
    (
      await svc.describeResults({
        invokeId: id,
        contentEncoding: 'PlainText',
        paging: { mode: 'page', pageNumber: 1, pageSize: 50 },
        includeHistory,
      })
    ).Invocation.InvocationResults.InvocationResult;
  return { db, svc, kicks, run, fetch, startup, finish, report, invocation, results };
}

describe('schedule settings of a new invocation', () => {
  it('makes an invocation with a Frequency Period, and wants one for Period', () => {
    const s = resolveSchedule({ repeatMode: 'Once', frequency: CRON, timeoutSeconds: 10 }, T0, 'UTC');
    assert.equal(s.repeatMode, 'Period');
    assert.equal(s.wireRepeat, 'Period');
    assert.equal(s.timed, true);
    assert.ok(s.wireCron.length > 0);
    assert.throws(
      () => resolveSchedule({ repeatMode: 'Period', frequency: undefined, timeoutSeconds: 10 }, T0, 'UTC'),
      (e) => code('MissingParameter')(e) && /Frequency/.test((e as Error).message),
    );
    const rate = resolveSchedule({ repeatMode: 'Period', frequency: 'rate(5m)', timeoutSeconds: 60 }, T0, 'UTC');
    assert.deepEqual([rate.wireRepeat, rate.wireCron], ['Rate', 'rate(5m)']);
  });
  it('ignores Frequency-free boot modes and refuses other modes', () => {
    const b = resolveSchedule({ repeatMode: 'EveryReboot', frequency: undefined, timeoutSeconds: 60 }, T0, 'UTC');
    assert.deepEqual([b.repeatMode, b.wireRepeat, b.wireCron, b.timed], ['EveryReboot', '', '', true]);
    assert.throws(
      () => resolveSchedule({ repeatMode: 'DryRun', frequency: undefined, timeoutSeconds: 60 }, T0, 'UTC'),
      code('InvalidParameter.RepeatMode'),
    );
  });
  it('refuses a bad Frequency with the precise code and a message naming Frequency', () => {
    const refused = (frequency: string, timeoutSeconds: number, c: string) =>
      assert.throws(
        () => resolveSchedule({ repeatMode: 'Period', frequency, timeoutSeconds }, T0, 'UTC'),
        (e) => code(c)(e) && /Frequency/.test((e as Error).message),
        frequency,
      );
    refused('rate(30s)', 10, 'InvalidParameter.RateFrequency');
    refused('rate(5m)', 600, 'InvalidParameter.RateFrequency'); // not longer than the timeout
    refused('at(2020-01-01 00:00:00 UTC)', 10, 'InvalidParameter.AtFrequency'); // in the past
    refused('0/5 * * * * ?', 10, 'InvalidParameter.Frequency'); // closer than 10 s
    refused('0/10 * * * * ?', 30, 'InvalidParameter.Frequency'); // closer than the timeout
    refused('61 * * * * ?', 10, 'InvalidParameter.Frequency');
  });
});

forEachStore((store) => {
  describe('Period invocations', () => {
    it('are Scheduled, delivered once with repeat, cron and creationTime, and re-sent on every startup', async () => {
      const h = await setup(store.open);
      const { InvokeId } = await h.run({ frequency: CRON });
      assert.equal((await h.invocation(InvokeId)).InvocationStatus, 'Scheduled');
      assert.equal(h.kicks.length, 1, 'a connected agent is kicked');
      const first = await h.fetch();
      assert.equal(first.run.length, 1);
      const e = first.run[0]!;
      assert.equal(e.repeat, 'Period');
      assert.equal(
        e.task.cron,
        (await h.db.selectFrom('invocations').select('wire_cron').executeTakeFirstOrThrow()).wire_cron,
      );
      assert.equal(e.task.creationTime, T0);
      assert.equal(e.task.invokeVersion, 0);
      assert.equal((await h.fetch()).run.length, 0, 'not again on a kickoff fetch: the agent holds it');
      assert.equal((await h.startup(false)).run.length, 1, 'a restarted agent gets it again');
      assert.equal((await h.startup(true)).run.length, 1);
      assert.equal((await h.fetch({ taskId: InvokeId })).run.length, 1, 'a targeted fetch gets it');
    });

    it('records each run once, stays Running, and counts Repeats', async () => {
      const h = await setup(store.open);
      const { InvokeId } = await h.run({ frequency: CRON });
      await h.fetch();
      const s1 = T0 + 10_000;
      const s2 = T0 + 20_000;
      assert.equal(
        await h.report({ kind: 'running', taskId: InvokeId, invokeVersion: 0, start: s1 }),
        'applied',
        'a start report opens the run',
      );
      assert.equal(await h.finish(InvokeId, s1), 'applied');
      assert.equal(await h.finish(InvokeId, s1), 'ignored', 'a re-sent final report is not a second run');
      assert.equal(await h.finish(InvokeId, s2, 3), 'applied');
      const inv = await h.invocation(InvokeId);
      assert.equal(inv.InvocationStatus, 'Running');
      assert.equal(inv.InvokeInstances.InvokeInstance[0]!.Repeats, 2);
      const latest = await h.results(InvokeId);
      assert.equal(latest.length, 1, 'one row per instance without IncludeHistory');
      assert.deepEqual([latest[0]!.Repeats, latest[0]!.InvocationStatus, latest[0]!.ExitCode], [2, 'Running', 3]);
      assert.equal(latest[0]!.Output, `run ${s2}\n`, 'the latest run');
      const runs = await h.results(InvokeId, true);
      assert.deepEqual(
        runs.map((r) => [r.Repeats, r.InvocationStatus, r.ExitCode, r.Output]),
        [
          [2, 'Failed', 3, `run ${s2}\n`],
          [1, 'Success', 0, `run ${s1}\n`],
        ],
      );
    });

    it('stops through the agent: Stopping, a stop entry with the original repeat, then Stopped', async () => {
      const h = await setup(store.open);
      const { InvokeId } = await h.run({ frequency: CRON });
      await h.fetch();
      const s1 = T0 + 10_000;
      await h.report({ kind: 'running', taskId: InvokeId, invokeVersion: 0, start: s1 });
      await h.svc.stop(InvokeId, [], T0 + 11_000);
      assert.equal((await h.invocation(InvokeId)).InvocationStatus, 'Stopping');
      assert.ok(h.kicks.at(-1)!.endsWith(`task stop ${InvokeId}`));
      const f = await h.fetch({ taskId: InvokeId });
      assert.equal(f.run.length, 0);
      assert.deepEqual([f.stop[0]!.repeat, f.stop[0]!.task.cron !== ''], ['Period', true]);
      await h.report({
        kind: 'stopped',
        taskId: InvokeId,
        invokeVersion: 0,
        start: s1,
        end: s1 + 500,
        exitCode: -1,
        dropped: 0,
        result: 'killed',
      });
      assert.equal((await h.invocation(InvokeId)).InvocationStatus, 'Stopped');
      assert.deepEqual(
        (await h.results(InvokeId, true)).map((r) => r.InvocationStatus),
        ['Stopped'],
        'the run in progress is stopped',
      );
      assert.equal((await h.startup(false)).run.length, 0, 'never re-sent once stopped');
    });

    it("finishes on the agent's stopped result=completed, and an at() schedule after its run", async () => {
      const h = await setup(store.open);
      const { InvokeId } = await h.run({ frequency: CRON });
      await h.fetch();
      await h.finish(InvokeId, T0 + 10_000);
      await h.report({
        kind: 'stopped',
        taskId: InvokeId,
        invokeVersion: 0,
        start: 0,
        end: 0,
        exitCode: 0,
        dropped: 0,
        result: 'completed',
      });
      assert.equal((await h.invocation(InvokeId)).InvocationStatus, 'Finished');
      const at = await h.run({ frequency: 'at(2030-01-01 00:05:00 UTC)' });
      assert.equal((await h.fetch()).run[0]!.repeat, 'At');
      await h.finish(at.InvokeId, T0 + 300_000);
      assert.equal((await h.invocation(at.InvokeId)).InvocationStatus, 'Finished');
    });

    it('takes a new Frequency: invokeVersion goes up and the agent gets it again', async () => {
      const h = await setup(store.open);
      const { InvokeId } = await h.run({ frequency: CRON });
      await h.fetch();
      await assert.rejects(
        h.svc.modify({ invokeId: InvokeId, contentEncoding: 'PlainText', instanceIds: [], frequency: 'rate(10s)' }, T0),
        code('InvalidParameter.RateFrequency'),
      );
      await h.svc.modify(
        { invokeId: InvokeId, contentEncoding: 'PlainText', instanceIds: [], frequency: 'rate(5m)' },
        T0,
      );
      assert.ok(h.kicks.at(-1)!.endsWith(`task run ${InvokeId}`));
      const again = await h.fetch();
      assert.deepEqual(
        [again.run[0]!.task.invokeVersion, again.run[0]!.repeat, again.run[0]!.task.cron],
        [1, 'Rate', 'rate(5m)'],
      );
      assert.equal((await h.fetch()).run.length, 0);
      assert.equal((await h.invocation(InvokeId)).Frequency, 'rate(5m)');
      const once = await h.run();
      await assert.rejects(
        h.svc.modify(
          { invokeId: once.InvokeId, contentEncoding: 'PlainText', instanceIds: [], frequency: 'rate(5m)' },
          T0,
        ),
        code('InvalidOperation.InvocationNotModifiable'),
      );
    });

    it('waits for an agent that is not connected instead of failing', async () => {
      const h = await setup(store.open, false);
      const { InvokeId } = await h.run({ frequency: CRON });
      assert.equal((await h.invocation(InvokeId)).InvocationStatus, 'Scheduled');
      assert.equal((await h.fetch()).run.length, 1, 'delivered on its first fetch');
    });
  });

  describe('boot-time invocations', () => {
    it('NextRebootOnly: nothing at creation or on a warm start, once on the next cold start', async () => {
      const h = await setup(store.open);
      const { InvokeId } = await h.run({ repeatMode: 'NextRebootOnly' });
      assert.equal(h.kicks.length, 0, 'nothing to kick: it runs after the next boot');
      assert.equal((await h.invocation(InvokeId)).InvocationStatus, 'Scheduled');
      assert.equal((await h.fetch()).run.length, 0);
      assert.equal((await h.startup(false)).run.length, 0);
      const boot = await h.startup(true);
      assert.deepEqual([boot.run.length, boot.run[0]!.repeat], [1, 'NextRebootOnly']);
      await h.finish(InvokeId, T0 + 1000);
      assert.equal((await h.invocation(InvokeId)).InvocationStatus, 'Finished');
      assert.equal((await h.startup(true)).run.length, 0, 'not on the boot after');
    });

    it('EveryReboot: on every cold start, each run its own record, Running until stopped', async () => {
      const h = await setup(store.open);
      const { InvokeId } = await h.run({ repeatMode: 'EveryReboot' });
      assert.equal((await h.startup(false)).run.length, 0);
      for (const [i, start] of [T0 + 1000, T0 + 2000].entries()) {
        const boot = await h.startup(true);
        assert.deepEqual([boot.run.length, boot.run[0]!.repeat], [1, 'EveryReboot'], `boot ${i + 1}`);
        await h.finish(InvokeId, start);
        assert.equal((await h.invocation(InvokeId)).InvocationStatus, 'Running');
      }
      assert.equal((await h.results(InvokeId, true)).length, 2);
      assert.equal((await h.results(InvokeId))[0]!.Repeats, 2);
      await h.svc.stop(InvokeId, [], T0 + 3000);
      assert.equal((await h.invocation(InvokeId)).InvocationStatus, 'Stopped', 'idle between boots: stopped at once');
      assert.equal((await h.startup(true)).run.length, 0);
    });

    it('IncludeHistory wants the InvokeId of a Period or EveryReboot invocation', async () => {
      const h = await setup(store.open);
      const once = await h.run();
      await assert.rejects(h.results(once.InvokeId, true), code('InvalidParameter'));
    });
  });
});
