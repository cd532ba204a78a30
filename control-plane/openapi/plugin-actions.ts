// Plugin actions. ListPluginStatus is the ECS action (SDK model ListPluginStatus*); the catalogue
// actions are extensions (the Alibaba catalogue is not operator-writable): PublishPlugin takes the
// package zip as base64 in `Package` (send it in a POST form body), ListPlugins lists versions,
// RetirePluginVersion stops offering one.
import { MAX_PLUGIN_STATUS_INSTANCES } from '../services/index.js';
import { ApiError } from '../shared/index.js';
import type { Action } from './actions.js';

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export const PLUGIN_ACTIONS: Record<string, Action> = {
  async PublishPlugin(p, d) {
    const text = p.required('Package').replace(/\s+/g, '');
    if (text.length % 4 !== 0 || !BASE64_RE.test(text)) {
      throw new ApiError('InvalidParameter.Package', 'Package must be the plugin zip, base64-encoded.');
    }
    const plugin = await d.plugins.publish(Buffer.from(text, 'base64'), p.str('Description'), Date.now());
    return { Plugin: plugin };
  },

  async ListPlugins(p, d) {
    const name = p.optStr('Name');
    const plugins = await d.plugins.listVersions({
      ...(name !== undefined ? { name } : {}),
      includeRetired: p.bool('IncludeRetired'),
    });
    return { TotalCount: plugins.length, Plugins: { Plugin: plugins } };
  },

  async RetirePluginVersion(p, d) {
    return d.plugins.retire(p.required('Name'), p.required('PluginVersion'));
  },

  async ListPluginStatus(p, d) {
    const name = p.optStr('Name');
    return d.plugins.listStatus({
      instanceIds: p.list('InstanceId', MAX_PLUGIN_STATUS_INSTANCES),
      ...(name !== undefined ? { name } : {}),
      paging: p.paging(),
    });
  },
};
