// Paging of Describe* calls: PageNumber/PageSize (offset) or MaxResults/NextToken (keyset), both
// done in SQL. A NextToken is the sort key of the last row returned, so it stays valid however
// many rows are added before it.
import { sql, type RawBuilder, type SqlBool } from 'kysely';
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

/**
 * The rows after a NextToken key in "newest first, then id descending" order (the order of every
 * listing keyed by a time and an id), as a WHERE condition.
 */
export function afterKey(timeColumn: string, idColumn: string, after: readonly KeyPart[]): RawBuilder<SqlBool> {
  const [at, id] = after;
  const t = sql.ref(timeColumn);
  return sql<SqlBool>`(${t} < ${at} OR (${t} = ${at} AND ${sql.ref(idColumn)} < ${id}))`;
}
