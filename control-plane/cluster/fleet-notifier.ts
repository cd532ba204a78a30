// The services' way to reach agents (AgentNotifier), for one node or a cluster: agents whose
// socket this node holds are kicked directly; the others are looked up in the presence table and
// kicked through their node's channel on the kick bus. Without a bus (a single node) the local
// sockets are the whole fleet.
import { appendTo } from '../shared/index.js';
import type { AgentNotifier } from '../services/index.js';
import type { KickBus } from './kick-bus.js';
import type { PresenceStore } from './presence.js';

/** What this node's notify gateway offers. */
export interface LocalSockets {
  isConnected(instanceId: string): boolean;
  kick(instanceId: string, message: string): boolean;
  disconnect(instanceId: string): void;
}

/** A message on the bus that closes the agent's socket instead of kicking it (a deregistration). */
export const DISCONNECT = 'oca:disconnect';

export class FleetNotifier implements AgentNotifier {
  readonly #local: LocalSockets;
  readonly #presence: PresenceStore;
  readonly #bus: KickBus | undefined;
  readonly #onError: (e: unknown) => void;

  constructor(local: LocalSockets, presence: PresenceStore, bus: KickBus | undefined, onError: (e: unknown) => void) {
    this.#local = local;
    this.#presence = presence;
    this.#bus = bus;
    this.#onError = onError;
  }

  async connectedAmong(ids: readonly string[]): Promise<Set<string>> {
    const here = new Set(ids.filter((id) => this.#local.isConnected(id)));
    if (!this.#bus || here.size === ids.length) {
      return here;
    }
    const elsewhere = await this.#presence.holders(
      ids.filter((id) => !here.has(id)),
      Date.now(),
    );
    for (const [id, node] of elsewhere) {
      // A row of this node without a local socket is one being released: not connected.
      if (node !== this.#presence.nodeId) {
        here.add(id);
      }
    }
    return here;
  }

  kick(ids: readonly string[], message: string): void {
    const away = ids.filter((id) => !this.#local.kick(id, message));
    if (this.#bus && away.length > 0) {
      this.#forward(away, message).catch(this.#onError);
    }
  }

  /** Closes the agent's socket wherever it is, and every node forgets its cached identity. */
  disconnect(instanceId: string): void {
    this.#local.disconnect(instanceId);
    this.#bus?.broadcast([instanceId], DISCONNECT).catch(this.#onError);
  }

  async #forward(ids: string[], message: string): Promise<void> {
    const byNode = new Map<string, string[]>();
    for (const [id, node] of await this.#presence.holders(ids, Date.now())) {
      if (node !== this.#presence.nodeId) {
        appendTo(byNode, node, id);
      }
    }
    for (const [node, nodeIds] of byNode) {
      await this.#bus!.publish(node, nodeIds, message);
    }
  }
}
