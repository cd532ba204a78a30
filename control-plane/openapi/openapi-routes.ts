// The RPC endpoint: verify the signature, refuse replays, route on the action, map errors once.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessKeyService } from '../services/index.js';
import { ApiError, isApiError, newRequestId, type Log } from '../shared/index.js';
import type { ActionDeps } from './actions.js';
import { routeAction, type OosActionDeps } from './oos-actions.js';
import { Params } from './params.js';
import { verifyApiRequest } from './signature.js';

export const API_VERSION = '2014-05-26';
const NONCE_TTL_MS = 30 * 60_000;

export interface OpenApiDeps extends ActionDeps, OosActionDeps {
  keys: AccessKeyService;
  log: Log;
  hostId: string;
}

export function openApiRoutes(deps: OpenApiDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.removeAllContentTypeParsers();
    // A form body as large as the request head may be (see MAX_REQUEST_HEAD_BYTES), twice over.
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 2 * 1024 * 1024 }, (_req, body, done) =>
      done(null, body),
    );
    const handler = (req: FastifyRequest, reply: FastifyReply) => handle(deps, req, reply);
    app.get('/', handler);
    app.post('/', handler);
  };
}

async function handle(deps: OpenApiDeps, req: FastifyRequest, reply: FastifyReply) {
  const requestId = newRequestId();
  let action: string | undefined;
  const audit = deps.audit.begin(requestId, req.ip, Date.now());
  try {
    const now = Date.now();
    const signed = {
      method: req.method,
      path: req.url.split('?')[0] ?? '/',
      rawQuery: req.url.split('?')[1] ?? '',
      headers: req.headers,
      body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    };
    let check = verifyApiRequest(signed, deps.keys.lookupSecret, now);
    // A key created on another node of a cluster is not in this node's memory yet.
    if (!check.ok && check.code === 'InvalidAccessKeyId.NotFound' && (await deps.keys.reload(now))) {
      check = verifyApiRequest(signed, deps.keys.lookupSecret, now);
    }
    if (!check.ok) {
      throw new ApiError(check.code, check.message);
    }
    if (!(await deps.keys.useNonce(check.nonce, check.accessKeyId, now, NONCE_TTL_MS))) {
      throw new ApiError('SignatureNonceUsed', 'The request signature nonce has been used.');
    }
    action = check.action;
    // Version 2019-06-01 names an OOS (parameter store) action; any other, an ECS one.
    const run = routeAction(check.version, action);
    if (!run) {
      throw new ApiError(
        'InvalidAction.NotFound',
        `Specified api ${action ?? '(none)'} is not found, please check your url and method.`,
      );
    }
    // PostgreSQL stores no NUL character in text, and no documented parameter holds one.
    const nul = Object.entries(check.params).find(([, v]) => v.includes('\0'))?.[0];
    if (nul !== undefined) {
      throw new ApiError('InvalidParameter', `The parameter ${nul} contains a NUL character.`);
    }
    // Access policies: account keys pass, a RAM user's key needs its policies' permission.
    await deps.access.authorize(audit, {
      accessKeyId: check.accessKeyId,
      action: action ?? '',
      params: check.params,
      nowMs: now,
    });
    const body = await run(new Params(check.params), deps, check.accessKeyId);
    deps.audit.finish(audit, 'Success');
    deps.log.info('api call', { action, accessKeyId: check.accessKeyId, requestId });
    return reply.send({ RequestId: requestId, ...body });
  } catch (e) {
    const err = isApiError(e)
      ? e
      : new ApiError('InternalError', 'The request processing has failed due to some unknown error.', { cause: e });
    if (err.code === 'InternalError') {
      deps.log.error('api call failed', { action, requestId, err: String((e as Error)?.stack ?? e) });
    } else {
      deps.log.info('api call refused', { action, requestId, code: err.code });
    }
    deps.audit.finish(audit, err.code, err.message, req);
    return reply
      .code(err.status)
      .send({ RequestId: requestId, HostId: deps.hostId, Code: err.code, Message: err.message });
  }
}
