// assist activation create: CreateActivation, then what to run on the machine to register it.
import type { Argv } from 'yargs';
import type { Context, GlobalArgs } from '../context.js';
import { println } from '../io.js';
import { printJson } from './shared.js';

interface CreateArgs extends GlobalArgs {
  count: number;
  ttl: number;
  name?: string;
  description?: string;
  ipRange?: string;
  json: boolean;
}

interface Activation {
  ActivationId: string;
  ActivationCode: string;
  /** Present when the control plane serves agent packages (an extension of the API). */
  InstallScripts?: { LinuxCommand?: string; LinuxProxyCommand?: string; Windows?: string };
}

export function activationCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  return y.command('activation', 'activation codes that register servers as managed instances', (c) =>
    c
      .command(
        'create',
        'create an activation code (CreateActivation) and print how to register a server with it',
        (l) =>
          l
            .option('count', { type: 'number', default: 10, describe: 'how many servers may use the code' })
            .option('ttl', { type: 'number', default: 4, describe: 'hours the code stays valid' })
            .option('name', { type: 'string', describe: 'default instance name of the servers' })
            .option('description', { type: 'string' })
            .option('ip-range', { type: 'string', describe: 'only servers from this CIDR may use the code' })
            .option('json', { type: 'boolean', default: false, describe: 'print the API response as JSON' }),
        (a) => create(ctx, a as unknown as CreateArgs),
      )
      .demandCommand(1, 'activation needs a subcommand: create'),
  );
}

/** A word for a POSIX shell: as is when safe, else single-quoted. */
const shWord = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

async function create(ctx: Context, a: CreateArgs): Promise<void> {
  const api = ctx.api(a);
  const r = await api.call<Activation>('CreateActivation', {
    InstanceCount: a.count,
    TimeToLiveInHours: a.ttl,
    InstanceName: a.name,
    Description: a.description,
    IpAddressRange: a.ipRange,
  });
  if (a.json) {
    printJson(ctx, r);
    return;
  }
  const out = ctx.io.stdout;
  println(out, `ActivationId:   ${r.ActivationId}`);
  println(out, `ActivationCode: ${r.ActivationCode}`);
  println(
    out,
    'The code is shown only now; it registers up to ' + `${a.count} server(s) in the next ${a.ttl} hour(s).`,
  );
  println(out);
  if (r.InstallScripts?.LinuxCommand) {
    println(out, 'Install and register the agent on a Linux server (as root):');
    println(out, `  ${r.InstallScripts.LinuxCommand}`);
    if (r.InstallScripts.LinuxProxyCommand) {
      println(out, 'Through an HTTP proxy (replace the placeholder):');
      println(out, `  ${r.InstallScripts.LinuxProxyCommand}`);
    }
    return;
  }
  const host = new URL(api.endpoint).host;
  println(out, 'On a server with the agent installed (as root):');
  println(
    out,
    `  ALIYUN_ASSIST_SERVER_HOST=${shWord(host)} aliyun-service --register --RegionId ${shWord(api.regionId)}` +
      ` --ActivationCode ${shWord(r.ActivationCode)} --ActivationId ${shWord(r.ActivationId)}`,
  );
  println(out, "(set ALIYUN_ASSIST_CERT_PATH to the control plane's CA certificate if it is not publicly trusted)");
}
