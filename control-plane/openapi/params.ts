// Reading RPC-style parameters: flat lists (`InstanceId.1`, `InstanceId.2`), JSON maps, booleans.
import { ApiError, invalid, missing } from '../shared/index.js';

/**
 * The furthest row a PageNumber may reach: (PageNumber - 1) * PageSize up to 2^31. Far past any
 * listing, and small enough that the offset stays an integer the store binds as one.
 */
export const MAX_PAGE_OFFSET = 2 ** 31;

export class Params {
  readonly #p: Record<string, string>;
  constructor(p: Record<string, string>) {
    this.#p = p;
  }
  str(name: string, fallback = ''): string {
    return this.#p[name] ?? fallback;
  }
  /** The raw value when the parameter is present at all (an empty string included). */
  opt(name: string): string | undefined {
    return this.#p[name];
  }
  optBool(name: string): boolean | undefined {
    const v = this.#p[name];
    return v === undefined || v === '' ? undefined : this.bool(name);
  }
  /** A parameter that must be given and not empty (MissingParameter otherwise). */
  required(name: string): string {
    const v = this.optStr(name);
    if (v === undefined) {
      throw missing(name);
    }
    return v;
  }
  optStr(name: string): string | undefined {
    const v = this.#p[name];
    return v === undefined || v === '' ? undefined : v;
  }
  int(name: string): number | undefined {
    const v = this.#p[name];
    if (v === undefined || v === '') {
      return undefined;
    }
    const n = /^-?\d+$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n)) {
      // Beyond 2^53 a number is no longer the integer it was written as.
      throw invalid(name, `expected an integer from -${Number.MAX_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}`);
    }
    return n;
  }
  bool(name: string, fallback = false): boolean {
    const v = this.#p[name];
    if (v === undefined || v === '') {
      return fallback;
    }
    if (v === 'true' || v === 'false') {
      return v === 'true';
    }
    throw invalid(name, 'expected true or false');
  }
  /**
   * `Name.1 … Name.N`, or a JSON array in `Name` (some SDK versions send that). `max`: the most
   * items the call documents; more is InvalidParameter.
   */
  list(name: string, max = Infinity): string[] {
    const items = this.#list(name);
    if (items.length > max) {
      throw invalid(name, `at most ${max} items; got ${items.length}`);
    }
    return items;
  }
  #list(name: string): string[] {
    const whole = this.#p[name];
    if (whole !== undefined && whole.startsWith('[')) {
      try {
        const arr = JSON.parse(whole) as unknown;
        if (Array.isArray(arr)) {
          return arr.map(String);
        }
      } catch {
        throw invalid(name, 'expected a JSON array');
      }
    }
    const items: [number, string][] = [];
    const re = new RegExp(`^${name}\\.(\\d+)$`);
    for (const [k, v] of Object.entries(this.#p)) {
      const m = re.exec(k);
      if (m) {
        items.push([Number(m[1]), v]);
      }
    }
    if (items.length === 0 && whole !== undefined && whole !== '') {
      return [whole];
    }
    return items.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }
  /** A JSON object given as a string (`Parameters`). */
  jsonObject(name: string): Record<string, unknown> {
    const v = this.#p[name];
    if (v === undefined || v === '') {
      return {};
    }
    try {
      const o = JSON.parse(v) as unknown;
      if (typeof o === 'object' && o !== null && !Array.isArray(o)) {
        return o as Record<string, unknown>;
      }
    } catch {
      // fall through to the error below
    }
    throw invalid(name, 'expected a JSON object');
  }
  /**
   * `Tag.N.Key` / `Tag.N.Value` (the ACS3 SDK sends `Key`/`Value`; plain objects serialise as
   * `key`/`value`, so both spellings are read). An absent Value stays undefined.
   */
  tags(name = 'Tag'): { key?: string; value?: string }[] {
    const byIndex = new Map<number, { key?: string; value?: string }>();
    const re = new RegExp(`^${name}\\.(\\d+)\\.(Key|Value|key|value)$`);
    for (const [k, v] of Object.entries(this.#p)) {
      const m = re.exec(k);
      if (m) {
        const i = Number(m[1]);
        const t = byIndex.get(i) ?? {};
        if (m[2]!.toLowerCase() === 'key') {
          t.key = v;
        } else {
          t.value = v;
        }
        byIndex.set(i, t);
      }
    }
    return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t);
  }
  /** PageNumber/PageSize, or MaxResults/NextToken when either of those is given. */
  paging(maxSize = 50):
    | { mode: 'page'; pageNumber: number; pageSize: number }
    | {
        mode: 'token';
        maxResults: number;
        nextToken?: string;
      } {
    const nextToken = this.optStr('NextToken');
    const maxResults = this.int('MaxResults');
    if (nextToken === undefined && maxResults === undefined) {
      return { mode: 'page', ...this.page(maxSize) };
    }
    const n = maxResults ?? 10;
    if (n < 1 || n > maxSize) {
      throw new ApiError('InvalidParameter', `MaxResults must be from 1 to ${maxSize}.`);
    }
    return { mode: 'token', maxResults: n, ...(nextToken !== undefined ? { nextToken } : {}) };
  }
  page(maxSize = 50): { pageNumber: number; pageSize: number } {
    const pageNumber = this.int('PageNumber') ?? 1;
    const pageSize = this.int('PageSize') ?? 10;
    if (pageNumber < 1) {
      throw invalid('PageNumber', 'must be at least 1');
    }
    if (pageSize < 1 || pageSize > maxSize) {
      throw new ApiError('InvalidParameter', `PageSize must be from 1 to ${maxSize}.`);
    }
    if ((pageNumber - 1) * pageSize > MAX_PAGE_OFFSET) {
      throw invalid('PageNumber', `(PageNumber - 1) * PageSize may be at most ${MAX_PAGE_OFFSET}`);
    }
    return { pageNumber, pageSize };
  }
}
