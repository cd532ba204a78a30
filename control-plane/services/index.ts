export * from './access-keys.js';
export * from './activations.js';
export type * from './agent-notifier.js';
export * from './instances.js';
export * from './invocation-status.js';
export * from './invocations.js';
