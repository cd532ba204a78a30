// What a command may touch of the outside world; bin/assist.ts passes the real process's.
import type { Env } from './credentials.js';

export interface Out {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

export interface Io {
  stdout: Out;
  stderr: Out;
  stdin: NodeJS.ReadableStream;
  env: Env;
  homeDir: string;
  cwd: string;
}

export const println = (out: Out, line = '') => out.write(`${line}\n`);
