// TLS material for the control plane's HTTPS/WSS listener.
//
// Either the operator supplies a certificate and key (used as-is, nothing is written), or the control
// plane keeps a private CA in <dataDir>/tls/ and issues itself a server certificate from it. Agents trust
// that CA through ALIYUN_ASSIST_CERT_PATH=<dataDir>/tls/ca.pem, so the CA is created once and never
// replaced automatically; the server certificate is reissued whenever it nears expiry or no longer covers
// the requested names.
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { basename, dirname, join } from 'node:path';
import forge from 'node-forge';

export interface TlsOptions {
  /** Generated files go in `<dataDir>/tls/`. */
  dataDir: string;
  /** DNS subject alternative names, e.g. `['localhost', os.hostname()]`. IP literals are treated as IPs. */
  hostnames: string[];
  /** IP subject alternative names, e.g. `['127.0.0.1', '::1']`. */
  ipAddresses: string[];
  /** Operator-supplied certificate (PEM, may include the chain). Used as-is together with `keyFile`. */
  certFile?: string;
  /** Operator-supplied private key (PEM, unencrypted). */
  keyFile?: string;
  /** Optional CA certificate agents should trust for the operator-supplied certificate. */
  caFile?: string;
  /** Injectable clock for tests. */
  now?: Date;
}

export interface TlsMaterial {
  /** Server certificate (PEM). */
  cert: string;
  /** Server private key (PEM). */
  key: string;
  /** Path of the CA certificate agents should trust (`ALIYUN_ASSIST_CERT_PATH`), when there is one. */
  caCertPath: string | undefined;
  /** Contents of that CA certificate. */
  caCert: string | undefined;
  /** True when this call created a new server certificate. */
  issuedNow: boolean;
}

export const TLS_SUBDIR = 'tls';
export const CA_COMMON_NAME = 'Open Cloud Assistant local CA';
const SERVER_COMMON_NAME = 'Open Cloud Assistant control plane';
const CA_VALIDITY_YEARS = 10;
const SERVER_VALIDITY_YEARS = 2;
const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;
/** notBefore is backdated a little so clients with a slightly slow clock accept a fresh certificate. */
const BACKDATE_MS = 5 * 60 * 1000;

const DIR_MODE = 0o700;
const KEY_MODE = 0o600;
const CERT_MODE = 0o644;

/** Returns the TLS material to serve, creating or renewing the local CA and server certificate as needed. */
export function ensureTls(o: TlsOptions): TlsMaterial {
  if (o.certFile !== undefined || o.keyFile !== undefined || o.caFile !== undefined) {
    return suppliedTls(o);
  }
  return generatedTls(o);
}

// ---------------------------------------------------------------------------------------------------------
// Operator-supplied material

