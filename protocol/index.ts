// The luban wire contract shared by the agent and the control plane. No I/O.
export * from './constants.js';
export * from './endpoints.js';
export * from './heartbeat.js';
export * from './hybrid-signature.js';
export * from './kick.js';
export * from './register.js';
export * from './report-bounds.js';
export * from './reports.js';
export * from './task-list.js';
export { isObj, type Validated } from './validate.js';
export * from './schedule/index.js';
export * from './update-check.js';
export * from './send-file.js';
