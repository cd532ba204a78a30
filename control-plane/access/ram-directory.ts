// RAM users, their AccessKeys, groups, policies and attachments in the store. Every change bumps
// ram_state's version in its transaction: how every node (this one too) learns its cache is stale.
import type { Transaction } from 'kysely';
import type { AccessKeyService } from '../services/index.js';
import { ApiError } from '../shared/index.js';
import type { Database, Db } from '../store/index.js';
import {
  checkDocument,
  checkGroupName,
  checkPolicyName,
  checkUserName,
  requireGroup,
  requirePolicy,
  requireUser,
} from './ram-checks.js';
import { readSnapshot, type RamSnapshot } from './ram-snapshot.js';
import { groupView, iso, policyView, userView, type RamGroup, type RamPolicy, type RamUser } from './ram-views.js';

export class RamDirectory {
  readonly #db: Db;
  readonly #keys: AccessKeyService;
  /** Called after every committed change (the local cache reloads at once). */
  onChange: () => Promise<void> = () => Promise.resolve();

  constructor(db: Db, keys: AccessKeyService) {
    this.#db = db;
    this.#keys = keys;
  }

  async version(): Promise<number> {
    const r = await this.#db.selectFrom('ram_state').select('version').where('id', '=', 1).executeTakeFirst();
    return Number(r?.version ?? 0);
  }