function suppliedTls(o: TlsOptions): TlsMaterial {
  const { certFile, keyFile, caFile } = o;
  if (certFile === undefined || keyFile === undefined) {
    const missing = certFile === undefined ? 'certificate file (certFile)' : 'key file (keyFile)';
    const given = certFile ?? keyFile ?? caFile;
    throw new Error(`TLS: ${given} was supplied without a ${missing}; supply both a certificate and a key`);
  }
  const cert = readText(certFile, 'certificate');
  const key = readText(keyFile, 'private key');
  const x509 = parseCert(cert, certFile);
  const keyObject = parseKey(key, keyFile);
  if (!x509.checkPrivateKey(keyObject)) {
    throw new Error(`TLS: private key ${keyFile} does not match certificate ${certFile}`);
  }
  let caCert: string | undefined;
  if (caFile !== undefined) {
    caCert = readText(caFile, 'CA certificate');
    parseCert(caCert, caFile);
  }
  return { cert, key, caCertPath: caFile, caCert, issuedNow: false };
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`TLS: cannot read ${what} ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

function parseCert(pem: string, path: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new Error(`TLS: ${path} is not a valid PEM certificate: ${errorMessage(err)}`, { cause: err });
  }
}

function parseKey(pem: string, path: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new Error(`TLS: ${path} is not a valid unencrypted PEM private key: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Local CA and self-issued server certificate

interface Ca {
  certPem: string;
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
  x509: X509Certificate;
}

interface WantedNames {
  dns: string[];
  /** Each IP as its 4 or 16 network-order bytes in a binary string (forge's representation). */
  ips: string[];
}

function generatedTls(o: TlsOptions): TlsMaterial {
  const now = o.now ?? new Date();
  const names = wantedNames(o.hostnames, o.ipAddresses);
  const dir = join(o.dataDir, TLS_SUBDIR);
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  chmodSync(dir, DIR_MODE); // umask may have narrowed it, or an older version may have widened it
  const caCertPath = join(dir, 'ca.pem');
  const caKeyPath = join(dir, 'ca-key.pem');
  const serverCertPath = join(dir, 'server.pem');
  const serverKeyPath = join(dir, 'server-key.pem');

  const ca = loadCa(caCertPath, caKeyPath, now) ?? createCa(caCertPath, caKeyPath, now);

  const existing = loadServer(serverCertPath, serverKeyPath);
  if (existing !== undefined && serverCertUsable(existing.cert, existing.key, ca, names, now)) {
    return { cert: existing.cert, key: existing.key, caCertPath, caCert: ca.certPem, issuedNow: false };
  }

  const keyPem = generateRsaKeyPem();
  const certPem = issueServerCert(ca, keyPem, names, now);
  // Key first: a crash in between leaves a mismatched pair, which the next call detects and reissues.
  writeFileAtomic(serverKeyPath, keyPem, KEY_MODE);
  writeFileAtomic(serverCertPath, certPem, CERT_MODE);
  return { cert: certPem, key: keyPem, caCertPath, caCert: ca.certPem, issuedNow: true };
}

function wantedNames(hostnames: string[], ipAddresses: string[]): WantedNames {
  const dns = new Set<string>();
  const ips = new Set<string>();
  for (const raw of hostnames) {
    const h = raw.trim().toLowerCase().replace(/\.$/, '');
    if (isIPv4(h) || isIPv6(h)) {
      ips.add(ipToBytes(h));
    } else if (/^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(h)) {
      dns.add(h);
    } else {
      throw new Error(`TLS: invalid hostname ${JSON.stringify(raw)}`);
    }
  }
  for (const raw of ipAddresses) {
    ips.add(ipToBytes(raw.trim()));
  }
  if (dns.size === 0 && ips.size === 0) {
    throw new Error('TLS: at least one hostname or IP address is needed for the server certificate');
  }
  return { dns: [...dns], ips: [...ips] };
}

/** An IPv4 or IPv6 address as network-order bytes in a binary string; throws on anything else. */
function ipToBytes(ip: string): string {
  if (isIPv4(ip)) {
    return String.fromCharCode(...ip.split('.').map(Number));
  }
  if (isIPv6(ip) && !ip.includes('%')) {
    // The URL parser canonicalises IPv6 (lower case, embedded IPv4 turned into hex groups, "::" kept).
    const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
    const [head = '', tail] = canonical.split('::');
    const headGroups = head === '' ? [] : head.split(':');
    const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
    const zeros = tail === undefined ? [] : new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
    const groups = [...headGroups, ...zeros, ...tailGroups];
    if (groups.length === 8) {
      return groups.map((g) => String.fromCharCode(parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff)).join('');
    }
  }
  throw new Error(`TLS: invalid IP address ${JSON.stringify(ip)}`);
}

function loadCa(certPath: string, keyPath: string, now: Date): Ca | undefined {
  const certPem = readIfExists(certPath);
  if (certPem === undefined) {
    return undefined;
  } // no CA anyone could trust yet: create one
  const keyPem = readIfExists(keyPath);
  if (keyPem === undefined) {
    throw new Error(
      `TLS: CA certificate ${certPath} exists but its key ${keyPath} is missing; restore the key, or delete ` +
        `${dirname(certPath)} to create a new CA (agents must then be given the new ca.pem)`,
    );
  }
  const x509 = parseCert(certPem, certPath);
  if (!x509.checkPrivateKey(parseKey(keyPem, keyPath))) {
    throw new Error(`TLS: CA key ${keyPath} does not match CA certificate ${certPath}`);
  }
  if (!x509.ca) {
    throw new Error(`TLS: ${certPath} is not a CA certificate`);
  }
  let cert: forge.pki.Certificate;
  let key: forge.pki.rsa.PrivateKey;
  try {
    cert = forge.pki.certificateFromPem(certPem);
    key = forge.pki.privateKeyFromPem(keyPem);
  } catch (err) {
    throw new Error(`TLS: cannot use CA ${certPath} / ${keyPath} (RSA expected): ${errorMessage(err)}`, {
      cause: err,
    });
  }
  if (cert.validity.notAfter.getTime() <= now.getTime()) {
    throw new Error(
      `TLS: CA certificate ${certPath} expired on ${cert.validity.notAfter.toISOString()}; delete ` +
        `${dirname(certPath)} to create a new CA (agents must then be given the new ca.pem)`,
    );
  }
  return { certPem, cert, key, x509 };
}

function createCa(certPath: string, keyPath: string, now: Date): Ca {
  const keyPem = generateRsaKeyPem();
  const key = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = addYears(now, CA_VALIDITY_YEARS);
  const subject = [{ name: 'commonName', value: CA_COMMON_NAME }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  // Key first: ca.pem is what agents trust, so while it is absent the CA can still be replaced safely.
  writeFileAtomic(keyPath, keyPem, KEY_MODE);
  writeFileAtomic(certPath, certPem, CERT_MODE);
  return { certPem, cert, key, x509: new X509Certificate(certPem) };
}

function loadServer(certPath: string, keyPath: string): { cert: string; key: string } | undefined {
  const cert = readIfExists(certPath);
  const key = readIfExists(keyPath);
  return cert === undefined || key === undefined ? undefined : { cert, key };
}

/** Whether a stored server certificate can be served as-is; anything odd about it means "reissue". */
function serverCertUsable(certPem: string, keyPem: string, ca: Ca, names: WantedNames, now: Date): boolean {
  let x509: X509Certificate;
  let cert: forge.pki.Certificate;
  try {
    x509 = new X509Certificate(certPem);
    if (!x509.checkPrivateKey(createPrivateKey(keyPem))) {
      return false;
    }
    if (!x509.checkIssued(ca.x509) || !x509.verify(ca.x509.publicKey)) {
      return false;
    }
    cert = forge.pki.certificateFromPem(certPem);
  } catch {
    return false;
  }
  const { notBefore, notAfter } = cert.validity;
  if (notBefore.getTime() > now.getTime()) {
    return false;
  }
  if (notAfter.getTime() - now.getTime() <= RENEW_BEFORE_MS) {
    return false;
  }
  const have = certSans(cert);
  return names.dns.every((d) => have.dns.has(d)) && names.ips.every((ip) => have.ips.has(ip));
}

function certSans(cert: forge.pki.Certificate): { dns: Set<string>; ips: Set<string> } {
  const dns = new Set<string>();
  const ips = new Set<string>();
  const ext = cert.getExtension('subjectAltName') as { altNames?: { type: number; value: string }[] } | undefined;
  for (const alt of ext?.altNames ?? []) {
    if (alt.type === 2) {
      dns.add(alt.value.toLowerCase());
    } else if (alt.type === 7) {
      ips.add(alt.value);
    }
  }
  return { dns, ips };
}

function issueServerCert(ca: Ca, keyPem: string, names: WantedNames, now: Date): string {
  const key = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  const wantedEnd = addYears(now, SERVER_VALIDITY_YEARS);
  const caEnd = ca.cert.validity.notAfter;
  cert.validity.notAfter = wantedEnd.getTime() < caEnd.getTime() ? wantedEnd : caEnd;
  const firstDns = names.dns.find((d) => !d.startsWith('*') && d.length <= 64);
  cert.setSubject([{ name: 'commonName', value: firstDns ?? SERVER_COMMON_NAME }]);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [...names.dns.map((value) => ({ type: 2, value })), ...names.ips.map((value) => ({ type: 7, value }))],
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function generateRsaKeyPem(): string {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return privateKey;
}

/** A random 128-bit serial whose DER encoding is positive and minimal (first byte 0x40–0x7f). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes.writeUInt8((bytes.readUInt8(0) & 0x3f) | 0x40, 0);
  return bytes.toString('hex');
}

function addYears(d: Date, years: number): Date {
  const r = new Date(d.getTime());
  r.setUTCFullYear(r.getUTCFullYear() + years);
  return r;
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw new Error(`TLS: cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

/** Writes a temp file in the same directory (created with `mode`, fsynced) and renames it over `path`. */
function writeFileAtomic(path: string, data: string, mode: number): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', mode);
    try {
      fchmodSync(fd, mode); // the umask may have narrowed the mode given to open
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new Error(`TLS: cannot write ${path}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Directory fsync is best effort (not supported everywhere).
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
