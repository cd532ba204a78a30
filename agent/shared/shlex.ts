// POSIX-shell-like word splitting, as the stock agent's shlex does for a session's `cmdContent`
// (run as words under the PTY, without a shell) and acs-plugin-manager's `--params`: whitespace
// separates words, single quotes are literal, double quotes allow \" \\ \$ \` escapes, a backslash
// outside quotes escapes the next character. No expansion, no comments, no operators.

export class ShlexError extends Error {
  override readonly name = 'ShlexError';
}

export function shlexSplit(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) {
        words.push(word);
        word = '';
        inWord = false;
      }
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) {
        throw new ShlexError('unclosed single quote');
      }
      word += line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) {
          throw new ShlexError('unclosed double quote');
        }
        const d = line[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1]!)) {
          word += line[i + 1] === '\n' ? '' : line[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
    } else if (c === '\\') {
      if (i + 1 >= line.length) {
        throw new ShlexError('trailing backslash');
      }
      word += line[i + 1] === '\n' ? '' : line[i + 1];
      i += 2;
    } else {
      word += c;
      i++;
    }
  }
  if (inWord) {
    words.push(word);
  }
  return words;
}
