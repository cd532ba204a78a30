// Port: how services reach agents, wherever in a cluster their notify socket is held.
// Implemented by control-plane/cluster's FleetNotifier over the agent API's notify gateway.
export interface AgentNotifier {
  /** Which of `ids` have a live notify channel now (one store query at most, however many ids). */
  connectedAmong(ids: readonly string[]): Promise<Set<string>>;
  /** Sends a kick to each agent's channel; agents without one miss it (they fetch on reconnect). */
  kick(ids: readonly string[], message: string): void;
  /** Closes the agent's notify channel, if any (after a deregistration). */
  disconnect(instanceId: string): void;
}
