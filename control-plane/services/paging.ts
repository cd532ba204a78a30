// Paging of Describe* calls: PageNumber/PageSize (offset) or MaxResults/NextToken (keyset), both
// done in SQL by keysetPage. A NextToken is the sort key of the last row returned (base64url of a
// JSON array), so it stays valid however many rows are added before it.
import { sql, type RawBuilder, type SelectQueryBuilder, type Simplify, type SqlBool } from 'kysely';
import { ApiError } from '../shared/index.js';

export type Paging =
  { mode: 'page'; pageNumber: number; pageSize: number } | { mode: 'token'; maxResults: number; nextToken?: string };

export type KeyPart = string | number;

export function encodeToken(parts: readonly KeyPart[]): string {
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

/** Reads a NextToken back into a sort key of the given shape; a token of another shape is refused. */
export function decodeToken(token: string, shape: readonly ('string' | 'number')[]): KeyPart[] {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parts = undefined;
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== shape.length ||
    parts.some((p, i) => typeof p !== shape[i] || (typeof p === 'number' && !Number.isFinite(p)))
  ) {
    throw new ApiError('InvalidParameter.NextToken', 'NextToken is not a token this call returned.');
  }
  return parts as KeyPart[];
}

/** What to fetch: `limit` includes one extra row, which tells whether a next page exists. */
export interface PageWindow {
  limit: number;
  offset: number;
  after?: KeyPart[];
}

export function windowOf(p: Paging, shape: readonly ('string' | 'number')[]): PageWindow {
  if (p.mode === 'page') {
    return { limit: p.pageSize + 1, offset: (p.pageNumber - 1) * p.pageSize };
  }
  return {
    limit: p.maxResults + 1,
    offset: 0,
    ...(p.nextToken ? { after: decodeToken(p.nextToken, shape) } : {}),
  };
}

/** Cuts the extra row and builds the paging fields of the response. */
export function pageOf<T>(
  p: Paging,
  rows: T[],
  totalCount: number,
  keyOf: (row: T) => KeyPart[],
): { rows: T[]; fields: { TotalCount: number; PageNumber?: number; PageSize: number; NextToken?: string } } {
  const size = p.mode === 'page' ? p.pageSize : p.maxResults;
  const more = rows.length > size;
  const page = more ? rows.slice(0, size) : rows;
  const last = page.at(-1);
  return {
    rows: page,
    fields: {
      TotalCount: totalCount,
      ...(p.mode === 'page' ? { PageNumber: p.pageNumber } : {}),
      PageSize: size,
      ...(more && last !== undefined ? { NextToken: encodeToken(keyOf(last)) } : {}),
    },
  };
}

/** One column of a listing's sort key; a NextToken holds its value in the last row returned. */
export interface KeyColumn {
  /** As SQL names it, qualified when the query joins: `created_at`, `r.invoke_id`. */
  column: string;
  direction: 'asc' | 'desc';
  /** Its value's type in a NextToken, checked when the token is read back. */
  type: 'string' | 'number';
}

/** The token shape of a key: its columns' types. */
const shapeOf = (key: readonly KeyColumn[]) => key.map((c) => c.type);

/**
 * The rows after `after` in the order of `key` fall in one segment per column, in this order: tied
 * on every column but the last and past it on the last, then tied on all but the last two and past
 * on the one before, …, then past on the first. Segment `i` as a WHERE condition: tied on the
 * columns before `i`, past `after[i]` on column `i` (`<` for a descending column, `>` for an
 * ascending one). Each is equalities and one range, which an index in the key's order can seek to;
 * their OR (one condition for the whole rest) is not, whatever the index, when the directions mix.
 * The key must be unique per row (end it with an id), or rows tied on all of it could be skipped.
 */
function afterSegment(key: readonly KeyColumn[], after: readonly KeyPart[], i: number): RawBuilder<SqlBool> {
  const ref = (j: number) => sql.ref(key[j]!.column);
  const tiedBefore = key.slice(0, i).map((_, j) => sql`${ref(j)} = ${after[j]}`);
  const past = sql`${ref(i)} ${sql.raw(key[i]!.direction === 'desc' ? '<' : '>')} ${after[i]}`;
  return sql<SqlBool>`(${sql.join([...tiedBefore, past], sql` AND `)})`;
}

/**
 * One page of a listing, in the order of `key`: ORDER BY the key, LIMIT/OFFSET with one extra row
 * to tell whether more follow; then pageOf's rows and response fields. After a NextToken (the key
 * of the last row of the previous page, `keyOf`) the page is read segment by segment (afterSegment)
 * until it is full, one query each: within an invocation's results the first fills it; a listing
 * whose leading column is rarely tied (a creation time) finds the first empty and is filled by the
 * next. `query` holds the listing's filters and selections; `totalCount` is what those filters match.
 */
export async function keysetPage<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  paging: Paging,
  key: readonly KeyColumn[],
  keyOf: (row: Simplify<O>) => KeyPart[],
  totalCount: number,
) {
  const w = windowOf(paging, shapeOf(key));
  let q = query;
  for (const c of key) {
    q = q.orderBy(sql.ref(c.column), c.direction);
  }
  const after = w.after;
  if (!after) {
    return pageOf(paging, await q.limit(w.limit).offset(w.offset).execute(), totalCount, keyOf);
  }
  const rows: Simplify<O>[] = [];
  for (let i = key.length - 1; i >= 0 && rows.length < w.limit; i--) {
    rows.push(
      ...(await q
        .where(afterSegment(key, after, i))
        .limit(w.limit - rows.length)
        .execute()),
    );
  }
  return pageOf(paging, rows, totalCount, keyOf);
}

/**
 * keysetPage for a list held in memory (the public commands): the same order, NextTokens and
 * response fields, the key's values taken by `keyOf`. Strings compare by UTF-16 code unit here.
 */
export function keysetPageInMemory<T>(
  all: readonly T[],
  paging: Paging,
  key: readonly KeyColumn[],
  keyOf: (row: T) => KeyPart[],
) {
  const w = windowOf(paging, shapeOf(key));
  const compare = (a: readonly KeyPart[], b: readonly KeyPart[]): number => {
    for (const [i, c] of key.entries()) {
      // Both parts have the column's type (decodeToken checks a token's): numbers compare as numbers.
      const x = a[i]!;
      const y = b[i]!;
      if (x !== y) {
        return (x < y ? -1 : 1) * (c.direction === 'desc' ? -1 : 1);
      }
    }
    return 0;
  };
  const sorted = [...all].sort((a, b) => compare(keyOf(a), keyOf(b)));
  const after = w.after;
  const rest = after ? sorted.filter((r) => compare(keyOf(r), after) > 0) : sorted;
  return pageOf(paging, rest.slice(w.offset, w.offset + w.limit), all.length, keyOf);
}
