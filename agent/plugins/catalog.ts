// The control plane as the plugin manager sees it: the plugin list, package downloads and status
// reports (spec/luban-protocol.md §9.2), 3 attempts 3 s apart each (stock).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LubanPath,
  parsePluginListResponse,
  parsePluginReportResponse,
  parsePluginUpdateCheckResponse,
  type PluginInfo,
  type PluginListRequest,
  type PluginReportResponse,
  type PluginStatusEntry,
  type PluginUpdateCheckRequest,
  type PluginUpdateCheckResponse,
} from '../../protocol/index.js';
import { ensureError, sleep } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';
import { downloadPackage } from '../update/index.js';

/** Port: what the manager needs from a server (tests and the CLI build it from a host). */
export interface PluginCatalog {
  list(req: PluginListRequest): Promise<PluginInfo[]>;
  /** The package's bytes. */
  download(url: string, timeoutMs: number): Promise<Buffer>;
  report(entries: readonly PluginStatusEntry[]): Promise<PluginReportResponse | undefined>;
  updateCheck(req: PluginUpdateCheckRequest): Promise<PluginUpdateCheckResponse>;
}

export interface LubanCatalogOptions {
  host: string;
  http: HttpClient;
  attempts?: number;
  retryDelayMs?: number;
  signal?: AbortSignal;
}

export class LubanPluginCatalog implements PluginCatalog {
  readonly #o: LubanCatalogOptions;
  constructor(o: LubanCatalogOptions) {
    this.#o = o;
  }

  async #post(path: string, body: unknown): Promise<unknown> {
    const attempts = this.#o.attempts ?? 3;
    let last: Error | undefined;
    for (let i = 0; i < attempts; i++) {
      if (i > 0 && !(await sleep(this.#o.retryDelayMs ?? 3_000, this.#o.signal))) {
        break;
      }
      try {
        return await this.#o.http.requestJson({
          method: 'POST',
          url: `https://${this.#o.host}${path}`,
          body: JSON.stringify(body, null, 4),
          contentType: 'json',
          ...(this.#o.signal ? { signal: this.#o.signal } : {}),
        });
      } catch (e) {
        last = ensureError(e);
      }
    }
    throw last ?? new Error('stopped');
  }

  async list(req: PluginListRequest): Promise<PluginInfo[]> {
    const parsed = parsePluginListResponse(await this.#post(LubanPath.pluginList, req));
    if (!parsed.ok) {
      throw new Error(parsed.errors.join('; '));
    }
    return parsed.value;
  }

  async download(url: string, timeoutMs: number): Promise<Buffer> {
    const dir = mkdtempSync(join(tmpdir(), 'acs-plugin-'));
    try {
      let last: Error | undefined;
      for (let i = 0; i < (this.#o.attempts ?? 3); i++) {
        if (i > 0 && !(await sleep(this.#o.retryDelayMs ?? 3_000, this.#o.signal))) {
          break;
        }
        const file = join(dir, `package-${i}.zip`);
        try {
          await downloadPackage({
            url,
            file,
            http: this.#o.http,
            timeoutMs,
            ...(this.#o.signal ? { signal: this.#o.signal } : {}),
          });
          return readFileSync(file);
        } catch (e) {
          last = ensureError(e);
        }
      }
      throw last ?? new Error('stopped');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async report(entries: readonly PluginStatusEntry[]): Promise<PluginReportResponse | undefined> {
    return parsePluginReportResponse(await this.#post(LubanPath.pluginReportStatus, { plugin: entries }));
  }

  async updateCheck(req: PluginUpdateCheckRequest): Promise<PluginUpdateCheckResponse> {
    const parsed = parsePluginUpdateCheckResponse(await this.#post(LubanPath.pluginUpdateCheck, req));
    if (!parsed.ok) {
      throw new Error(parsed.errors.join('; '));
    }
    return parsed.value;
  }
}
