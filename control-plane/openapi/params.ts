// Reading RPC-style parameters: flat lists (`InstanceId.1`, `InstanceId.2`), JSON maps, booleans.
import { ApiError, invalid } from '../shared/index.js';

export class Params {
  readonly #p: Record<string, string>;
  constructor(p: Record<string, string>) {
    this.#p = p;
  }
  str(name: string, fallback = ''): string {
    return this.#p[name] ?? fallback;
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
    if (!/^-?\d+$/.test(v)) {
      throw invalid(name, 'expected an integer');
    }
    return Number(v);
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
  /** `Name.1 … Name.N`, or a JSON array in `Name` (some SDK versions send that). */
  list(name: string): string[] {
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
  page(maxSize = 50): { pageNumber: number; pageSize: number } {
    const pageNumber = this.int('PageNumber') ?? 1;
    const pageSize = this.int('PageSize') ?? 10;
    if (pageNumber < 1) {
      throw invalid('PageNumber', 'must be at least 1');
    }
    if (pageSize < 1 || pageSize > maxSize) {
      throw new ApiError('InvalidParameter', `PageSize must be from 1 to ${maxSize}.`);
    }
    return { pageNumber, pageSize };
  }
}
