// What the authorizer caches of the RAM directory (keys, policies, who has which), read in one
// transaction so that it matches the version it carries.
import type { Db } from '../store/index.js';

/** Everything the authorizer caches, read in one go. */
export interface RamSnapshot {
  version: number;
  /** Every enabled key: its RAM user, or null for an account (root) key. */
  keys: Map<string, string | null>;
  /** Policy documents by name. */
  policies: Map<string, string>;
  /** Policy names that apply to each user: attached to it, or to one of its groups. */
  attachments: Map<string, string[]>;
}

export async function readSnapshot(db: Db): Promise<RamSnapshot> {
  return db.transaction().execute(async (tx) => {
    const v = await tx.selectFrom('ram_state').select('version').where('id', '=', 1).executeTakeFirst();
    const keys = await tx
      .selectFrom('access_keys')
      .select(['access_key_id', 'user_name'])
      .where('disabled', '=', 0)
      .execute();
    const policies = await tx.selectFrom('ram_policies').select(['policy_name', 'document']).execute();
    const attachments = await tx
      .selectFrom('ram_policy_attachments')
      .select(['policy_name', 'principal_type', 'principal_name'])
      .execute();
    const members = await tx.selectFrom('ram_group_members').select(['group_name', 'user_name']).execute();
    const groupsOf = new Map<string, string[]>();
    for (const m of members) {
      groupsOf.set(m.user_name, [...(groupsOf.get(m.user_name) ?? []), m.group_name]);
    }
    const byPrincipal = new Map<string, string[]>();
    for (const a of attachments) {
      const key = `${a.principal_type}:${a.principal_name}`;
      byPrincipal.set(key, [...(byPrincipal.get(key) ?? []), a.policy_name]);
    }
    // A user's policies: its own and those of its groups.
    const byUser = new Map<string, string[]>();
    const users = new Set([
      ...groupsOf.keys(),
      ...attachments.filter((a) => a.principal_type === 'User').map((a) => a.principal_name),
    ]);
    for (const u of users) {
      const names = [
        ...(byPrincipal.get(`User:${u}`) ?? []),
        ...(groupsOf.get(u) ?? []).flatMap((g) => byPrincipal.get(`Group:${g}`) ?? []),
      ];
      byUser.set(u, [...new Set(names)]);
    }
    return {
      version: Number(v?.version ?? 0),
      keys: new Map(keys.map((k) => [k.access_key_id, k.user_name])),
      policies: new Map(policies.map((p) => [p.policy_name, p.document])),
      attachments: byUser,
    };
  });
}
