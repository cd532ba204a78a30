// Session Manager luban endpoints (spec/luban-protocol.md §6): `session/list` hands the agent the
// entry of the session it was kicked for, `session/status` takes its final report. The data
// channel (`/luban/session/backend`) is a WebSocket: see control-plane/session-relay.
import type { FastifyInstance } from 'fastify';
import { LubanPath, parseSessionStatusQuery } from '../../protocol/index.js';
import type { SessionService } from '../services/index.js';
import type { Log } from '../shared/index.js';
import type { Authed } from './unoffered-routes.js';

const queryOf = (url: string) => new URLSearchParams(url.split('?')[1] ?? '');

export function sessionRoutes(app: FastifyInstance, authed: Authed, sessions: SessionService, log: Log): void {
  // A task collection (§5.2) whose `session` array holds the one entry, or none when the id is not
  // this instance's open session (the agent then starts nothing).
  app.post(LubanPath.sessionList, async (req, reply) => {
    const instanceId = await authed(req, reply);
    if (!instanceId) {
      return reply;
    }
    const channelId = queryOf(req.url).get('channelId') ?? '';
    const task = channelId ? await sessions.taskFor(instanceId, channelId) : undefined;
    return { code: 200, instanceId, run: [], stop: [], test: [], file: [], session: task ? [task] : [] };
  });

  app.post(LubanPath.sessionStatus, async (req, reply) => {
    const instanceId = await authed(req, reply);
    if (!instanceId) {
      return reply;
    }
    const r = parseSessionStatusQuery(queryOf(req.url));
    if ('error' in r) {
      log.warn('agent request refused', { instanceId, what: 'session status', reason: r.error });
      return reply.code(400).send({ code: 400, errMsg: r.error });
    }
    if (!(await sessions.applyAgentStatus(instanceId, r, Date.now()))) {
      log.debug('session status ignored', { instanceId, sessionId: r.channelId });
    }
    log.info('session ended by agent', {
      instanceId,
      sessionId: r.channelId,
      status: r.status,
      errorcode: r.errorcode,
    });
    return { code: 200 };
  });

  app.get(LubanPath.sessionBackend, async (_req, reply) =>
    reply.code(426).header('Upgrade', 'websocket').send({ code: 426, errMsg: 'a WebSocket endpoint' }),
  );
}
