import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatWireAt,
  nextFireTimes,
  offsetSecondsAt,
  parseFrequency,
  parseWireSchedule,
  type Schedule,
  type WireScheduleErrorCode,
} from './index.js';

const NOW = Date.UTC(2022, 0, 1); // Saturday 2022-01-01T00:00:00Z
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

function cron(expr: string, zone = 'UTC', now = NOW): Schedule {
  const r = parseWireSchedule('Period', expr, 0, now, zone);
  assert.ok(r.ok, `${expr}: ${r.ok ? '' : r.message}`);
  return r.schedule;
}

/** The next fire times as ISO strings (UTC, no milliseconds). */
function fires(expr: string, zone: string, from: string, count: number): string[] {
  return nextFireTimes(cron(expr, zone, Date.parse(from)), Date.parse(from), count).map(iso);
}

describe('cron: the product docs examples (UTC, from 2022-01-01T00:00:00Z)', () => {
  // The ECS "Cron expressions" page's examples table, plus the year examples of openapi.md.
  // Day-of-week numbers follow the Cloud Assistant convention: 1 = Monday … 6 = Saturday, 7 = Sunday.
  const table: [string, string[]][] = [
    ['0 15 10 ? * *', ['2022-01-01T10:15:00Z', '2022-01-02T10:15:00Z', '2022-01-03T10:15:00Z']],
    ['0 15 10 * * ?', ['2022-01-01T10:15:00Z', '2022-01-02T10:15:00Z', '2022-01-03T10:15:00Z']],
    ['0 0 12 * * ?', ['2022-01-01T12:00:00Z', '2022-01-02T12:00:00Z']],
    [
      '0 0 10,14,16 * * ?',
      ['2022-01-01T10:00:00Z', '2022-01-01T14:00:00Z', '2022-01-01T16:00:00Z', '2022-01-02T10:00:00Z'],
    ],
    ['0 * 14 * * ?', ['2022-01-01T14:00:00Z', '2022-01-01T14:01:00Z', '2022-01-01T14:02:00Z']],
    ['0 0 12 ? * WED', ['2022-01-05T12:00:00Z', '2022-01-12T12:00:00Z', '2022-01-19T12:00:00Z']],
    ['0 15 10 15 * ?', ['2022-01-15T10:15:00Z', '2022-02-15T10:15:00Z', '2022-03-15T10:15:00Z']],
    ['0 15 10 L * ?', ['2022-01-31T10:15:00Z', '2022-02-28T10:15:00Z', '2022-03-31T10:15:00Z']],
    ['0 15 10 ? * 6L', ['2022-01-29T10:15:00Z', '2022-02-26T10:15:00Z', '2022-03-26T10:15:00Z']],
    ['0 15 10 ? * 6#3', ['2022-01-15T10:15:00Z', '2022-02-19T10:15:00Z', '2022-03-19T10:15:00Z']],
    ['0 10,44 14 ? 3 WED', ['2022-03-02T14:10:00Z', '2022-03-02T14:44:00Z', '2022-03-09T14:10:00Z']],
    ['0 15 10 ? * 6#3 2022,2023', ['2022-01-15T10:15:00Z', '2022-02-19T10:15:00Z', '2022-03-19T10:15:00Z']],
    ['0 10,44 14 ? 3 WED 2022/2', ['2022-03-02T14:10:00Z', '2022-03-02T14:44:00Z', '2022-03-09T14:10:00Z']],
  ];
  for (const [expr, want] of table) {
    it(expr, () => assert.deepEqual(fires(expr, 'UTC', '2022-01-01T00:00:00Z', want.length), want));
  }

  it('0 0/30 9-17 * * ? runs every half hour 09:00–17:30, then the next day', () => {
    const day = fires('0 0/30 9-17 * * ?', 'UTC', '2022-01-01T00:00:00Z', 19);
    assert.equal(day[0], '2022-01-01T09:00:00Z');
    assert.equal(day[1], '2022-01-01T09:30:00Z');
    assert.equal(day[17], '2022-01-01T17:30:00Z');
    assert.equal(day[18], '2022-01-02T09:00:00Z');
  });

  it('0 0-5 14 * * ? and 0 0/5 14,18 * * ? stay inside their hours', () => {
    assert.deepEqual(fires('0 0-5 14 * * ?', 'UTC', '2022-01-01T14:04:30Z', 3), [
      '2022-01-01T14:05:00Z',
      '2022-01-02T14:00:00Z',
      '2022-01-02T14:01:00Z',
    ]);
    assert.deepEqual(fires('0 0/5 14 * * ?', 'UTC', '2022-01-01T14:50:00Z', 2), [
      '2022-01-01T14:55:00Z',
      '2022-01-02T14:00:00Z',
    ]);
    assert.deepEqual(fires('0 0/5 14,18 * * ?', 'UTC', '2022-01-01T14:55:00Z', 2), [
      '2022-01-01T18:00:00Z',
      '2022-01-01T18:05:00Z',
    ]);
  });

  it('a year list ends: 6#3 in 2022 and 2023 fires 24 times, the last on 2023-12-16', () => {
    const all = fires('0 15 10 ? * 6#3 2022,2023', 'UTC', '2022-01-01T00:00:00Z', 40);
    assert.equal(all.length, 24);
    assert.equal(all[23], '2023-12-16T10:15:00Z');
  });

  it('a year step skips to the next matching year: 2022/2 → March 2024', () => {
    assert.deepEqual(fires('0 10,44 14 ? 3 WED 2022/2', 'UTC', '2022-04-01T00:00:00Z', 2), [
      '2024-03-06T14:10:00Z',
      '2024-03-06T14:44:00Z',
    ]);
  });

  it('0 0/30 9-17 * * ? 2022-2025 in Asia/Shanghai (UTC+8)', () => {
    assert.deepEqual(fires('0 0/30 9-17 * * ? 2022-2025', 'Asia/Shanghai', '2022-01-01T00:00:00Z', 3), [
      '2022-01-01T01:00:00Z',
      '2022-01-01T01:30:00Z',
      '2022-01-01T02:00:00Z',
    ]);
    // The range ends with 2025: the last run is 2025-12-31 17:30 Shanghai.
    const tail = fires('0 0/30 9-17 * * ? 2022-2025', 'Asia/Shanghai', '2025-12-31T09:00:00Z', 5);
    assert.deepEqual(tail, ['2025-12-31T09:30:00Z']);
  });
});

