import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parseWireSchedule } from '../../protocol/index.js';
import { readLocalZone, systemZoneSources, type ZoneSources } from './local-zone.js';

const ZONE_FILES = new Set([
  '/usr/share/zoneinfo/Asia/Shanghai',
  '/usr/share/zoneinfo/Europe/Berlin',
  '/usr/share/zoneinfo/Etc/UTC',
  '/usr/share/zoneinfo/posix/Asia/Tokyo',
  '/etc/localtime',
]);

/** A host with the files above, TZ and /etc/localtime as given; counts the calls to Intl. */
function host(tz: string | undefined, link: string | undefined, intl = 'America/Intl_Guess') {
  const calls = { intl: 0 };
  const sources: ZoneSources = {
    tz,
    readLink: (p) => (p === '/etc/localtime' ? link : undefined),
    isFile: (p) => ZONE_FILES.has(p),
    intlName: () => {
      calls.intl += 1;
      return intl;
    },
    zoneDirs: ['/usr/share/zoneinfo'],
  };
  return { sources, calls };
}

describe('readLocalZone', () => {
  it('reads $TZ in its three forms without asking Intl', () => {
    for (const tz of ['Asia/Shanghai', ':Asia/Shanghai', '/usr/share/zoneinfo/Asia/Shanghai']) {
      const { sources, calls } = host(tz, '/usr/share/zoneinfo/Europe/Berlin');
      const z = readLocalZone(sources);
      assert.deepEqual([z.name, z.source, calls.intl], ['Asia/Shanghai', 'tz', 0], tz);
    }
  });

  it('reads the /etc/localtime link when $TZ is unset, absolute, relative or through posix/', () => {
    for (const [link, name] of [
      ['/usr/share/zoneinfo/Europe/Berlin', 'Europe/Berlin'],
      ['../usr/share/zoneinfo/Asia/Shanghai', 'Asia/Shanghai'],
      ['/usr/share/zoneinfo/posix/Asia/Tokyo', 'Asia/Tokyo'],
      ['/usr/share/zoneinfo/Etc/UTC', 'UTC'],
    ] as const) {
      const { sources, calls } = host(undefined, link);
      const z = readLocalZone(sources);
      assert.deepEqual([z.name, z.source, calls.intl], [name, 'link', 0], link);
    }
  });

  it('asks Intl only when neither names a zone that exists, as the agent did before', () => {
    for (const [tz, link] of [
      ['CST-8', '/usr/share/zoneinfo/Europe/Berlin'], // a POSIX rule, not a zone name
      ['Mars/Olympus', undefined], // no such zone file
      ['', '/usr/share/zoneinfo/Europe/Berlin'], // set but empty
      [undefined, undefined], // /etc/localtime is a copy, not a link
      [undefined, '/etc/zones/Europe/Berlin'], // a link outside any zoneinfo directory
    ] as const) {
      const { sources, calls } = host(tz, link);
      const z = readLocalZone(sources);
      assert.deepEqual([z.name, z.source, calls.intl], ['America/Intl_Guess', 'intl', 1], `${tz} ${link}`);
    }
    assert.equal(readLocalZone(host(undefined, undefined, '').sources).name, 'UTC');
  });
});

// The offsets come from Date, which follows $TZ: process.env.TZ takes effect at once in Node. The
// zones come from the system's tz database (Debian's tzdata, which scripts/test installs).
describe('the host zone from $TZ, with Date offsets', () => {
  const saved = process.env['TZ'];
  after(() => {
    if (saved === undefined) {
      delete process.env['TZ'];
    } else {
      process.env['TZ'] = saved;
    }
  });

  it('gives the same offsets as Intl for the named zone, hour by hour through a year of DST changes', () => {
    for (const name of ['America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe', 'Asia/Kolkata']) {
      process.env['TZ'] = name;
      const z = readLocalZone(systemZoneSources());
      assert.deepEqual([z.name, z.source], [name, 'tz']);
      const intl = new Intl.DateTimeFormat('en-US', {
        timeZone: name,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
      const intlOffset = (ms: number) => {
        const p = Object.fromEntries(intl.formatToParts(ms).map((x) => [x.type, Number(x.value)]));
        return Date.UTC(p['year']!, p['month']! - 1, p['day'], p['hour'], p['minute'], p['second']) - ms;
      };
      const start = Date.parse('2024-01-01T00:30:00Z');
      for (let t = start; t < start + 366 * 86_400_000; t += 3_600_000) {
        assert.equal(z.offsetMs(t), intlOffset(t), `${name} at ${new Date(t).toISOString()}`);
      }
    }
  });

  it('runs a cron without a zone in the host zone, across spring-forward and fall-back', () => {
    process.env['TZ'] = 'Europe/Berlin';
    const zone = readLocalZone(systemZoneSources());
    const parsed = parseWireSchedule('Period', '0 30 2 * * ?', 0, Date.parse('2024-03-29T00:00:00Z'), zone);
    assert.ok(parsed.ok);
    assert.equal(parsed.schedule.timeZone, 'Europe/Berlin');
    const fires: string[] = [];
    let t = Date.parse('2024-03-29T00:00:00Z');
    for (let i = 0; i < 4; i += 1) {
      t = parsed.schedule.next(t)!;
      fires.push(new Date(t).toISOString());
    }
    // 02:30 does not exist on 31 March (02:00 → 03:00): it fires at 03:30 CEST, shifted by the gap.
    assert.deepEqual(fires, [
      '2024-03-29T01:30:00.000Z',
      '2024-03-30T01:30:00.000Z',
      '2024-03-31T01:30:00.000Z',
      '2024-04-01T00:30:00.000Z',
    ]);
    const fall = parseWireSchedule('Period', '0 30 2 * * ?', 0, Date.parse('2024-10-26T12:00:00Z'), zone);
    assert.ok(fall.ok);
    // 02:30 happens twice on 27 October: once, at its first occurrence (CEST).
    assert.deepEqual(
      [
        fall.schedule.next(Date.parse('2024-10-26T12:00:00Z')),
        fall.schedule.next(Date.parse('2024-10-27T00:30:00Z')),
      ].map((x) => new Date(x!).toISOString()),
      ['2024-10-27T00:30:00.000Z', '2024-10-28T01:30:00.000Z'],
    );
  });
});
