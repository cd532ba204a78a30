// Parameter-store references (`{{oos:…}}`, `{{oos-secret:…}}`) in what invocations run. The stored
// invocation keeps the tokens; values are filled in only in the task an agent fetches, and secret
// values are masked in the output agents report. References are resolved when custom parameters are
// enabled, as the stock agent does (luban §5.6 step 2).
import type { Db } from '../store/index.js';
import { ApiError } from '../shared/index.js';
import { decodeStored, type InvocationContext } from './invocation-context.js';
import { fillParameterRefs, maskSecrets, parameterRefs, type ParameterRef } from './parameter-tokens.js';

/** The parameter store as invocations use it (ParameterService implements it). */
export interface ParameterSource {
  missing(refs: readonly ParameterRef[], db?: Db): Promise<ParameterRef[]>;
  resolve(refs: readonly ParameterRef[], db?: Db): Promise<{ values: Map<string, string>; missing: ParameterRef[] }>;
  secretValues(names: readonly string[], db?: Db): Promise<string[]>;
}

const tokenOf = (r: ParameterRef) => `{{${r.secret ? 'oos-secret' : 'oos'}:${r.name}}}`;
const keyOf = (r: ParameterRef) => `${r.secret ? 'oos-secret' : 'oos'}:${r.name}`;

/**
 * Refuses a script that names a parameter the store does not hold (InvalidParameter.OosParameterNotFound),
 * before anything is stored or sent. `script` is the text to run (custom parameters filled in);
 * `db`: the transaction the caller is in, if any.
 */
export async function checkParameterRefs(ctx: InvocationContext, script: string, enableParameter: boolean, db?: Db) {
  if (!enableParameter) {
    return;
  }
  const refs = parameterRefs(script);
  if (refs.length === 0) {
    return;
  }
  const absent = ctx.parameters ? await ctx.parameters.missing(refs, db) : refs;
  if (absent.length > 0) {
    throw new ApiError(
      'InvalidParameter.OosParameterNotFound',
      `CommandContent names parameters the parameter store does not hold: ${absent.map(tokenOf).join(', ')}.`,
    );
  }
}

/** One execution about to be delivered: its invocation's stored content and settings. */
export interface DeliveryContent {
  invoke_id: string;
  command_content: string;
  enable_parameter: number;
}

/**
 * The content each execution's task carries, references filled in with current values (secrets
 * decrypted, for this delivery only). `failed`: executions whose references no longer resolve (a
 * parameter deleted since the call), with the reason; they are not delivered. `secret`: the
 * invocations whose task now holds secret values (the task says so: `secretContent`).
 */
export async function resolveForDelivery(
  ctx: InvocationContext,
  tx: Db,
  rows: readonly DeliveryContent[],
): Promise<{ content: Map<string, string>; failed: Map<string, string>; secret: Set<string> }> {
  const content = new Map<string, string>();
  const failed = new Map<string, string>();
  const secret = new Set<string>();
  for (const r of rows) {
    if (r.enable_parameter !== 1 || content.has(r.invoke_id) || failed.has(r.invoke_id)) {
      continue;
    }
    const script = decodeStored(r.command_content);
    const refs = parameterRefs(script);
    if (refs.length === 0) {
      continue;
    }
    const got = ctx.parameters ? await ctx.parameters.resolve(refs, tx) : { values: new Map(), missing: refs };
    if (got.missing.length > 0) {
      failed.set(r.invoke_id, `the parameter store does not hold ${got.missing.map(tokenOf).join(', ')}`);
      continue;
    }
    const filled = fillParameterRefs(script, (ref) => got.values.get(keyOf(ref)) ?? '');
    content.set(r.invoke_id, Buffer.from(filled, 'utf8').toString('base64'));
    if (refs.some((ref) => ref.secret)) {
      secret.add(r.invoke_id);
    }
  }
  return { content, failed, secret };
}

/** Secret names per invocation, so reports do not decode content already seen (bounded). */
const secretNamesCache = new Map<string, string[]>();
const CACHE_LIMIT = 4096;

/** The secret parameters an invocation's content names (read once per invocation and node). */
async function secretNamesOf(tx: Db, invokeId: string): Promise<string[]> {
  let names = secretNamesCache.get(invokeId);
  if (names === undefined) {
    const inv = await tx
      .selectFrom('invocations')
      .select('command_content')
      .where('invoke_id', '=', invokeId)
      .executeTakeFirst();
    names = parameterRefs(decodeStored(inv?.command_content ?? ''))
      .filter((r) => r.secret)
      .map((r) => r.name);
    if (secretNamesCache.size >= CACHE_LIMIT) {
      secretNamesCache.delete(secretNamesCache.keys().next().value!);
    }
    secretNamesCache.set(invokeId, names);
  }
  return names;
}

/**
 * What masks an execution's output before it is stored: every value (any version) of each secret
 * parameter the invocation names, replaced by `******`; undefined when it names none (or custom
 * parameters are off: then no reference was resolved).
 */
export async function secretMaskFor(
  ctx: InvocationContext,
  tx: Db,
  inv: { invoke_id: string; enable_parameter: number },
): Promise<((output: Buffer) => Buffer) | undefined> {
  if (inv.enable_parameter !== 1 || !ctx.parameters) {
    return undefined;
  }
  const names = await secretNamesOf(tx, inv.invoke_id);
  if (names.length === 0) {
    return undefined;
  }
  const secrets = await ctx.parameters.secretValues(names, tx);
  return secrets.length === 0 ? undefined : (output) => maskSecrets(output, secrets);
}
