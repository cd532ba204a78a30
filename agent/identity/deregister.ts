// Hybrid deregistration (spec/luban-protocol.md §7.3).
import { LubanPath, isObj } from '../../protocol/index.js';
import { AgentError, isAgentError } from '../shared/index.js';
import type { AgentPaths, Logger } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';
import { readIdentity, removeIdentity } from './identity-store.js';
import { answerRejection, asRejection } from './rejection.js';

/**
 * Tells the server to forget this managed instance (a signed request: `http` must carry
 * `identityHeaderProvider(hybridDir)`), then deletes the identity files except network-mode.
 * The caller restarts the service afterwards.
 */
export async function deregisterInstance(o: {
  paths: AgentPaths;
  serverHost: string;
  http: HttpClient;
  log: Logger;
}): Promise<void> {
  const hybridDir = o.paths.hybridDir;
  const identity = readIdentity(hybridDir);
  if (!identity) {
    throw new AgentError('IDENTITY_MISSING', `not registered (${hybridDir}/instance-id does not exist)`);
  }
  const url = `https://${o.serverHost}${LubanPath.deregister}`;
  o.log.info('hybrid deregister', { url, instanceId: identity.instanceId });
  let res: unknown;
  try {
    res = await o.http.requestJson({ method: 'POST', url, body: '{}', contentType: 'json', withIdentity: true });
  } catch (e) {
    const err = asRejection(e, 'deregister');
    if (isAgentError(err) && err.code === 'REGISTER_REJECTED') {
      o.log.warn('hybrid deregister rejected', { reason: err.message });
    }
    throw err;
  }
  // Stock also deletes the files on an empty or unparseable answer; we keep them unless the server said 200.
  if (!isObj(res) || res['code'] !== 200) {
    const err = answerRejection(res, 'deregister');
    o.log.warn('hybrid deregister rejected', { reason: err.message });
    throw err;
  }
  removeIdentity(hybridDir);
  o.log.info('hybrid deregister ok', { instanceId: identity.instanceId });
}
