// assist commands list|create|delete: saved commands (DescribeCommands, CreateCommand, DeleteCommand).
import type { Argv } from 'yargs';
import type { Context, GlobalArgs } from '../context.js';
import { println } from '../io.js';
import { renderTable } from '../table.js';
import { printJson, SCRIPT_TYPES, scriptOf } from './shared.js';

interface SavedCommand {
  CommandId: string;
  Name: string;
  Type: string;
  Description: string;
  CommandContent: string;
  WorkingDir: string;
  Timeout: number;
  EnableParameter: boolean;
  CreationTime: string;
  InvokeTimes: number;
}

interface ListArgs extends GlobalArgs {
  name?: string;
  type?: string;
  json: boolean;
}

interface CreateArgs extends GlobalArgs {
  name: string;
  type: string;
  description?: string;
  workdir?: string;
  timeout?: number;
  enableParameter: boolean;
  file?: string;
  '--'?: (string | number)[];
}

interface DeleteArgs extends GlobalArgs {
  commandIds: string[];
}

export function commandsCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  return y.command('commands', 'manage saved commands', (c) =>
    c
      .command(
        'list',
        'list saved commands (DescribeCommands)',
        (l) =>
          l
            .option('name', { type: 'string', describe: 'only commands with this name' })
            .option('type', { type: 'string', choices: SCRIPT_TYPES })
            .option('json', {
              type: 'boolean',
              default: false,
              describe: 'print the commands as JSON, content included',
            }),
        (a) => list(ctx, a as unknown as ListArgs),
      )
      .command(
        'create',
        'save a command (CreateCommand) and print its id',
        (l) =>
          l
            .usage("assist commands create --name NAME [options] -- 'script'   or   --file script.sh")
            .option('name', { type: 'string', demandOption: true })
            .option('file', { alias: 'f', type: 'string', describe: 'read the script from this file' })
            .option('type', { type: 'string', choices: SCRIPT_TYPES, default: 'RunShellScript' })
            .option('description', { type: 'string' })
            .option('workdir', { type: 'string', describe: 'working directory of the script' })
            .option('timeout', { alias: 't', type: 'number', describe: 'seconds before the script is stopped' })
            .option('enable-parameter', {
              type: 'boolean',
              default: false,
              describe: 'the script uses {{name}} custom parameters (given with invoke --param)',
            }),
        (a) => create(ctx, a as unknown as CreateArgs),
      )
      .command(
        'delete <command-ids..>',
        'delete saved commands (DeleteCommand)',
        (l) => l.positional('command-ids', { type: 'string', array: true, demandOption: true, describe: 'c-…' }),
        (a) => remove(ctx, a as unknown as DeleteArgs),
      )
      .demandCommand(1, 'commands needs a subcommand: list, create or delete'),
  );
}

async function list(ctx: Context, a: ListArgs): Promise<void> {
  const api = ctx.api(a);
  const all: SavedCommand[] = [];
  let nextToken: string | undefined;
  do {
    const page = await api.call<{ NextToken?: string; Commands: { Command: SavedCommand[] } }>('DescribeCommands', {
      Name: a.name,
      Type: a.type,
      ContentEncoding: 'PlainText',
      MaxResults: 50,
      NextToken: nextToken,
    });
    all.push(...page.Commands.Command);
    nextToken = page.NextToken || undefined;
  } while (nextToken);
  if (a.json) {
    printJson(ctx, all);
    return;
  }
  ctx.io.stdout.write(
    renderTable(
      ['COMMAND ID', 'NAME', 'TYPE', 'CREATED', 'INVOKED', 'DESCRIPTION'],
      all.map((c) => [c.CommandId, c.Name, c.Type, c.CreationTime, c.InvokeTimes, c.Description]),
    ),
  );
}

async function create(ctx: Context, a: CreateArgs): Promise<void> {
  const r = await ctx.api(a).call<{ CommandId: string }>('CreateCommand', {
    Name: a.name,
    Type: a.type,
    CommandContent: scriptOf(ctx, a),
    // CreateCommand's ContentEncoding defaults to Base64: say that this is the script itself.
    ContentEncoding: 'PlainText',
    Description: a.description,
    WorkingDir: a.workdir,
    Timeout: a.timeout,
    EnableParameter: a.enableParameter,
  });
  println(ctx.io.stdout, r.CommandId);
}

async function remove(ctx: Context, a: DeleteArgs): Promise<void> {
  const api = ctx.api(a);
  for (const id of a.commandIds) {
    await api.call('DeleteCommand', { CommandId: id });
    println(ctx.io.stdout, `deleted ${id}`);
  }
}
