// Saved commands: CreateCommand, ModifyCommand, DescribeCommands, DeleteCommand, the quota, and
// the lookup InvokeCommand uses (saved commands by id, public commands by id or name).
import { escapeLike, likeInsensitive, type CommandTable, type Db } from '../store/index.js';
import { ApiError, isoTime, missing, newId } from '../shared/index.js';
import {
  checkDescription,
  checkName,
  checkOutputEncoding,
  checkTimeout,
  checkType,
  decodeContent,
  encodeContent,
  parameterNames,
} from './command-content.js';
import { keysetPage, keysetPageInMemory, type KeyColumn, type Paging } from './paging.js';
import {
  findPublicCommand,
  isPublicCommandId,
  providerMatches,
  PUBLIC_COMMANDS,
  type PublicCommand,
} from './public-commands.js';
import {
  deleteTags,
  hasTags,
  saveTags,
  tagsOf,
  tagView,
  validateTags,
  type RawTag,
  type Tag,
  type TagFilter,
} from './tags.js';

export interface CommandLimits {
  /** Saved commands per region (CreateCommand, RunCommand with KeepCommand). */
  maxCommands: number;
  /** Bytes of CommandContent after base64 encoding. */
  maxContentBase64: number;
}

/** A command as InvokeCommand runs it. */
export interface ResolvedCommand {
  commandId: string;
  name: string;
  description: string;
  type: string;
  /** Base64 of the script, custom parameters not yet filled in. */
  content64: string;
  workingDir: string;
  timeout: number;
  enableParameter: boolean;
  username: string;
  isPublic: boolean;
  kept: boolean;
}

export interface CreateCommandInput {
  name: string;
  type: string;
  commandContent: string;
  contentEncoding: string;
  description: string;
  workingDir: string;
  timeout: number | undefined;
  enableParameter: boolean;
  clientToken: string | undefined;
  tags: RawTag[];
}

export interface ModifyCommandInput {
  commandId: string;
  name?: string;
  description?: string;
  /** Base64, as the API defines ModifyCommand's CommandContent. */
  commandContent?: string;
  workingDir?: string;
  timeout?: number;
}

export interface DescribeCommandsFilter {
  commandId?: string;
  name?: string;
  type?: string;
  description?: string;
  provider?: string;
  latest?: boolean;
  tags: TagFilter[];
  contentEncoding: string;
  paging: Paging;
}

/** Refuses a new saved command when the region's quota is used up. Call inside the creating transaction. */
export async function assertCommandQuota(db: Db, limits: CommandLimits): Promise<void> {
  const { n } = await db
    .selectFrom('commands')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('kept', '=', 1)
    .executeTakeFirstOrThrow();
  if (Number(n) >= limits.maxCommands) {
    throw new ApiError(
      'CmdCount.ExceedQuota',
      `The total number of commands in the current region exceeds the quota (${limits.maxCommands}).`,
    );
  }
}

/** A saved (kept) command by id, or a public command by id or name. */
export async function resolveCommand(db: Db, idOrName: string): Promise<ResolvedCommand> {
  const pub = findPublicCommand(idOrName);
  if (pub) {
    return {
      commandId: pub.commandId,
      name: pub.name,
      description: pub.description,
      type: pub.type,
      content64: Buffer.from(pub.script, 'utf8').toString('base64'),
      workingDir: pub.workingDir,
      timeout: pub.timeout,
      enableParameter: false,
      username: '',
      isPublic: true,
      kept: true,
    };
  }
  const row = await db
    .selectFrom('commands')
    .selectAll()
    .where('command_id', '=', idOrName)
    .where('kept', '=', 1)
    .executeTakeFirst();
  if (!row) {
    throw notFound(idOrName);
  }
  return {
    commandId: row.command_id,
    name: row.name,
    description: row.description,
    type: row.type,
    content64: row.content,
    workingDir: row.working_dir,
    timeout: row.timeout,
    enableParameter: row.enable_parameter === 1,
    username: row.username,
    isPublic: false,
    kept: true,
  };
}

/** Newest first, then by id descending (public commands are listed in the same order, in memory). */
const COMMANDS_ORDER: readonly KeyColumn[] = [
  { column: 'created_at', direction: 'desc', type: 'number' },
  { column: 'command_id', direction: 'desc', type: 'string' },
];

const notFound = (id: string) =>
  new ApiError('InvalidCmdId.NotFound', `The specified command ID does not exist: ${id}`);
const forbidden = (id: string, what: string) =>
  new ApiError('Operation.Forbidden', `${id} is a public command: it cannot be ${what}.`);

