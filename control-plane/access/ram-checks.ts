// What RAM input must satisfy before a change is written: well-formed names and policy
// documents, and the users, groups and policies it names existing.
import type { Transaction } from 'kysely';
import { ApiError, type ApiErrorCode } from '../shared/index.js';
import type { Database } from '../store/index.js';
import { compilePolicy, PolicyDocumentError } from './policy-document.js';

const USER_NAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;
const POLICY_NAME_RE = /^[A-Za-z0-9-]{1,128}$/;

/** User and group names follow one rule. */
function checkPrincipalName(kind: 'User' | 'Group', name: string): void {
  if (!USER_NAME_RE.test(name)) {
    throw new ApiError(
      `InvalidParameter.${kind}Name`,
      `${kind}Name must be 1 to 64 characters: letters, digits, periods (.), underscores (_), hyphens (-) and @.`,
    );
  }
}

export const checkUserName = (name: string): void => checkPrincipalName('User', name);
export const checkGroupName = (name: string): void => checkPrincipalName('Group', name);

export function checkPolicyName(name: string): void {
  if (!POLICY_NAME_RE.test(name)) {
    throw new ApiError(
      'InvalidParameter.PolicyName',
      'PolicyName must be 1 to 128 characters: letters, digits and hyphens (-).',
    );
  }
}

export function checkDocument(name: string, document: string): void {
  try {
    compilePolicy(name, document);
  } catch (e) {
    if (e instanceof PolicyDocumentError) {
      throw new ApiError('MalformedPolicyDocument', e.message);
    }
    throw e;
  }
}

async function mustExist(row: Promise<unknown>, code: ApiErrorCode, message: string): Promise<void> {
  if (!(await row)) {
    throw new ApiError(code, message);
  }
}

export const requireUser = (tx: Transaction<Database>, userName: string): Promise<void> =>
  mustExist(
    tx.selectFrom('ram_users').select('user_name').where('user_name', '=', userName).executeTakeFirst(),
    'EntityNotExist.User',
    `The user ${userName} does not exist.`,
  );

export const requirePolicy = (tx: Transaction<Database>, policyName: string): Promise<void> =>
  mustExist(
    tx.selectFrom('ram_policies').select('policy_name').where('policy_name', '=', policyName).executeTakeFirst(),
    'EntityNotExist.Policy',
    `The policy ${policyName} does not exist.`,
  );

export const requireGroup = (tx: Transaction<Database>, groupName: string): Promise<void> =>
  mustExist(
    tx.selectFrom('ram_groups').select('group_name').where('group_name', '=', groupName).executeTakeFirst(),
    'EntityNotExist.Group',
    `The group ${groupName} does not exist.`,
  );
