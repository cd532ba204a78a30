// DescribeInvocationResults pages in SQL: a walk returns every execution once, in the documented
// order, and each page's query is answered from an index in that order, never by sorting all the
// invocation's rows (which made a page of 50 cost what the whole invocation costs); a page after a
// NextToken starts where the token points, not at the invocation's first row.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql, type CompiledQuery, type KyselyPlugin } from 'kysely';
import { instanceRow, runCommandInput } from '../../test/harness/store-rows.js';
import { forEachStore } from '../../test/harness/stores.js';
import type { Db } from '../store/index.js';
import { DEFAULT_LIMITS } from './invocation-context.js';
import { InvocationService } from './invocations.js';

const T0 = Date.UTC(2030, 0, 1);
const N = 230;
const LIMITS = { ...DEFAULT_LIMITS, maxInstancesPerCall: N };

/** `db`, recording every query it runs as compiled SQL. */
function recording(db: Db): { db: Db; queries: CompiledQuery[] } {
  const queries: CompiledQuery[] = [];
  const plugin: KyselyPlugin = {
    transformQuery: (a) => {
      queries.push(db.getExecutor().compileQuery(a.node, a.queryId));
      return a.node;
    },
    transformResult: (a) => Promise.resolve(a.result),
  };
  return { db: db.withPlugin(plugin), queries };
}

/** The plan's lines of a query; on PostgreSQL with sorting priced out, so a Sort shows only when nothing else gives the order. */
async function plan(db: Db, q: CompiledQuery, postgres: boolean): Promise<string[]> {
  if (!postgres) {
    const rows = await db.executeQuery<{ detail: string }>({ ...q, sql: `EXPLAIN QUERY PLAN ${q.sql}` });
    return rows.rows.map((r) => r.detail);
  }
  return db.connection().execute(async (c) => {
    await sql`SET enable_sort = off`.execute(c);
    const rows = await c.executeQuery<{ 'QUERY PLAN': string }>({ ...q, sql: `EXPLAIN ${q.sql}` });
    await sql`RESET enable_sort`.execute(c);
    return rows.rows.map((r) => r['QUERY PLAN']);
  });
}

type Results = Awaited<ReturnType<InvocationService['describeResults']>>['Invocation'];

/**
 * Every page of DescribeInvocationResults, `maxResults` at a time after NextTokens: the results in
 * order, each page's TotalCount checked against the first's, and per page the queries that read
 * `table` in order.
 */
async function walk(
  svc: InvocationService,
  queries: CompiledQuery[],
  filter: { invokeId: string; includeHistory?: boolean },
  maxResults: number,
  table: string,
): Promise<{ results: Results['InvocationResults']['InvocationResult']; total: number; pages: CompiledQuery[][] }> {
  const results: Results['InvocationResults']['InvocationResult'] = [];
  const pages: CompiledQuery[][] = [];
  let total: number | undefined;
  let token: string | undefined;
  do {
    queries.length = 0;
    const r = await svc.describeResults({
      ...filter,
      contentEncoding: 'PlainText',
      paging: { mode: 'token', maxResults, ...(token ? { nextToken: token } : {}) },
    });
    total ??= r.Invocation.TotalCount;
    assert.equal(r.Invocation.TotalCount, total, 'the same TotalCount on every page');
    results.push(...r.Invocation.InvocationResults.InvocationResult);
    pages.push(queries.filter((q) => new RegExp(`${table}.*order by`, 'is').test(q.sql)));
    token = r.Invocation.NextToken;
  } while (token);
  assert.equal(results.length, total);
  return { results, total, pages };
}