export class CommandService {
  readonly #db: Db;
  readonly #limits: CommandLimits;
  readonly #region: string;
  constructor(db: Db, regionId: string, limits: CommandLimits) {
    this.#db = db;
    this.#limits = limits;
    this.#region = regionId.split('-').pop()?.slice(0, 2) ?? 'hz';
  }

  async create(input: CreateCommandInput, nowMs: number): Promise<{ CommandId: string }> {
    if (!input.name) {
      throw missing('Name');
    }
    checkName(input.name);
    checkDescription(input.description);
    checkType(input.type);
    const script = decodeContent(input.commandContent, input.contentEncoding);
    const content = encodeContent(script, this.#limits.maxContentBase64);
    if (input.enableParameter) {
      parameterNames(script);
    }
    const timeout = checkTimeout(input.timeout);
    const tags = validateTags(input.tags);
    const row: CommandTable = {
      command_id: newId('c', this.#region),
      name: input.name,
      description: input.description,
      type: input.type,
      content,
      working_dir: input.workingDir,
      timeout,
      enable_parameter: input.enableParameter ? 1 : 0,
      username: '',
      kept: 1,
      created_at: nowMs,
      client_token: input.clientToken ?? null,
    };
    return this.#db.transaction().execute(async (tx) => {
      if (input.clientToken) {
        const prior = await tx
          .selectFrom('commands')
          .selectAll()
          .where('client_token', '=', input.clientToken)
          .executeTakeFirst();
        if (prior) {
          const same =
            prior.name === row.name &&
            prior.description === row.description &&
            prior.type === row.type &&
            prior.content === row.content &&
            prior.working_dir === row.working_dir &&
            prior.timeout === row.timeout &&
            prior.enable_parameter === row.enable_parameter;
          if (!same) {
            throw new ApiError('IdempotentParameterMismatch', 'ClientToken was used with other parameters.');
          }
          return { CommandId: prior.command_id };
        }
      }
      await assertCommandQuota(tx, this.#limits);
      await tx.insertInto('commands').values(row).execute();
      await saveTags(tx, 'command', row.command_id, tags);
      return { CommandId: row.command_id };
    });
  }

  async modify(input: ModifyCommandInput): Promise<Record<string, never>> {
    if (!input.commandId) {
      throw missing('CommandId');
    }
    if (isPublicCommandId(input.commandId)) {
      throw forbidden(input.commandId, 'modified');
    }
    const patch: Partial<CommandTable> = {};
    if (input.name !== undefined && input.name !== '') {
      patch.name = checkName(input.name);
    }
    if (input.description !== undefined) {
      patch.description = checkDescription(input.description);
    }
    if (input.workingDir !== undefined) {
      patch.working_dir = input.workingDir;
    }
    if (input.timeout !== undefined) {
      patch.timeout = checkTimeout(input.timeout);
    }
    let script: string | undefined;
    if (input.commandContent !== undefined && input.commandContent !== '') {
      script = decodeContent(input.commandContent, 'Base64');
      patch.content = encodeContent(script, this.#limits.maxContentBase64);
    }
    await this.#db.transaction().execute(async (tx) => {
      const row = await tx
        .selectFrom('commands')
        .select(['enable_parameter'])
        .where('command_id', '=', input.commandId)
        .where('kept', '=', 1)
        .executeTakeFirst();
      if (!row) {
        throw notFound(input.commandId);
      }
      if (script !== undefined && row.enable_parameter === 1) {
        parameterNames(script);
      }
      if (Object.keys(patch).length > 0) {
        await tx.updateTable('commands').set(patch).where('command_id', '=', input.commandId).execute();
      }
    });
    return {};
  }

