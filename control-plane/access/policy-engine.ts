// Evaluating a request against a principal's compiled policies. Pure: no I/O, no clock.
//
// A request is a list of checks, each an action on one resource (RunCommand on three instances is
// four checks: each instance, and the command it creates; a command naming a parameter of the
// parameter store adds oos:GetParameters on that parameter). Every check must be allowed by some
// statement, and no statement may deny any of them: explicit Deny beats Allow, and what no Allow
// covers is refused.
import type { CompiledCondition, CompiledPolicy, CompiledStatement } from './policy-document.js';

/** One action on one resource, with what conditions may ask about that resource. */
export interface Check {
  /** `ecs:RunCommand`. */
  action: string;
  /** `acs:ecs:cn-local:local:instance/mi-…`. */
  resource: string;
  /** The resource's tags (condition keys `ecs:tag/<key>` and `acs:ResourceTag/<key>`). */
  tags?: ReadonlyMap<string, string>;
}

/** What the request itself offers to conditions. */
export interface RequestContext {
  sourceIp: string;
  nowMs: number;
  /** Always true here: the operator API is served over HTTPS only. */
  secureTransport: boolean;
  accessKeyId?: string;
}

export type Decision =
  | { allowed: true }
  | {
      allowed: false;
      /** ExplicitDeny: a Deny statement matched; ImplicitDeny: no Allow statement did. */
      why: 'ExplicitDeny' | 'ImplicitDeny';
      check: Check;
      /** The policy whose Deny matched. */
      policy?: string;
    };

const TAG_KEY_PREFIXES = ['ecs:tag/', 'acs:resourcetag/'];

/** A check's tags keyed by lower-cased tag key (condition keys are lower-cased when compiled). */
type LowerTags = ReadonlyMap<string, string> | undefined;

function lowerTags(check: Check): LowerTags {
  if (!check.tags) {
    return undefined;
  }
  const m = new Map<string, string>();
  for (const [k, v] of check.tags) {
    m.set(k.toLowerCase(), v);
  }
  return m;
}

/** The request's values of a condition key; undefined when the request has none. */
function valuesOf(key: string, tags: LowerTags, ctx: RequestContext): string[] | undefined {
  switch (key) {
    case 'acs:sourceip':
      return [ctx.sourceIp];
    case 'acs:currenttime':
      return [new Date(ctx.nowMs).toISOString()];
    case 'acs:securetransport':
      return [String(ctx.secureTransport)];
    case 'acs:accesskeyid':
      return ctx.accessKeyId === undefined ? undefined : [ctx.accessKeyId];
    default: {
      const prefix = TAG_KEY_PREFIXES.find((p) => key.startsWith(p));
      const v = prefix === undefined ? undefined : tags?.get(key.slice(prefix.length));
      return v === undefined ? undefined : [v];
    }
  }
}

function positiveMatch(c: CompiledCondition, value: string): boolean {
  switch (c.operator) {
    case 'StringEquals':
    case 'StringNotEquals':
      return c.values.includes(value);
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return c.values.some((v) => v.toLowerCase() === value.toLowerCase());
    case 'StringLike':
    case 'StringNotLike':
      return c.patterns!.some((p) => p.test(value));
    case 'IpAddress':
    case 'NotIpAddress': {
      const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(value)?.[1];
      const ip = v4mapped ?? value;
      return c.ranges!.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4');
    }
    case 'DateLessThan':
      return c.times!.some((t) => Date.parse(value) < t);
    case 'DateLessThanEquals':
      return c.times!.some((t) => Date.parse(value) <= t);
    case 'DateGreaterThan':
      return c.times!.some((t) => Date.parse(value) > t);
    case 'DateGreaterThanEquals':
      return c.times!.some((t) => Date.parse(value) >= t);
    case 'Bool':
      return c.values.includes(value);
  }
}

const NEGATED = new Set(['StringNotEquals', 'StringNotEqualsIgnoreCase', 'StringNotLike', 'NotIpAddress']);

/**
 * A condition on a key the request lacks (a tag the resource does not have) fails, except for the
 * negated operators, which hold: "not equal to x" is true of a missing value.
 */
function conditionHolds(c: CompiledCondition, tags: LowerTags, ctx: RequestContext): boolean {
  const values = valuesOf(c.key, tags, ctx);
  const negated = NEGATED.has(c.operator);
  if (values === undefined) {
    return negated;
  }
  const any = values.some((v) => positiveMatch(c, v));
  return negated ? !any : any;
}

/** Resource and conditions of a statement whose action already matched. */
function appliesTo(s: CompiledStatement, check: Check, tags: LowerTags, ctx: RequestContext): boolean {
  const resourceHit = s.resources.some((p) => p.test(check.resource));
  if (resourceHit === s.notResource) {
    return false;
  }
  return s.conditions.every((c) => conditionHolds(c, tags, ctx));
}

interface ForAction {
  deny: { policy: string; statement: CompiledStatement }[];
  allow: CompiledStatement[];
}

/** The statements whose Action covers `action`, Deny and Allow apart (computed once per action and request). */
function statementsFor(policies: readonly CompiledPolicy[], action: string): ForAction {
  const out: ForAction = { deny: [], allow: [] };
  for (const p of policies) {
    for (const s of p.statements) {
      if (s.actions.some((re) => re.test(action)) === s.notAction) {
        continue;
      }
      if (s.effect === 'Deny') {
        out.deny.push({ policy: p.name, statement: s });
      } else {
        out.allow.push(s);
      }
    }
  }
  return out;
}

export function evaluate(policies: readonly CompiledPolicy[], checks: readonly Check[], ctx: RequestContext): Decision {
  const byAction = new Map<string, ForAction>();
  let firstUnallowed: Check | undefined;
  for (const check of checks) {
    let forAction = byAction.get(check.action);
    if (!forAction) {
      forAction = statementsFor(policies, check.action);
      byAction.set(check.action, forAction);
    }
    const tags = lowerTags(check);
    const denied = forAction.deny.find((d) => appliesTo(d.statement, check, tags, ctx));
    if (denied) {
      return { allowed: false, why: 'ExplicitDeny', check, policy: denied.policy };
    }
    // Once one check is refused the others matter only for an explicit Deny.
    if (firstUnallowed === undefined && !forAction.allow.some((s) => appliesTo(s, check, tags, ctx))) {
      firstUnallowed = check;
    }
  }
  return firstUnallowed ? { allowed: false, why: 'ImplicitDeny', check: firstUnallowed } : { allowed: true };
}
