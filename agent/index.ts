export { createAgentHttpClient, createAgentLogger, runAgent, type RunAgentOptions } from './main.js';
