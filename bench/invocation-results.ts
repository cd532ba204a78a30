// Benchmark: DescribeInvocationResults paged through one invocation of 1,000 / 10,000 / 50,000
// executions, on SQLite and on PostgreSQL, through the signed OpenAPI. The executions are written
// straight into the store (as a finished fan-out leaves them; no agents behind them), so the figures
// are the listing's alone. Every page of a full walk with NextToken is timed, then page 1 and the
// last page by PageNumber (an OFFSET) on their own. Prints figures; never pass/fail.
// Usage: npx tsx bench/invocation-results.ts [--sizes 1000,10000,50000] [--stores sqlite,postgres]
//          [--calls 30]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { buildServer } from '../control-plane/index.js';
import type { Db, InvocationInstanceTable } from '../control-plane/store/index.js';
import { seedFleet } from '../test/harness/fleet.js';
import { createTestDatabase } from '../test/harness/postgres.js';
import { PopClient } from '../test/harness/sdk.js';
import { machine, quantile, timedCalls } from './dispatch-lib.js';

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000,50000' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    calls: { type: 'string', default: '30' },
  },
});
const sizes = opts.sizes.split(',').map(Number);
const stores = opts.stores.split(',') as ('sqlite' | 'postgres')[];
const calls = Number(opts.calls);
const PAGE = 50;

/** Milliseconds of each call, in order. */
type Timings = number[];

interface Figures {
  walkPages: number;
  walk: Timings;
  first: Timings;
  lastByNumber: Timings;
  filtered: Timings;
}

/** Turns the one-instance invocation `invokeId` into one of `instanceIds.length` finished executions. */
async function seedExecutions(db: Db, invokeId: string, instanceIds: string[]): Promise<void> {
  const created = Date.now() - 60_000;
  await db.deleteFrom('invocation_instances').where('invoke_id', '=', invokeId).execute();
  for (let i = 0; i < instanceIds.length; i += 500) {
    const rows: InvocationInstanceTable[] = instanceIds.slice(i, i + 500).map((instanceId, j) => ({
      invoke_id: invokeId,
      instance_id: instanceId,
      // Every third execution timed out (a Failed record; a non-zero exit is a Finished one), so
      // InvokeRecordStatus=Failed has a third of the executions to find and the rest to leave out.
      status: (i + j) % 3 === 0 ? 'Timeout' : 'Success',
      exit_code: (i + j) % 3 === 0 ? null : 0,
      output: Buffer.from(`hello from ${instanceId}\n`),
      dropped: 0,
      error_code: '',
      error_info: '',
      repeats: 1,
      creation_time: created,
      update_time: created + 900,
      start_time: created + 100,
      finish_time: created + 900,
      stop_time: null,
      delivered_at: created + 50,
      delivered_version: 1,
    }));
    await db.insertInto('invocation_instances').values(rows).execute();
  }
  const failed = Math.ceil(instanceIds.length / 3);
  await db
    .updateTable('invocations')
    .set({ status: 'PartialFailed', n_pending: 0, n_finished: instanceIds.length - failed, n_failed: failed })
    .where('invoke_id', '=', invokeId)
    .execute();
}

