// Agents' heartbeats into the store. A fleet sends hundreds a second, spread over the minute, so
// the heartbeats that arrive within WINDOW_MS are written together: one statement sets the time of
// all of them (the newest server time of the batch), and an instance's AgentVersion
// (from its User-Agent) is written only when it differs from the one this node last wrote, or that
// was written more than VERSION_TTL_MS ago, so a steady fleet writes one statement per batch.
import type { Updateable } from 'kysely';
import { appendTo, Batcher } from '../shared/index.js';
import { inLockOrder, type Db, type InstanceTable } from '../store/index.js';

interface Heartbeat {
  instanceId: string;
  nowMs: number;
  agentVersion?: string;
}

/**
 * How long a version this node wrote is trusted to be the stored one: another node may store a
 * newer one for the same agent (it moved), so this bounds how long a version that went back (a
 * downgrade, on the node that wrote the old one) can wait to be written.
 */
const VERSION_TTL_MS = 10 * 60_000;
/**
 * How long a batch collects heartbeats. One at a time, each was its own statement and commit
 * (7,600 a minute at 10,000 agents); the agent waits this much longer for its answer, which
 * nothing in it depends on (the stock timeout is 5 s), and the stored time is at most this late.
 */
const WINDOW_MS = 100;
/** Instances per UPDATE: one bound parameter (a JSON list) each, whatever the count. */
const CHUNK = 5_000;

export class HeartbeatWriter {
  readonly #db: Db;
  readonly #batches: Batcher<Heartbeat, void>;
  /** instance → the AgentVersion this node last wrote, and until when it trusts it. */
  readonly #versions = new Map<string, { version: string; until: number }>();

  constructor(db: Db, o: { windowMs?: number } = {}) {
    this.#db = db;
    this.#batches = new Batcher((beats) => this.#write(beats), { windowMs: o.windowMs ?? WINDOW_MS });
  }

  /** Resolves once the heartbeat is stored (with the others of its window). */
  write(instanceId: string, nowMs: number, agentVersion?: string): Promise<void> {
    return this.#batches.add({ instanceId, nowMs, ...(agentVersion ? { agentVersion } : {}) });
  }

  /** Forgets what it knows of an instance (deregistered). */
  forget(instanceId: string): void {
    this.#versions.delete(instanceId);
  }

  async #write(beats: Heartbeat[]): Promise<void[]> {
    const at = Math.max(...beats.map((b) => b.nowMs));
    const ids = [...new Set(beats.map((b) => b.instanceId))];
    const changed = new Map<string, string>();
    for (const b of beats) {
      const known = this.#versions.get(b.instanceId);
      if (b.agentVersion && (known?.version !== b.agentVersion || known.until < b.nowMs)) {
        changed.set(b.instanceId, b.agentVersion);
      }
    }
    // Blind writes, each a statement of its own: no transaction, which on PostgreSQL would add two
    // round trips to the one of a lone heartbeat (a fleet's heartbeats are spread over the minute,
    // so most batches hold one). A failed statement fails the batch's heartbeats; the agents send
    // the next ones on time. Rows are locked in key order: a dispatch updates its instances beside
    // these (a deadlock failed heartbeats in a 10,000-agent fan-out on PostgreSQL).
    await this.#update(ids, { last_heartbeat_at: at });
    // One statement per version, not per instance: after a start every agent's first heartbeat
    // writes its version, and a fleet runs a few versions. One at a time, a batch of a connecting
    // fleet on PostgreSQL waited its turn at the pool once per instance, past the agents' 5 s.
    const byVersion = new Map<string, string[]>();
    for (const [instanceId, agentVersion] of changed) {
      appendTo(byVersion, agentVersion, instanceId);
    }
    for (const [agentVersion, instanceIds] of byVersion) {
      await this.#update(instanceIds, { agent_version: agentVersion });
    }
    for (const [instanceId, version] of changed) {
      this.#versions.set(instanceId, { version, until: at + VERSION_TTL_MS });
    }
    return beats.map(() => undefined);
  }

  /** Sets `set` on the instances, CHUNK a statement, locking their rows in key order. */
  async #update(instanceIds: string[], set: Pick<Updateable<InstanceTable>, 'last_heartbeat_at' | 'agent_version'>) {
    for (let i = 0; i < instanceIds.length; i += CHUNK) {
      await this.#db
        .updateTable('instances')
        .set(set)
        .where('instance_id', 'in', inLockOrder(this.#db, 'instances', 'instance_id', instanceIds.slice(i, i + CHUNK)))
        .execute();
    }
  }
}
