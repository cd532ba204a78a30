// Hybrid (managed instance) registration (spec/luban-protocol.md §7.1–7.2).
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { LubanPath, isObj, type RegisterRequest } from '../../protocol/index.js';
import { AGENT_VERSION, AgentError, isAgentError } from '../shared/index.js';
import type { AgentPaths, Logger } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';
import { hostInfo } from './host-info.js';
import { isRegistered, writeIdentity } from './identity-store.js';
import { readMachineId } from './machine-id.js';
import { answerRejection, asRejection } from './rejection.js';

export interface RegisterOptions {
  paths: AgentPaths;
  /** Host (and optional port) of the control plane: `https://<serverHost>/luban/api/...`. */
  serverHost: string;
  http: HttpClient;
  regionId: string;
  activationCode: string;
  activationId: string;
  instanceName?: string;
  networkMode?: string;
  tags: { key: string; value: string }[];
  log: Logger;
}

/** A `--tag key=value` argument: exactly one '=' and a non-empty key. */
export function parseTag(s: string): { key: string; value: string } {
  const parts = s.split('=');
  if (parts.length !== 2) {
    throw new AgentError('CONFIG_INVALID', `tag "${s}": expected key=value with exactly one '='`);
  }
  const [key = '', value = ''] = parts;
  if (key === '') {
    throw new AgentError('CONFIG_INVALID', `tag "${s}": the key is empty`);
  }
  return { key, value };
}

/** Instance ids go raw into a header and a file: no whitespace or control characters. */
const INSTANCE_ID_RE = /^[\x21-\x7e]+$/;

/**
 * Registers this machine as a managed instance: generates an RSA-2048 key pair, sends the public key
 * with the activation, and on success stores the identity in `<hybridDir>`. Refuses when an identity
 * already exists. The caller restarts the service afterwards.
 */
export async function registerInstance(o: RegisterOptions): Promise<{ instanceId: string }> {
  const hybridDir = o.paths.hybridDir;
  if (isRegistered(hybridDir)) {
    throw new AgentError('IDENTITY_EXISTS', `already registered (${hybridDir}/instance-id exists); deregister first`);
  }
  const missing = (['regionId', 'activationCode', 'activationId'] as const).filter((k) => o[k] === '');
  if (missing.length > 0) {
    throw new AgentError('CONFIG_INVALID', `register: ${missing.join(', ')} required`);
  }

  const machineId = readMachineId(hybridDir);
  const { publicKey: publicKeyPem, privateKey: privateKeyPem } = await promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const host = hostInfo();
  const body: RegisterRequest = {
    activationCode: o.activationCode,
    machineId,
    regionId: o.regionId,
    instanceName: o.instanceName ?? '',
    hostname: host.hostname,
    intranetIp: host.intranetIp,
    osVersion: host.osVersion,
    osType: host.osType,
    agentVersion: AGENT_VERSION,
    publicKey: Buffer.from(publicKeyPem, 'utf8').toString('base64'),
    activationId: o.activationId,
    tag: o.tags.map((t) => ({ key: t.key, value: t.value })),
  };
  const url = `https://${o.serverHost}${LubanPath.register}`;
  o.log.info('hybrid register', {
    url,
    regionId: o.regionId,
    activationId: o.activationId,
    instanceName: body.instanceName,
    tags: body.tag.length,
  });

  let res: unknown;
  try {
    res = await o.http.requestJson({
      method: 'POST',
      url,
      body: JSON.stringify(body),
      contentType: 'json',
      withIdentity: false,
    });
  } catch (e) {
    const err = asRejection(e, 'register');
    if (isAgentError(err) && err.code === 'REGISTER_REJECTED') {
      o.log.warn('hybrid register rejected', { reason: err.message });
    }
    throw err;
  }

  const instanceId = isObj(res) ? res['instanceId'] : undefined;
  if (!isObj(res) || res['code'] !== 200 || typeof instanceId !== 'string' || instanceId === '') {
    const err = answerRejection(res, 'register');
    o.log.warn('hybrid register rejected', { reason: err.message });
    throw err;
  }
  if (!INSTANCE_ID_RE.test(instanceId)) {
    const err = new AgentError(
      'REGISTER_REJECTED',
      'register: the server issued an instance id with invalid characters',
    );
    o.log.warn('hybrid register rejected', { reason: err.message });
    throw err;
  }
  // Another registration may have finished while we waited for the server: never overwrite it.
  if (isRegistered(hybridDir)) {
    throw new AgentError('IDENTITY_EXISTS', `registered concurrently (${hybridDir}/instance-id appeared)`);
  }
  try {
    writeIdentity(hybridDir, {
      instanceId,
      machineId,
      regionId: o.regionId,
      networkMode: o.networkMode ?? '',
      privateKeyPem,
      publicKeyPem,
    });
  } catch (e) {
    // instance-id is written last, so whatever was written still does not count as registered.
    o.log.error('hybrid register could not store the identity', { instanceId, err: e });
    throw new AgentError(
      'STATE_CORRUPT',
      `registered as ${instanceId} but could not store the identity in ${hybridDir}`,
      {
        cause: e,
      },
    );
  }
  o.log.info('hybrid register ok', { instanceId });
  return { instanceId };
}
