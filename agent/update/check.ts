// The luban update_check call (spec/luban-protocol.md §9.1): up to 3 attempts, 5 s apart.
import os from 'node:os';
import {
  isObj,
  LubanPath,
  parseUpdateCheckResponse,
  UPDATE_APP_ID,
  updateArch,
  updateOs,
  type UpdateCheckRequest,
  type UpdateCheckResponse,
} from '../../protocol/index.js';
import { stockOsVersion } from '../identity/index.js';
import { ensureError, sleep } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';
import { UpdateError } from './update-errors.js';

export function updateCheckRequest(
  version: string,
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): UpdateCheckRequest {
  return {
    os: updateOs(platform),
    arch: platform === 'win32' ? 'amd64' : updateArch(arch), // stock: Windows always says amd64
    // The stock value (uname -v): an update server may choose packages by it.
    os_version: stockOsVersion(),
    app_id: UPDATE_APP_ID,
    app_version: version,
    kernel_version: os.release(),
  };
}

export async function requestUpdateCheck(o: {
  host: string;
  http: HttpClient;
  version: string;
  attempts?: number;
  retryDelayMs?: number;
  signal?: AbortSignal;
}): Promise<UpdateCheckResponse> {
  const body = JSON.stringify(updateCheckRequest(o.version));
  const attempts = o.attempts ?? 3;
  let last: Error | undefined;
  for (let i = 0; i < attempts; i++) {
    if (i > 0 && !(await sleep(o.retryDelayMs ?? 5_000, o.signal))) {
      break;
    }
    let json: unknown;
    try {
      json = await o.http.requestJson({
        method: 'POST',
        url: `https://${o.host}${LubanPath.updateCheck}`,
        body,
        contentType: 'json',
        ...(o.signal ? { signal: o.signal } : {}),
      });
    } catch (e) {
      last = ensureError(e);
      continue;
    }
    // A 400 comes back as JSON too; it is an error, not "no update".
    if (isObj(json) && typeof json['code'] === 'number' && json['code'] >= 400) {
      throw new UpdateError('CheckUpdateFailed', `update_check answered ${json['code']}: ${String(json['errMsg'])}`);
    }
    const parsed = parseUpdateCheckResponse(json);
    if (!parsed.ok) {
      throw new UpdateError('CheckUpdateFailed', `update_check answer refused: ${parsed.errors.join('; ')}`);
    }
    return parsed.value;
  }
  throw new UpdateError('CheckUpdateFailed', `update_check failed: ${last?.message ?? 'stopped'}`, { cause: last });
}
