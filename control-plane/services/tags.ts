// Tags on commands and invocations (`Tag.N.Key` / `Tag.N.Value`): validation, storage, filters.
import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db } from '../store/index.js';
import { ApiError, appendTo } from '../shared/index.js';

export interface Tag {
  key: string;
  value: string;
}

/** A tag as a request gives it: either part may be missing until validated. */
export interface RawTag {
  key?: string;
  value?: string;
}

/** A filter tag: without a value it matches any value of the key. */
export interface TagFilter {
  key: string;
  value?: string;
}

export type TagResource = 'command' | 'invocation' | 'file';

export const MAX_TAGS = 20;
const MAX_TAG_TEXT = 128;

/** Tags given on a create call: at most 20, keys unique and well formed, values at most 128 characters. */
export function validateTags(tags: readonly RawTag[]): Tag[] {
  if (tags.length > MAX_TAGS) {
    throw new ApiError('InvalidTagCount', `At most ${MAX_TAGS} tags; got ${tags.length}.`);
  }
  const seen = new Set<string>();
  return tags.map((t, i) => {
    const key = t.key ?? '';
    const value = t.value ?? '';
    checkKey(key, i);
    if ([...value].length > MAX_TAG_TEXT || /^(https?:\/\/)/i.test(value)) {
      throw new ApiError(
        'InvalidTagValue.Malformed',
        `Tag.${i + 1}.Value may have at most ${MAX_TAG_TEXT} characters and may not start with http:// or https://.`,
      );
    }
    if (seen.has(key)) {
      throw new ApiError('Duplicate.TagKey', `Tag.${i + 1}.Key ${key} is given twice.`);
    }
    seen.add(key);
    return { key, value };
  });
}

/** Tags given as a filter: the same key rules; a missing value means any value. */
export function validateTagFilters(tags: readonly RawTag[]): TagFilter[] {
  if (tags.length > MAX_TAGS) {
    throw new ApiError('InvalidTagCount', `At most ${MAX_TAGS} tags; got ${tags.length}.`);
  }
  return tags.map((t, i) => {
    checkKey(t.key ?? '', i);
    return t.value === undefined ? { key: t.key! } : { key: t.key!, value: t.value };
  });
}

function checkKey(key: string, i: number): void {
  if (key === '' || [...key].length > MAX_TAG_TEXT || /^(aliyun|acs:|https?:\/\/)/i.test(key)) {
    throw new ApiError(
      'InvalidTagKey.Malformed',
      `Tag.${i + 1}.Key must have 1 to ${MAX_TAG_TEXT} characters and may not start with aliyun, acs:, http:// or https://.`,
    );
  }
}

export async function saveTags(db: Db, type: TagResource, id: string, tags: readonly Tag[]): Promise<void> {
  if (tags.length === 0) {
    return;
  }
  await db
    .insertInto('tags')
    .values(tags.map((t) => ({ resource_type: type, resource_id: id, tag_key: t.key, tag_value: t.value })))
    .execute();
}

export async function deleteTags(db: Db, type: TagResource, id: string): Promise<void> {
  await db.deleteFrom('tags').where('resource_type', '=', type).where('resource_id', '=', id).execute();
}

/** Tags of many resources at once, by resource id. */
export async function tagsOf(db: Db, type: TagResource, ids: readonly string[]): Promise<Map<string, Tag[]>> {
  const m = new Map<string, Tag[]>();
  if (ids.length === 0) {
    return m;
  }
  const rows = await db
    .selectFrom('tags')
    .select(['resource_id', 'tag_key', 'tag_value'])
    .where('resource_type', '=', type)
    .where('resource_id', 'in', [...new Set(ids)])
    .orderBy('resource_id')
    .orderBy('tag_key')
    .execute();
  for (const r of rows) {
    appendTo(m, r.resource_id, { key: r.tag_key, value: r.tag_value });
  }
  return m;
}

/** The response form: `Tags: { Tag: [{ TagKey, TagValue }] }`. */
export const tagView = (tags: readonly Tag[] | undefined) => ({
  Tag: (tags ?? []).map((t) => ({ TagKey: t.key, TagValue: t.value })),
});

/** A WHERE condition: the resource whose id is in column `idColumn` carries every filter tag. */
export function hasTags(type: TagResource, idColumn: string, filters: readonly TagFilter[]): Expression<SqlBool> {
  const conds = filters.map(
    (f) =>
      sql<SqlBool>`exists (select 1 from tags t where t.resource_type = ${type} and t.resource_id = ${sql.ref(idColumn)}
        and t.tag_key = ${f.key}${f.value === undefined ? sql`` : sql` and t.tag_value = ${f.value}`})`,
  );
  return sql<SqlBool>`(${sql.join(conds, sql` and `)})`;
}
