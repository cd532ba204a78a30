// Tiny structural validators: collect every problem instead of stopping at the first.

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: string[] };

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Field readers that record a problem and return a default when a field has the wrong type. */
export class FieldReader {
  readonly errors: string[] = [];
  readonly #obj: Obj;
  readonly #where: string;
  constructor(obj: Obj, where: string) {
    this.#obj = obj;
    this.#where = where;
  }
  #bad(key: string, want: string): void {
    this.errors.push(`${this.#where}.${key}: expected ${want}`);
  }
  /** A string; JSON null and a missing key read as '' (Go semantics, §1.2). */
  str(key: string, required = false): string {
    const v = this.#obj[key];
    if (v === undefined || v === null) {
      if (required) {
        this.errors.push(`${this.#where}.${key}: required`);
      }
      return '';
    }
    if (typeof v !== 'string') {
      this.#bad(key, 'a string');
      return '';
    }
    return v;
  }
  int(key: string, fallback = 0): number {
    const v = this.#obj[key];
    if (v === undefined || v === null) {
      return fallback;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.#bad(key, 'an integer');
      return fallback;
    }
    return v;
  }
  bool(key: string): boolean {
    const v = this.#obj[key];
    if (v === undefined || v === null) {
      return false;
    }
    if (typeof v !== 'boolean') {
      this.#bad(key, 'a boolean');
      return false;
    }
    return v;
  }
  strMap(key: string): Record<string, string> {
    const v = this.#obj[key];
    if (v === undefined || v === null) {
      return {};
    }
    if (!isObj(v) || !Object.values(v).every((x) => typeof x === 'string')) {
      this.#bad(key, 'an object of strings');
      return {};
    }
    return v as Record<string, string>;
  }
  obj(key: string): Obj {
    const v = this.#obj[key];
    if (v === undefined || v === null) {
      return {};
    }
    if (!isObj(v)) {
      this.#bad(key, 'an object');
      return {};
    }
    return v;
  }
  arr(key: string): unknown[] {
    const v = this.#obj[key];
    if (v === undefined || v === null) {
      return [];
    }
    if (!Array.isArray(v)) {
      this.#bad(key, 'an array');
      return [];
    }
    return v;
  }
}
