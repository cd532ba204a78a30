// assist param: the parameter store (the OOS actions, API version 2019-06-01) that commands use
// as {{oos:name}} and {{oos-secret:name}}. --secret picks the Secret* actions. A secret value is
// printed only with --decrypt, and is best given with --value-file (argv shows in `ps`).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { Context, GlobalArgs } from '../context.js';
import { usageError } from '../errors.js';
import { println } from '../io.js';
import { renderTable } from '../table.js';
import { parseKeyValues } from '../targets.js';
import { printJson } from './shared.js';

export const OOS_VERSION = '2019-06-01';

interface ParamArgs extends GlobalArgs {
  name?: string;
  secret?: boolean;
  value?: string;
  valueFile?: string;
  valueStdin?: boolean;
  type?: string;
  description?: string;
  constraints?: string;
  tag?: string[];
  decrypt?: boolean;
  version?: number;
  path?: string;
  recursive?: boolean;
  json?: boolean;
}

interface Parameter {
  Name: string;
  Type: string;
  ParameterVersion: number | string;
  Description: string;
  UpdatedDate: string;
  Value?: string;
  Tags?: Record<string, string>;
}

const jsonOption = { type: 'boolean', default: false, describe: 'print the API response as JSON' } as const;
const secretOption = { type: 'boolean', default: false, describe: 'a secret (encrypted) parameter' } as const;

/** The action for the plain or the secret family: `Create` → CreateParameter / CreateSecretParameter. */
const action = (verb: string, a: ParamArgs, suffix = '') => `${verb}${a.secret ? 'Secret' : ''}Parameter${suffix}`;

/** The value from --value, --value-file or --value-stdin; a file's or stdin's trailing newline is dropped. */
async function valueOf(ctx: Context, a: ParamArgs): Promise<string | undefined> {
  const given = [a.value !== undefined, a.valueFile !== undefined, a.valueStdin === true].filter(Boolean).length;
  if (given > 1) {
    throw usageError('give one of --value, --value-file and --value-stdin');
  }
  if (a.valueFile === undefined && a.valueStdin !== true) {
    return a.value;
  }
  let text: string;
  if (a.valueStdin === true) {
    const chunks: Buffer[] = [];
    for await (const c of ctx.io.stdin) {
      chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
    }
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    text = readFileSync(resolve(ctx.io.cwd, a.valueFile!), 'utf8');
  }
  return text.replace(/\r?\n$/, '');
}

const tagsOf = (a: ParamArgs) =>
  a.tag === undefined ? undefined : JSON.stringify(Object.fromEntries(parseKeyValues(a.tag, 'tag')));

function withValue<T>(y: Argv<T>) {
  return y
    .option('value', { type: 'string', describe: 'the value (for a secret, prefer --value-file)' })
    .option('value-file', { type: 'string', describe: 'read the value from a file' })
    .option('value-stdin', { type: 'boolean', describe: 'read the value from standard input' });
}