describe('cron: time zones', () => {
  it('6#3 at 10:15 in Shanghai, New York and Berlin (winter and summer)', () => {
    assert.deepEqual(fires('0 15 10 ? * 6#3', 'Asia/Shanghai', '2022-01-01T00:00:00Z', 1), ['2022-01-15T02:15:00Z']);
    assert.deepEqual(fires('0 15 10 ? * 6#3', 'America/New_York', '2022-01-01T00:00:00Z', 1), ['2022-01-15T15:15:00Z']);
    assert.deepEqual(fires('0 15 10 ? * 6#3', 'Europe/Berlin', '2022-01-01T00:00:00Z', 1), ['2022-01-15T09:15:00Z']);
    assert.deepEqual(fires('0 15 10 ? * 6#3', 'Europe/Berlin', '2022-07-01T00:00:00Z', 1), ['2022-07-16T08:15:00Z']);
  });

  it('a zone in the expression wins over the system zone (7th and 8th field)', () => {
    assert.deepEqual(fires('0 0 12 * * ? Asia/Shanghai', 'America/New_York', '2022-01-01T00:00:00Z', 1), [
      '2022-01-01T04:00:00Z',
    ]);
    assert.deepEqual(fires('0 0 12 * * ? 2030 Europe/Berlin', 'UTC', '2022-01-01T00:00:00Z', 1), [
      '2030-01-01T11:00:00Z',
    ]);
    assert.deepEqual(fires('0 0 12 * * ? GMT-6:00', 'UTC', '2022-01-01T00:00:00Z', 1), ['2022-01-01T18:00:00Z']);
    assert.deepEqual(fires('0 0 12 * * ? GMT+5:30', 'UTC', '2022-01-01T00:00:00Z', 1), ['2022-01-01T06:30:00Z']);
    assert.deepEqual(fires('0 0 12 * * ? GMT', 'Asia/Shanghai', '2022-01-01T00:00:00Z', 1), ['2022-01-01T12:00:00Z']);
    assert.equal(cron('0 0 12 * * ? Asia/Shanghai', 'UTC').timeZone, 'Asia/Shanghai');
    assert.equal(cron('0 0 12 * * ?', 'Europe/Berlin').timeZone, 'Europe/Berlin');
  });

  it('New York spring forward: 02:30 does not exist and runs at 03:30 EDT (shifted by the gap)', () => {
    assert.deepEqual(fires('0 30 2 * * ?', 'America/New_York', '2022-03-12T00:00:00Z', 3), [
      '2022-03-12T07:30:00Z',
      '2022-03-13T07:30:00Z',
      '2022-03-14T06:30:00Z',
    ]);
    // Every half hour across the gap: no duplicate, no step backwards.
    assert.deepEqual(fires('0 0/30 * * * ?', 'America/New_York', '2022-03-13T06:00:00Z', 4), [
      '2022-03-13T06:30:00Z',
      '2022-03-13T07:00:00Z',
      '2022-03-13T07:30:00Z',
      '2022-03-13T08:00:00Z',
    ]);
  });

  it('New York fall back: the repeated 01:30 fires once, at its first occurrence', () => {
    assert.deepEqual(fires('0 30 1 * * ?', 'America/New_York', '2022-11-05T00:00:00Z', 3), [
      '2022-11-05T05:30:00Z',
      '2022-11-06T05:30:00Z',
      '2022-11-07T06:30:00Z',
    ]);
    assert.deepEqual(fires('0 0/30 * * * ?', 'America/New_York', '2022-11-06T04:45:00Z', 4), [
      '2022-11-06T05:00:00Z',
      '2022-11-06T05:30:00Z',
      '2022-11-06T07:00:00Z',
      '2022-11-06T07:30:00Z',
    ]);
    // Scheduled during the second 01:xx: the second occurrence is the one still ahead.
    assert.deepEqual(fires('0 0/30 * * * ?', 'America/New_York', '2022-11-06T06:10:00Z', 2), [
      '2022-11-06T06:30:00Z',
      '2022-11-06T07:00:00Z',
    ]);
  });

  it('Berlin spring forward and fall back', () => {
    assert.deepEqual(fires('0 30 2 * * ?', 'Europe/Berlin', '2022-03-26T00:00:00Z', 3), [
      '2022-03-26T01:30:00Z',
      '2022-03-27T01:30:00Z',
      '2022-03-28T00:30:00Z',
    ]);
    assert.deepEqual(fires('0 30 2 * * ?', 'Europe/Berlin', '2022-10-29T00:00:00Z', 3), [
      '2022-10-29T00:30:00Z',
      '2022-10-30T00:30:00Z',
      '2022-10-31T01:30:00Z',
    ]);
  });

  it('offsetSecondsAt gives the wall-clock extras of a zone', () => {
    assert.equal(offsetSecondsAt('Asia/Shanghai', NOW), 28800);
    assert.equal(offsetSecondsAt('America/New_York', NOW), -18000);
    assert.equal(offsetSecondsAt('America/New_York', Date.UTC(2022, 6, 1)), -14400);
    assert.equal(offsetSecondsAt('GMT-6:00', NOW), -21600);
    assert.equal(offsetSecondsAt('UTC', NOW), 0);
  });
});

