// agent/plugins: acs-plugin-manager (spec/client-features.md §1.3, §8) and the agent's supervision
// of persistent plugins (§8.5).
export { LubanPluginCatalog, type PluginCatalog } from './catalog.js';
export { isPluginError, PLUGIN_EXIT, PluginError, type PluginErrorCode } from './exit-codes.js';
export { FlagError, parsePluginFlags, pluginArgs, shellSplit, type PluginFlags } from './flags.js';
export { checkDigests, installPackage } from './install.js';
export { loadInstalled, pluginDirs, saveInstalled, versionDir, type PluginDirs } from './installed.js';
export {
  execFromFile,
  execPlugin,
  guarded,
  listPlugins,
  removePlugin,
  statusAll,
  verifyPlugin,
  type ExecRequest,
  type ManagerContext,
} from './manager.js';
export {
  DEFAULT_PLUGIN_INTERVALS,
  heartbeatFresh,
  loadPluginIntervals,
  parsePluginCheckInterval,
  PluginSupervisor,
  createPluginSupervisor,
  type PluginIntervals,
} from './supervisor.js';
export { pluginRunLog, type RunLog } from './run-log.js';
