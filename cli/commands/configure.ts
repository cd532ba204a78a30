// assist configure: writes a named profile to ~/.assist/config.json (0600). Values come from flags,
// else they are asked for on stdin (one line each, so answers can be piped in).
import { createInterface } from 'node:readline';
import type { Argv } from 'yargs';
import type { Context } from '../context.js';
import {
  configPath,
  DEFAULT_PROFILE,
  DEFAULT_REGION,
  normalizeEndpoint,
  readProfileFile,
  writeProfile,
  type Profile,
} from '../credentials.js';
import { usageError } from '../errors.js';
import { println } from '../io.js';

interface ConfigureArgs {
  profile?: string;
  accessKeyId?: string;
  endpoint?: string;
  region?: string;
  caFile?: string;
}

export function configureCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  return y.command(
    'configure',
    'save the endpoint and AccessKey in a profile (~/.assist/config.json, mode 0600)',
    (c) =>
      c
        .option('access-key-id', { type: 'string', describe: 'the AccessKey id (asked for when absent)' })
        .epilogue('The AccessKey secret is always read from stdin, never from the command line (it would show in ps).'),
    (a) => configure(ctx, a as unknown as ConfigureArgs),
  );
}

async function configure(ctx: Context, a: ConfigureArgs): Promise<void> {
  const path = configPath(ctx.io.env, ctx.io.homeDir);
  const name = a.profile ?? DEFAULT_PROFILE;
  const old: Profile = readProfileFile(path).profiles[name] ?? {};
  const rl = createInterface({ input: ctx.io.stdin, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  // Each answer is one line; an empty answer keeps the value already in the profile.
  const ask = async (question: string, current: string | undefined, shown = current): Promise<string | undefined> => {
    ctx.io.stderr.write(`${question}${shown ? ` [${shown}]` : ''}: `);
    const next = await lines.next();
    const answer = next.done ? '' : String(next.value).trim();
    return answer || current;
  };
  try {
    const accessKeyId = a.accessKeyId ?? (await ask('AccessKey id', old.accessKeyId));
    const accessKeySecret = await ask('AccessKey secret', old.accessKeySecret, old.accessKeySecret && 'unchanged');
    const endpoint = a.endpoint ?? (await ask('Endpoint (host:port or https://host:port)', old.endpoint));
    const region = a.region ?? (await ask('Region', old.region ?? DEFAULT_REGION));
    const caFile = a.caFile ?? (await ask('CA certificate file (empty: the system CAs)', old.caFile));
    if (!accessKeyId || !accessKeySecret || !endpoint) {
      throw usageError('configure needs an AccessKey id, an AccessKey secret and an endpoint');
    }
    const profile: Profile = {
      accessKeyId,
      accessKeySecret,
      endpoint: normalizeEndpoint(endpoint),
      ...(region ? { region } : {}),
      ...(caFile ? { caFile: ctx.path(caFile) } : {}),
    };
    ctx.io.stderr.write('\n');
    const file = writeProfile(path, name, profile);
    println(ctx.io.stdout, `saved profile ${name} in ${path}${file.current === name ? ' (the current profile)' : ''}`);
  } finally {
    rl.close();
  }
}
