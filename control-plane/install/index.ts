export {
  LINUX_CA_PATH,
  LINUX_ENV_FILE,
  LINUX_INSTALL_ROOT,
  PACKAGES_PATH,
  PROXY_PLACEHOLDER,
  renderInstallScripts,
  type Activation,
  type InstallScriptContext,
  type InstallScripts,
} from './install-scripts.js';
export { contentTypeOf, packageRoutes } from './package-routes.js';
export { psQuote, shQuote } from './quote.js';
