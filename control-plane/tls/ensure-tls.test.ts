import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { get, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CA_COMMON_NAME, ensureTls } from './index.js';
import type { TlsMaterial, TlsOptions } from './index.js';

const DAY = 24 * 60 * 60 * 1000;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) {
    rmSync(d, { recursive: true, force: true });
  }
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ensure-tls-'));
  dirs.push(d);
  return d;
}

/** Fixed clock for the tests that do not handshake: the base server certificate expires 2027-03-01. */
const T0 = new Date('2025-03-01T00:00:00Z');

/** A generated data dir shared as a template: tests that start from an existing CA copy it. */
const baseDir = tempDir();
const base: TlsMaterial = ensureTls(opts(baseDir));

/** A fresh data dir holding a copy of the base CA and server certificate. */
function cloneOfBase(): string {
  const d = tempDir();
  cpSync(join(baseDir, 'tls'), join(d, 'tls'), { recursive: true });
  return d;
}

function opts(dataDir: string, extra: Partial<TlsOptions> = {}): TlsOptions {
  return { dataDir, hostnames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], now: T0, ...extra };
}

const mode = (path: string): number => statSync(path).mode & 0o777;

/** GET / over TLS against 127.0.0.1:port; resolves with the status code or rejects with the TLS error. */
function httpsStatus(port: number, tls: { ca?: string; servername?: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/', agent: false, ...tls }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

function signedBy(certPem: string, caPem: string): boolean {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

void describe('ensureTls: generated CA', () => {
  void test('creates private files and serves HTTPS that verifies against the CA only', async () => {
    const dataDir = tempDir();
    const m = ensureTls(opts(dataDir, { now: undefined })); // real clock: the handshake checks validity
    const tlsDir = join(dataDir, 'tls');

    assert.equal(m.issuedNow, true);
    assert.equal(m.caCertPath, join(tlsDir, 'ca.pem'));
    assert.equal(mode(tlsDir), 0o700);
    assert.equal(mode(join(tlsDir, 'ca-key.pem')), 0o600);
    assert.equal(mode(join(tlsDir, 'ca.pem')), 0o644);
    assert.equal(mode(join(tlsDir, 'server-key.pem')), 0o600);
    assert.equal(mode(join(tlsDir, 'server.pem')), 0o644);
    assert.deepEqual(readdirSync(tlsDir).sort(), ['ca-key.pem', 'ca.pem', 'server-key.pem', 'server.pem']);
    assert.equal(readFileSync(join(tlsDir, 'ca.pem'), 'utf8'), m.caCert);
    assert.equal(readFileSync(join(tlsDir, 'server.pem'), 'utf8'), m.cert);
    assert.equal(readFileSync(join(tlsDir, 'server-key.pem'), 'utf8'), m.key);

    const ca = new X509Certificate(m.caCert!);
    assert.equal(ca.subject, `CN=${CA_COMMON_NAME}`);
    assert.equal(ca.ca, true);
    const caYears = (Date.parse(ca.validTo) - Date.now()) / (365.25 * DAY);
    assert.ok(caYears > 9.9 && caYears < 10.1, `CA validity ${caYears} years`);
    const server = new X509Certificate(m.cert);
    assert.equal(server.ca, false);
    assert.ok(signedBy(m.cert, m.caCert!));
    assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1']); // serverAuth
    assert.equal(server.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    const serverYears = (Date.parse(server.validTo) - Date.now()) / (365.25 * DAY);
    assert.ok(serverYears > 1.95 && serverYears < 2.05, `server validity ${serverYears} years`);
    assert.match(server.serialNumber, /^[4-7][0-9A-F]{31}$/); // 128-bit, positive

    const srv = createServer({ cert: m.cert, key: m.key }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = srv.address() as AddressInfo;
      assert.equal(await httpsStatus(port, { ca: m.caCert! }), 200);
      assert.equal(await httpsStatus(port, { ca: m.caCert!, servername: 'localhost' }), 200);
      await assert.rejects(httpsStatus(port, {}), (err: NodeJS.ErrnoException) => {
        assert.match(String(err.code), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
        return true;
      });
      await assert.rejects(httpsStatus(port, { ca: m.caCert!, servername: 'elsewhere.example' }), {
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      });
    } finally {
      srv.closeAllConnections();
      await new Promise((resolve) => srv.close(resolve));
    }
  });

  void test('later calls reuse the CA and the server certificate', () => {
    const dataDir = cloneOfBase();
    const first = ensureTls(opts(dataDir));
    assert.equal(first.issuedNow, false);
    assert.equal(first.cert, base.cert);
    const second = ensureTls(opts(dataDir, { hostnames: ['LOCALHOST'], ipAddresses: ['::1', '127.0.0.1'] }));
    assert.equal(second.issuedNow, false);
    assert.equal(second.caCert, first.caCert);
    assert.equal(second.cert, first.cert);
    assert.equal(second.key, first.key);
  });

  void test('a new hostname or IP reissues the server certificate from the same CA', () => {
    const dataDir = cloneOfBase();
    const first = base;

    const wider = ensureTls(opts(dataDir, { hostnames: ['localhost', 'cp.example.internal'] }));
    assert.equal(wider.issuedNow, true);
    assert.equal(wider.caCert, first.caCert);
    assert.notEqual(wider.cert, first.cert);
    assert.notEqual(wider.key, first.key);
    assert.ok(signedBy(wider.cert, first.caCert!));
    assert.match(new X509Certificate(wider.cert).subjectAltName ?? '', /DNS:cp\.example\.internal/);
    assert.equal(readFileSync(join(dataDir, 'tls', 'server.pem'), 'utf8'), wider.cert);

    // The original names are a subset of the new certificate's, so it is kept.
    assert.equal(ensureTls(opts(dataDir)).cert, wider.cert);

    const withIp = ensureTls(opts(dataDir, { ipAddresses: ['127.0.0.1', '::1', '10.1.2.3'] }));
    assert.equal(withIp.issuedNow, true);
    assert.equal(withIp.caCert, first.caCert);
    assert.match(new X509Certificate(withIp.cert).subjectAltName ?? '', /IP Address:10\.1\.2\.3/);
  });

  void test('renews the server certificate within 30 days of expiry, keeping the CA', () => {
    const dataDir = cloneOfBase();
    const first = ensureTls(opts(dataDir));
    assert.equal(first.cert, base.cert);
    assert.equal(new X509Certificate(first.cert).validTo, 'Mar  1 00:00:00 2027 GMT');

    const at22Months = ensureTls(opts(dataDir, { now: new Date('2027-01-01T00:00:00Z') })); // 59 days left
    assert.equal(at22Months.issuedNow, false);
    assert.equal(at22Months.cert, first.cert);
    const at31Days = ensureTls(opts(dataDir, { now: new Date(Date.parse('2027-03-01T00:00:00Z') - 31 * DAY) }));
    assert.equal(at31Days.issuedNow, false);

    const later = new Date('2027-02-01T00:00:00Z'); // 23 months after T0: 28 days left
    const renewed = ensureTls(opts(dataDir, { now: later }));
    assert.equal(renewed.issuedNow, true);
    assert.equal(renewed.caCert, first.caCert);
    assert.notEqual(renewed.cert, first.cert);
    assert.ok(signedBy(renewed.cert, first.caCert!));
    assert.equal(new X509Certificate(renewed.cert).validTo, 'Feb  1 00:00:00 2029 GMT');
    assert.equal(ensureTls(opts(dataDir, { now: later })).cert, renewed.cert);
  });

  void test('reissues when the stored server key does not match its certificate', () => {
    const dataDir = cloneOfBase();
    // Any other key will do: the CA's.
    copyFileSync(join(dataDir, 'tls', 'ca-key.pem'), join(dataDir, 'tls', 'server-key.pem'));
    const again = ensureTls(opts(dataDir));
    assert.equal(again.issuedNow, true);
    assert.equal(again.caCert, base.caCert);
    assert.notEqual(again.cert, base.cert);
    assert.ok(new X509Certificate(again.cert).checkPrivateKey(createPrivateKey(again.key)));
  });

  void test('refuses to silently replace a CA whose key is missing', () => {
    const dataDir = cloneOfBase();
    const caKey = join(dataDir, 'tls', 'ca-key.pem');
    rmSync(caKey);
    assert.throws(
      () => ensureTls(opts(dataDir)),
      (err: Error) => err.message.includes(caKey),
    );
    assert.equal(existsSync(caKey), false);
  });

  void test('rejects invalid names', () => {
    const dataDir = tempDir();
    assert.throws(() => ensureTls(opts(dataDir, { ipAddresses: ['300.1.1.1'] })), /invalid IP address "300\.1\.1\.1"/);
    assert.throws(() => ensureTls(opts(dataDir, { hostnames: ['bad host'] })), /invalid hostname "bad host"/);
    assert.throws(() => ensureTls(opts(dataDir, { hostnames: [], ipAddresses: [] })), /at least one hostname/);
  });
});

void describe('ensureTls: operator-supplied certificate', () => {
  // The base set plays the operator's files; its CA key does not match its server certificate.
  const source = baseDir;
  const generated = base;
  const opDir = tempDir();
  const certFile = join(opDir, 'op-cert.pem');
  const keyFile = join(opDir, 'op-key.pem');
  const caFile = join(opDir, 'op-ca.pem');
  const wrongKeyFile = join(opDir, 'wrong-key.pem');
  copyFileSync(join(source, 'tls', 'server.pem'), certFile);
  copyFileSync(join(source, 'tls', 'server-key.pem'), keyFile);
  copyFileSync(join(source, 'tls', 'ca.pem'), caFile);
  copyFileSync(join(source, 'tls', 'ca-key.pem'), wrongKeyFile);

  void test('uses the supplied files verbatim and writes nothing', () => {
    const dataDir = tempDir();
    const m = ensureTls(opts(dataDir, { certFile, keyFile, caFile }));
    assert.deepEqual(m, {
      cert: generated.cert,
      key: generated.key,
      caCertPath: caFile,
      caCert: generated.caCert,
      issuedNow: false,
    });
    assert.deepEqual(readdirSync(dataDir), []);

    const noCa = ensureTls(opts(dataDir, { certFile, keyFile }));
    assert.equal(noCa.caCertPath, undefined);
    assert.equal(noCa.caCert, undefined);
    assert.equal(noCa.cert, generated.cert);
    assert.deepEqual(readdirSync(dataDir), []);
  });

  void test('a key that does not match the certificate is a clear error', () => {
    const dataDir = tempDir();
    assert.throws(
      () => ensureTls(opts(dataDir, { certFile, keyFile: wrongKeyFile })),
      (err: Error) =>
        /does not match/.test(err.message) && err.message.includes(wrongKeyFile) && err.message.includes(certFile),
    );
    assert.deepEqual(readdirSync(dataDir), []);
  });

  void test('unreadable or malformed files are named in the error', () => {
    const dataDir = tempDir();
    const missing = join(opDir, 'nope.pem');
    assert.throws(
      () => ensureTls(opts(dataDir, { certFile: missing, keyFile })),
      (err: Error) => err.message.includes(missing),
    );
    assert.throws(
      () => ensureTls(opts(dataDir, { certFile, keyFile, caFile: missing })),
      (err: Error) => err.message.includes(missing),
    );
    const garbage = join(opDir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    assert.throws(
      () => ensureTls(opts(dataDir, { certFile: garbage, keyFile })),
      (err: Error) => err.message.includes(garbage),
    );
    assert.throws(
      () => ensureTls(opts(dataDir, { certFile, keyFile: garbage })),
      (err: Error) => err.message.includes(garbage),
    );
    assert.throws(() => ensureTls(opts(dataDir, { certFile })), /without a key file/);
  });
});
