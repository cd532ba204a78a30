// The update side of the agent API: the update_check answer and the package downloads
// (UPDATES_PATH/<os>/<arch>/<file>; plain GETs, as the stock agent sends no identity with them).
import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { parseUpdateCheckRequest } from '../../protocol/index.js';
import type { Log } from '../shared/index.js';
import { UPDATES_PATH, UpdateCatalog } from './update-catalog.js';

/** The stock `next_interval`, which agents ignore. */
const NEXT_INTERVAL_S = 1800;

/** The update_check answer for one agent: `need_update:1` with the newest newer package, else 0. */
export async function answerUpdateCheck(
  catalog: UpdateCatalog | undefined,
  body: Buffer,
  ctx: { instanceId: string; host: string | undefined; log: Log },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const none = { status: 200, body: { code: 200, flag: 0, instanceId: ctx.instanceId, need_update: 0 } };
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { status: 400, body: { code: 400, errMsg: 'body is not JSON' } };
  }
  const req = parseUpdateCheckRequest(json);
  if (!req.ok) {
    return { status: 400, body: { code: 400, errMsg: req.errors.join('; ') } };
  }
  if (!catalog || !ctx.host) {
    return none;
  }
  const { os, arch, app_version: current } = req.value;
  const pkg = await catalog.newerThan(os, arch, current);
  if (!pkg) {
    return none;
  }
  ctx.log.info('agent update offered', { instanceId: ctx.instanceId, from: current, to: pkg.version, os, arch });
  return {
    status: 200,
    body: {
      ...none.body,
      need_update: 1,
      next_interval: NEXT_INTERVAL_S,
      update_info: UpdateCatalog.updateInfo(pkg, os, arch, ctx.host),
    },
  };
}

export function updateFileRoutes(catalog: UpdateCatalog) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: { os: string; arch: string; name: string } }>(
      `${UPDATES_PATH}/:os/:arch/:name`,
      async (req, reply) => {
        const f = await catalog.file(req.params.os, req.params.arch, req.params.name);
        if (!f) {
          return reply.code(404).send({ code: 404, errMsg: 'no such update package' });
        }
        return reply
          .header('Content-Type', 'application/zip')
          .header('Content-Length', String(f.size))
          .header('X-Content-Type-Options', 'nosniff')
          .header('Cache-Control', 'no-cache')
          .send(createReadStream(f.path));
      },
    );
  };
}
