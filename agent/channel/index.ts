// How the agent finds the control plane and stays in touch with it: discovery, notify WebSocket, heartbeat.
export { detectColdStart } from './cold-start.js';
export { discoverServer, type DiscoverServerOptions } from './discover-server.js';
export { Heartbeat, type HeartbeatOptions } from './heartbeat.js';
export { NotifyChannel, type NotifyChannelOptions } from './notify-channel.js';
