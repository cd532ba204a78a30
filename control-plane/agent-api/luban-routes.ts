// The luban HTTP endpoints (spec/luban-protocol.md §3, §13) as a fastify plugin.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  isReportKind,
  LubanPath,
  parseRegisterRequest,
  parseReportQuery,
  parseSendFileReportQuery,
  parseTaskListQuery,
  REPORT_KINDS,
  type ReportKind,
} from '../../protocol/index.js';
import type { Log } from '../shared/index.js';
import {
  RegistrationRefused,
  type ActivationService,
  type FileSendService,
  type InstanceService,
  type InvocationService,
  type PluginService,
  type SessionService,
} from '../services/index.js';
import type { HybridAuthenticator } from './hybrid-auth.js';
import type { NotifyGateway } from './notify-gateway.js';
import { pluginLubanRoutes } from './plugin-routes.js';
import type { UpdateCatalog } from './update-catalog.js';
import { sessionRoutes } from './session-routes.js';
import { unofferedRoutes } from './unoffered-routes.js';
import { answerUpdateCheck } from './update-routes.js';

export interface LubanDeps {
  auth: HybridAuthenticator;
  activations: ActivationService;
  instances: InstanceService;
  invocations: InvocationService;
  files: FileSendService;
  gateway: NotifyGateway;
  /** Session Manager (session/list, session/status). */
  sessions: SessionService;
  /** The plugin catalogue and instance plugin statuses (plugin list, report_status, update_check). */
  plugins: PluginService;
  log: Log;
  heartbeatIntervalMs: number;
  /** Agent update packages; without it update_check always answers need_update 0. */
  updates?: UpdateCatalog;
  /** What `classic/region-id` answers. */
  regionId: string;
}

/** The version in an agent's `User-Agent: <os>_<arch>/<version>` (§1.1); it changes with self-updates. */
const agentVersionOf = (ua: string | undefined): string | undefined =>
  /^[a-z0-9]+_[a-z0-9]+\/(\d+(?:\.\d+){3})$/.exec(ua ?? '')?.[1];
const queryOf = (req: FastifyRequest) => new URLSearchParams(req.url.split('?')[1] ?? '');
const bodyOf = (req: FastifyRequest) => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

