// What a simulated agent "runs": the stock agent's parameter substitution (§5.6 step 2) and a shell
// that knows only `echo`, so the output reported is the output the script would really print.

/** `{{ACS::Name}}` (spaces allowed inside the braces) from the task's built-in parameters. */
export function substituteBuiltIns(script: string, values: Record<string, string>): string {
  return script.replace(/\{\{\s*ACS::(\w+)\s*\}\}/g, (token, name: string) => values[name] ?? token);
}

/**
 * The output of a script made of `echo` lines (other lines print nothing): each argument word
 * with one level of matching quotes removed, joined by one space, plus a newline.
 */
export function echoOutput(script: string): string {
  let out = '';
  for (const raw of script.split('\n')) {
    const m = /^\s*echo(?:\s+(.*))?$/.exec(raw);
    if (!m) {
      continue;
    }
    const words = (m[1] ?? '').trim().split(/\s+/).filter(Boolean);
    out += `${words.map((w) => w.replace(/^(['"])(.*)\1$/, '$2')).join(' ')}\n`;
  }
  return out;
}

/** Standard base64 (padded), as the stock agent's decoder requires; undefined when it is not. */
export function decodeBase64(s: string): string | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) {
    return undefined;
  }
  return Buffer.from(s, 'base64').toString('utf8');
}
