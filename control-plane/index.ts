export { buildServer, type ControlPlane, type ServerOptions } from './main.js';
export { rotateMasterKeyOfStore, type RotationResult } from './services/index.js';
