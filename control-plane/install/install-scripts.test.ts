// The rendered install scripts: every value is quoted (checked by running sh and by parsing the
// PowerShell quoting back), the scripts parse, the proxy variant insists on a well-formed proxy,
// and the one-liners carry exactly the scripts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { PROXY_PLACEHOLDER, psQuote, renderInstallScripts, shQuote, type InstallScriptContext } from './index.js';

const HOSTILE = [
  `it's`,
  `'; touch /tmp/oca-pwned; echo '`,
  '$(id) `id` ${HOME} "x" \\ \n newline',
  `‘smart’ ‚quotes‛ '' '`,
  '; exit 3 #',
];
const CA = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQk9HVVM=\n-----END CERTIFICATE-----\n';
const CTX: InstallScriptContext = { serverHost: 'assist.example.com:8443', regionId: 'cn-local', caPem: CA };
const ACT = { activationId: '0A1B2C3D-0000-4000-8000-000000000001', activationCode: 'a-secretCODE123' };

const sh = (script: string, env: Record<string, string> = {}) =>
  spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env } });

/** The value of a PowerShell single-quoted string starting at `text[0]`, and what follows it. */
function parsePsSingleQuoted(text: string): { value: string; rest: string } {
  const isQuote = (c: string | undefined) => c !== undefined && "'\u2018\u2019\u201A\u201B".includes(c);
  assert.ok(isQuote(text[0]), 'starts with a quote');
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!;
    if (isQuote(c)) {
      if (isQuote(text[i + 1])) {
        value += text[i + 1];
        i++;
        continue;
      }
      return { value, rest: text.slice(i + 1) };
    }
    value += c;
  }
  throw new Error('unterminated string');
}

describe('install script quoting', () => {
  it('shQuote gives sh back every hostile value unchanged, running nothing', () => {
    for (const v of HOSTILE) {
      const r = sh(`printf '%s' ${shQuote(v)}`);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, v);
    }
  });

  it('psQuote escapes every PowerShell quote character, so the string ends where it should', () => {
    for (const v of HOSTILE) {
      const { value, rest } = parsePsSingleQuoted(psQuote(v));
      assert.equal(value, v);
      assert.equal(rest, '');
    }
  });

  it('refuses NUL, which no script can carry', () => {
    assert.throws(() => shQuote('a\0b'));
    assert.throws(() => psQuote('a\0b'));
  });
});

