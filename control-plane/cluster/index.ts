export * from './fleet-membership.js';
export * from './fleet-notifier.js';
export * from './kick-bus.js';
export * from './presence-keeper.js';
export * from './presence.js';