export function paramCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  const run = (fn: (a: ParamArgs) => Promise<void>) => (a: unknown) => fn(a as ParamArgs);
  const call = <R>(a: ParamArgs, name: string, params: Record<string, string | undefined>) =>
    ctx.api(a).call<R>(name, params, OOS_VERSION);
  return y.command('param', 'the parameter store: {{oos:name}} and {{oos-secret:name}} in commands', (c) =>
    c
      .command(
        'create <name>',
        'create a parameter (version 1)',
        (l) =>
          withValue(l)
            .positional('name', { type: 'string' })
            .option('secret', secretOption)
            .option('type', { type: 'string', choices: ['String', 'StringList'], default: 'String' })
            .option('description', { type: 'string' })
            .option('constraints', {
              type: 'string',
              describe: 'JSON: AllowedValues, AllowedPattern, MinLength, MaxLength',
            })
            .option('tag', { type: 'string', array: true, describe: 'key=value (repeat)' }),
        run(async (a) => {
          const value = await valueOf(ctx, a);
          if (value === undefined) {
            throw usageError('give the value with --value, --value-file or --value-stdin');
          }
          const r = await call<{ Parameter: Parameter }>(a, action('Create', a), {
            Name: a.name,
            Value: value,
            Type: a.secret ? 'Secret' : a.type,
            Description: a.description,
            Constraints: a.constraints,
            Tags: tagsOf(a),
          });
          println(
            ctx.io.stdout,
            `Created ${r.Parameter.Type} parameter ${r.Parameter.Name} (version ${r.Parameter.ParameterVersion}).`,
          );
        }),
      )
      .command(
        'get <name>',
        'show a parameter with its value (a secret one only with --decrypt)',
        (l) =>
          l
            .positional('name', { type: 'string' })
            .option('secret', secretOption)
            .option('decrypt', { type: 'boolean', default: false, describe: 'show the secret value' })
            .option('version', { type: 'number', describe: 'an older version' })
            .option('json', jsonOption),
        run(async (a) => {
          const r = await call<{ Parameter: Parameter }>(a, action('Get', a), {
            Name: a.name,
            ParameterVersion: a.version === undefined ? undefined : String(a.version),
            WithDecryption: a.secret ? String(a.decrypt === true) : undefined,
          });
          if (a.json) {
            printJson(ctx, r.Parameter);
            return;
          }
          const p = r.Parameter;
          const tags = Object.entries(p.Tags ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(', ');
          for (const [k, v] of [
            ['Name', p.Name],
            ['Type', p.Type],
            ['Version', String(p.ParameterVersion)],
            ['Description', p.Description],
            ['Tags', tags],
            ['Updated', p.UpdatedDate],
            ['Value', p.Value ?? '(hidden; --decrypt shows it)'],
          ]) {
            println(ctx.io.stdout, `${k}: ${v}`);
          }
        }),
      )
      .command(
        'list',
        'list parameters (names, types, versions; no values)',
        (l) =>
          l
            .option('secret', secretOption)
            .option('path', { type: 'string', describe: 'only names under this path, e.g. /app/' })
            .option('recursive', { type: 'boolean', default: false, describe: 'with --path: every level below it' })
            .option('name', { type: 'string', describe: 'names containing this text' })
            .option('json', jsonOption),
        run(async (a) => {
          const all: Parameter[] = [];
          let token: string | undefined;
          do {
            const r = await call<{ Parameters: Parameter[]; NextToken?: string }>(a, action('List', a, 's'), {
              Path: a.path,
              Recursive: a.path ? String(a.recursive === true) : undefined,
              Name: a.name,
              SortField: 'Name',
              SortOrder: 'Ascending',
              MaxResults: '100',
              NextToken: token,
            });
            all.push(...r.Parameters);
            token = r.NextToken;
          } while (token);
          if (a.json) {
            printJson(ctx, all);
            return;
          }
          ctx.io.stdout.write(
            renderTable(
              ['NAME', 'TYPE', 'VERSION', 'UPDATED', 'DESCRIPTION'],
              all.map((p) => [p.Name, p.Type, String(p.ParameterVersion), p.UpdatedDate, p.Description]),
            ),
          );
        }),
      )
      .command(
        'update <name>',
        'change a parameter: a new value makes a new version; --tag replaces all tags',
        (l) =>
          withValue(l)
            .positional('name', { type: 'string' })
            .option('secret', secretOption)
            .option('description', { type: 'string' })
            .option('tag', { type: 'string', array: true, describe: 'key=value (repeat)' }),
        run(async (a) => {
          const value = await valueOf(ctx, a);
          if (value === undefined && a.description === undefined && a.tag === undefined) {
            throw usageError('give --value, --value-file, --value-stdin, --description or --tag');
          }
          const r = await call<{ Parameter: Parameter }>(a, action('Update', a), {
            Name: a.name,
            Value: value,
            Description: a.description,
            Tags: tagsOf(a),
          });
          println(ctx.io.stdout, `Updated ${r.Parameter.Name} (version ${r.Parameter.ParameterVersion}).`);
        }),
      )
      .command(
        'delete <name>',
        'delete a parameter and all its versions',
        (l) => l.positional('name', { type: 'string' }).option('secret', secretOption),
        run(async (a) => {
          await call(a, action('Delete', a), { Name: a.name });
          println(ctx.io.stdout, `Deleted ${a.name}.`);
        }),
      )
      .demandCommand(1, 'give a param command: create, get, list, update or delete'),
  );
}
