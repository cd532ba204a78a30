// `assist`, the operator command line: a client of the control plane's OpenAPI.
export { runAssist } from './main.js';
export type { Io, Out } from './io.js';
export { EXIT, type ExitCode } from './errors.js';