  async delete(commandId: string): Promise<Record<string, never>> {
    if (!commandId) {
      throw missing('CommandId');
    }
    if (isPublicCommandId(commandId)) {
      throw forbidden(commandId, 'deleted');
    }
    await this.#db.transaction().execute(async (tx) => {
      const r = await tx
        .deleteFrom('commands')
        .where('command_id', '=', commandId)
        .where('kept', '=', 1)
        .executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) {
        throw notFound(commandId);
      }
      await deleteTags(tx, 'command', commandId);
    });
    return {};
  }

  async describe(f: DescribeCommandsFilter) {
    const encoding = checkOutputEncoding(f.contentEncoding);
    const publicOnly = f.provider !== undefined || (f.commandId !== undefined && isPublicCommandId(f.commandId));
    if (publicOnly) {
      return this.#describePublic(f, encoding);
    }
    let q = this.#db.selectFrom('commands').where('kept', '=', 1);
    if (f.commandId) {
      q = q.where('command_id', '=', f.commandId);
    }
    if (f.name) {
      q = q.where('name', '=', f.name);
    }
    if (f.type) {
      q = q.where('type', '=', f.type);
    }
    if (f.description) {
      q = q.where(likeInsensitive(this.#db, 'description', `%${escapeLike(f.description)}%`));
    }
    // Latest: a saved command has one version, always the latest, so neither value filters any out.
    if (f.tags.length > 0) {
      q = q.where(hasTags('command', 'commands.command_id', f.tags));
    }
    const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const { rows: page, fields } = await keysetPage(
      q.selectAll(),
      f.paging,
      COMMANDS_ORDER,
      (r) => [r.created_at, r.command_id],
      Number(n),
    );
    const ids = page.map((r) => r.command_id);
    const [tags, invokes] = await Promise.all([tagsOf(this.#db, 'command', ids), this.#invokeTimes(ids)]);
    return {
      ...fields,
      Commands: {
        Command: page.map((r) =>
          commandView(
            {
              commandId: r.command_id,
              name: r.name,
              description: r.description,
              type: r.type,
              content64: r.content,
              workingDir: r.working_dir,
              timeout: r.timeout,
              enableParameter: r.enable_parameter === 1,
              createdAt: r.created_at,
              version: 1,
              provider: '',
              category: '',
            },
            encoding,
            invokes.get(r.command_id) ?? 0,
            tags.get(r.command_id) ?? [],
          ),
        ),
      },
    };
  }

  async #describePublic(f: DescribeCommandsFilter, encoding: 'PlainText' | 'Base64') {
    const matches = (c: PublicCommand) =>
      (f.provider === undefined || providerMatches(c.provider, f.provider)) &&
      (!f.commandId || c.commandId === f.commandId) &&
      (!f.name || c.name === f.name) &&
      (!f.type || c.type === f.type) &&
      (!f.description || c.description.includes(f.description)) &&
      f.tags.length === 0; // public commands carry no tags
    // The same order (and NextToken shape) as saved commands.
    const { rows: page, fields } = keysetPageInMemory(
      PUBLIC_COMMANDS.filter(matches),
      f.paging,
      COMMANDS_ORDER,
      (r) => [r.createdAt, r.commandId],
    );
    const invokes = await this.#invokeTimes(page.map((c) => c.commandId));
    return {
      ...fields,
      Commands: {
        Command: page.map((c) =>
          commandView(
            {
              commandId: c.commandId,
              name: c.name,
              description: c.description,
              type: c.type,
              content64: Buffer.from(c.script, 'utf8').toString('base64'),
              workingDir: c.workingDir,
              timeout: c.timeout,
              enableParameter: false,
              createdAt: c.createdAt,
              version: c.version,
              provider: c.provider,
              category: c.category,
            },
            encoding,
            invokes.get(c.commandId) ?? 0,
            [],
          ),
        ),
      },
    };
  }

  async #invokeTimes(ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) {
      return new Map();
    }
    const rows = await this.#db
      .selectFrom('invocations')
      .select(['command_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('command_id', 'in', ids)
      .groupBy('command_id')
      .execute();
    return new Map(rows.map((r) => [r.command_id, Number(r.n)]));
  }
}

interface CommandFacts {
  commandId: string;
  name: string;
  description: string;
  type: string;
  content64: string;
  workingDir: string;
  timeout: number;
  enableParameter: boolean;
  createdAt: number;
  version: number;
  provider: string;
  category: string;
}

function commandView(c: CommandFacts, encoding: 'PlainText' | 'Base64', invokeTimes: number, tags: Tag[]) {
  const script = Buffer.from(c.content64, 'base64').toString('utf8');
  let names: string[] = [];
  if (c.enableParameter) {
    try {
      names = parameterNames(script);
    } catch {
      names = []; // stored before the rules tightened; shown without names rather than failing the listing
    }
  }
  return {
    Category: c.category,
    CommandContent: encoding === 'PlainText' ? script : c.content64,
    CommandId: c.commandId,
    CreationTime: isoTime(c.createdAt),
    Description: c.description,
    EnableParameter: c.enableParameter,
    InvokeTimes: invokeTimes,
    Latest: true,
    Launcher: '',
    Name: c.name,
    ParameterDefinitions: {
      ParameterDefinition: names.map((n) => ({
        ParameterName: n,
        Required: true,
        DefaultValue: '',
        Description: '',
        PatternRegex: '',
        PossibleValues: { PossibleValue: [] as string[] },
      })),
    },
    ParameterNames: { ParameterName: names },
    Provider: c.provider,
    ResourceGroupId: '',
    Tags: tagView(tags),
    Timeout: c.timeout,
    Type: c.type,
    Version: c.version,
    WorkingDir: c.workingDir,
  };
}
