export { API_VERSION, openApiRoutes, type OpenApiDeps } from './openapi-routes.js';
export { ACTIONS, MAX_LISTED_INSTANCE_IDS } from './actions.js';
export { oosParameterNames } from './oos-actions.js';
export { OOS_API_VERSION, OOS_ACTIONS } from './oos-actions.js';
