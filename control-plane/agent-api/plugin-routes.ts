// The plugin side of the agent API (spec/luban-protocol.md §9.2): plugin list, report_status and
// update_check answered from the catalogue, for our agent and the stock one alike, and the package
// downloads (plain GETs: the stock agent sends no identity with them).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  LubanPath,
  parsePluginListRequest,
  parsePluginStatusReport,
  parsePluginUpdateCheckRequest,
} from '../../protocol/index.js';
import { PLUGIN_PACKAGES_PATH, type PluginService } from '../services/index.js';
import type { Log } from '../shared/index.js';
import type { Authed } from './unoffered-routes.js';

/** The stock timer intervals (seconds) report_status answers with. */
const SCAN_INTERVAL_S = 900;
const PULL_INTERVAL_S = 300;
const UPDATE_INTERVAL_S = 1800;

const jsonOf = (req: FastifyRequest): unknown => {
  const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  return JSON.parse(body.trim() === '' ? '{}' : body);
};

/** Registers the three luban plugin routes inside the luban plugin (its body parser and `authed`). */
export function pluginLubanRoutes(app: FastifyInstance, authed: Authed, plugins: PluginService, log: Log): void {
  /** A signed POST whose JSON body `handle` answers; 400 when the body is not JSON. */
  const signedJsonPost = (
    path: string,
    handle: (instanceId: string, json: unknown, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
  ) =>
    app.post(path, async (req, reply) => {
      const instanceId = await authed(req, reply);
      if (!instanceId) {
        return reply;
      }
      let json: unknown;
      try {
        json = jsonOf(req);
      } catch {
        return reply.code(400).send({ code: 400, errMsg: 'body is not JSON' });
      }
      return handle(instanceId, json, req, reply);
    });

  signedJsonPost(LubanPath.pluginList, async (instanceId, json, req, reply) => {
    const q = parsePluginListRequest(json);
    if (!q.ok) {
      return reply.code(400).send({ code: 400, errMsg: q.errors.join('; ') });
    }
    const host = req.headers.host;
    const pluginList = host ? await plugins.listFor(q.value, host) : [];
    return { code: 200, requestId: req.id, instanceId, pluginList };
  });

  signedJsonPost(LubanPath.pluginReportStatus, async (instanceId, json, _req, reply) => {
    const r = parsePluginStatusReport(json);
    if (!r.ok) {
      log.warn('agent request refused', { instanceId, what: 'plugin status', reason: r.errors.join('; ') });
      return reply.code(400).send({ code: 400, errMsg: r.errors.join('; ') });
    }
    await plugins.applyStatusReport(instanceId, r.value, Date.now());
    return {
      code: 200,
      instanceId,
      scanInterval: SCAN_INTERVAL_S,
      pullInterval: PULL_INTERVAL_S,
      refreshInterval: 60,
      reportType: 0,
    };
  });

  signedJsonPost(LubanPath.pluginUpdateCheck, async (instanceId, json, _req, reply) => {
    const r = parsePluginUpdateCheckRequest(json);
    if (!r.ok) {
      return reply.code(400).send({ code: 400, errMsg: r.errors.join('; ') });
    }
    const plugin = await plugins.upgradesFor(r.value.os, r.value.arch, r.value.plugin);
    if (plugin.length > 0) {
      log.info('plugin upgrades offered', { instanceId, plugins: plugin.map((p) => `${p.name}@${p.version}`) });
    }
    return { code: 200, instanceId, nextInterval: UPDATE_INTERVAL_S, plugin };
  });
}

/** GET PLUGIN_PACKAGES_PATH/<pluginId>/<name>.zip: the package, while its version is not retired. */
export function pluginPackageRoutes(plugins: PluginService) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: { pluginId: string; file: string } }>(
      `${PLUGIN_PACKAGES_PATH}/:pluginId/:file`,
      async (req, reply) => {
        const p = /^pl-[0-9a-f]{20}$/.test(req.params.pluginId)
          ? await plugins.packageOf(req.params.pluginId)
          : undefined;
        if (!p || req.params.file !== `${p.name}.zip`) {
          return reply.code(404).send({ code: 404, errMsg: 'no such plugin package' });
        }
        return reply
          .header('Content-Type', 'application/zip')
          .header('X-Content-Type-Options', 'nosniff')
          .header('Cache-Control', 'no-cache')
          .send(p.zip);
      },
    );
  };
}