describe('cron: calendar edges', () => {
  it('29 February fires only in leap years', () => {
    assert.deepEqual(fires('0 0 0 29 2 ?', 'UTC', '2022-01-01T00:00:00Z', 3), [
      '2024-02-29T00:00:00Z',
      '2028-02-29T00:00:00Z',
      '2032-02-29T00:00:00Z',
    ]);
  });

  it('L in February: the 28th, or the 29th in a leap year', () => {
    assert.deepEqual(fires('0 0 0 L 2 ?', 'UTC', '2023-01-01T00:00:00Z', 3), [
      '2023-02-28T00:00:00Z',
      '2024-02-29T00:00:00Z',
      '2025-02-28T00:00:00Z',
    ]);
  });

  it('1W on a Saturday is Monday the 3rd; 15W moves to Friday or Monday; 31W never leaves the month', () => {
    assert.deepEqual(fires('0 0 0 1W * ?', 'UTC', '2022-01-01T00:00:00Z', 3), [
      '2022-01-03T00:00:00Z',
      '2022-02-01T00:00:00Z',
      '2022-03-01T00:00:00Z',
    ]);
    assert.deepEqual(fires('0 0 0 1W * ?', 'UTC', '2022-09-15T00:00:00Z', 1), ['2022-10-03T00:00:00Z']);
    // 2022-01-15 is a Saturday, 2022-05-15 a Sunday.
    assert.deepEqual(fires('0 0 0 15W 1 ?', 'UTC', '2022-01-01T00:00:00Z', 1), ['2022-01-14T00:00:00Z']);
    assert.deepEqual(fires('0 0 0 15W 5 ?', 'UTC', '2022-01-01T00:00:00Z', 1), ['2022-05-16T00:00:00Z']);
    // 2022-07-31 is a Sunday (→ Friday 29th); September has no 31st.
    assert.deepEqual(fires('0 0 0 31W * ?', 'UTC', '2022-07-01T00:00:00Z', 3), [
      '2022-07-29T00:00:00Z',
      '2022-08-31T00:00:00Z',
      '2022-10-31T00:00:00Z',
    ]);
  });

  it('LW is the last weekday of the month', () => {
    assert.deepEqual(fires('0 0 0 LW * ?', 'UTC', '2022-04-01T00:00:00Z', 4), [
      '2022-04-29T00:00:00Z',
      '2022-05-31T00:00:00Z',
      '2022-06-30T00:00:00Z',
      '2022-07-29T00:00:00Z',
    ]);
  });

  it('#5 skips months without a fifth such weekday', () => {
    assert.deepEqual(fires('0 0 0 ? * MON#5', 'UTC', '2022-01-01T00:00:00Z', 4), [
      '2022-01-31T00:00:00Z',
      '2022-05-30T00:00:00Z',
      '2022-08-29T00:00:00Z',
      '2022-10-31T00:00:00Z',
    ]);
  });

  it('day-of-week numbers: 0 and 7 are Sunday, 1 is Monday; names and ranges', () => {
    const sundays = ['2022-01-02T00:00:00Z', '2022-01-09T00:00:00Z'];
    assert.deepEqual(fires('0 0 0 ? * 0', 'UTC', '2022-01-01T00:00:00Z', 2), sundays);
    assert.deepEqual(fires('0 0 0 ? * 7', 'UTC', '2022-01-01T00:00:00Z', 2), sundays);
    assert.deepEqual(fires('0 0 0 ? * SUN', 'UTC', '2022-01-01T00:00:00Z', 2), sundays);
    assert.deepEqual(fires('0 0 0 ? * 1', 'UTC', '2022-01-01T00:00:00Z', 1), ['2022-01-03T00:00:00Z']);
    assert.deepEqual(fires('0 0 0 ? * MON-FRI', 'UTC', '2022-01-01T00:00:00Z', 6), [
      '2022-01-03T00:00:00Z',
      '2022-01-04T00:00:00Z',
      '2022-01-05T00:00:00Z',
      '2022-01-06T00:00:00Z',
      '2022-01-07T00:00:00Z',
      '2022-01-10T00:00:00Z',
    ]);
  });

  it('day-of-month and day-of-week both restricted: either matches (cronexpr)', () => {
    // The 10th, and every Monday.
    assert.deepEqual(fires('0 0 0 10 * MON', 'UTC', '2022-01-01T00:00:00Z', 3), [
      '2022-01-03T00:00:00Z',
      '2022-01-10T00:00:00Z',
      '2022-01-17T00:00:00Z',
    ]);
  });

  it('year lists, ranges and steps; * /10 as a 7th field is a year', () => {
    assert.deepEqual(fires('0 0 0 1 1 ? 2030,2040', 'UTC', '2022-01-01T00:00:00Z', 5), [
      '2030-01-01T00:00:00Z',
      '2040-01-01T00:00:00Z',
    ]);
    assert.equal(fires('0 0 0 1 1 ? 2025-2027', 'UTC', '2022-01-01T00:00:00Z', 5).length, 3);
    assert.deepEqual(fires('0 0 0 1 1 ? 2022/5', 'UTC', '2022-01-01T00:00:00Z', 3), [
      '2027-01-01T00:00:00Z',
      '2032-01-01T00:00:00Z',
      '2037-01-01T00:00:00Z',
    ]);
    assert.deepEqual(fires('0 0 0 1 1 ? */10', 'UTC', '2022-01-01T00:00:00Z', 2), [
      '2030-01-01T00:00:00Z',
      '2040-01-01T00:00:00Z',
    ]);
  });

  it('a yearly expression reaches 2099 and ends there', () => {
    const all = fires('0 0 0 1 1 ?', 'UTC', '2022-01-01T00:00:00Z', 200);
    assert.equal(all.length, 77);
    assert.equal(all.at(-1), '2099-01-01T00:00:00Z');
  });

  it('per-second expressions step by their seconds', () => {
    assert.deepEqual(fires('*/2 * * * * ?', 'UTC', '2022-01-01T00:00:00.500Z', 3), [
      '2022-01-01T00:00:02Z',
      '2022-01-01T00:00:04Z',
      '2022-01-01T00:00:06Z',
    ]);
  });
});

