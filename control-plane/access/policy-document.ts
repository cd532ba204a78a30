// The RAM policy language: a document is parsed and checked once (when it is created or loaded)
// into compiled statements whose patterns are regular expressions, so evaluating a request only
// matches. Everything a document may say is checked here: an operator learns of an unknown
// condition operator when creating the policy, not by a request silently allowed or refused.
import { BlockList, isIP } from 'node:net';

export type Effect = 'Allow' | 'Deny';

/** How a condition compares the request's values of a key with the policy's values. */
export type ConditionOperator =
  | 'StringEquals'
  | 'StringNotEquals'
  | 'StringEqualsIgnoreCase'
  | 'StringNotEqualsIgnoreCase'
  | 'StringLike'
  | 'StringNotLike'
  | 'IpAddress'
  | 'NotIpAddress'
  | 'DateLessThan'
  | 'DateLessThanEquals'
  | 'DateGreaterThan'
  | 'DateGreaterThanEquals'
  | 'Bool';

const OPERATORS: ReadonlySet<string> = new Set<ConditionOperator>([
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'IpAddress',
  'NotIpAddress',
  'DateLessThan',
  'DateLessThanEquals',
  'DateGreaterThan',
  'DateGreaterThanEquals',
  'Bool',
]);

/** One test: the request's value(s) of `key` against `values` (any one of them may match). */
export interface CompiledCondition {
  operator: ConditionOperator;
  /** Lower-cased: condition keys are case-insensitive. */
  key: string;
  values: readonly string[];
  /** StringLike / StringNotLike patterns. */
  patterns?: readonly RegExp[];
  /** IpAddress / NotIpAddress ranges. */
  ranges?: BlockList;
  /** Date* limits, ms since the epoch. */
  times?: readonly number[];
}

export interface CompiledStatement {
  effect: Effect;
  /** Matches when any pattern matches the action (`Action`), or when none does (`NotAction`). */
  actions: readonly RegExp[];
  notAction: boolean;
  resources: readonly RegExp[];
  notResource: boolean;
  /** All must hold. */
  conditions: readonly CompiledCondition[];
}

export interface CompiledPolicy {
  name: string;
  statements: readonly CompiledStatement[];
}

/** A document that is not valid policy language, with what is wrong. */
export class PolicyDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyDocumentError';
  }
}

/** Largest document accepted (Alibaba's limit for a custom policy is 6,144 characters). */
export const MAX_POLICY_DOCUMENT_LENGTH = 6144;

/**
 * A glob as a regular expression: `*` any run of characters, `?` one character, the rest literal.
 * Actions compare case-insensitively (as Alibaba does); resources and condition values exactly.
 */
export function globToRegExp(glob: string, ignoreCase: boolean): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
  return new RegExp(`^${body}$`, ignoreCase ? 'is' : 's');
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** A string or a non-empty list of strings, as Action, Resource and condition values may be given. */
function stringsOf(v: unknown, what: string): string[] {
  if (typeof v === 'string') {
    return [v];
  }
  if (isStringList(v) && v.length > 0) {
    return v;
  }
  throw new PolicyDocumentError(`${what} must be a string or a non-empty list of strings.`);
}

function compileCondition(operator: string, key: string, raw: unknown, where: string): CompiledCondition {
  if (!OPERATORS.has(operator)) {
    throw new PolicyDocumentError(`${where}: condition operator ${operator} is not supported.`);
  }
  const op = operator as ConditionOperator;
  const values = stringsOf(typeof raw === 'boolean' || typeof raw === 'number' ? String(raw) : raw, `${where} ${key}`);
  const c: CompiledCondition = { operator: op, key: key.toLowerCase(), values };
  if (op === 'StringLike' || op === 'StringNotLike') {
    c.patterns = values.map((v) => globToRegExp(v, false));
  } else if (op === 'IpAddress' || op === 'NotIpAddress') {
    const ranges = new BlockList();
    for (const v of values) {
      const [addr = '', bits] = v.split('/');
      const family = isIP(addr);
      const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
      if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
        throw new PolicyDocumentError(`${where}: ${v} is not an IP address or CIDR block.`);
      }
      ranges.addSubnet(addr, prefix, family === 6 ? 'ipv6' : 'ipv4');
    }
    c.ranges = ranges;
  } else if (op.startsWith('Date')) {
    c.times = values.map((v) => {
      const t = Date.parse(v);
      if (Number.isNaN(t)) {
        throw new PolicyDocumentError(`${where}: ${v} is not a date and time (ISO 8601).`);
      }
      return t;
    });
  } else if (op === 'Bool' && values.some((v) => v !== 'true' && v !== 'false')) {
    throw new PolicyDocumentError(`${where}: Bool values are true or false.`);
  }
  return c;
}

