// The control plane's store for the benchmark: SQLite in the server's data dir (the default), or a
// throwaway PostgreSQL cluster started here with test/harness/postgres.ts (initdb into a temp dir,
// durability off, one fresh database). The harness stops the cluster and removes its dir when this
// process exits, Ctrl-C included (fan-out.ts exits on SIGINT/SIGTERM), and sweeps clusters left by
// a benchmark that was SIGKILLed the next time one starts.
//
// Either store answers which node holds how many agents: the live rows of `agent_presence`, each
// node id put to the node's process (on PostgreSQL through the node's kick listener connection,
// named `oca-kick-listener-<node id>` in pg_stat_activity, whose client port one node's process owns).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { createTestDatabase, postgresCluster } from '../../test/harness/postgres.js';
import { treeCpuSeconds } from './proc-tree.js';
import { ownerOfLocalPort } from './socket-owner.js';

export interface NodeRef {
  name: string;
  pid: number;
}

/** Agents per node name; rows of node ids no running node has go under UNATTRIBUTED. */
export type Holdings = Record<string, number>;
export const UNATTRIBUTED = 'other node ids';

export interface BenchStore {
  kind: 'sqlite' | 'postgres';
  /** Flags for `assist-server start` and `keys create` (the database URL). */
  serverArgs: string[];
  /** Where the registered fleet and the AccessKey for this store are kept, under the benchmark's data dir. */
  fleetDirName: string;
  /** CPU seconds of the database server's processes so far (PostgreSQL); undefined for SQLite. */
  cpuSeconds(): number | undefined;
  /** The PostgreSQL server's data dir (for `pgrep -f`), when there is one. */
  clusterDir: string | undefined;
  holdings(nodes: readonly NodeRef[], serverDataDir: string): Promise<Holdings>;
  close(): Promise<void>;
}

const live = (rows: { node_id: string; n: number | string }[]) => new Map(rows.map((r) => [r.node_id, Number(r.n)]));

const PRESENCE_SQL = 'select node_id, count(*) as n from agent_presence where lease_until > ? group by node_id';

function attribute(counts: Map<string, number>, owner: (nodeId: string) => string | undefined): Holdings {
  const out: Holdings = {};
  for (const [nodeId, n] of counts) {
    const name = owner(nodeId) ?? UNATTRIBUTED;
    out[name] = (out[name] ?? 0) + n;
  }
  return out;
}

export function sqliteStore(): BenchStore {
  return {
    kind: 'sqlite',
    serverArgs: [],
    fleetDirName: 'fleet',
    cpuSeconds: () => undefined,
    clusterDir: undefined,
    holdings: (nodes, serverDataDir) => {
      const db = new SQLite(join(serverDataDir, 'assist.db'), { readonly: true, fileMustExist: true });
      try {
        const rows = db.prepare(PRESENCE_SQL).all(Date.now()) as { node_id: string; n: number }[];
        // One node: the rows of its previous runs were cleared when it started.
        return Promise.resolve(attribute(live(rows), () => nodes[0]?.name));
      } finally {
        db.close();
      }
    },
    close: () => Promise.resolve(),
  };
}

export async function postgresStore(log: (s: string) => void): Promise<BenchStore> {
  const cluster = await postgresCluster();
  const db = await createTestDatabase();
  const postmasterPid = Number(readFileSync(join(cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  log(`PostgreSQL: ${db.url} (cluster ${cluster.dir}, postmaster ${postmasterPid})`);
  const pool = new pg.Pool({ connectionString: db.url, max: 1, allowExitOnIdle: true });
  pool.on('error', () => {});
  return {
    kind: 'postgres',
    serverArgs: ['--database', db.url],
    fleetDirName: 'fleet-postgres',
    cpuSeconds: () => treeCpuSeconds(postmasterPid),
    clusterDir: cluster.dir,
    holdings: async (nodes) => {
      const listeners = await pool.query<{ application_name: string; client_port: number }>(
        `select application_name, client_port from pg_stat_activity
         where datname = current_database() and application_name like 'oca-kick-listener-%'`,
      );
      const nodeOf = new Map<string, string>();
      for (const l of listeners.rows) {
        const pid = ownerOfLocalPort(
          l.client_port,
          nodes.map((x) => x.pid),
        );
        const node = nodes.find((x) => x.pid === pid);
        if (node) {
          nodeOf.set(l.application_name.slice('oca-kick-listener-'.length), node.name);
        }
      }
      const r = await pool.query<{ node_id: string; n: string }>(PRESENCE_SQL.replace('?', '$1'), [Date.now()]);
      return attribute(live(r.rows), (id) => nodeOf.get(id));
    },
    close: async () => {
      await pool.end();
      // The cluster itself is stopped and removed by the harness's exit handler.
    },
  };
}
