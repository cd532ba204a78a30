// The parameter store behind the OOS actions (CreateParameter … DeleteSecretParameter) and the
// `{{oos:…}}` / `{{oos-secret:…}}` references of commands. Plain parameters (String, StringList)
// and secret ones (Secret) share one namespace of names; each kind's actions see only their own.
// Secret values are sealed with the master key and opened only for WithDecryption reads and for
// delivery to the agent that runs a command (ParameterService.resolve).
import { randomBytes } from 'node:crypto';
import { sql, type SqlBool } from 'kysely';
import { dialectOf, likeInsensitive, escapeLike, valuesOf, type Db, type ParameterTable } from '../store/index.js';
import { ApiError, isoTime, missing, type SecretBox } from '../shared/index.js';
import { keysetPage, type KeyColumn, type Paging } from './paging.js';
import {
  checkDescription,
  checkParameterName,
  checkParameterType,
  checkValue,
  MAX_VERSIONS,
  parseConstraints,
  type ParameterType,
} from './parameter-rules.js';
import { type ParameterRef } from './parameter-tokens.js';

/** Which family of actions a call belongs to: the plain ones or the Secret* ones. */
export type ParameterKind = 'plain' | 'secret';

export interface CreateParameterInput {
  name: string | undefined;
  type: string | undefined;
  value: string | undefined;
  description: string;
  constraints: string;
  tags: Map<string, string>;
}

export interface UpdateParameterInput {
  name: string | undefined;
  value?: string;
  description?: string;
  tags?: Map<string, string>;
}

export interface ListParametersFilter {
  name?: string;
  path?: string;
  recursive: boolean;
  type?: string;
  tags: Map<string, string>;
  sortField: 'Name' | 'CreatedDate';
  sortOrder: 'Ascending' | 'Descending';
  paging: Extract<Paging, { mode: 'token' }>;
}

/** A parameter as the OOS responses show it. `Value` only where the call returns values. */
export type ParameterView = Record<string, unknown>;

const typesOf = (kind: ParameterKind): ParameterType[] => (kind === 'secret' ? ['Secret'] : ['String', 'StringList']);
const notFound = (name: string) =>
  new ApiError('EntityNotExists.Parameter', `The parameter ${name.slice(0, 200)} does not exist.`);

export class ParameterService {
  readonly #db: Db;
  readonly #box: SecretBox;

  constructor(db: Db, box: SecretBox) {
    this.#db = db;
    this.#box = box;
  }

  async create(kind: ParameterKind, input: CreateParameterInput, by: string, nowMs: number): Promise<ParameterView> {
    const secret = kind === 'secret';
    const name = checkParameterName(input.name, secret);
    const type = checkParameterType(input.type, secret);
    checkDescription(input.description);
    const constraints = parseConstraints(input.constraints);
    const value = checkValue(input.value, constraints);
    await this.#db.transaction().execute(async (tx) => {
      const prior = await tx.selectFrom('parameters').select('name').where('name', '=', name).executeTakeFirst();
      if (prior) {
        throw new ApiError('EntityAlreadyExists.Parameter', `A parameter named ${name} already exists.`);
      }
      await tx
        .insertInto('parameters')
        .values({
          name,
          parameter_id: `p-${randomBytes(10).toString('hex')}`,
          type,
          description: input.description,
          constraints: input.constraints,
          version: 1,
          created_at: nowMs,
          updated_at: nowMs,
          created_by: by,
          updated_by: by,
        })
        .execute();
      await tx
        .insertInto('parameter_versions')
        .values({ name, version: 1, value: this.#sealIf(type, value), created_at: nowMs, created_by: by })
        .execute();
      await replaceTags(tx, name, input.tags);
    });
    return (await this.#views(kind, [name], undefined, false))[0]!;
  }

  /**
   * UpdateParameter / UpdateSecretParameter: a new Value makes a new version (the oldest beyond
   * MAX_VERSIONS goes); Description and Tags (replacing all tags) change the parameter itself.
   */
  async update(kind: ParameterKind, input: UpdateParameterInput, by: string, nowMs: number): Promise<ParameterView> {
    const name = input.name;
    if (name === undefined || name === '') {
      throw missing('Name');
    }
    if (input.description !== undefined) {
      checkDescription(input.description);
    }
    await this.#db.transaction().execute(async (tx) => {
      const p = await this.#row(tx, kind, name);
      const patch: Partial<ParameterTable> = { updated_at: nowMs, updated_by: by };
      if (input.description !== undefined) {
        patch.description = input.description;
      }
      if (input.value !== undefined) {
        const value = checkValue(input.value, parseConstraints(p.constraints));
        patch.version = p.version + 1;
        await tx
          .insertInto('parameter_versions')
          .values({
            name,
            version: patch.version,
            value: this.#sealIf(p.type, value),
            created_at: nowMs,
            created_by: by,
          })
          .execute();
        await tx
          .deleteFrom('parameter_versions')
          .where('name', '=', name)
          .where('version', '<=', patch.version - MAX_VERSIONS)
          .execute();
      }
      await tx.updateTable('parameters').set(patch).where('name', '=', name).execute();
      if (input.tags !== undefined) {
        await tx.deleteFrom('parameter_tags').where('name', '=', name).execute();
        await replaceTags(tx, name, input.tags);
      }
    });
    return (await this.#views(kind, [name], undefined, false))[0]!;
  }