describe('rate and at on the wire', () => {
  const C = Date.UTC(2022, 0, 1, 0, 0, 7);

  it('rate runs at creationTime + k·period, first strictly after creation, on the same grid after a restart', () => {
    const r = parseWireSchedule('Rate', 'rate(5m)', C, C + 1, 'UTC');
    assert.ok(r.ok);
    assert.equal(r.schedule.kind, 'Rate');
    assert.equal(r.schedule.next(C), C + 300_000);
    assert.equal(r.schedule.next(C - 1_000_000), C + 300_000);
    assert.equal(r.schedule.next(C + 300_000), C + 600_000);
    assert.equal(r.schedule.next(C + 1_234_567), C + 1_500_000);
  });

  it('rate is case-insensitive and allows the documented whitespace; the wire accepts 1 s', () => {
    for (const [text, ms] of [
      ['RATE(2H)', 7_200_000],
      ['rate (5 m)', 300_000],
      ['rate(1s)', 1000],
      ['rate(1000d)', 1000 * 86_400_000],
    ] as const) {
      const r = parseWireSchedule('Rate', text, C, C, 'UTC');
      assert.ok(r.ok, text);
      assert.equal(r.schedule.next(C), C + ms, text);
    }
  });

  it('at is UTC, with or without at(…), and runs once', () => {
    const want = Date.UTC(2030, 0, 2, 3, 4, 5);
    for (const text of ['at(2030-01-02T03:04:05)', '2030-01-02T03:04:05']) {
      const r = parseWireSchedule('At', text, 0, NOW, 'Asia/Shanghai');
      assert.ok(r.ok, text);
      assert.deepEqual(nextFireTimes(r.schedule, NOW, 3), [want]);
    }
  });
});

