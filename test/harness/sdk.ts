// The official Alibaba Cloud SDKs, unmodified, pointed at our control plane. They trust its CA the
// way a user would: through NODE_EXTRA_CA_CERTS-style trust, here passed to the client directly.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import * as EcsModels from '@alicloud/ecs20140526';
import * as OpenApi from '@alicloud/openapi-client';
import RPCClient from '@alicloud/pop-core';

type Key = { accessKeyId: string; accessKeySecret: string };
// The SDK packages are CommonJS with a default export; under ESM interop it may sit one level down.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const models = EcsModels as any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const EcsCtor = (models.default?.default ?? models.default) as any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const openApi = ((OpenApi as any).default ?? OpenApi) as any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const PopCore = ((RPCClient as any).default ?? RPCClient) as any;

/** An API error as the SDKs surface it. */
export interface SdkError {
  code: string;
  message: string;
  statusCode?: number;
}

/** Awaits a call that must fail and returns the API error code (Code) and message it failed with. */
export async function apiError(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: string; data?: { Code?: string }; message: string };
    return { code: err.data?.Code ?? err.code ?? '', message: err.message };
  }
  throw new Error('expected the call to fail');
}

export class EcsClient {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly client: any;
  constructor(hostPort: string, key: Key, caPath: string) {
    const config = new openApi.Config({
      accessKeyId: key.accessKeyId,
      accessKeySecret: key.accessKeySecret,
      endpoint: hostPort,
      protocol: 'https',
      regionId: 'cn-local',
      ca: readFileSync(caPath, 'utf8'),
    });
    this.client = new EcsCtor(config);
  }
  /** Calls `<action>` (e.g. 'runCommand') with a request model built from plain fields. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async call(action: string, fields: Record<string, unknown>): Promise<any> {
    const model = `${action[0]!.toUpperCase()}${action.slice(1)}Request`;
    const req = new models[model](fields);
    const res = await this.client[action](req);
    return res.body;
  }
}

/** `@alicloud/pop-core` on the ECS API version, or another (`apiVersion`). */
export class PopClient {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly client: any;
  constructor(hostPort: string, key: Key, caPath: string, apiVersion = '2014-05-26') {
    this.client = new PopCore({
      accessKeyId: key.accessKeyId,
      accessKeySecret: key.accessKeySecret,
      endpoint: `https://${hostPort}`,
      apiVersion,
      opts: { agent: new https.Agent({ ca: readFileSync(caPath, 'utf8') }) },
    });
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async call(action: string, params: Record<string, unknown>, method: 'GET' | 'POST' = 'POST'): Promise<any> {
    return this.client.request(action, { RegionId: 'cn-local', ...params }, { method, timeout: 15_000 });
  }
}
