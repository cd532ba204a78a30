// Luban endpoints of features this control plane does not offer (spec/luban-protocol.md §3):
// the state manager and inventory. Each answers the way the stock agent reads
// "nothing here" and carries on (or backs off), never with a 404, which it logs as an error every
// time it calls (the state manager calls every 30 minutes).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LubanPath } from '../../protocol/index.js';

/** Authenticates a signed agent call; answers 401 itself and gives undefined when that fails. */
export type Authed = (req: FastifyRequest, reply: FastifyReply) => Promise<string | undefined>;

/** The stock state manager backs off to one call a day on exactly this errCode (§10.3). */
const STATE_MANAGER_OFF = {
  errCode: 'ServiceNotSupported',
  errMsg: 'the state manager is not offered by this control plane',
};

export function unofferedRoutes(app: FastifyInstance, authed: Authed, regionId: string): void {
  /** A signed POST answered with `body(instanceId)`. */
  const signedPost = (path: string, body: (instanceId: string) => Record<string, unknown>) =>
    app.post(path, async (req, reply) => {
      const instanceId = await authed(req, reply);
      return instanceId ? body(instanceId) : reply;
    });

  // Classic-network ECS discovery (§2.3): the caller's region as plain text, no newline.
  app.get(LubanPath.classicRegionId, async (_req, reply) => reply.type('text/plain').send(regionId));

  app.get(LubanPath.notifyServer, async (_req, reply) =>
    reply.code(426).header('Upgrade', 'websocket').send({ code: 426, errMsg: 'a WebSocket endpoint' }),
  );

  // State manager and inventory (§10.3): HTTP 200, so the agent reads the body and its errCode.
  for (const path of [
    LubanPath.stateConfigurations,
    LubanPath.stateTemplate,
    LubanPath.stateReport,
    LubanPath.inventory,
  ]) {
    signedPost(path, () => STATE_MANAGER_OFF);
  }
}

/**
 * Answers a WebSocket upgrade no gateway took with a 404: a plain HTTP answer, since a closed
 * socket would look like a network fault.
 */
export function refuseUpgrade(_req: IncomingMessage, socket: Duplex): void {
  socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
}