async function measure(store: 'sqlite' | 'postgres', size: number): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'oca-bench-results-'));
  const pgDb = store === 'postgres' ? await createTestDatabase() : undefined;
  const cp = await buildServer({ dataDir: dir, silent: true, ...(pgDb ? { database: pgDb.url } : {}) });
  try {
    const { port } = await cp.start();
    const key = await cp.keys.create('bench');
    const api = new PopClient(`127.0.0.1:${port}`, key, cp.tls.caCertPath!);
    const ids = await seedFleet(cp.db, size);
    const { InvokeId } = (await api.call('RunCommand', {
      RegionId: 'cn-local',
      Type: 'RunShellScript',
      CommandContent: 'echo hello',
      'InstanceId.1': ids[0],
    })) as { InvokeId: string };
    await seedExecutions(cp.db, InvokeId, ids);
    if (store === 'postgres') {
      await sql`ANALYZE`.execute(cp.db); // fresh statistics, as autovacuum would have after such a write
    }

    // A full walk, page after page, as `assist results` or an SDK's paginator reads it.
    const walk: Timings = [];
    let token: string | undefined = '';
    let seen = 0;
    while (token !== undefined) {
      const s = performance.now();
      const r = (await api.call('DescribeInvocationResults', {
        InvokeId,
        MaxResults: PAGE,
        ...(token ? { NextToken: token } : {}),
      })) as { Invocation: { NextToken?: string; InvocationResults: { InvocationResult: unknown[] } } };
      walk.push(performance.now() - s);
      seen += r.Invocation.InvocationResults.InvocationResult.length;
      token = r.Invocation.NextToken || undefined;
    }
    if (seen !== size) {
      throw new Error(`the walk returned ${seen} results of ${size}`);
    }
    const first = await timedCalls(calls, () => api.call('DescribeInvocationResults', { InvokeId, MaxResults: PAGE }));
    const lastByNumber = await timedCalls(calls, () =>
      api.call('DescribeInvocationResults', { InvokeId, PageSize: PAGE, PageNumber: Math.ceil(size / PAGE) }),
    );
    const filterFailed = () =>
      api.call('DescribeInvocationResults', { InvokeId, InvokeRecordStatus: 'Failed', MaxResults: PAGE }) as Promise<{
        Invocation: { TotalCount: number; InvocationResults: { InvocationResult: { InvocationStatus: string }[] } };
      }>;
    const check = (await filterFailed()).Invocation;
    const statuses = new Set(check.InvocationResults.InvocationResult.map((r) => r.InvocationStatus));
    if (check.TotalCount !== Math.ceil(size / 3) || statuses.size !== 1 || !statuses.has('Timeout')) {
      throw new Error(`InvokeRecordStatus=Failed: TotalCount ${check.TotalCount}, statuses ${[...statuses].join(',')}`);
    }
    const filtered = await timedCalls(calls, filterFailed);
    return { walkPages: walk.length, walk, first, lastByNumber, filtered };
  } finally {
    await cp.close();
    await pgDb?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sorted = (t: Timings) => [...t].sort((a, b) => a - b);
const f1 = (ms: number) => `${ms.toFixed(1)} ms`;

console.log(
  `DescribeInvocationResults, ${PAGE} results a page, through the signed OpenAPI; ${calls} calls for the single-page rows; ${machine()}`,
);
const results: { store: string; size: number; fig: Figures }[] = [];
for (const store of stores) {
  for (const size of sizes) {
    const fig = await measure(store, size);
    results.push({ store, size, fig });
    const walk = sorted(fig.walk);
    console.log(
      `${store} ${size}: walk of ${fig.walkPages} pages p50 ${f1(quantile(walk, 0.5))} p99 ${f1(quantile(walk, 0.99))} max ${f1(walk.at(-1)!)}`,
    );
  }
}
console.log('');
console.log(`| Figure | ${results.map((r) => `${r.store} ${r.size.toLocaleString('en')}`).join(' | ')} |`);
console.log(`|---|${results.map(() => '---').join('|')}|`);
const row = (label: string, pick: (f: Figures) => string) =>
  console.log(`| ${label} | ${results.map((r) => pick(r.fig)).join(' | ')} |`);
row('pages in a NextToken walk', (f) => String(f.walkPages));
row('… page p50', (f) => f1(quantile(sorted(f.walk), 0.5)));
row('… page p99', (f) => f1(quantile(sorted(f.walk), 0.99)));
row('… slowest page', (f) => f1(sorted(f.walk).at(-1)!));
row('page 1, p50', (f) => f1(quantile(sorted(f.first), 0.5)));
row('last page by PageNumber (OFFSET), p50', (f) => f1(quantile(sorted(f.lastByNumber), 0.5)));
row('InvokeRecordStatus=Failed page 1, p50', (f) => f1(quantile(sorted(f.filtered), 0.5)));
process.exit(0); // the PostgreSQL cluster of test/harness/postgres.ts stops on exit
