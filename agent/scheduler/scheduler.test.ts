import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Report, RunTaskEntry, WallClock } from '../../protocol/index.js';
import { createMemoryLogger } from '../shared/index.js';
import type { ClockPort } from './clock.js';
import { Scheduler, type RunHandle, type RunPool, type RunSummary } from './scheduler.js';

const T0 = Date.parse('2022-01-01T00:00:00.500Z');

/** A clock that only moves when told to; timers fire in time order as it passes them. */
class TestClock implements ClockPort {
  #now: number;
  #timers: { at: number; fire: () => void; seq: number }[] = [];
  #seq = 0;
  constructor(now: number) {
    this.#now = now;
  }
  now(): number {
    return this.#now;
  }
  setTimer(at: number, fire: () => void): () => void {
    const t = { at, fire, seq: (this.#seq += 1) };
    this.#timers.push(t);
    return () => {
      this.#timers = this.#timers.filter((x) => x !== t);
    };
  }
  get pending(): number {
    return this.#timers.length;
  }
  /** Moves to `to`, firing due timers one by one and letting promise callbacks run after each. */
  async advanceTo(to: number): Promise<void> {
    await settle(); // what the test did before (a run finishing) lands before the next timer fires
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= to).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) {
        break;
      }
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.fire();
      await settle();
    }
    this.#now = Math.max(this.#now, to);
    await settle();
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Submitted {
  entry: RunTaskEntry;
  wallClock: WallClock | undefined;
  finish(summary?: RunSummary): void;
  stoppedWith: number | undefined;
}

/** The task engine's side of the port: records runs and reports; each run ends when told. */
class RecordingPool implements RunPool {
  runs: Submitted[] = [];
  reports: Report[] = [];
  /** When set, every run ends as soon as it was submitted (a script that takes no time). */
  instantRuns = false;
  submitPeriodicRun(entry: RunTaskEntry, _instanceId: string, wallClock: () => WallClock | undefined): RunHandle {
    let resolve!: (s: RunSummary | undefined) => void;
    const done = new Promise<RunSummary | undefined>((r) => (resolve = r));
    const run: Submitted = {
      entry,
      wallClock: wallClock(),
      finish: (s) => resolve(s),
      stoppedWith: undefined,
    };
    this.runs.push(run);
    if (this.instantRuns) {
      run.finish({ start: 1, end: 2, exitCode: 0 });
    }
    return {
      done,
      stop: (iv) => {
        run.stoppedWith = iv;
        this.reports.push({
          kind: 'stopped',
          taskId: entry.task.taskID,
          invokeVersion: iv,
          start: 1,
          end: 2,
          exitCode: 0,
          dropped: 0,
          result: 'killed',
        });
        resolve(undefined);
      },
    };
  }
  queueReport(r: Extract<Report, { kind: 'invalid' | 'stopped' }>): Promise<void> {
    this.reports.push(r);
    return Promise.resolve();
  }
}

function entry(
  repeat: RunTaskEntry['repeat'],
  cron: string,
  o: { id?: string; iv?: number; created?: number } = {},
): RunTaskEntry {
  return {
    task: {
      taskID: o.id ?? 't-periodic',
      invokeVersion: o.iv ?? 1,
      type: 'RunShellScript',
      commandId: 'c-1',
      commandName: 'sched',
      commandContent: Buffer.from('echo hi').toString('base64'),
      workingDirectory: '',
      timeOut: '60',
      cron,
      username: '',
      windowsPasswordName: '',
      enableParameter: false,
      builtInParameter: {},
      creationTime: o.created ?? T0,
    },
    output: { interval: 1000, logQuota: 12000, skipEmpty: false, sendStart: false },
    repeat,
  };
}

function setup(systemTimeZone = 'UTC') {
  const clock = new TestClock(T0);
  const pool = new RecordingPool();
  const log = createMemoryLogger();
  const scheduler = new Scheduler({ pool, log, clock, systemTimeZone });
  return { clock, pool, log, scheduler };
}

const iso = (ms: number): string => new Date(ms).toISOString();

describe('Scheduler', () => {
  it('runs a per-second cron at its fire times with the cron wall-clock extras', async () => {
    const { clock, pool, scheduler } = setup();
    scheduler.schedule(entry('Period', '*/2 * * * * ?'), 'i-1');
    await clock.advanceTo(T0 + 1000);
    assert.equal(pool.runs.length, 0, 'nothing before the first fire time (00:00:02)');
    for (let i = 0; i < 5; i += 1) {
      await clock.advanceTo(Date.parse('2022-01-01T00:00:02Z') + i * 2000);
      assert.equal(pool.runs.length, i + 1);
      assert.deepEqual(pool.runs[i]!.wallClock, { currentTime: clock.now(), offset: 0, timeZone: 'UTC' });
      pool.runs[i]!.finish({ start: clock.now(), end: clock.now() + 100, exitCode: 0 });
    }
    assert.deepEqual(pool.reports, []);
  });

  it('uses the zone written in the expression for the fire times and the extras', async () => {
    const { clock, pool, scheduler } = setup('America/New_York');
    scheduler.schedule(entry('Period', '0 0 8 * * ? Asia/Shanghai'), 'i-1');
    await clock.advanceTo(Date.parse('2022-01-02T00:00:00Z'));
    assert.equal(pool.runs.length, 1);
    assert.equal(clock.now(), Date.parse('2022-01-02T00:00:00Z'));
    assert.deepEqual(pool.runs[0]!.wallClock, {
      currentTime: Date.parse('2022-01-02T00:00:00Z'),
      offset: 28800,
      timeZone: 'Asia/Shanghai',
    });
  });

  it('rate runs on the creationTime grid with only currentTime as extra', async () => {
    const { clock, pool, scheduler } = setup();
    pool.instantRuns = true;
    const created = T0 - 1000;
    scheduler.schedule(entry('Rate', 'rate(5s)', { created }), 'i-1');
    await clock.advanceTo(created + 12_000);
    assert.deepEqual(
      pool.runs.map((r) => r.wallClock?.currentTime),
      [created + 5000, created + 10_000],
    );
    assert.deepEqual(pool.runs[0]!.wallClock, { currentTime: created + 5000 });
  });

  it('at runs once, with no extras and no completed notice', async () => {
    const { clock, pool, scheduler } = setup();
    scheduler.schedule(entry('At', 'at(2022-01-01T00:00:03)'), 'i-1');
    await clock.advanceTo(T0 + 60_000);
    assert.equal(pool.runs.length, 1);
    assert.equal(pool.runs[0]!.wallClock, undefined);
    pool.runs[0]!.finish({ start: 1, end: 2, exitCode: 0 });
    await settle();
    assert.deepEqual(pool.reports, []);
    assert.deepEqual(scheduler.scheduledIds, []);
    assert.equal(clock.pending, 0);
  });

  it('an expired at is only logged; invalid expressions are reported with their code', async () => {
    const { pool, log, scheduler } = setup();
    scheduler.schedule(entry('At', 'at(2021-12-31T00:00:00)', { id: 't-at' }), 'i-1');
    scheduler.schedule(entry('Period', '0 0 0 32 * ?', { id: 't-cron' }), 'i-1');
    scheduler.schedule(entry('Period', '0 0 0 * * ? 2021', { id: 't-old' }), 'i-1');
    scheduler.schedule(entry('Rate', 'rate(5x)', { id: 't-rate' }), 'i-1');
    scheduler.schedule(entry('Rate', 'rate(1001d)', { id: 't-big' }), 'i-1');
    scheduler.schedule(entry('Period', '0 0 0 * * ? GMT+15:00', { id: 't-tz' }), 'i-1');
    assert.deepEqual(
      pool.reports.map((r) => [r.taskId, r.kind, r.kind === 'invalid' ? `${r.param}=${r.value}` : '']),
      [
        ['t-cron', 'invalid', 'cron=InvalidCronExpression'],
        ['t-old', 'invalid', 'cron=CronExpressionExpired'],
        ['t-rate', 'invalid', 'cron=InvalidRateExpression'],
        ['t-big', 'invalid', 'cron=RateFrequencyTooLarge'],
        ['t-tz', 'invalid', 'cron=InvalidGMTOffsetHourForTimezone'],
      ],
    );
    assert.ok(log.events.some((e) => e.msg === 'at task already past, not scheduled' && e.fields.taskId === 't-at'));
    assert.deepEqual(scheduler.scheduledIds, []);
  });

  it('the same invokeVersion again is ignored; a new one replaces the schedule silently', async () => {
    const { clock, pool, scheduler } = setup();
    scheduler.schedule(entry('Rate', 'rate(10s)', { iv: 1 }), 'i-1');
    scheduler.schedule(entry('Rate', 'rate(10s)', { iv: 1 }), 'i-1');
    assert.equal(clock.pending, 1, 'one timer for a duplicate delivery');
    await clock.advanceTo(T0 + 10_000);
    assert.equal(pool.runs.length, 1);
    pool.runs[0]!.finish({ start: 1, end: 2, exitCode: 0 });
    await settle();

    pool.instantRuns = true;
    scheduler.schedule(entry('Period', '*/3 * * * * ?', { iv: 2 }), 'i-1');
    assert.equal(clock.pending, 1, 'the old timer is gone');
    await clock.advanceTo(T0 + 20_000);
    const after = pool.runs.slice(1);
    assert.ok(after.length >= 3);
    assert.ok(after.every((r) => r.entry.task.invokeVersion === 2 && r.entry.repeat === 'Period'));
    assert.ok(after.every((r) => new Date(r.wallClock!.currentTime).getUTCSeconds() % 3 === 0));
    assert.deepEqual(pool.reports, [], 'a replacement sends nothing');
  });

  it('skips a tick while the previous run is still running, and logs it', async () => {
    const { clock, pool, log, scheduler } = setup();
    scheduler.schedule(entry('Period', '*/2 * * * * ?'), 'i-1');
    await clock.advanceTo(Date.parse('2022-01-01T00:00:02Z'));
    assert.equal(pool.runs.length, 1);
    await clock.advanceTo(Date.parse('2022-01-01T00:00:06Z'));
    assert.equal(pool.runs.length, 1, 'the ticks at :04 and :06 were skipped');
    assert.equal(
      log.events.filter((e) => e.msg === 'periodic run skipped, the previous run is still running').length,
      2,
    );
    pool.runs[0]!.finish({ start: 1, end: 2, exitCode: 0 });
    await settle();
    await clock.advanceTo(Date.parse('2022-01-01T00:00:08Z'));
    assert.equal(pool.runs.length, 2);
  });

  it('sends stopped result=completed after the last cron run has ended', async () => {
    const clock = new TestClock(Date.parse('2022-12-31T23:59:55Z'));
    const pool = new RecordingPool();
    const scheduler = new Scheduler({ pool, log: createMemoryLogger(), clock, systemTimeZone: 'UTC' });
    scheduler.schedule(entry('Period', '*/2 * * * * ? 2022', { iv: 4 }), 'i-1');
    await clock.advanceTo(Date.parse('2022-12-31T23:59:57Z'));
    pool.runs[0]!.finish({ start: 1, end: 2, exitCode: 0 });
    await clock.advanceTo(Date.parse('2023-01-01T00:00:10Z'));
    assert.deepEqual(
      pool.runs.map((r) => iso(r.wallClock!.currentTime)),
      ['2022-12-31T23:59:56.000Z', '2022-12-31T23:59:58.000Z'],
    );
    // The :58 run still runs: the notice waits for its final report.
    assert.deepEqual(pool.reports, []);
    pool.runs[1]!.finish({ start: 3, end: 4, exitCode: 0 });
    await settle();
    assert.deepEqual(pool.reports, [
      {
        kind: 'stopped',
        taskId: 't-periodic',
        invokeVersion: 4,
        start: 0,
        end: 0,
        exitCode: 0,
        dropped: 0,
        result: 'completed',
      },
    ]);
    assert.deepEqual(scheduler.scheduledIds, []);
  });

  it('stop of a running periodic task kills the run and removes the timer', async () => {
    const { clock, pool, scheduler } = setup();
    scheduler.schedule(entry('Rate', 'rate(2s)', { created: T0 }), 'i-1');
    await clock.advanceTo(T0 + 2000);
    assert.equal(pool.runs.length, 1);
    scheduler.stopTask(entry('Rate', 'rate(2s)', { iv: 7 }));
    assert.equal(pool.runs[0]!.stoppedWith, 7);
    assert.equal(clock.pending, 0);
    await clock.advanceTo(T0 + 20_000);
    assert.equal(pool.runs.length, 1, 'no run after the stop');
    assert.equal(pool.reports.length, 1);
    assert.equal(pool.reports[0]!.kind === 'stopped' && pool.reports[0]!.result, 'killed');
  });

  it('stop of an idle periodic task reports the last run; of an unknown one, zeros', async () => {
    const { clock, pool, scheduler } = setup();
    scheduler.schedule(entry('Period', '*/2 * * * * ?'), 'i-1');
    await clock.advanceTo(Date.parse('2022-01-01T00:00:02Z'));
    pool.runs[0]!.finish({ start: 1640995202000, end: 1640995202250, exitCode: 3 });
    await settle();
    scheduler.stopTask(entry('Period', '*/2 * * * * ?'));
    scheduler.stopTask(entry('Period', '*/2 * * * * ?', { id: 't-unknown', iv: 9 }));
    assert.deepEqual(pool.reports, [
      {
        kind: 'stopped',
        taskId: 't-periodic',
        invokeVersion: 1,
        result: 'killed',
        start: 1640995202000,
        end: 1640995202250,
        exitCode: 3,
        dropped: 0,
      },
      {
        kind: 'stopped',
        taskId: 't-unknown',
        invokeVersion: 9,
        result: 'killed',
        start: 0,
        end: 0,
        exitCode: 0,
        dropped: 0,
      },
    ]);
    await clock.advanceTo(T0 + 30_000);
    assert.equal(pool.runs.length, 1);
  });

  it('stop() of the service drops every timer', async () => {
    const { clock, pool, scheduler } = setup();
    scheduler.schedule(entry('Rate', 'rate(1s)', { id: 'a' }), 'i-1');
    scheduler.schedule(entry('Period', '* * * * * ?', { id: 'b' }), 'i-1');
    assert.equal(clock.pending, 2);
    await scheduler.stop();
    assert.equal(clock.pending, 0);
    await clock.advanceTo(T0 + 10_000);
    assert.equal(pool.runs.length, 0);
  });
});