describe('parseFrequency: accepted forms', () => {
  const o = { timeoutSeconds: 60, nowMs: NOW, defaultTimeZone: 'UTC' };

  it('rate(…) is anchored at now and converted to the wire form', () => {
    const r = parseFrequency(' Rate(5M) ', o);
    assert.ok(r.ok);
    assert.equal(r.value.repeat, 'Rate');
    assert.equal(r.value.wireCron, 'rate(5m)');
    assert.equal(r.value.schedule.next(NOW), NOW + 300_000);
  });

  it('at(…) with a zone name or an ISO offset becomes the UTC wire at', () => {
    for (const text of [
      'at(2022-05-17 17:30:50 Asia/Shanghai)',
      'at(2022-05-17T17:30:50+08:00)',
      'at(2022-05-17T09:30:50Z)',
    ]) {
      const r = parseFrequency(text, o);
      assert.ok(r.ok, text);
      assert.equal(r.value.repeat, 'At');
      assert.equal(r.value.wireCron, 'at(2022-05-17T09:30:50)');
      assert.equal(r.value.schedule.next(NOW), Date.UTC(2022, 4, 17, 9, 30, 50));
    }
    const local = parseFrequency('at(2022-05-17 17:30:50)', { ...o, defaultTimeZone: 'America/New_York' });
    assert.ok(local.ok);
    assert.equal(local.value.wireCron, 'at(2022-05-17T21:30:50)');
    assert.equal(formatWireAt(Date.UTC(2022, 4, 17, 21, 30, 50, 999)), 'at(2022-05-17T21:30:50)');
  });

  it('cron with and without a zone, one leading zero allowed, whitespace normalised', () => {
    for (const text of [
      '0 15 08 ? * * 2022',
      '0 15 10 ? * 6#3 2022,2023',
      '0 0/30 9-17 * * ? 2022-2025',
      '0 10,44 14 ? 3 WED 2022/2',
    ]) {
      const r = parseFrequency(text, o);
      assert.ok(r.ok, text);
      assert.equal(r.value.repeat, 'Period');
      assert.equal(r.value.wireCron, text);
    }
    const z = parseFrequency('0  0 12 * * ?   Asia/Shanghai', o);
    assert.ok(z.ok);
    assert.equal(z.value.wireCron, '0 0 12 * * ? Asia/Shanghai');
    assert.equal(z.value.schedule.next(NOW), Date.UTC(2022, 0, 1, 4));
  });
});

