// assist: the operator command line (cli/). See docs/cli.md.
import { homedir } from 'node:os';
import { hideBin } from 'yargs/helpers';
import { runAssist } from '../cli/index.js';

void runAssist(hideBin(process.argv), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  homeDir: homedir(),
  cwd: process.cwd(),
}).then((code) => {
  // exitCode rather than exit(): stdout may still be flushing into a pipe.
  process.exitCode = code;
});
