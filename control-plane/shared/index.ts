export * from './multimap.js';
export * from './batcher.js';
export * from './errors.js';
export * from './ids.js';
export * from './logger.js';
export * from './secret-box.js';
export * from './time.js';