describe('malformed frequencies', () => {
  type Row = {
    text: string;
    code: 'InvalidParameter.Frequency' | 'InvalidParameter.RateFrequency' | 'InvalidParameter.AtFrequency';
    field: string;
    /** What the agent reports for the same text on the wire; 'ok' when the wire accepts it. */
    wire: WireScheduleErrorCode | 'ok';
    timeout?: number;
  };
  const F = 'InvalidParameter.Frequency' as const;
  const R = 'InvalidParameter.RateFrequency' as const;
  const A = 'InvalidParameter.AtFrequency' as const;
  const rows: Row[] = [
    { text: '0 0 0 32 * ?', code: F, field: 'dayOfMonth', wire: 'InvalidCronExpression' },
    { text: '60 0 0 * * ?', code: F, field: 'second', wire: 'InvalidCronExpression' },
    { text: '0 60 0 * * ?', code: F, field: 'minute', wire: 'InvalidCronExpression' },
    { text: '0 0 24 * * ?', code: F, field: 'hour', wire: 'InvalidCronExpression' },
    { text: '0 0 0 0 * ?', code: F, field: 'dayOfMonth', wire: 'InvalidCronExpression' },
    { text: '0 0 0 * 13 ?', code: F, field: 'month', wire: 'InvalidCronExpression' },
    { text: '0 0 0 * 0 ?', code: F, field: 'month', wire: 'InvalidCronExpression' },
    { text: '0 0 0 ? * 8', code: F, field: 'dayOfWeek', wire: 'InvalidCronExpression' },
    { text: '0 0 0 ? * FOO', code: F, field: 'dayOfWeek', wire: 'InvalidCronExpression' },
    { text: '0 0 0 * FOO ?', code: F, field: 'month', wire: 'InvalidCronExpression' },
    { text: '0 0 0 ? * FRI-MON', code: F, field: 'dayOfWeek', wire: 'InvalidCronExpression' },
    { text: '0 0 0 ? * 4#6', code: F, field: 'dayOfWeek', wire: 'InvalidCronExpression' },
    { text: '0 0 0 ? * L', code: F, field: 'dayOfWeek', wire: 'InvalidCronExpression' },
    { text: '0 0 0 5-1 * ?', code: F, field: 'dayOfMonth', wire: 'InvalidCronExpression' },
    { text: '0 0 0 15X * ?', code: F, field: 'dayOfMonth', wire: 'InvalidCronExpression' },
    { text: '0 0 0 1,,2 * ?', code: F, field: 'dayOfMonth', wire: 'InvalidCronExpression' },
    { text: '0 0/0 0 * * ?', code: F, field: 'minute', wire: 'InvalidCronExpression' },
    { text: '0 0 0 * * ? 2000-2101', code: F, field: 'year', wire: 'InvalidCronExpression' },
    { text: '0 0 0 * * ? */0', code: F, field: 'year', wire: 'InvalidCronExpression' },
    { text: '0 0 0 * *', code: F, field: 'expression', wire: 'InvalidCronExpression' },
    { text: '0 0 0 * * ? 2030 UTC extra', code: F, field: 'expression', wire: 'InvalidCronExpression' },
    { text: '', code: F, field: 'expression', wire: 'InvalidCronExpression' },
    // A 7th field that is not a year is a time zone (luban §5.4): 2100 is read as one.
    { text: '0 0 0 * * ? 2100', code: F, field: 'timeZone', wire: 'TimezoneInformationCorrupt' },
    { text: '0 0 0 * * ? Mars/Olympus', code: F, field: 'timeZone', wire: 'TimezoneInformationCorrupt' },
    { text: '0 0 0 * * ? GMT+15:00', code: F, field: 'timeZone', wire: 'InvalidGMTOffsetHourForTimezone' },
    { text: '0 0 0 * * ? GMT+8:0', code: F, field: 'timeZone', wire: 'InvalidGMTOffsetMinuteForTimezone' },
    { text: '0 0 0 * * ? GMT+8:60', code: F, field: 'timeZone', wire: 'InvalidGMTOffsetMinuteForTimezone' },
    { text: '0 0 0 * * ? GMT+8', code: F, field: 'timeZone', wire: 'InvalidGMTOffsetForTimezone' },
    { text: '0 0 0 * * ? 2020', code: F, field: 'expired', wire: 'CronExpressionExpired' },
    { text: '0 0 0 30 2 ?', code: F, field: 'expired', wire: 'CronExpressionExpired' },
    // Operator-only rules: the agent itself would accept these.
    { text: '0 0 008 * * ?', code: F, field: 'hour', wire: 'ok' },
    { text: '? 0 0 * * ?', code: F, field: 'second', wire: 'ok' },
    { text: '* * * * * ?', code: F, field: 'spacing', wire: 'ok' },
    { text: '0/5 * * * * ?', code: F, field: 'spacing', wire: 'ok' },
    { text: '0,5 0 0 1 1 ?', code: F, field: 'spacing', wire: 'ok' },
    { text: '0 * * * * ?', code: F, field: 'spacing', wire: 'ok', timeout: 120 },
    { text: 'rate(30s)', code: R, field: 'rate', wire: 'ok' },
    { text: 'rate(8d)', code: R, field: 'rate', wire: 'ok' },
    { text: 'rate(2m)', code: R, field: 'rate', wire: 'ok', timeout: 120 },
    { text: 'rate(0m)', code: R, field: 'rate', wire: 'InvalidRateExpression' },
    { text: 'rate(5x)', code: R, field: 'rate', wire: 'InvalidRateExpression' },
    { text: 'rate(5 minutes)', code: R, field: 'rate', wire: 'InvalidRateExpression' },
    { text: 'rate(1001d)', code: R, field: 'rate', wire: 'RateFrequencyTooLarge' },
    { text: 'at(2022-02-30 10:00:00)', code: A, field: 'at', wire: 'InvalidAtExpression' },
    { text: 'at(tomorrow)', code: A, field: 'at', wire: 'InvalidAtExpression' },
    { text: 'at(2022-05-17 17:30:50 Mars/Base)', code: A, field: 'timeZone', wire: 'InvalidAtExpression' },
    { text: 'at(2022-05-17T17:30:50+15:00)', code: A, field: 'timeZone', wire: 'InvalidAtExpression' },
    { text: 'at(2021-12-31 10:00:00 Asia/Shanghai)', code: A, field: 'expired', wire: 'InvalidAtExpression' },
    { text: 'at(2021-12-31T02:00:00)', code: A, field: 'expired', wire: 'AtExpressionExpired' },
  ];

  const wireKind = (text: string): 'Rate' | 'At' | 'Period' =>
    text.startsWith('rate') ? 'Rate' : text.startsWith('at') ? 'At' : 'Period';

  for (const row of rows) {
    it(`${JSON.stringify(row.text)} → ${row.code} / ${row.field}; wire ${row.wire}`, () => {
      const r = parseFrequency(row.text, { timeoutSeconds: row.timeout ?? 60, nowMs: NOW, defaultTimeZone: 'UTC' });
      assert.equal(r.ok, false);
      if (r.ok) {
        return;
      }
      assert.equal(r.problem.code, row.code);
      assert.equal(r.problem.field, row.field);
      assert.match(r.problem.message, /^Frequency: \S.*[^.]$/);
      assert.doesNotMatch(r.problem.message, /\n/);

      const w = parseWireSchedule(wireKind(row.text), row.text, NOW, NOW, 'UTC');
      assert.equal(w.ok ? 'ok' : w.code, row.wire);
    });
  }

  it('messages name the bad value and its range', () => {
    const r = parseFrequency('0 0 0 32 * ?', { timeoutSeconds: 60, nowMs: NOW, defaultTimeZone: 'UTC' });
    assert.ok(!r.ok);
    assert.equal(r.problem.message, 'Frequency: dayOfMonth value 32 is out of range 1-31');
  });

  it('there are at least 30 rows', () => assert.ok(rows.length >= 30));
});
