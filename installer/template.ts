// Pure rendering: `{{name}}` placeholders filled from a map, and the quoting each service-manager
// format needs. Values are inserted verbatim, so the value builders quote them for their format.
import { InstallerError } from './errors.js';

const PLACEHOLDER = /\{\{([A-Za-z][A-Za-z0-9]*)\}\}/g;

/** Fills every `{{name}}`; a missing value, or a malformed `{{…`, is an error naming them all. */
export function renderTemplate(template: string, values: Readonly<Record<string, string>>): string {
  const missing = new Set<string>();
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!Object.hasOwn(values, m[1]!)) {
      missing.add(m[1]!);
    }
  }
  if (missing.size > 0) {
    throw new InstallerError('TEMPLATE_INVALID', `no value for placeholder(s): ${[...missing].join(', ')}`, {
      details: { missing: [...missing] },
    });
  }
  const stray = template.replace(PLACEHOLDER, '').indexOf('{{');
  if (stray >= 0) {
    throw new InstallerError('TEMPLATE_INVALID', `malformed placeholder near: ${template.slice(stray, stray + 20)}`);
  }
  for (const [name, value] of Object.entries(values)) {
    assertOneLine(name, value);
  }
  return template.replace(PLACEHOLDER, (_, name: string) => values[name]!);
}

/** Every format here is line-based: a newline in a value would inject a directive. */
export function assertOneLine(what: string, value: string): void {
  if (/[\r\n\0]/.test(value)) {
    throw new InstallerError('SPEC_INVALID', `${what} must not contain a newline or NUL: ${JSON.stringify(value)}`);
  }
}

const SH_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One word for sh: as is when it is plainly safe, else single-quoted. */
export function shQuote(s: string): string {
  return SH_SAFE.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export const shCommand = (argv: readonly string[]): string => argv.map(shQuote).join(' ');

/** Plain paths in systemd directives: only `%` (a specifier) needs escaping. */
export const systemdPath = (s: string): string => s.replace(/%/g, '%%');

const SYSTEMD_SAFE = /^[A-Za-z0-9_@+=:,./-]+$/;

/** One ExecStart= argument: `%` is a specifier and `$` a variable, so both are doubled; quoted when needed. */
export function systemdExecWord(s: string): string {
  if (SYSTEMD_SAFE.test(s)) {
    return s;
  }
  const escaped = s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return `"${escaped}"`;
}

/**
 * The program of ExecStart=: systemd does no `$` substitution there and refuses quotes and
 * backslashes outright ("Executable name contains special characters"), so only `%` is escaped.
 */
export function systemdExecutable(path: string): string {
  if (/["'\\]/.test(path)) {
    throw new InstallerError(
      'SPEC_INVALID',
      `systemd cannot run a program whose path has quotes or backslashes: ${path}`,
    );
  }
  const escaped = systemdPath(path);
  return /\s/.test(path) ? `"${escaped}"` : escaped;
}

export const systemdExec = (argv: readonly string[]): string =>
  argv.map((a, i) => (i === 0 ? systemdExecutable(a) : systemdExecWord(a))).join(' ');

/** One Environment= assignment: no `$` expansion there, but specifiers and quoting still apply. */
export function systemdEnvAssignment(name: string, value: string): string {
  const s = `${name}=${value}`;
  if (SYSTEMD_SAFE.test(s)) {
    return s;
  }
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
}

const XML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

export const xmlEscape = (s: string): string => s.replace(/[&<>"']/g, (c) => XML_ENTITIES[c]!);

/** One argument as the Microsoft C runtime (CommandLineToArgvW) reads it back. */
export function windowsArg(s: string): string {
  if (s !== '' && !/[\s"]/.test(s)) {
    return s;
  }
  let out = '"';
  let slashes = 0;
  for (const c of s) {
    if (c === '\\') {
      slashes++;
      continue;
    }
    out += c === '"' ? '\\'.repeat(slashes * 2 + 1) + '"' : '\\'.repeat(slashes) + c;
    slashes = 0;
  }
  return `${out}${'\\'.repeat(slashes * 2)}"`;
}
