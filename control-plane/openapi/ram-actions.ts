// Extension actions of access policies and the audit trail, served with the ECS API version:
// RAM users, their AccessKeys, groups and policies (account keys only: AccessControl refuses RAM users),
// GetCallerIdentity (any key, about itself) and DescribeAuditEvents (policy-checked as
// ecs:DescribeAuditEvents). Names and response fields follow Alibaba's RAM and STS APIs, with
// `Ram` in the action names so they cannot clash with an ECS action. Merged by actions.ts.
import { ApiError } from '../shared/index.js';
import type { Action } from './actions.js';
import type { Params } from './params.js';

/** StartTime/EndTime: ISO 8601 UTC, as DescribeInvocations' times are written. */
function timeParam(p: Params, name: string): number | undefined {
  const v = p.optStr(name);
  if (v === undefined || v === '') {
    return undefined;
  }
  const t = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) {
    throw new ApiError(
      'InvalidParameter',
      `The specified parameter "${name}" is not valid: expected yyyy-MM-ddTHH:mm:ssZ.`,
    );
  }
  return t;
}

export const RAM_ACTIONS: Record<string, Action> = {
  async GetCallerIdentity(_p, d, caller) {
    const me = d.access.identityOf(caller ?? '');
    return {
      IdentityType: me.userName === null ? 'Account' : 'RAMUser',
      AccountId: d.access.accountId,
      ...(me.userName === null ? {} : { UserName: me.userName }),
      AccessKeyId: caller ?? '',
      Arn:
        me.userName === null
          ? `acs:ram::${d.access.accountId}:root`
          : `acs:ram::${d.access.accountId}:user/${me.userName}`,
    };
  },

  async CreateRamUser(p, d) {
    return {
      User: await d.ram.createUser({
        userName: p.required('UserName'),
        displayName: p.str('DisplayName'),
        comments: p.str('Comments'),
      }),
    };
  },
  async DeleteRamUser(p, d) {
    await d.ram.deleteUser(p.required('UserName'));
    return {};
  },
  async ListRamUsers(_p, d) {
    return { Users: { User: await d.ram.listUsers() } };
  },
  async CreateRamAccessKey(p, d) {
    const k = await d.ram.createAccessKey(p.required('UserName'));
    return { AccessKey: { AccessKeyId: k.AccessKeyId, AccessKeySecret: k.AccessKeySecret, Status: 'Active' } };
  },
  async ListRamAccessKeys(p, d) {
    return { AccessKeys: { AccessKey: await d.ram.listAccessKeys(p.required('UserName')) } };
  },
  async DeleteRamAccessKey(p, d) {
    await d.ram.deleteAccessKey(p.required('UserName'), p.required('UserAccessKeyId'));
    return {};
  },

  async CreateRamPolicy(p, d) {
    return {
      Policy: await d.ram.createPolicy({
        policyName: p.required('PolicyName'),
        policyDocument: p.required('PolicyDocument'),
        description: p.str('Description'),
      }),
    };
  },
  async UpdateRamPolicy(p, d) {
    await d.ram.updatePolicy(p.required('PolicyName'), p.required('PolicyDocument'));
    return {};
  },
  async GetRamPolicy(p, d) {
    return { Policy: await d.ram.getPolicy(p.required('PolicyName')) };
  },
  async DeleteRamPolicy(p, d) {
    await d.ram.deletePolicy(p.required('PolicyName'));
    return {};
  },
  async ListRamPolicies(_p, d) {
    return { Policies: { Policy: await d.ram.listPolicies() } };
  },
  async AttachRamPolicyToUser(p, d) {
    await d.ram.attachPolicyToUser(p.required('PolicyName'), p.required('UserName'));
    return {};
  },
  async DetachRamPolicyFromUser(p, d) {
    await d.ram.detachPolicyFromUser(p.required('PolicyName'), p.required('UserName'));
    return {};
  },
  async ListRamPoliciesForUser(p, d) {
    return { Policies: { Policy: await d.ram.listPoliciesForUser(p.required('UserName')) } };
  },

  async CreateRamGroup(p, d) {
    return { Group: await d.ram.createGroup({ groupName: p.required('GroupName'), comments: p.str('Comments') }) };
  },
  async DeleteRamGroup(p, d) {
    await d.ram.deleteGroup(p.required('GroupName'));
    return {};
  },
  async ListRamGroups(_p, d) {
    return { Groups: { Group: await d.ram.listGroups() } };
  },
  async AddUserToRamGroup(p, d) {
    await d.ram.addUserToGroup(p.required('UserName'), p.required('GroupName'));
    return {};
  },
  async RemoveUserFromRamGroup(p, d) {
    await d.ram.removeUserFromGroup(p.required('UserName'), p.required('GroupName'));
    return {};
  },
  async ListRamGroupsForUser(p, d) {
    return { Groups: { Group: await d.ram.listGroupsForUser(p.required('UserName')) } };
  },
  async AttachRamPolicyToGroup(p, d) {
    await d.ram.attachPolicyToGroup(p.required('PolicyName'), p.required('GroupName'));
    return {};
  },
  async DetachRamPolicyFromGroup(p, d) {
    await d.ram.detachPolicyFromGroup(p.required('PolicyName'), p.required('GroupName'));
    return {};
  },
  async ListRamPoliciesForGroup(p, d) {
    return { Policies: { Policy: await d.ram.listPoliciesForGroup(p.required('GroupName')) } };
  },

  async DescribeAuditEvents(p, d) {
    const f: Parameters<typeof d.audit.describe>[0] = { paging: p.paging(100) };
    const start = timeParam(p, 'StartTime');
    const end = timeParam(p, 'EndTime');
    if (start !== undefined) {
      f.startTime = start;
    }
    if (end !== undefined) {
      f.endTime = end;
    }
    for (const [key, param] of [
      ['userName', 'UserName'],
      ['accessKeyId', 'EventAccessKeyId'],
      ['action', 'EventAction'],
      ['result', 'Result'],
    ] as const) {
      const v = p.optStr(param);
      if (v !== undefined && v !== '') {
        f[key] = v;
      }
    }
    // Events of the calls just made may still be on their way to the store.
    await d.audit.flush();
    return d.audit.describe(f);
  },
};
