export { API_VERSION, openApiRoutes, type OpenApiDeps } from './openapi-routes.js';
