// This node's place in the fleet: its agents' presence in the store (renewed under a lease) and,
// on PostgreSQL, the kick bus to and from the other nodes. A single node (SQLite) is a fleet of
// one without a bus. Wires the notify gateway's connect/disconnect hooks.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Log } from '../shared/index.js';
import { dialectOf, pgConnectionString, type Db } from '../store/index.js';
import { DISCONNECT, FleetNotifier, type LocalSockets } from './fleet-notifier.js';
import { PgKickBus } from './kick-bus.js';
import { PresenceKeeper } from './presence-keeper.js';
import { PresenceStore } from './presence.js';

/** What this module needs of the notify gateway. */
export interface Gateway extends LocalSockets {
  connectedIds(): string[];
  onConnected: (instanceId: string) => void;
  onDisconnected: (instanceId: string) => void;
}

export interface FleetOptions {
  db: Db;
  gateway: Gateway;
  /** The PostgreSQL URL the bus listens on (a cluster); absent on SQLite. */
  databaseUrl?: string;
  leaseMs: number;
  log: Log;
  /** Whether the agent has work waiting: it is kicked to fetch it when its socket comes up. */
  hasWork: (instanceId: string) => Promise<boolean>;
  /** The instance was deregistered on some node: forget what is cached of it here. */
  forget: (instanceId: string) => void;
}

export function joinFleet({ db, gateway, databaseUrl, leaseMs, log, hasWork, forget }: FleetOptions) {
  const nodeId = `n${randomBytes(6).toString('hex')}`;
  const presence = new PresenceStore(db, nodeId);
  const onError = (what: string) => (e: unknown) => log.warn(what, { err: String((e as Error)?.message ?? e) });
  const keeper = new PresenceKeeper(presence, leaseMs, onError('presence renewal failed'));
  const bus =
    dialectOf(db) === 'postgres' && databaseUrl
      ? new PgKickBus({
          connectionString: pgConnectionString(databaseUrl),
          nodeId,
          notify: async (channel, payload) => {
            await sql`select pg_notify(${channel}, ${payload})`.execute(db);
          },
          onError: onError('kick bus connection lost'),
        })
      : undefined;
  const notifier = new FleetNotifier(gateway, presence, bus, onError('kick for another node failed'));
  gateway.onConnected = (id) => {
    presence.hold(id, keeper.leaseFrom(Date.now())).catch(onError('presence write failed'));
    // Kicks sent while an agent was away are lost: a plain kick makes it fetch what waits for it.
    // Only then: after a restart a whole fleet reconnects, and a kick costs each agent two fetches.
    hasWork(id).then(
      (yes) => yes && gateway.kick(id, 'kick_vm'),
      (e: unknown) => {
        onError('pending work lookup failed')(e);
        gateway.kick(id, 'kick_vm');
      },
    );
  };
  gateway.onDisconnected = (id) => void presence.release(id).catch(onError('presence write failed'));
  return {
    nodeId,
    notifier,
    async start(): Promise<void> {
      if (!bus) {
        await presence.clear(); // the only node: rows left by its previous run are stale
      }
      keeper.start();
      await bus?.start({
        kick: (ids, message) => {
          for (const id of ids) {
            if (message === DISCONNECT) {
              forget(id);
              gateway.disconnect(id);
            } else {
              gateway.kick(id, message);
            }
          }
        },
        resync: () => {
          log.warn('kick bus reconnected: asking every local agent to fetch');
          for (const id of gateway.connectedIds()) {
            gateway.kick(id, 'kick_vm');
          }
        },
      });
    },
    async stop(): Promise<void> {
      await bus?.stop();
      await keeper.stop();
    },
  };
}
