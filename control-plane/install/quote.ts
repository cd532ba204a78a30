// Quoting values for the install scripts: every interpolated value goes through one of these, so no
// value (an activation code, a host, a region) can end a string and run as code.

/** A POSIX sh single-quoted word: `'` becomes `'\''`; nothing inside single quotes is special. */
export function shQuote(value: string): string {
  assertNoNul(value);
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * A PowerShell single-quoted string. PowerShell treats the typographic quotes U+2018–U+201B as
 * single quotes too; inside the string each quote character is escaped by doubling it.
 */
export function psQuote(value: string): string {
  assertNoNul(value);
  return `'${value.replace(/['\u2018\u2019\u201A\u201B]/g, (q) => q + q)}'`;
}

function assertNoNul(value: string): void {
  if (value.includes('\0')) {
    throw new Error('a script value may not contain NUL');
  }
}