function compileStatement(s: unknown, i: number): CompiledStatement {
  const where = `Statement ${i + 1}`;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) {
    throw new PolicyDocumentError(`${where} must be an object.`);
  }
  const st = s as Record<string, unknown>;
  const known = new Set(['Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition', 'Sid']);
  const unknown = Object.keys(st).find((k) => !known.has(k));
  if (unknown !== undefined) {
    throw new PolicyDocumentError(`${where}: ${unknown} is not a statement element.`);
  }
  if (st['Effect'] !== 'Allow' && st['Effect'] !== 'Deny') {
    throw new PolicyDocumentError(`${where}: Effect must be Allow or Deny.`);
  }
  if ((st['Action'] === undefined) === (st['NotAction'] === undefined)) {
    throw new PolicyDocumentError(`${where} needs exactly one of Action and NotAction.`);
  }
  if ((st['Resource'] === undefined) === (st['NotResource'] === undefined)) {
    throw new PolicyDocumentError(`${where} needs exactly one of Resource and NotResource.`);
  }
  const notAction = st['Action'] === undefined;
  const actions = stringsOf(notAction ? st['NotAction'] : st['Action'], `${where} Action`);
  for (const a of actions) {
    if (a !== '*' && !/^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$/.test(a)) {
      throw new PolicyDocumentError(`${where}: action ${a} is not <service>:<Action> (wildcards * and ? allowed).`);
    }
  }
  const notResource = st['Resource'] === undefined;
  const resources = stringsOf(notResource ? st['NotResource'] : st['Resource'], `${where} Resource`);
  const conditions: CompiledCondition[] = [];
  const cond = st['Condition'];
  if (cond !== undefined) {
    if (typeof cond !== 'object' || cond === null || Array.isArray(cond)) {
      throw new PolicyDocumentError(`${where}: Condition must be an object.`);
    }
    for (const [operator, block] of Object.entries(cond as Record<string, unknown>)) {
      if (typeof block !== 'object' || block === null || Array.isArray(block)) {
        throw new PolicyDocumentError(`${where}: Condition ${operator} must map condition keys to values.`);
      }
      for (const [key, values] of Object.entries(block as Record<string, unknown>)) {
        conditions.push(compileCondition(operator, key, values, where));
      }
    }
  }
  return {
    effect: st['Effect'],
    actions: actions.map((a) => globToRegExp(a, true)),
    notAction,
    resources: resources.map((r) => globToRegExp(r, false)),
    notResource,
    conditions,
  };
}

/** Parses and checks a policy document (JSON text); throws PolicyDocumentError saying what is wrong. */
export function compilePolicy(name: string, document: string): CompiledPolicy {
  if (document.length > MAX_POLICY_DOCUMENT_LENGTH) {
    throw new PolicyDocumentError(`A policy document may have at most ${MAX_POLICY_DOCUMENT_LENGTH} characters.`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(document);
  } catch (e) {
    throw new PolicyDocumentError(`The policy document is not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new PolicyDocumentError('The policy document must be a JSON object.');
  }
  const d = doc as Record<string, unknown>;
  if (d['Version'] !== '1') {
    throw new PolicyDocumentError('The policy document needs "Version": "1".');
  }
  const statements = d['Statement'];
  if (!Array.isArray(statements) || statements.length === 0) {
    throw new PolicyDocumentError('The policy document needs a non-empty Statement list.');
  }
  return { name, statements: statements.map(compileStatement) };
}
