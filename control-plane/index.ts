export { buildServer, type ControlPlane, type ServerOptions } from './main.js';
