// Hybrid registration (spec/luban-protocol.md §7.2–7.3).
import { FieldReader, isObj, type Validated } from './validate.js';

export interface RegisterRequest {
  activationCode: string;
  machineId: string;
  regionId: string;
  instanceName: string;
  hostname: string;
  intranetIp: string;
  osVersion: string;
  osType: string;
  agentVersion: string;
  /** Base64 of the whole PEM text of the public key (SPKI). */
  publicKey: string;
  activationId: string;
  tag: { key: string; value: string }[];
}

export interface RegisterResponse {
  code: number;
  instanceId?: string;
  errMsg?: string;
}

export function parseRegisterRequest(v: unknown): Validated<RegisterRequest> {
  if (!isObj(v)) {
    return { ok: false, errors: ['register: expected a JSON object'] };
  }
  const r = new FieldReader(v, 'register');
  const tags = r.arr('tag').map((t, i) => {
    const tr = new FieldReader(isObj(t) ? t : {}, `register.tag[${i}]`);
    const tag = { key: tr.str('key', true), value: tr.str('value') };
    r.errors.push(...tr.errors);
    return tag;
  });
  const value: RegisterRequest = {
    activationCode: r.str('activationCode', true),
    machineId: r.str('machineId', true),
    regionId: r.str('regionId'),
    instanceName: r.str('instanceName'),
    hostname: r.str('hostname'),
    intranetIp: r.str('intranetIp'),
    osVersion: r.str('osVersion'),
    osType: r.str('osType'),
    agentVersion: r.str('agentVersion'),
    publicKey: r.str('publicKey', true),
    activationId: r.str('activationId', true),
    tag: tags,
  };
  return r.errors.length > 0 ? { ok: false, errors: r.errors } : { ok: true, value };
}