  async snapshot(): Promise<RamSnapshot> {
    return readSnapshot(this.#db);
  }

  async #change<T>(fn: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
    const r = await this.#db.transaction().execute(async (tx) => {
      const out = await fn(tx);
      await tx
        .updateTable('ram_state')
        .set((eb) => ({ version: eb('version', '+', 1) }))
        .where('id', '=', 1)
        .execute();
      return out;
    });
    await this.onChange();
    return r;
  }

  async createUser(input: { userName: string; displayName?: string; comments?: string }): Promise<RamUser> {
    checkUserName(input.userName);
    const now = Date.now();
    const row = {
      user_name: input.userName,
      display_name: input.displayName || input.userName,
      comments: input.comments ?? '',
      created_at: now,
    };
    await this.#change(async (tx) => {
      const r = await tx
        .insertInto('ram_users')
        .values(row)
        .onConflict((oc) => oc.column('user_name').doNothing())
        .executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) {
        throw new ApiError('EntityAlreadyExists.User', `The user ${input.userName} already exists.`);
      }
    });
    return userView(row);
  }

  async listUsers(): Promise<RamUser[]> {
    const rows = await this.#db.selectFrom('ram_users').selectAll().orderBy('user_name').execute();
    return rows.map(userView);
  }

  /** Deletes a user with its AccessKeys and policy attachments. */
  async deleteUser(userName: string): Promise<void> {
    const keyIds = await this.#change(async (tx) => {
      await requireUser(tx, userName);
      const keys = await tx
        .selectFrom('access_keys')
        .select('access_key_id')
        .where('user_name', '=', userName)
        .execute();
      await tx.deleteFrom('access_keys').where('user_name', '=', userName).execute();
      await tx
        .deleteFrom('ram_policy_attachments')
        .where('principal_type', '=', 'User')
        .where('principal_name', '=', userName)
        .execute();
      await tx.deleteFrom('ram_group_members').where('user_name', '=', userName).execute();
      await tx.deleteFrom('ram_users').where('user_name', '=', userName).execute();
      return keys.map((k) => k.access_key_id);
    });
    this.#keys.forget(keyIds);
  }

  async createAccessKey(userName: string): Promise<{ AccessKeyId: string; AccessKeySecret: string; UserName: string }> {
    await this.#db.transaction().execute((tx) => requireUser(tx, userName));
    const k = await this.#keys.create(`RAM user ${userName}`, userName);
    // The key row is committed; the version bump tells every node's cache about it.
    await this.#change(() => Promise.resolve());
    return { AccessKeyId: k.accessKeyId, AccessKeySecret: k.accessKeySecret, UserName: userName };
  }

  async listAccessKeys(userName: string): Promise<{ AccessKeyId: string; CreateDate: string; Status: string }[]> {
    await this.#db.transaction().execute((tx) => requireUser(tx, userName));
    const rows = await this.#db
      .selectFrom('access_keys')
      .select(['access_key_id', 'created_at', 'disabled'])
      .where('user_name', '=', userName)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      AccessKeyId: r.access_key_id,
      CreateDate: iso(r.created_at),
      Status: r.disabled ? 'Inactive' : 'Active',
    }));
  }

  async deleteAccessKey(userName: string, accessKeyId: string): Promise<void> {
    await this.#change(async (tx) => {
      const r = await tx
        .deleteFrom('access_keys')
        .where('access_key_id', '=', accessKeyId)
        .where('user_name', '=', userName)
        .executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) {
        throw new ApiError('EntityNotExist.User.AccessKey', `The user ${userName} has no AccessKey ${accessKeyId}.`);
      }
    });
    this.#keys.forget([accessKeyId]);
  }

  async createPolicy(input: { policyName: string; policyDocument: string; description?: string }): Promise<RamPolicy> {
    checkPolicyName(input.policyName);
    checkDocument(input.policyName, input.policyDocument);
    const now = Date.now();
    const row = {
      policy_name: input.policyName,
      description: input.description ?? '',
      document: input.policyDocument,
      created_at: now,
      updated_at: now,
    };
    await this.#change(async (tx) => {
      const r = await tx
        .insertInto('ram_policies')
        .values(row)
        .onConflict((oc) => oc.column('policy_name').doNothing())
        .executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) {
        throw new ApiError('EntityAlreadyExists.Policy', `The policy ${input.policyName} already exists.`);
      }
    });
    return policyView(row, 0, true);
  }

  /** Replaces a policy's document (Alibaba keeps versions; this keeps the current one). */
  async updatePolicy(policyName: string, policyDocument: string): Promise<void> {
    checkDocument(policyName, policyDocument);
    await this.#change(async (tx) => {
      await requirePolicy(tx, policyName);
      await tx
        .updateTable('ram_policies')
        .set({ document: policyDocument, updated_at: Date.now() })
        .where('policy_name', '=', policyName)
        .execute();
    });
  }

  async getPolicy(policyName: string): Promise<RamPolicy> {
    const row = await this.#db
      .selectFrom('ram_policies')
      .selectAll()
      .where('policy_name', '=', policyName)
      .executeTakeFirst();
    if (!row) {
      throw new ApiError('EntityNotExist.Policy', `The policy ${policyName} does not exist.`);
    }
    return policyView(row, await this.#attachmentCount(policyName), true);
  }

  async listPolicies(): Promise<RamPolicy[]> {
    const rows = await this.#db.selectFrom('ram_policies').selectAll().orderBy('policy_name').execute();
    const counts = await this.#db
      .selectFrom('ram_policy_attachments')
      .select(['policy_name', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('policy_name')
      .execute();
    const n = new Map(counts.map((c) => [c.policy_name, Number(c.n)]));
    return rows.map((r) => policyView(r, n.get(r.policy_name) ?? 0, false));
  }

  async #attachmentCount(policyName: string): Promise<number> {
    const r = await this.#db
      .selectFrom('ram_policy_attachments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('policy_name', '=', policyName)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Alibaba refuses to delete an attached policy (DeleteConflict.Policy.User): detach it first. */
  async deletePolicy(policyName: string): Promise<void> {
    await this.#change(async (tx) => {
      await requirePolicy(tx, policyName);
      const attached = await tx
        .selectFrom('ram_policy_attachments')
        .select(['principal_type', 'principal_name'])
        .where('policy_name', '=', policyName)
        .executeTakeFirst();
      if (attached) {
        throw new ApiError(
          attached.principal_type === 'Group' ? 'DeleteConflict.Policy.Group' : 'DeleteConflict.Policy.User',
          `The policy ${policyName} is attached to ${attached.principal_type.toLowerCase()} ${attached.principal_name}: detach it first.`,
        );
      }
      await tx.deleteFrom('ram_policies').where('policy_name', '=', policyName).execute();
    });
  }

  async attachPolicyToUser(policyName: string, userName: string): Promise<void> {
    await this.#attach('User', policyName, userName);
  }

  async detachPolicyFromUser(policyName: string, userName: string): Promise<void> {
    await this.#detach('User', policyName, userName);
  }

  async attachPolicyToGroup(policyName: string, groupName: string): Promise<void> {
    await this.#attach('Group', policyName, groupName);
  }

  async detachPolicyFromGroup(policyName: string, groupName: string): Promise<void> {
    await this.#detach('Group', policyName, groupName);
  }

  async #attach(type: 'User' | 'Group', policyName: string, principal: string): Promise<void> {
    await this.#change(async (tx) => {
      await requirePolicy(tx, policyName);
      await (type === 'User' ? requireUser(tx, principal) : requireGroup(tx, principal));
      const r = await tx
        .insertInto('ram_policy_attachments')
        .values({ policy_name: policyName, principal_type: type, principal_name: principal, attached_at: Date.now() })
        .onConflict((oc) => oc.columns(['policy_name', 'principal_type', 'principal_name']).doNothing())
        .executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) {
        throw new ApiError(
          type === 'User' ? 'EntityAlreadyExists.User.Policy' : 'EntityAlreadyExists.Group.Policy',
          `The policy ${policyName} is already attached to ${principal}.`,
        );
      }
    });
  }

  async #detach(type: 'User' | 'Group', policyName: string, principal: string): Promise<void> {
    await this.#change(async (tx) => {
      const r = await tx
        .deleteFrom('ram_policy_attachments')
        .where('policy_name', '=', policyName)
        .where('principal_type', '=', type)
        .where('principal_name', '=', principal)
        .executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) {
        throw new ApiError(
          type === 'User' ? 'EntityNotExist.User.Policy' : 'EntityNotExist.Group.Policy',
          `The policy ${policyName} is not attached to ${principal}.`,
        );
      }
    });
  }

  async createGroup(input: { groupName: string; comments?: string }): Promise<RamGroup> {
    checkGroupName(input.groupName);
    const row = { group_name: input.groupName, comments: input.comments ?? '', created_at: Date.now() };
    await this.#change(async (tx) => {
      const r = await tx
        .insertInto('ram_groups')
        .values(row)
        .onConflict((oc) => oc.column('group_name').doNothing())
        .executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) {
        throw new ApiError('EntityAlreadyExists.Group', `The group ${input.groupName} already exists.`);
      }
    });
    return groupView(row);
  }

  async listGroups(): Promise<RamGroup[]> {
    const rows = await this.#db.selectFrom('ram_groups').selectAll().orderBy('group_name').execute();
    return rows.map(groupView);
  }

  /** Deletes a group with its memberships and policy attachments (the users stay). */
  async deleteGroup(groupName: string): Promise<void> {
    await this.#change(async (tx) => {
      await requireGroup(tx, groupName);
      await tx.deleteFrom('ram_group_members').where('group_name', '=', groupName).execute();
      await tx
        .deleteFrom('ram_policy_attachments')
        .where('principal_type', '=', 'Group')
        .where('principal_name', '=', groupName)
        .execute();
      await tx.deleteFrom('ram_groups').where('group_name', '=', groupName).execute();
    });
  }

  async addUserToGroup(userName: string, groupName: string): Promise<void> {
    await this.#change(async (tx) => {
      await requireUser(tx, userName);
      await requireGroup(tx, groupName);
      const r = await tx
        .insertInto('ram_group_members')
        .values({ group_name: groupName, user_name: userName, joined_at: Date.now() })
        .onConflict((oc) => oc.columns(['group_name', 'user_name']).doNothing())
        .executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) {
        throw new ApiError('EntityAlreadyExists.User.Group', `The user ${userName} is already in ${groupName}.`);
      }
    });
  }

  async removeUserFromGroup(userName: string, groupName: string): Promise<void> {
    await this.#change(async (tx) => {
      const r = await tx
        .deleteFrom('ram_group_members')
        .where('group_name', '=', groupName)
        .where('user_name', '=', userName)
        .executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) {
        throw new ApiError('EntityNotExist.User.Group', `The user ${userName} is not in ${groupName}.`);
      }
    });
  }

  async listGroupsForUser(userName: string): Promise<RamGroup[]> {
    await this.#db.transaction().execute((tx) => requireUser(tx, userName));
    const rows = await this.#db
      .selectFrom('ram_groups')
      .innerJoin('ram_group_members as m', 'm.group_name', 'ram_groups.group_name')
      .selectAll('ram_groups')
      .where('m.user_name', '=', userName)
      .orderBy('ram_groups.group_name')
      .execute();
    return rows.map(groupView);
  }

  async listPoliciesForGroup(groupName: string): Promise<RamPolicy[]> {
    await this.#db.transaction().execute((tx) => requireGroup(tx, groupName));
    const rows = await this.#db
      .selectFrom('ram_policies')
      .innerJoin('ram_policy_attachments as a', 'a.policy_name', 'ram_policies.policy_name')
      .selectAll('ram_policies')
      .where('a.principal_type', '=', 'Group')
      .where('a.principal_name', '=', groupName)
      .orderBy('ram_policies.policy_name')
      .execute();
    return rows.map((r) => policyView(r, 1, false));
  }

  async listPoliciesForUser(userName: string): Promise<RamPolicy[]> {
    await this.#db.transaction().execute((tx) => requireUser(tx, userName));
    const rows = await this.#db
      .selectFrom('ram_policies')
      .innerJoin('ram_policy_attachments as a', 'a.policy_name', 'ram_policies.policy_name')
      .selectAll('ram_policies')
      .where('a.principal_type', '=', 'User')
      .where('a.principal_name', '=', userName)
      .orderBy('ram_policies.policy_name')
      .execute();
    return rows.map((r) => policyView(r, 1, false));
  }
}
