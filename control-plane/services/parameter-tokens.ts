// `{{oos:name}}` and `{{oos-secret:name}}` in command content: finding them and filling them in.
// Spaces around the token's parts are allowed, as for `{{ACS::…}}` (luban §5.6 step 2). Pure.

/** A parameter a script names: plain (`oos:`) or secret (`oos-secret:`). */
export interface ParameterRef {
  name: string;
  secret: boolean;
}

const TOKEN = /\{\{([^{}]*)\}\}/g;
const OOS_TOKEN = /^\s*(oos|oos-secret)\s*:\s*(.*?)\s*$/;

function refOf(inner: string): ParameterRef | undefined {
  const m = OOS_TOKEN.exec(inner);
  if (!m || m[2] === '') {
    return undefined;
  }
  return { name: m[2]!, secret: m[1] === 'oos-secret' };
}

const keyOf = (r: ParameterRef) => `${r.secret ? 's' : 'p'}:${r.name}`;

/** The distinct parameters a script names, in order of first use. */
export function parameterRefs(script: string): ParameterRef[] {
  if (!script.includes('{{')) {
    return [];
  }
  const seen = new Map<string, ParameterRef>();
  for (const m of script.matchAll(TOKEN)) {
    const ref = refOf(m[1]!);
    if (ref && !seen.has(keyOf(ref))) {
      seen.set(keyOf(ref), ref);
    }
  }
  return [...seen.values()];
}

/** The script with every parameter token replaced by `valueOf(ref)` (other tokens stay as they are). */
export function fillParameterRefs(script: string, valueOf: (ref: ParameterRef) => string): string {
  return script.replace(TOKEN, (token, inner: string) => {
    const ref = refOf(inner);
    return ref ? valueOf(ref) : token;
  });
}

/** The mask that replaces a secret's value in command output. */
export const SECRET_MASK = '******';

/**
 * `output` with every occurrence of each secret replaced by SECRET_MASK (longest secrets first, so
 * a secret that contains another is masked whole). Works on bytes: output may not be valid UTF-8.
 */
export function maskSecrets(output: Buffer, secrets: readonly string[]): Buffer {
  const needles = [...new Set(secrets.filter((s) => s !== ''))]
    .map((s) => Buffer.from(s, 'utf8'))
    .sort((a, b) => b.length - a.length);
  let out = output;
  const mask = Buffer.from(SECRET_MASK, 'utf8');
  for (const needle of needles) {
    let at = out.indexOf(needle);
    if (at < 0) {
      continue;
    }
    const parts: Buffer[] = [];
    let from = 0;
    while (at >= 0) {
      parts.push(out.subarray(from, at), mask);
      from = at + needle.length;
      at = out.indexOf(needle, from);
    }
    parts.push(out.subarray(from));
    out = Buffer.concat(parts);
  }
  return out;
}
