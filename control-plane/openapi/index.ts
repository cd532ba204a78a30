export { API_VERSION, openApiRoutes, type OpenApiDeps } from './openapi-routes.js';
export { ACTIONS, MAX_LISTED_INSTANCE_IDS } from './actions.js';
