// Port: how services reach a connected agent. Implemented by the agent API's notify gateway.
export interface AgentNotifier {
  isConnected(instanceId: string): boolean;
  /** Every instance with a live channel now (listings filter on it in SQL). */
  connectedIds(): string[];
  /** Sends a kick; false when the agent has no live connection. */
  kick(instanceId: string, message: string): boolean;
  /** Closes the agent's notify channel, if any (after a deregistration). */
  disconnect(instanceId: string): void;
}
