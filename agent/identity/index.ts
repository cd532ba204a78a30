// Managed-instance ("hybrid") identity: machine id, host facts, identity files, signed headers,
// register and deregister (spec/luban-protocol.md §2.6, §7).
export { deregisterInstance } from './deregister.js';
export {
  firstIntranetIp,
  hostInfo,
  osPrettyName,
  osVersionOf,
  parseOsRelease,
  stockOsVersion,
  type HostInfo,
} from './host-info.js';
export {
  HybridFile,
  identityHeaderProvider,
  isRegistered,
  readIdentity,
  type HybridIdentity,
} from './identity-store.js';
export { defaultMachineIdSources, readMachineId } from './machine-id.js';
export { parseTag, registerInstance, type RegisterOptions } from './register.js';