forEachStore((store) => {
  describe('DescribeInvocationResults paging', () => {
    it('walks an invocation in order, each page read in order from an index, never sorted', async () => {
      const raw = await store.open();
      const ids = Array.from({ length: N }, (_, i) => `mi-${String(i).padStart(4, '0')}`);
      await raw
        .insertInto('instances')
        .values(ids.map((id) => instanceRow(id, { registered_at: T0 })))
        .execute();
      const notifier = { connectedAmong: async () => new Set<string>(), kick: () => {}, disconnect: () => {} };
      // An older invocation beside it: the walk must not reach into its rows.
      await new InvocationService(raw, notifier, 'cn-local', LIMITS).runCommand(
        runCommandInput(ids.slice(0, 7)),
        T0 - 1000,
      );
      const { db, queries } = recording(raw);
      const svc = new InvocationService(db, notifier, 'cn-local', LIMITS);
      const { InvokeId: invokeId } = await svc.runCommand(runCommandInput([...ids].reverse()), T0);

      const { results, total: walkedTotal, pages } = await walk(svc, queries, { invokeId }, 50, 'invocation_instances');
      assert.equal(walkedTotal, N);
      const walked = results.map((x) => x.InstanceId);
      assert.deepEqual(walked, ids, 'every execution once, by instance id ascending');
      assert.ok(
        !queries.some((q) => /count\(/i.test(q.sql)),
        "one invocation's TotalCount comes from its counters, not from counting its rows",
      );

      // TotalCount by record status (the agents are offline: every record is Aborted, a Failed one),
      // and with a filter the counters do not cover (then counted).
      const total = async (filter: { invokeRecordStatus?: string; instanceId?: string }) =>
        (
          await svc.describeResults({
            invokeId,
            ...filter,
            contentEncoding: 'PlainText',
            paging: { mode: 'token', maxResults: 10 },
          })
        ).Invocation.TotalCount;
      const counted = await raw
        .selectFrom('invocation_instances')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('invoke_id', '=', invokeId)
        .where('status', '=', 'Aborted')
        .executeTakeFirstOrThrow();
      assert.equal(Number(counted.n), N);
      assert.equal(await total({ invokeRecordStatus: 'Failed' }), N);
      assert.equal(await total({ invokeRecordStatus: 'Pending' }), 0);
      assert.equal(await total({ invokeRecordStatus: 'NoSuchStatus' }), 0);
      assert.equal(await total({ instanceId: ids[3]! }), 1);
      assert.equal(await total({ instanceId: ids[3]!, invokeRecordStatus: 'Pending' }), 0);
      // A page in the middle is one query: the rest of the instances after the token's, in the invocation.
      assert.equal(pages[2]!.length, 1, pages[2]!.map((q) => q.sql).join('\n'));
      if (store.dialect === 'sqlite') {
        const lines = await plan(raw, pages[2]![0]!, false);
        assert.ok(
          lines.some((l) => /USING INDEX \S+ \(invoke_id=\? AND creation_time=\? AND instance_id>\?\)/.test(l)),
          `an index range from the token on:\n${lines.join('\n')}`,
        );
      }

      // One page of all invocations' results (no InvokeId).
      queries.length = 0;
      const all = await svc.describeResults({
        contentEncoding: 'PlainText',
        paging: { mode: 'token', maxResults: 50 },
      });
      assert.equal(all.Invocation.TotalCount, N + 7);
      assert.equal(all.Invocation.InvocationResults.InvocationResult[0]!.InvokeId, invokeId, 'newest first');
      const unfiltered = queries.filter((q) => /invocation_instances.*order by/is.test(q.sql));
      for (const q of [...pages.flat(), ...unfiltered]) {
        const lines = await plan(raw, q, store.dialect === 'postgres');
        assert.ok(
          !lines.some((l) => /TEMP B-TREE|Sort/.test(l)),
          `no sort in the plan of ${q.sql}:\n${lines.join('\n')}`,
        );
      }
    });

    it("walks a periodic invocation's runs (IncludeHistory) in order, from an index, never sorted", async () => {
      const raw = await store.open();
      const ids = Array.from({ length: 40 }, (_, i) => `mi-${String(i).padStart(4, '0')}`);
      await raw
        .insertInto('instances')
        .values(ids.map((id) => instanceRow(id, { registered_at: T0 })))
        .execute();
      const notifier = { connectedAmong: async () => new Set<string>(), kick: () => {}, disconnect: () => {} };
      const { db, queries } = recording(raw);
      const svc = new InvocationService(db, notifier, 'cn-local', LIMITS);
      const { InvokeId: invokeId } = await svc.runCommand(
        runCommandInput(ids, { repeatMode: 'Period', frequency: '0 */10 * * * ?' }),
        T0,
      );
      // Three runs on each instance, ten minutes apart.
      const starts = [T0 + 600_000, T0 + 1_200_000, T0 + 1_800_000];
      await raw
        .insertInto('invocation_runs')
        .values(
          starts.flatMap((start, k) =>
            ids.map((id) => ({
              invoke_id: invokeId,
              instance_id: id,
              run_start: start,
              repeat_no: k + 1,
              status: 'Success',
              exit_code: 0,
              output: Buffer.from('ok\n'),
              dropped: 0,
              error_code: '',
              error_info: '',
              creation_time: start,
              update_time: start + 5,
              start_time: start,
              finish_time: start + 5,
              stop_time: null,
            })),
          ),
        )
        .execute();
      const { results, total, pages } = await walk(
        svc,
        queries,
        { invokeId, includeHistory: true },
        25,
        'invocation_runs',
      );
      assert.equal(total, 120);
      const walked = results.map((x) => `${x.Repeats} ${x.InstanceId}`);
      assert.deepEqual(
        walked,
        [3, 2, 1].flatMap((n) => ids.map((id) => `${n} ${id}`)),
        'newest run first, then by instance id ascending',
      );
      for (const q of pages.flat()) {
        const lines = await plan(raw, q, store.dialect === 'postgres');
        assert.ok(
          !lines.some((l) => /TEMP B-TREE|Sort/.test(l)),
          `no sort in the plan of ${q.sql}:\n${lines.join('\n')}`,
        );
      }
    });
  });
});
