// Which node holds which agent's notify socket, in the store, so that every node of a cluster can
// route a kick and answer "is it connected". A row lives while its node renews the lease (in bulk,
// one statement per node); a node that dies stops renewing and its rows lapse, and an agent that
// reconnects elsewhere is simply taken over by the node it reaches.
import { sql, type SqlBool } from 'kysely';
import { Batcher } from '../shared/index.js';
import type { Db } from '../store/index.js';

/** Rows per statement: three bound values each, well under SQLite's and PostgreSQL's limits. */
const CHUNK = 1_000;

type Change = { op: 'hold'; instanceId: string; leaseUntil: number } | { op: 'release'; instanceId: string };

export class PresenceStore {
  readonly #db: Db;
  readonly #nodeId: string;
  /** Connects and disconnects of one event-loop turn go to the store together. */
  readonly #changes = new Batcher<Change, void>((c) => this.#apply(c));

  constructor(db: Db, nodeId: string) {
    this.#db = db;
    this.#nodeId = nodeId;
  }

  get nodeId(): string {
    return this.#nodeId;
  }

  hold(instanceId: string, leaseUntil: number): Promise<void> {
    return this.#changes.add({ op: 'hold', instanceId, leaseUntil });
  }

  /** Drops this node's row of the instance; a row another node took over is left alone. */
  release(instanceId: string): Promise<void> {
    return this.#changes.add({ op: 'release', instanceId });
  }

  async #apply(changes: Change[]): Promise<void[]> {
    // Last change of an instance wins: a disconnect then a reconnect in one turn leaves it held.
    const last = new Map(changes.map((c) => [c.instanceId, c]));
    const holds = [...last.values()].filter((c) => c.op === 'hold');
    const releases = [...last.values()].filter((c) => c.op === 'release').map((c) => c.instanceId);
    await this.#db.transaction().execute(async (tx) => {
      for (let i = 0; i < holds.length; i += CHUNK) {
        await tx
          .insertInto('agent_presence')
          .values(
            holds
              .slice(i, i + CHUNK)
              .map((h) => ({ instance_id: h.instanceId, node_id: this.#nodeId, lease_until: h.leaseUntil })),
          )
          .onConflict((oc) =>
            oc.column('instance_id').doUpdateSet((eb) => ({
              node_id: eb.ref('excluded.node_id'),
              lease_until: eb.ref('excluded.lease_until'),
            })),
          )
          .execute();
      }
      for (let i = 0; i < releases.length; i += CHUNK) {
        await tx
          .deleteFrom('agent_presence')
          .where('instance_id', 'in', releases.slice(i, i + CHUNK))
          .where('node_id', '=', this.#nodeId)
          .execute();
      }
    });
    return changes.map(() => undefined);
  }

  /** Extends every lease this node holds: one statement, however many agents. */
  async renew(leaseUntil: number): Promise<void> {
    await this.#db
      .updateTable('agent_presence')
      .set({ lease_until: leaseUntil })
      .where('node_id', '=', this.#nodeId)
      .execute();
  }

  /** Forgets every row of this node (a clean shutdown: its sockets are closing). */
  async releaseAll(): Promise<void> {
    await this.#db.deleteFrom('agent_presence').where('node_id', '=', this.#nodeId).execute();
  }

  /** Forgets every row of every node: for a single node, whose previous run left rows behind. */
  async clear(): Promise<void> {
    await this.#db.deleteFrom('agent_presence').execute();
  }

  /** The node holding each of `ids` that has a live lease. */
  async holders(ids: readonly string[], nowMs: number): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await this.#db
        .selectFrom('agent_presence')
        .select(['instance_id', 'node_id'])
        .where('instance_id', 'in', ids.slice(i, i + CHUNK))
        .where('lease_until', '>', nowMs)
        .execute();
      for (const r of rows) {
        out.set(r.instance_id, r.node_id);
      }
    }
    return out;
  }
}

/** `instance_id` has a live notify channel on some node: a condition for listings. */
export const connectedCondition = (column: string, nowMs: number) =>
  sql<SqlBool>`${sql.ref(column)} IN (SELECT instance_id FROM agent_presence WHERE lease_until > ${nowMs})`;
