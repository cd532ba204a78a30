// Leaf helpers shared by every agent module. Nothing here loads a network module: the watchdog
// imports this too (the HTTPS client is agent/http).
export * from './backoff.js';
export * from './errors.js';
export * from './exit-codes.js';
export * from './lifecycle.js';
export * from './logger.js';
export * from './paths.js';
export * from './version.js';
export * from './instance-lock.js';
export * from './liveness.js';
export * from './local-zone.js';
export * from './shlex.js';
export * from './proxy-settings.js';
export * from './write-in-pieces.js';
