// assist ram: RAM users, their AccessKeys, groups and policies (extension actions of this control plane,
// callable with an account key only).
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import type { Context, GlobalArgs } from '../context.js';
import { CliError, usageError } from '../errors.js';
import { println } from '../io.js';
import { renderTable } from '../table.js';
import { printJson } from './shared.js';

interface RamArgs extends GlobalArgs {
  json?: boolean;
  user?: string;
  group?: string;
  policy?: string;
  name?: string;
  displayName?: string;
  document?: string;
  file?: string;
  description?: string;
  keyId?: string;
}

interface User {
  UserName: string;
  DisplayName: string;
  CreateDate: string;
}

interface Policy {
  PolicyName: string;
  Description: string;
  AttachmentCount: number;
  UpdateDate: string;
  PolicyDocument?: string;
}

const jsonOption = { type: 'boolean', default: false, describe: 'print the API response as JSON' } as const;

export function ramCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  const run = (fn: (a: RamArgs) => Promise<void>) => (a: unknown) => fn(a as RamArgs);
  return y.command('ram', 'RAM users, their AccessKeys and access policies (account keys only)', (c) =>
    c
      .command('user', 'RAM users', (u) =>
        u
          .command(
            'create <name>',
            'create a RAM user',
            (l) => l.positional('name', { type: 'string' }).option('display-name', { type: 'string' }),
            run(async (a) => {
              await ctx.api(a).call('CreateRamUser', { UserName: a.name, DisplayName: a.displayName });
              println(ctx.io.stdout, `Created RAM user ${a.name}.`);
            }),
          )
          .command(
            'list',
            'list RAM users',
            (l) => l.option('json', jsonOption),
            run(async (a) => {
              const r = await ctx.api(a).call<{ Users: { User: User[] } }>('ListRamUsers', {});
              if (a.json) {
                printJson(ctx, r.Users.User);
                return;
              }
              ctx.io.stdout.write(
                renderTable(
                  ['USER', 'DISPLAY NAME', 'CREATED'],
                  r.Users.User.map((x) => [x.UserName, x.DisplayName, x.CreateDate]),
                ),
              );
            }),
          )
          .command(
            'delete <name>',
            'delete a RAM user with its AccessKeys and policy attachments',
            (l) => l.positional('name', { type: 'string' }),
            run(async (a) => {
              await ctx.api(a).call('DeleteRamUser', { UserName: a.name });
              println(ctx.io.stdout, `Deleted RAM user ${a.name}.`);
            }),
          )
          .demandCommand(1, 'ram user needs a subcommand: create, list, delete'),
      )
      .command('key', "RAM users' AccessKeys", (k) =>
        k
          .command(
            'create <user>',
            'create an AccessKey pair for a RAM user (the secret is shown once)',
            (l) => l.positional('user', { type: 'string' }).option('json', jsonOption),
            run(async (a) => {
              const r = await ctx
                .api(a)
                .call<{ AccessKey: { AccessKeyId: string; AccessKeySecret: string } }>('CreateRamAccessKey', {
                  UserName: a.user,
                });
              if (a.json) {
                printJson(ctx, r.AccessKey);
                return;
              }
              println(ctx.io.stdout, `AccessKeyId:     ${r.AccessKey.AccessKeyId}`);
              println(ctx.io.stdout, `AccessKeySecret: ${r.AccessKey.AccessKeySecret}`);
              println(ctx.io.stdout, 'The secret is shown only now.');
            }),
          )
          .command(
            'list <user>',
            "list a RAM user's AccessKeys",
            (l) => l.positional('user', { type: 'string' }).option('json', jsonOption),
            run(async (a) => {
              const r = await ctx
                .api(a)
                .call<{ AccessKeys: { AccessKey: { AccessKeyId: string; Status: string; CreateDate: string }[] } }>(
                  'ListRamAccessKeys',
                  { UserName: a.user },
                );
              if (a.json) {
                printJson(ctx, r.AccessKeys.AccessKey);
                return;
              }
              ctx.io.stdout.write(
                renderTable(
                  ['ACCESS KEY', 'STATUS', 'CREATED'],
                  r.AccessKeys.AccessKey.map((x) => [x.AccessKeyId, x.Status, x.CreateDate]),
                ),
              );
            }),
          )
          .command(
            'delete <user> <key-id>',
            "delete one of a RAM user's AccessKeys",
            (l) => l.positional('user', { type: 'string' }).positional('key-id', { type: 'string' }),
            run(async (a) => {
              await ctx.api(a).call('DeleteRamAccessKey', { UserName: a.user, UserAccessKeyId: a.keyId });
              println(ctx.io.stdout, `Deleted AccessKey ${a.keyId}.`);
            }),
          )
          .demandCommand(1, 'ram key needs a subcommand: create, list, delete'),
      )
      .command('group', "groups of RAM users: a group's policies apply to its members", (g) =>
        g
          .command(
            'create <name>',
            'create a group',
            (l) => l.positional('name', { type: 'string' }),
            run(async (a) => {
              await ctx.api(a).call('CreateRamGroup', { GroupName: a.name });
              println(ctx.io.stdout, `Created group ${a.name}.`);
            }),
          )
          .command(
            'list',
            'list groups (--user: the groups of a user)',
            (l) => l.option('user', { type: 'string' }).option('json', jsonOption),
            run(async (a) => {
              const r = await ctx
                .api(a)
                .call<{ Groups: { Group: { GroupName: string; CreateDate: string }[] } }>(
                  a.user ? 'ListRamGroupsForUser' : 'ListRamGroups',
                  a.user ? { UserName: a.user } : {},
                );
              if (a.json) {
                printJson(ctx, r.Groups.Group);
                return;
              }
              ctx.io.stdout.write(
                renderTable(
                  ['GROUP', 'CREATED'],
                  r.Groups.Group.map((x) => [x.GroupName, x.CreateDate]),
                ),
              );
            }),
          )
          .command(
            'delete <name>',
            'delete a group (its members stay; its policy attachments go)',
            (l) => l.positional('name', { type: 'string' }),
            run(async (a) => {
              await ctx.api(a).call('DeleteRamGroup', { GroupName: a.name });
              println(ctx.io.stdout, `Deleted group ${a.name}.`);
            }),
          )
          .command(
            'add-user <group> <user>',
            'add a RAM user to a group',
            (l) => l.positional('group', { type: 'string' }).positional('user', { type: 'string' }),
            run(async (a) => {
              await ctx.api(a).call('AddUserToRamGroup', { GroupName: a.group, UserName: a.user });
              println(ctx.io.stdout, `Added ${a.user} to ${a.group}.`);
            }),
          )
          .command(
            'remove-user <group> <user>',
            'remove a RAM user from a group',
            (l) => l.positional('group', { type: 'string' }).positional('user', { type: 'string' }),
            run(async (a) => {
              await ctx.api(a).call('RemoveUserFromRamGroup', { GroupName: a.group, UserName: a.user });
              println(ctx.io.stdout, `Removed ${a.user} from ${a.group}.`);
            }),
          )
          .demandCommand(1, 'ram group needs a subcommand: create, list, delete, add-user, remove-user'),
      )
      .command('policy', 'access policies (RAM policy language)', (p) =>
        p
          .command(
            'create <name>',
            'create a policy from a document (--document JSON or --file path)',
            (l) =>
              l
                .positional('name', { type: 'string' })
                .option('document', { type: 'string', describe: 'the policy document (JSON)' })
                .option('file', { type: 'string', describe: 'a file holding the policy document' })
                .option('description', { type: 'string' }),
            run(async (a) => {
              await ctx.api(a).call('CreateRamPolicy', {
                PolicyName: a.name,
                PolicyDocument: documentOf(ctx, a),
                Description: a.description,
              });
              println(ctx.io.stdout, `Created policy ${a.name}.`);
            }),
          )
          .command(
            'update <name>',
            "replace a policy's document",
            (l) =>
              l
                .positional('name', { type: 'string' })
                .option('document', { type: 'string' })
                .option('file', { type: 'string' }),
            run(async (a) => {
              await ctx.api(a).call('UpdateRamPolicy', { PolicyName: a.name, PolicyDocument: documentOf(ctx, a) });
              println(ctx.io.stdout, `Updated policy ${a.name}.`);
            }),
          )
          .command(
            'list',
            'list policies (--user / --group: those attached to a user / group)',
            (l) => l.option('user', { type: 'string' }).option('group', { type: 'string' }).option('json', jsonOption),
            run(async (a) => {
              const [action, params] = a.user
                ? ['ListRamPoliciesForUser', { UserName: a.user }]
                : a.group
                  ? ['ListRamPoliciesForGroup', { GroupName: a.group }]
                  : ['ListRamPolicies', {}];
              const r = await ctx.api(a).call<{ Policies: { Policy: Policy[] } }>(action, params);
              if (a.json) {
                printJson(ctx, r.Policies.Policy);
                return;
              }
              ctx.io.stdout.write(
                renderTable(
                  ['POLICY', 'ATTACHED', 'UPDATED', 'DESCRIPTION'],
                  r.Policies.Policy.map((x) => [x.PolicyName, x.AttachmentCount, x.UpdateDate, x.Description]),
                ),
              );
            }),
          )
          .command(
            'show <name>',
            "print a policy's document",
            (l) => l.positional('name', { type: 'string' }),
            run(async (a) => {
              const r = await ctx.api(a).call<{ Policy: Policy }>('GetRamPolicy', { PolicyName: a.name });
              println(ctx.io.stdout, JSON.stringify(JSON.parse(r.Policy.PolicyDocument ?? '{}'), null, 2));
            }),
          )
          .command(
            'delete <name>',
            'delete a policy (detach it first)',
            (l) => l.positional('name', { type: 'string' }),
            run(async (a) => {
              await ctx.api(a).call('DeleteRamPolicy', { PolicyName: a.name });
              println(ctx.io.stdout, `Deleted policy ${a.name}.`);
            }),
          )
          .command(
            'attach <policy> <user>',
            'attach a policy to a RAM user',
            (l) => l.positional('policy', { type: 'string' }).positional('user', { type: 'string' }),
            run(async (a) => {
              await ctx.api(a).call('AttachRamPolicyToUser', { PolicyName: a.policy, UserName: a.user });
              println(ctx.io.stdout, `Attached ${a.policy} to ${a.user}.`);
            }),
          )
          .command(
            'detach <policy> <user>',
            'detach a policy from a RAM user',
            (l) => l.positional('policy', { type: 'string' }).positional('user', { type: 'string' }),
            run(async (a) => {
              await ctx.api(a).call('DetachRamPolicyFromUser', { PolicyName: a.policy, UserName: a.user });
              println(ctx.io.stdout, `Detached ${a.policy} from ${a.user}.`);
            }),
          )
          .command(
            'attach-group <policy> <group>',
            'attach a policy to a group',
            (l) => l.positional('policy', { type: 'string' }).positional('group', { type: 'string' }),
            run(async (a) => {
              await ctx.api(a).call('AttachRamPolicyToGroup', { PolicyName: a.policy, GroupName: a.group });
              println(ctx.io.stdout, `Attached ${a.policy} to group ${a.group}.`);
            }),
          )
          .command(
            'detach-group <policy> <group>',
            'detach a policy from a group',
            (l) => l.positional('policy', { type: 'string' }).positional('group', { type: 'string' }),
            run(async (a) => {
              await ctx.api(a).call('DetachRamPolicyFromGroup', { PolicyName: a.policy, GroupName: a.group });
              println(ctx.io.stdout, `Detached ${a.policy} from group ${a.group}.`);
            }),
          )
          .demandCommand(
            1,
            'ram policy needs a subcommand: create, update, list, show, delete, attach, detach, attach-group, detach-group',
          ),
      )
      .command(
        'whoami',
        'who the configured AccessKey belongs to (GetCallerIdentity)',
        (l) => l.option('json', jsonOption),
        run(async (a) => {
          const r = await ctx
            .api(a)
            .call<{ IdentityType: string; UserName?: string; Arn: string }>('GetCallerIdentity', {});
          if (a.json) {
            printJson(ctx, r);
            return;
          }
          println(
            ctx.io.stdout,
            `${r.IdentityType === 'Account' ? 'account (root) key' : `RAM user ${r.UserName}`}: ${r.Arn}`,
          );
        }),
      )
      .demandCommand(1, 'ram needs a subcommand: user, key, group, policy, whoami'),
  );
}

function documentOf(ctx: Context, a: RamArgs): string {
  if ((a.document === undefined) === (a.file === undefined)) {
    throw usageError('give the policy document with --document or --file (one of them)');
  }
  if (a.document !== undefined) {
    return a.document;
  }
  try {
    return readFileSync(ctx.path(a.file!), 'utf8');
  } catch (e) {
    throw new CliError('FILE', `cannot read ${a.file}: ${(e as Error).message}`, { cause: e });
  }
}