export function lubanRoutes(deps: LubanDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    // Agents send output as raw text (bytes may split UTF-8) and an empty body typed as JSON:
    // every body is taken as a Buffer here and parsed by the route that needs it.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) =>
      done(null, body),
    );

    // No text an agent sends may hold a NUL character: PostgreSQL refuses to store one, and no
    // stock agent sends one (query values and the register body are refused whole here).
    app.addHook('preHandler', async (req, reply) => {
      const body = req.routeOptions.url === LubanPath.register ? bodyOf(req).toString('utf8') : '';
      if (/%00/.test(req.url) || body.includes('\\u0000') || body.includes('\0')) {
        return reply.code(400).send({ code: 400, errMsg: 'a NUL character is not allowed' });
      }
      return undefined;
    });

    /** Authenticates a signed agent call; answers 401 itself when that fails. */
    const authed = async (req: FastifyRequest, reply: FastifyReply): Promise<string | undefined> => {
      const r = await deps.auth.verify(req.headers, Date.now());
      if (r.ok) {
        return r.instanceId;
      }
      deps.log.warn('agent request refused', { path: req.routeOptions.url, reason: r.reason, ip: req.ip });
      await reply.code(401).send({ code: 401, errMsg: `unauthorized: ${r.reason}` });
      return undefined;
    };

    app.get(LubanPath.connectionDetect, async (_req, reply) => reply.type('text/plain').send('ok'));

    app.post(LubanPath.register, async (req, reply) => {
      let json: unknown;
      try {
        json = JSON.parse(bodyOf(req).toString('utf8'));
      } catch {
        return reply.code(400).send({ code: 400, errMsg: 'body is not JSON' });
      }
      const parsed = parseRegisterRequest(json);
      if (!parsed.ok) {
        return reply.code(400).send({ code: 400, errMsg: parsed.errors.join('; ') });
      }
      try {
        const { instanceId } = await deps.activations.register(parsed.value, req.ip, Date.now());
        deps.log.info('instance registered', { instanceId, activationId: parsed.value.activationId, ip: req.ip });
        return { code: 200, instanceId };
      } catch (e) {
        if (e instanceof RegistrationRefused) {
          deps.log.warn('registration refused', {
            reason: e.reason,
            activationId: parsed.value.activationId,
            ip: req.ip,
          });
          // HTTP 400, not 4xx above it: the stock agent reads the body only when status <= 400.
          return reply.code(400).send({ code: 400, errCode: e.reason, errMsg: e.message });
        }
        throw e;
      }
    });

    app.post(LubanPath.deregister, async (req, reply) => {
      const instanceId = await authed(req, reply);
      if (!instanceId) {
        return reply;
      }
      await deps.instances.deregister(instanceId, Date.now());
      deps.gateway.disconnect(instanceId);
      deps.log.info('instance deregistered', { instanceId });
      return { code: 200 };
    });

    // The heartbeat's query (uptime, timestamp, pid, …) is neither read nor stored: the server's
    // clock and the User-Agent's version are all it records, so no agent number reaches a listing.
    app.get(LubanPath.heartbeat, async (req, reply) => {
      const instanceId = await authed(req, reply);
      if (!instanceId) {
        return reply;
      }
      await deps.instances.heartbeat(instanceId, Date.now(), agentVersionOf(req.headers['user-agent']));
      return { code: 200, instanceId, nextInterval: deps.heartbeatIntervalMs, newTasks: false };
    });

    app.post(LubanPath.taskList, async (req, reply) => {
      const instanceId = await authed(req, reply);
      if (!instanceId) {
        return reply;
      }
      const now = Date.now();
      const q = parseTaskListQuery(queryOf(req), now);
      if (!q.ok) {
        return refuse(deps, reply, instanceId, 'task list', q.errors.join('; '));
      }
      const { run, stop } = await deps.invocations.tasksFor(instanceId, q.value, now);
      const file = await deps.files.tasksFor(instanceId, q.value.taskId, now);
      return { code: 200, instanceId, run, stop, test: [], file, session: [] };
    });

    for (const kind of REPORT_KINDS) {
      app.post(LubanPath.taskReport(kind), async (req, reply) => {
        const instanceId = await authed(req, reply);
        if (!instanceId) {
          return reply;
        }
        return handleReport(deps, instanceId, kind, req, reply);
      });
    }

    app.post(LubanPath.gshell, async () => ({
      code: 200,
      gshellSupport: 'false',
      throttlingConfig: { maxKickVmCount: 10, maxKickVmPeriod: 10, wssCoolDownCount: 1, wssCoolDownTime: 60 },
    }));
    app.post(LubanPath.updateCheck, async (req, reply) => {
      const instanceId = await authed(req, reply);
      if (!instanceId) {
        return reply;
      }
      const r = await answerUpdateCheck(deps.updates, bodyOf(req), {
        instanceId,
        host: req.headers.host,
        log: deps.log,
      });
      return reply.code(r.status).send(r.body);
    });
    app.post(LubanPath.metrics, async () => ({ code: 200 }));
    app.post(LubanPath.clientReport, async () => ({ code: 200 }));
    sessionRoutes(app, authed, deps.sessions, deps.log);
    pluginLubanRoutes(app, authed, deps.plugins, deps.log);
    unofferedRoutes(app, authed, deps.regionId);
  };
}

/** A 400 with the reason, and a warning: a stock agent never sends what gets here. */
function refuse(deps: LubanDeps, reply: FastifyReply, instanceId: string, what: string, reason: string) {
  deps.log.warn('agent request refused', { instanceId, what, reason });
  return reply.code(400).send({ code: 400, errMsg: reason });
}

async function handleReport(
  deps: LubanDeps,
  instanceId: string,
  kind: ReportKind,
  req: FastifyRequest,
  reply: FastifyReply,
) {
  if (!isReportKind(kind)) {
    return reply.code(404).send({ code: 404 });
  }
  const q = queryOf(req);
  if (q.get('taskType') === 'sendfile') {
    const r = parseSendFileReportQuery(kind, q);
    if ('error' in r) {
      return refuse(deps, reply, instanceId, `${kind} report`, r.error);
    }
    if ((await deps.files.applyReport(instanceId, r, Date.now())) === 'ignored') {
      deps.log.debug('file report ignored', { instanceId, taskId: r.taskId, kind });
    }
    return { code: 200 };
  }
  const now = Date.now();
  const report = parseReportQuery(kind, q, now);
  if ('error' in report) {
    return refuse(deps, reply, instanceId, `${kind} report`, report.error);
  }
  const outcome = await deps.invocations.applyReport(instanceId, report, bodyOf(req), now);
  if (outcome === 'ignored') {
    deps.log.debug('report ignored', { instanceId, taskId: report.taskId, kind });
  }
  return { code: 200 };
}
