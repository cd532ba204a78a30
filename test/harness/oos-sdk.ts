// The OOS parameter-store API (version 2019-06-01) through the official generic clients, unmodified:
// `@alicloud/openapi-client` callApi (ACS3-HMAC-SHA256, the version in x-acs-version) and
// `@alicloud/pop-core` (signature v1, the version in the query).
import { readFileSync } from 'node:fs';
import * as OpenApi from '@alicloud/openapi-client';
import { PopClient } from './sdk.js';

type Key = { accessKeyId: string; accessKeySecret: string };
// CommonJS packages with a default export; under ESM interop it may sit one level down.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const openApi = ((OpenApi as any).default ?? OpenApi) as any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const OpenApiClient = (openApi.default ?? openApi) as any;

export const OOS_VERSION = '2019-06-01';

/** `@alicloud/openapi-client`'s generic callApi, RPC style, for any OOS action. */
export class OosClient {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly client: any;
  constructor(hostPort: string, key: Key, caPath: string) {
    this.client = new OpenApiClient(
      new openApi.Config({
        accessKeyId: key.accessKeyId,
        accessKeySecret: key.accessKeySecret,
        endpoint: hostPort,
        protocol: 'https',
        regionId: 'cn-local',
        ca: readFileSync(caPath, 'utf8'),
      }),
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async call(action: string, query: Record<string, string>): Promise<any> {
    const params = new openApi.Params({
      action,
      version: OOS_VERSION,
      protocol: 'HTTPS',
      pathname: '/',
      method: 'POST',
      authType: 'AK',
      style: 'RPC',
      reqBodyType: 'formData',
      bodyType: 'json',
    });
    const res = await this.client.callApi(
      params,
      new openApi.OpenApiRequest({ query: { RegionId: 'cn-local', ...query } }),
      {}, // RuntimeOptions: the defaults
    );
    return res.body;
  }
}

/** `@alicloud/pop-core` with the OOS API version. */
export class OosPopClient extends PopClient {
  constructor(hostPort: string, key: Key, caPath: string) {
    super(hostPort, key, caPath, OOS_VERSION);
  }
}