  async delete(kind: ParameterKind, name: string | undefined): Promise<void> {
    if (name === undefined || name === '') {
      throw missing('Name');
    }
    await this.#db.transaction().execute(async (tx) => {
      await this.#row(tx, kind, name);
      await tx.deleteFrom('parameter_versions').where('name', '=', name).execute();
      await tx.deleteFrom('parameter_tags').where('name', '=', name).execute();
      await tx.deleteFrom('parameters').where('name', '=', name).execute();
    });
  }

  /** GetParameter / GetSecretParameter: the latest version, or the one asked for; values included. */
  async get(kind: ParameterKind, name: string | undefined, version: number | undefined, decrypt: boolean) {
    if (name === undefined || name === '') {
      throw missing('Name');
    }
    const [view] = await this.#views(kind, [name], version, true, decrypt);
    if (!view) {
      throw notFound(name);
    }
    return view;
  }

  /** GetParameters / GetSecretParameters: the ones that exist, and the names that do not. */
  async getMany(kind: ParameterKind, names: string[], decrypt: boolean) {
    const views = await this.#views(kind, names, undefined, true, decrypt);
    const found = new Set(views.map((v) => v['Name'] as string));
    return { Parameters: views, InvalidParameters: names.filter((n) => !found.has(n)) };
  }

  /**
   * ListParameters / ListSecretParameters (no values), and GetParametersByPath / …BySecretPath
   * (`withValues`): filtered, sorted, a page at a time (MaxResults/NextToken).
   */
  async list(kind: ParameterKind, f: ListParametersFilter, withValues: boolean, decrypt = false) {
    const filtered = () => {
      let q = this.#db.selectFrom('parameters').where('type', 'in', typesOf(kind));
      if (f.type !== undefined) {
        q = q.where('type', '=', f.type);
      }
      if (f.name !== undefined) {
        q = q.where(likeInsensitive(this.#db, 'name', `%${escapeLike(f.name)}%`));
      }
      if (f.path !== undefined) {
        q = q.where(underPath(this.#db, f.path, f.recursive));
      }
      for (const [k, v] of f.tags) {
        q = q.where(({ exists, selectFrom }) =>
          exists(
            selectFrom('parameter_tags as t')
              .select('t.name')
              .whereRef('t.name', '=', 'parameters.name')
              .where('t.tag_key', '=', k)
              .where('t.tag_value', '=', v),
          ),
        );
      }
      return q;
    };
    const total = await filtered()
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const dir = f.sortOrder === 'Ascending' ? 'asc' : 'desc';
    const key: KeyColumn[] =
      f.sortField === 'Name'
        ? [{ column: 'name', direction: dir, type: 'string' }]
        : [
            { column: 'created_at', direction: dir, type: 'number' },
            { column: 'name', direction: dir, type: 'string' },
          ];
    const page = await keysetPage(
      filtered().select(['name', 'created_at']),
      f.paging,
      key,
      (r) => (f.sortField === 'Name' ? [r.name] : [r.created_at, r.name]),
      Number(total.n),
    );
    const views = await this.#views(
      kind,
      page.rows.map((r) => r.name),
      undefined,
      withValues,
      decrypt,
    );
    return {
      Parameters: views,
      TotalCount: page.fields.TotalCount,
      MaxResults: page.fields.PageSize,
      ...(page.fields.NextToken !== undefined ? { NextToken: page.fields.NextToken } : {}),
    };
  }

  /**
   * The parameters of `refs` that do not exist (a plain reference needs a String or StringList
   * parameter, a secret one a Secret parameter). For RunCommand and InvokeCommand, before anything
   * is stored or sent.
   */
  async missing(refs: readonly ParameterRef[], db: Db = this.#db): Promise<ParameterRef[]> {
    if (refs.length === 0) {
      return [];
    }
    const rows = await db
      .selectFrom('parameters')
      .select(['name', 'type'])
      .where(
        'name',
        'in',
        valuesOf(
          db,
          refs.map((r) => r.name),
        ),
      )
      .execute();
    const types = new Map(rows.map((r) => [r.name, r.type]));
    return refs.filter((r) => {
      const t = types.get(r.name);
      return t === undefined || (t === 'Secret') !== r.secret;
    });
  }

  /**
   * The current value of each reference, secrets decrypted: for the task an agent fetches, never
   * stored. `missing` lists the references that no longer resolve.
   */
  async resolve(
    refs: readonly ParameterRef[],
    db: Db = this.#db,
  ): Promise<{ values: Map<string, string>; missing: ParameterRef[] }> {
    const values = new Map<string, string>();
    if (refs.length === 0) {
      return { values, missing: [] };
    }
    const rows = await db
      .selectFrom('parameters as p')
      .innerJoin('parameter_versions as v', (j) =>
        j.onRef('v.name', '=', 'p.name').onRef('v.version', '=', 'p.version'),
      )
      .select(['p.name', 'p.type', 'v.value'])
      .where(
        'p.name',
        'in',
        valuesOf(
          db,
          refs.map((r) => r.name),
        ),
      )
      .execute();
    const byName = new Map(rows.map((r) => [r.name, r]));
    const absent: ParameterRef[] = [];
    for (const ref of refs) {
      const r = byName.get(ref.name);
      if (!r || (r.type === 'Secret') !== ref.secret) {
        absent.push(ref);
        continue;
      }
      values.set(refKey(ref), ref.secret ? this.#box.open(r.value) : r.value);
    }
    return { values, missing: absent };
  }

  /**
   * Every stored value (all versions) of the named secret parameters, decrypted: what command
   * output is masked with. All versions, because an execution may have got an older one.
   */
  async secretValues(names: readonly string[], db: Db = this.#db): Promise<string[]> {
    if (names.length === 0) {
      return [];
    }
    const rows = await db
      .selectFrom('parameter_versions as v')
      .innerJoin('parameters as p', 'p.name', 'v.name')
      .select('v.value')
      .where('p.type', '=', 'Secret')
      .where('v.name', 'in', valuesOf(db, [...names]))
      .execute();
    return rows.map((r) => this.#box.open(r.value));
  }

  #sealIf(type: string, value: string): string {
    return type === 'Secret' ? this.#box.seal(value) : value;
  }

  async #row(db: Db, kind: ParameterKind, name: string): Promise<ParameterTable> {
    const p = await db
      .selectFrom('parameters')
      .selectAll()
      .where('name', '=', name)
      .where('type', 'in', typesOf(kind))
      .executeTakeFirst();
    if (!p) {
      throw notFound(name);
    }
    return p;
  }

  /** The response views of the named parameters of one kind, in the order of `names`. */
  async #views(
    kind: ParameterKind,
    names: readonly string[],
    version: number | undefined,
    withValue: boolean,
    decrypt = false,
  ): Promise<ParameterView[]> {
    if (names.length === 0) {
      return [];
    }
    const rows = await this.#db
      .selectFrom('parameters')
      .selectAll()
      .where('name', 'in', valuesOf(this.#db, [...names]))
      .where('type', 'in', typesOf(kind))
      .execute();
    const byName = new Map(rows.map((r) => [r.name, r]));
    const present = names.filter((n) => byName.has(n));
    const tags = new Map<string, Record<string, string>>();
    const values = new Map<string, { version: number; value: string }>();
    if (present.length > 0) {
      const tagRows = await this.#db
        .selectFrom('parameter_tags')
        .selectAll()
        .where('name', 'in', valuesOf(this.#db, present))
        .orderBy('tag_key')
        .execute();
      for (const t of tagRows) {
        const o = tags.get(t.name) ?? {};
        o[t.tag_key] = t.tag_value;
        tags.set(t.name, o);
      }
    }
    if (withValue && present.length > 0) {
      let q = this.#db
        .selectFrom('parameter_versions as v')
        .innerJoin('parameters as p', 'p.name', 'v.name')
        .select(['v.name', 'v.version', 'v.value'])
        .where('v.name', 'in', valuesOf(this.#db, present));
      q = version !== undefined ? q.where('v.version', '=', version) : q.whereRef('v.version', '=', 'p.version');
      for (const v of await q.execute()) {
        values.set(v.name, { version: v.version, value: v.value });
      }
      if (version !== undefined && present.length === 1 && !values.has(present[0]!)) {
        throw new ApiError(
          'EntityNotExists.ParameterVersion',
          `The parameter ${present[0]} has no version ${version} (the ${MAX_VERSIONS} latest are kept).`,
        );
      }
    }
    return present.map((n) => {
      const r = byName.get(n)!;
      const v = values.get(n);
      const secret = r.type === 'Secret';
      return {
        Id: r.parameter_id,
        Name: r.name,
        Type: r.type,
        ParameterVersion: v?.version ?? r.version,
        Description: r.description,
        Constraints: r.constraints,
        Tags: tags.get(n) ?? {},
        ShareType: 'Private',
        ResourceGroupId: '',
        CreatedDate: isoTime(r.created_at),
        CreatedBy: r.created_by,
        UpdatedDate: isoTime(r.updated_at),
        UpdatedBy: r.updated_by,
        ...(secret ? { KeyId: 'master.key' } : {}),
        // A secret's value only WithDecryption (OOS returns none without it).
        ...(v !== undefined && (!secret || decrypt) ? { Value: secret ? this.#box.open(v.value) : v.value } : {}),
      };
    });
  }
}

/** The key of a reference in ParameterService.resolve's values. */
export const refKey = (r: ParameterRef): string => `${r.secret ? 'oos-secret' : 'oos'}:${r.name}`;

async function replaceTags(db: Db, name: string, tags: Map<string, string>): Promise<void> {
  if (tags.size === 0) {
    return;
  }
  await db
    .insertInto('parameter_tags')
    .values([...tags].map(([k, v]) => ({ name, tag_key: k, tag_value: v })))
    .execute();
}

/**
 * Names under `path` (`/a/b/`): all deeper levels when recursive, else only its direct children.
 * Case-sensitive on both dialects (substr, not LIKE); the rest of the name holds no `/` when not recursive.
 */
function underPath(db: Db, path: string, recursive: boolean) {
  const n = path.length;
  const len = sql`CAST(${n} AS integer)`;
  const rest = sql`substr(name, CAST(${n + 1} AS integer))`;
  const prefix = sql<SqlBool>`substr(name, 1, ${len}) = ${path} and length(name) > ${len}`;
  if (recursive) {
    return prefix;
  }
  const find = dialectOf(db) === 'postgres' ? sql`strpos(${rest}, '/')` : sql`instr(${rest}, '/')`;
  return sql<SqlBool>`(${prefix} and ${find} = 0)`;
}
