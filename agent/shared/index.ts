// Leaf helpers shared by every agent module.
export * from './backoff.js';
export * from './errors.js';
export * from './exit-codes.js';
export * from './http-client.js';
export * from './lifecycle.js';
export * from './logger.js';
export * from './paths.js';
export * from './version.js';
export * from './instance-lock.js';
export * from './liveness.js';
export * from './local-zone.js';
export * from './proxy.js';
export * from './shlex.js';