describe('renderInstallScripts', () => {
  it('writes each value once, quoted, in the Linux script; sh reads them back exactly', () => {
    for (const hostile of HOSTILE) {
      const s = renderInstallScripts(
        { ...CTX, regionId: hostile },
        { activationId: ACT.activationId, activationCode: hostile },
      );
      // The values block ends before the first use; run it and print the values.
      const block = s.Linux.slice(s.Linux.indexOf('SERVER_HOST='), s.Linux.indexOf('\nR='));
      const r = sh(
        `${block}\nprintf '%s\\0' "$SERVER_HOST" "$REGION_ID" "$ACTIVATION_ID" "$ACTIVATION_CODE" "$CA_PEM"`,
      );
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout.split('\0').slice(0, 5), [
        CTX.serverHost,
        hostile,
        ACT.activationId,
        hostile,
        CA.trim(),
      ]);
    }
  });

  it('renders scripts that sh and bash parse', () => {
    const s = renderInstallScripts(CTX, ACT);
    for (const script of [s.Linux, s.LinuxProxy]) {
      for (const shell of ['sh', 'bash']) {
        const r = spawnSync(shell, ['-n'], { input: script, encoding: 'utf8' });
        assert.equal(r.status, 0, `${shell}: ${r.stderr}`);
      }
    }
  });

  it('puts the activation code into each script exactly once, as a quoted value', () => {
    const s = renderInstallScripts(CTX, ACT);
    for (const [script, line] of [
      [s.Linux, `ACTIVATION_CODE='${ACT.activationCode}'`],
      [s.LinuxProxy, `ACTIVATION_CODE='${ACT.activationCode}'`],
      [s.Windows, `$ActivationCode = '${ACT.activationCode}'`],
    ] as const) {
      assert.equal(script.split(ACT.activationCode).length, 2);
      assert.ok(script.includes(`\n${line}\n`), line);
    }
  });

  it('quotes the PowerShell values so that hostile text stays a string', () => {
    for (const hostile of HOSTILE) {
      const s = renderInstallScripts(
        { ...CTX, regionId: hostile },
        { activationId: ACT.activationId, activationCode: hostile },
      );
      for (const [name, want] of [
        ['$RegionId = ', hostile],
        ['$ActivationCode = ', hostile],
        ['$ServerHost = ', CTX.serverHost],
        ['$CaPem = ', CA.trim()],
      ] as const) {
        const at = s.Windows.indexOf(`\n${name}`);
        assert.ok(at >= 0, name);
        const { value, rest } = parsePsSingleQuoted(s.Windows.slice(at + 1 + name.length));
        assert.equal(value, want, name);
        assert.ok(rest.startsWith('\n'), `${name}: nothing follows the string on its line`);
      }
    }
  });

  it('makes the Windows script pin the CA, verify SHA-256 and register with the stock flags', () => {
    const w = renderInstallScripts(CTX, ACT).Windows;
    assert.match(w, /ServerCertificateValidationCallback/);
    assert.match(w, /\.Thumbprint -eq \$Ca\.Thumbprint/);
    assert.match(w, /Get-FileHash -Algorithm SHA256/);
    assert.match(w, /\$Base = "https:\/\/\$ServerHost\/assist\/packages"/);
    assert.match(
      w,
      /& \$Exe --register --RegionId \$RegionId --ActivationCode \$ActivationCode --ActivationId \$ActivationId/,
    );
    assert.match(w, /SetEnvironmentVariable\(\$k, \$settings\[\$k\], 'Machine'\)/);
    assert.match(w, /ALIYUN_ASSIST_PROXY = \$Proxy/);
  });

  it('makes the Linux scripts download over the pinned CA, check SHA256SUMS, write the env file and register', () => {
    const { Linux, LinuxProxy } = renderInstallScripts(CTX, ACT);
    for (const s of [Linux, LinuxProxy]) {
      assert.match(s, /--cacert "\$CA_ARG"/);
      assert.match(s, /does not match SHA256SUMS/);
      assert.match(s, /ENV_FILE='\/etc\/sysconfig\/aliyun'/);
      assert.match(
        s,
        /--register --RegionId "\$REGION_ID" --ActivationCode "\$ACTIVATION_CODE" --ActivationId "\$ACTIVATION_ID"/,
      );
      assert.match(s, /systemctl restart "\$UNIT"/);
    }
    assert.match(Linux, /\nUSE_PROXY=0\n/);
    assert.match(LinuxProxy, /\nUSE_PROXY=1\n/);
  });

  it('refuses a server host that an agent would not accept', () => {
    for (const serverHost of ['a b', "x';id;'", 'host:port:1', '']) {
      assert.throws(() => renderInstallScripts({ ...CTX, serverHost }, ACT), /server host/);
    }
  });

  it('one-liners carry the scripts base64-encoded', () => {
    const s = renderInstallScripts(CTX, ACT);
    const decode = (line: string) => Buffer.from(line.split(' ')[1]!, 'base64').toString('utf8');
    assert.match(s.LinuxCommand, /^echo [A-Za-z0-9+/=]+ \| base64 -d \| sudo sh$/);
    assert.equal(decode(s.LinuxCommand), s.Linux);
    assert.ok(s.LinuxProxyCommand.endsWith(`| sudo env ALIYUN_ASSIST_PROXY=${PROXY_PLACEHOLDER} sh`));
    assert.equal(decode(s.LinuxProxyCommand), s.LinuxProxy);
    const r = sh(`echo ${s.LinuxCommand.split(' ')[1]} | base64 -d`);
    assert.equal(r.stdout, s.Linux, 'the system base64 decodes it too');
  });
});

describe('the proxy variant, run', () => {
  // These runs stop at the proxy check, before any download (the tests run as root, like the script).
  const run = (proxy: string | undefined) =>
    sh(renderInstallScripts(CTX, ACT).LinuxProxy, proxy === undefined ? {} : { ALIYUN_ASSIST_PROXY: proxy });

  it('stops without ALIYUN_ASSIST_PROXY', () => {
    const r = run(undefined);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /set ALIYUN_ASSIST_PROXY=http:\/\/\[user:password@\]host:port first/);
  });

  it('stops on a proxy that is not http:// or would need quoting in the env file', () => {
    assert.match(run('socks5://p:1080').stderr, /must look like http:\/\//);
    assert.match(run("http://u:it's@p:3128").stderr, /percent-encode/);
    assert.match(run('http://u:a b@p:3128').stderr, /percent-encode/);
  });
});
