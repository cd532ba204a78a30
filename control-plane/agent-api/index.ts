export { HybridAuthenticator, SIGNATURE_WINDOW_MS } from './hybrid-auth.js';
export { lubanRoutes, type LubanDeps } from './luban-routes.js';
export { NotifyGateway } from './notify-gateway.js';
export { refuseUpgrade } from './unoffered-routes.js';
export { UPDATES_PATH, UpdateCatalog, type UpdatePackage } from './update-catalog.js';
export { answerUpdateCheck, updateFileRoutes } from './update-routes.js';
export { pluginPackageRoutes } from './plugin-routes.js';
