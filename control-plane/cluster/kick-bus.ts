// Kicks for agents held by another node travel through PostgreSQL LISTEN/NOTIFY: each node listens
// on its own channel, a node that creates work for agents it does not hold notifies the holder's
// channel with their ids. No broker besides the store. A notification can be lost while a
// listener reconnects, so the node then asks its agents to fetch (resync): a lost kick delays
// work, never loses it, because the work itself is in the store.
import pg from 'pg';

export interface KickHandlers {
  /** Kick these locally held agents with `message`. */
  kick(ids: string[], message: string): void;
  /** Notifications may have been missed: make every local agent fetch. */
  resync(): void;
}

export interface KickBus {
  publish(nodeId: string, ids: readonly string[], message: string): Promise<void>;
  /** To every node, this one included. */
  broadcast(ids: readonly string[], message: string): Promise<void>;
  start(handlers: KickHandlers): Promise<void>;
  stop(): Promise<void>;
}

/** PostgreSQL's NOTIFY payload limit is 8000 bytes; stay clear of it. */
const MAX_PAYLOAD = 7_500;

export const channelOf = (nodeId: string): string => `oca_kick_${nodeId.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
/** The channel every node listens on besides its own. */
const BROADCAST_CHANNEL = 'oca_kick_all';

/** Splits ids into NOTIFY payloads under the size limit. */
export function kickPayloads(ids: readonly string[], message: string): string[] {
  const payloads: string[] = [];
  let batch: string[] = [];
  let size = message.length + 20;
  for (const id of ids) {
    if (batch.length > 0 && size + id.length + 3 > MAX_PAYLOAD) {
      payloads.push(JSON.stringify({ m: message, i: batch }));
      batch = [];
      size = message.length + 20;
    }
    batch.push(id);
    size += id.length + 3;
  }
  if (batch.length > 0) {
    payloads.push(JSON.stringify({ m: message, i: batch }));
  }
  return payloads;
}

function parsePayload(s: string): { m: string; i: string[] } | undefined {
  try {
    const v = JSON.parse(s) as { m?: unknown; i?: unknown };
    if (typeof v.m === 'string' && Array.isArray(v.i) && v.i.every((x) => typeof x === 'string')) {
      return { m: v.m, i: v.i as string[] };
    }
  } catch {
    // a payload not of ours: ignored below
  }
  return undefined;
}

export interface PgKickBusOptions {
  connectionString: string;
  nodeId: string;
  /** Sends one NOTIFY (through the store's pool). */
  notify: (channel: string, payload: string) => Promise<void>;
  onError: (e: unknown) => void;
  /** Wait before reconnecting a lost listener (default 1 s). */
  reconnectMs?: number;
}

export class PgKickBus implements KickBus {
  readonly #o: PgKickBusOptions;
  #client: pg.Client | undefined;
  #handlers: KickHandlers | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(o: PgKickBusOptions) {
    this.#o = o;
  }

  async publish(nodeId: string, ids: readonly string[], message: string): Promise<void> {
    for (const p of kickPayloads(ids, message)) {
      await this.#o.notify(channelOf(nodeId), p);
    }
  }

  async broadcast(ids: readonly string[], message: string): Promise<void> {
    for (const p of kickPayloads(ids, message)) {
      await this.#o.notify(BROADCAST_CHANNEL, p);
    }
  }

  async start(handlers: KickHandlers): Promise<void> {
    this.#handlers = handlers;
    await this.#listen();
  }

  async #listen(): Promise<void> {
    // Named, so an operator sees each node's listener in pg_stat_activity.
    const client = new pg.Client({
      connectionString: this.#o.connectionString,
      application_name: `oca-kick-listener-${this.#o.nodeId}`,
    });
    client.on('notification', (n) => {
      const p = n.payload === undefined ? undefined : parsePayload(n.payload);
      if (p) {
        this.#handlers?.kick(p.i, p.m);
      }
    });
    const lost = (e?: unknown) => {
      if (this.#client !== client || this.#stopped) {
        return;
      }
      this.#client = undefined;
      if (e) {
        this.#o.onError(e);
      }
      client.removeAllListeners('end');
      void client.end().catch(() => {});
      this.#retry = setTimeout(() => void this.#reconnect(), this.#o.reconnectMs ?? 1_000);
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('kick listener connection ended')));
    await client.connect();
    await client.query(`LISTEN ${channelOf(this.#o.nodeId)}`);
    await client.query(`LISTEN ${BROADCAST_CHANNEL}`);
    this.#client = client;
  }

  async #reconnect(): Promise<void> {
    if (this.#stopped) {
      return;
    }
    try {
      await this.#listen();
      this.#handlers?.resync();
    } catch (e) {
      this.#o.onError(e);
      this.#retry = setTimeout(() => void this.#reconnect(), this.#o.reconnectMs ?? 1_000);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    const c = this.#client;
    this.#client = undefined;
    await c?.end().catch(() => {});
  }
}
