// Benchmark: an agent's fetch (the luban task list) on an instance that has a long history of
// finished executions, in process, on both stores. The fetch should cost the same whatever the
// history: it reads the executions waiting for the agent, not the finished ones.
// Prints figures; never pass/fail.
// Usage: npx tsx bench/fetch-history.ts [histories=0,1000,5000] [fetches=300]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { InvocationService } from '../control-plane/services/invocations.js';
import { openStore, type Db, type StoreDialect } from '../control-plane/store/index.js';
import { createTestDatabase } from '../test/harness/postgres.js';
import { instanceRow, runCommandInput } from '../test/harness/store-rows.js';
import { machine, quantile } from './dispatch-lib.js';

const histories = (process.argv[2] ?? '0,1000,5000').split(',').map(Number);
const fetches = Number(process.argv[3] ?? 300);
const T0 = Date.UTC(2030, 0, 1);
const CHUNK = 200;

async function openFresh(dialect: StoreDialect): Promise<{ db: Db; close: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'oca-bench-fetch-'));
    const db = await openStore(join(dir, 'assist.db'));
    return { db, close: async () => (await db.destroy(), rmSync(dir, { recursive: true, force: true })) };
  }
  const t = await createTestDatabase({ migrated: true });
  const db = await openStore(t.url, { poolSize: 4, allowExitOnIdle: true });
  return { db, close: async () => (await db.destroy(), await t.drop()) };
}

/** Median and p99 of one fetch, in µs, for an instance with `history` finished executions. */
async function measure(dialect: StoreDialect, history: number): Promise<{ p50: number; p99: number }> {
  const { db, close } = await openFresh(dialect);
  try {
    await db
      .insertInto('instances')
      .values(instanceRow('mi-1', { registered_at: T0 }))
      .execute();
    const svc = new InvocationService(
      db,
      { connectedAmong: async (ids) => new Set(ids), kick: () => {}, disconnect: () => {} },
      'cn-local',
    );
    // One finished execution as the pattern of the history, then one waiting for the agent.
    const { InvokeId } = await svc.runCommand(runCommandInput(['mi-1']), T0);
    const inv = await db
      .selectFrom('invocations')
      .selectAll()
      .where('invoke_id', '=', InvokeId)
      .executeTakeFirstOrThrow();
    const rec = await db
      .selectFrom('invocation_instances')
      .selectAll()
      .where('invoke_id', '=', InvokeId)
      .executeTakeFirstOrThrow();
    await db.deleteFrom('invocation_instances').where('invoke_id', '=', InvokeId).execute();
    await db.deleteFrom('invocations').where('invoke_id', '=', InvokeId).execute();
    for (let i = 0; i < history; i += CHUNK) {
      const ids = Array.from({ length: Math.min(CHUNK, history - i) }, (_, k) => `t-history-${i + k}`);
      await db
        .insertInto('invocations')
        .values(ids.map((id) => ({ ...inv, invoke_id: id, status: 'Finished' })))
        .execute();
      await db
        .insertInto('invocation_instances')
        .values(ids.map((id) => ({ ...rec, invoke_id: id, status: 'Success', delivered_at: T0 })))
        .execute();
    }
    await svc.runCommand(runCommandInput(['mi-1']), T0 + 1);
    if (dialect === 'postgres') {
      // Statistics, as autovacuum keeps them in a live database: a table just filled has none, and
      // the planner then guesses a handful of rows per instance whatever the query.
      await sql`analyze`.execute(db);
    }
    const q = { reason: 'kickoff', currentTime: T0, offset: 0, timeZone: 'UTC' } as const;
    const times: number[] = [];
    for (let i = 0; i < fetches + 20; i++) {
      const t = process.hrtime.bigint();
      const got = await svc.tasksFor('mi-1', q, T0 + 2);
      if (got.run.length !== 1) {
        throw new Error(`fetch found ${got.run.length} tasks, not 1`);
      }
      if (i >= 20) {
        times.push(Number(process.hrtime.bigint() - t) / 1000);
      }
    }
    times.sort((a, b) => a - b);
    return { p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
  } finally {
    await close();
  }
}

console.log(`fetch-history: ${fetches} fetches each, ${machine()}`);
console.log('| store | finished executions of the instance | fetch p50 (µs) | fetch p99 (µs) |');
console.log('|---|---|---|---|');
for (const dialect of ['sqlite', 'postgres'] as const) {
  for (const h of histories) {
    const r = await measure(dialect, h);
    console.log(`| ${dialect} | ${h} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} |`);
  }
}
process.exit(0);
