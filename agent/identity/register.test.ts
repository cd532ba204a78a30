// Registration, signed requests and deregistration against a real HTTPS luban server on 127.0.0.1.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import forge from 'node-forge';
import {
  HybridHeader,
  LubanPath,
  hybridSignatureInput,
  parseRegisterRequest,
  verifyHybrid,
  type RegisterRequest,
} from '../../protocol/index.js';
import { AGENT_VERSION, AgentError, agentPaths, createMemoryLogger, type AgentPaths } from '../shared/index.js';
import { HttpClient } from '../http/index.js';
import {
  deregisterInstance,
  identityHeaderProvider,
  osVersionOf,
  parseTag,
  readIdentity,
  readMachineId,
  registerInstance,
} from './index.js';

// ---------------------------------------------------------------------------------------------------
// A throwaway self-signed certificate for 127.0.0.1.

function selfSignedCert(): { certPem: string; keyPem: string } {
  const { privateKey: keyPem } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const key = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  const subject = [{ name: 'commonName', value: 'oca-identity-test' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

// ---------------------------------------------------------------------------------------------------
// The server side of §7: register stores the public key; every other call must be signed with it.

interface Answer {
  status: number;
  body: unknown;
}

class LubanTestServer {
  readonly cert = selfSignedCert();
  readonly registers: { body: RegisterRequest; headers: IncomingHttpHeaders }[] = [];
  readonly signed: { path: string; valid: boolean; requestId: string }[] = [];
  readonly instances = new Map<string, { publicKeyPem: string; machineId: string }>();
  /** Overrides the register answer (default: 200 {code:200, instanceId:'mi-test1'}). */
  registerAnswer: Answer | undefined;
  /** Overrides the answer to a correctly signed deregister. */
  deregisterAnswer: Answer | undefined;
  #server = https.createServer({ cert: this.cert.certPem, key: this.cert.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const a = this.#handle(req.url ?? '', req.headers, Buffer.concat(chunks).toString('utf8'));
      res.writeHead(a.status, { 'Content-Type': 'application/json' });
      res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
    });
  });

  #handle(path: string, headers: IncomingHttpHeaders, text: string): Answer {
    if (path === LubanPath.register) {
      const parsed = parseRegisterRequest(JSON.parse(text));
      if (!parsed.ok) {
        return { status: 400, body: { code: 400, errMsg: parsed.errors.join('; ') } };
      }
      this.registers.push({ body: parsed.value, headers });
      const answer = this.registerAnswer ?? { status: 200, body: { code: 200, instanceId: 'mi-test1' } };
      const b = answer.body as { code?: unknown; instanceId?: unknown };
      if (b.code === 200 && typeof b.instanceId === 'string') {
        this.instances.set(b.instanceId, {
          publicKeyPem: Buffer.from(parsed.value.publicKey, 'base64').toString('utf8'),
          machineId: parsed.value.machineId,
        });
      }
      return answer;
    }
    const h = (name: string) => String(headers[name.toLowerCase()] ?? '');
    const instanceId = h(HybridHeader.instanceId);
    const requestId = h(HybridHeader.requestId);
    const inst = this.instances.get(instanceId);
    const valid =
      inst !== undefined &&
      verifyHybrid(
        inst.publicKeyPem,
        hybridSignatureInput(instanceId, inst.machineId, h(HybridHeader.timestamp), requestId),
        h(HybridHeader.signature),
      );
    this.signed.push({ path, valid, requestId });
    if (!valid) {
      return { status: 401, body: { code: 401 } };
    }
    if (path === LubanPath.deregister) {
      if (this.deregisterAnswer) {
        return this.deregisterAnswer;
      }
      this.instances.delete(instanceId);
    }
    return { status: 200, body: { code: 200 } };
  }

  reset(): void {
    this.registers.length = 0;
    this.signed.length = 0;
    this.instances.clear();
    this.registerAnswer = undefined;
    this.deregisterAnswer = undefined;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------------
// Helpers.

const server = new LubanTestServer();
let serverHost = '';
before(async () => {
  serverHost = await server.listen();
});
after(() => server.close());
beforeEach(() => server.reset());

const ACTIVATION_CODE = 'a-secret-activation-code-42';
const IDENTITY_FILES = ['instance-id', 'machine-id', 'network-mode', 'pri-key', 'pub-key', 'region-id'];

interface Ctx {
  paths: AgentPaths;
  hybridDir: string;
  /** Unsigned client, as used by register. */
  http: HttpClient;
  /** Client whose requests carry the identity headers of hybridDir. */
  signed: HttpClient;
  log: ReturnType<typeof createMemoryLogger>;
}

function setup(t: TestContext, identityHeaders?: (hybridDir: string) => () => Record<string, string>): Ctx {
  const tmp = mkdtempSync(join(os.tmpdir(), 'oca-identity-'));
  const paths = agentPaths(tmp, AGENT_VERSION);
  const http = new HttpClient({ userAgent: 'linux_amd64/test', caPem: server.cert.certPem });
  const signed = new HttpClient({
    userAgent: 'linux_amd64/test',
    caPem: server.cert.certPem,
    identityHeaders: (identityHeaders ?? identityHeaderProvider)(paths.hybridDir),
  });
  t.after(() => {
    http.close();
    signed.close();
    rmSync(tmp, { recursive: true, force: true });
  });
  return { paths, hybridDir: paths.hybridDir, http, signed, log: createMemoryLogger() };
}

function register(c: Ctx, extra: { tags?: string[]; serverHost?: string; activationCode?: string } = {}) {
  return registerInstance({
    paths: c.paths,
    serverHost: extra.serverHost ?? serverHost,
    http: c.http,
    regionId: 'cn-test',
    activationCode: extra.activationCode ?? ACTIVATION_CODE,
    activationId: 'act-0001',
    instanceName: 'build-box-1',
    networkMode: 'vpc',
    tags: (extra.tags ?? []).map(parseTag),
    log: c.log,
  });
}

/** Every file of the hybrid directory with its content, mode and inode. */
function snapshot(dir: string): Record<string, { text: string; mode: number; ino: number }> {
  if (!existsSync(dir)) {
    return {};
  }
  const out: Record<string, { text: string; mode: number; ino: number }> = {};
  for (const name of readdirSync(dir).sort()) {
    const st = statSync(join(dir, name));
    out[name] = { text: readFileSync(join(dir, name), 'utf8'), mode: st.mode & 0o777, ino: st.ino };
  }
  return out;
}

const isCode = (code: string, message?: string) => (e: unknown) => {
  assert.ok(e instanceof AgentError, `expected AgentError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (message !== undefined) {
    assert.equal(e.message, message);
  }
  return true;
};

/** The machine id register will use in a fresh install: this host's, if it has one. */
function hostMachineId(): string | undefined {
  try {
    return readMachineId(join(os.tmpdir(), 'oca-no-such-hybrid-dir'));
  } catch {
    return undefined;
  }
}

/** Makes sure register finds a machine id even on a host without one. */
function ensureMachineId(c: Ctx): string {
  const id = hostMachineId();
  if (id !== undefined) {
    return id;
  }
  mkdirSync(c.hybridDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(c.hybridDir, 'machine-id'), 'test-machine-0001');
  return 'test-machine-0001';
}

// ---------------------------------------------------------------------------------------------------

void describe('registerInstance', () => {
  void it('stores the identity with safe modes and sends the stock body', async (t) => {
    const c = setup(t);
    const machineId = ensureMachineId(c);
    const out = await register(c, { tags: ['env=dev', 'team=a b'] });
    assert.deepEqual(out, { instanceId: 'mi-test1' });

    // Files and modes: nothing else (no temp leftovers), private key and directory owner-only.
    assert.deepEqual(readdirSync(c.hybridDir).sort(), IDENTITY_FILES);
    assert.equal(statSync(c.hybridDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(c.hybridDir, 'pri-key')).mode & 0o777, 0o600);
    const file = (name: string) => readFileSync(join(c.hybridDir, name), 'utf8');
    assert.equal(file('instance-id'), 'mi-test1');
    assert.equal(file('region-id'), 'cn-test');
    assert.equal(file('network-mode'), 'vpc');
    assert.equal(file('machine-id'), machineId);
    assert.match(file('pri-key'), /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.match(file('pub-key'), /^-----BEGIN PUBLIC KEY-----\n/);
    const pri = createPrivateKey(file('pri-key'));
    assert.equal(pri.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(createPublicKey(pri).export({ type: 'spki', format: 'pem' }), file('pub-key'));

    // The request: unsigned, stock body, publicKey = base64 of the PEM text written to pub-key.
    assert.equal(server.registers.length, 1);
    const { body, headers } = server.registers[0]!;
    assert.equal(Buffer.from(body.publicKey, 'base64').toString('utf8'), file('pub-key'));
    assert.deepEqual(body.tag, [
      { key: 'env', value: 'dev' },
      { key: 'team', value: 'a b' },
    ]);
    assert.equal(body.activationCode, ACTIVATION_CODE);
    assert.equal(body.activationId, 'act-0001');
    assert.equal(body.regionId, 'cn-test');
    assert.equal(body.instanceName, 'build-box-1');
    assert.equal(body.machineId, machineId);
    assert.equal(body.agentVersion, AGENT_VERSION);
    assert.equal(body.hostname, os.hostname());
    if (process.platform === 'linux') {
      assert.equal(body.osType, 'linux');
    }
    assert.equal(body.osVersion, osVersionOf());
    assert.ok(body.osVersion.startsWith(`${os.type()}_`) && body.osVersion.endsWith(`_${os.machine()}`));
    assert.equal(headers['user-agent'], 'linux_amd64/test');
    assert.equal(headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(headers[HybridHeader.instanceId], undefined);
    assert.equal(headers[HybridHeader.signature], undefined);

    // Secrets stay out of the log.
    const logged = JSON.stringify(c.log.events);
    assert.ok(c.log.events.some((e) => e.msg === 'hybrid register ok'));
    assert.ok(!logged.includes(ACTIVATION_CODE));
    assert.ok(!logged.includes('PRIVATE KEY'));
  });

  void it('sends tag [] when there are no tags', async (t) => {
    const c = setup(t);
    ensureMachineId(c);
    await register(c);
    assert.deepEqual(server.registers[0]?.body.tag, []);
    const raw = JSON.stringify(server.registers[0]?.body);
    assert.ok(raw.includes('"tag":[]'));
  });

  void it('refuses a second registration with IDENTITY_EXISTS, sending nothing and changing nothing', async (t) => {
    const c = setup(t);
    ensureMachineId(c);
    await register(c);
    const before = snapshot(c.hybridDir);
    await assert.rejects(register(c), isCode('IDENTITY_EXISTS'));
    assert.equal(server.registers.length, 1);
    assert.deepEqual(snapshot(c.hybridDir), before);
  });

  void it('reports a refusal in the answer body as REGISTER_REJECTED with the server message, writing nothing', async (t) => {
    const c = setup(t);
    ensureMachineId(c);
    const before = snapshot(c.hybridDir);
    server.registerAnswer = { status: 400, body: { code: 400, errMsg: 'ActivationCode expired' } };
    await assert.rejects(register(c), isCode('REGISTER_REJECTED', 'ActivationCode expired'));
    server.registerAnswer = { status: 200, body: { code: 400, errMsg: 'ActivationCode expired' } };
    await assert.rejects(register(c), isCode('REGISTER_REJECTED', 'ActivationCode expired'));
    assert.equal(server.registers.length, 2);
    assert.deepEqual(snapshot(c.hybridDir), before);
    assert.ok(!JSON.stringify(c.log.events).includes(ACTIVATION_CODE));
  });

  void it('reports an HTTP error status as REGISTER_REJECTED with the server message, writing nothing', async (t) => {
    const c = setup(t);
    ensureMachineId(c);
    const before = snapshot(c.hybridDir);
    server.registerAnswer = { status: 403, body: { code: 403, errMsg: 'Activation count exceeded' } };
    await assert.rejects(register(c), isCode('REGISTER_REJECTED', 'Activation count exceeded'));
    assert.deepEqual(snapshot(c.hybridDir), before);
  });

  void it('treats answers that are not {code:200, instanceId} as rejections (the stock client would say "ok")', async (t) => {
    const c = setup(t);
    ensureMachineId(c);
    const before = snapshot(c.hybridDir);
    for (const body of [{ code: 200 }, { code: '200', instanceId: 'mi-x' }, { code: 200, instanceId: '' }, [1]]) {
      server.registerAnswer = { status: 200, body };
      await assert.rejects(register(c), isCode('REGISTER_REJECTED'), JSON.stringify(body));
    }
    server.registerAnswer = { status: 200, body: 'not json' };
    await assert.rejects(register(c), isCode('REGISTER_REJECTED'));
    server.registerAnswer = { status: 200, body: { code: 200, instanceId: 'mi-bad\r\nx-evil: 1' } };
    await assert.rejects(register(c), isCode('REGISTER_REJECTED'));
    assert.deepEqual(snapshot(c.hybridDir), before);
  });

  void it('never leaves an identity that looks registered when storing it fails midway', async (t) => {
    const c = setup(t);
    ensureMachineId(c);
    // region-id is written after the keys and before instance-id; a directory in its place makes that rename fail.
    mkdirSync(join(c.hybridDir, 'region-id', 'blocker'), { recursive: true });
    await assert.rejects(register(c), isCode('STATE_CORRUPT'));
    assert.equal(server.registers.length, 1);
    assert.equal(existsSync(join(c.hybridDir, 'instance-id')), false);
    assert.equal(readIdentity(c.hybridDir), undefined);
    assert.deepEqual(identityHeaderProvider(c.hybridDir)(), {});
    assert.deepEqual(
      readdirSync(c.hybridDir).filter((n) => n.endsWith('.tmp')),
      [],
    );
  });

  void it('lets transport errors through as SERVER_UNREACHABLE, writing nothing', async (t) => {
    const c = setup(t);
    ensureMachineId(c);
    const before = snapshot(c.hybridDir);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await assert.rejects(register(c, { serverHost: `127.0.0.1:${port}` }), isCode('SERVER_UNREACHABLE'));
    assert.deepEqual(snapshot(c.hybridDir), before);
  });

  void it('refuses empty activation values before sending anything', async (t) => {
    const c = setup(t);
    await assert.rejects(register(c, { activationCode: '' }), isCode('CONFIG_INVALID'));
    assert.equal(server.registers.length, 0);
    assert.equal(existsSync(join(c.hybridDir, 'instance-id')), false);
  });
});

void describe('identityHeaderProvider', () => {
  void it('gives nothing before registration and fresh signed headers after, which the server verifies', async (t) => {
    const c = setup(t);
    ensureMachineId(c);
    const provider = identityHeaderProvider(c.hybridDir);
    assert.deepEqual(provider(), {});
    await register(c);

    const h1 = provider();
    const h2 = provider();
    assert.equal(h1[HybridHeader.instanceId], 'mi-test1');
    assert.match(h1[HybridHeader.timestamp] ?? '', /^\d{13}$/);
    assert.notEqual(h1[HybridHeader.requestId], h2[HybridHeader.requestId]);
    assert.notEqual(h1[HybridHeader.signature], '');

    await c.signed.requestJson({ method: 'POST', url: `https://${serverHost}${LubanPath.heartbeat}`, body: '' });
    await c.signed.requestJson({ method: 'GET', url: `https://${serverHost}${LubanPath.taskList}` });
    assert.deepEqual(
      server.signed.map((s) => s.valid),
      [true, true],
    );
    assert.notEqual(server.signed[0]?.requestId, server.signed[1]?.requestId);
  });

  void it('produces headers the server refuses once the timestamp is tampered with', async (t) => {
    const c = setup(t, (dir) => {
      const real = identityHeaderProvider(dir);
      return () => {
        const h = real();
        if (h[HybridHeader.timestamp]) {
          h[HybridHeader.timestamp] = String(Number(h[HybridHeader.timestamp]) + 1);
        }
        return h;
      };
    });
    ensureMachineId(c);
    await register(c);
    await assert.rejects(
      c.signed.requestJson({ method: 'GET', url: `https://${serverHost}${LubanPath.taskList}` }),
      (e: unknown) => e instanceof AgentError && e.code === 'HTTP_STATUS' && e.details['status'] === 401,
    );
    assert.deepEqual(
      server.signed.map((s) => s.valid),
      [false],
    );
  });

  void it('reads the files once, and again when instance-id is replaced or removed', async (t) => {
    const c = setup(t);
    ensureMachineId(c);
    await register(c);
    const provider = identityHeaderProvider(c.hybridDir);
    assert.notEqual(provider()[HybridHeader.signature], '');

    // A damaged key file goes unnoticed while the cached identity is valid...
    writeFileSync(join(c.hybridDir, 'pri-key'), 'garbage');
    assert.notEqual(provider()[HybridHeader.signature], '');
    // ...and is read once instance-id is replaced (a new file, as register writes it): stock gives ''.
    writeFileSync(join(c.hybridDir, 'instance-id.new'), 'mi-test2');
    renameSync(join(c.hybridDir, 'instance-id.new'), join(c.hybridDir, 'instance-id'));
    const h = provider();
    assert.equal(h[HybridHeader.instanceId], 'mi-test2');
    assert.equal(h[HybridHeader.signature], '');

    rmSync(join(c.hybridDir, 'instance-id'));
    assert.deepEqual(provider(), {});
  });
});

void describe('readIdentity', () => {
  void it('is undefined without instance-id and the raw files with it', async (t) => {
    const c = setup(t);
    const machineId = ensureMachineId(c);
    assert.equal(readIdentity(c.hybridDir), undefined);
    await register(c);
    const id = readIdentity(c.hybridDir);
    assert.ok(id);
    assert.equal(id.instanceId, 'mi-test1');
    assert.equal(id.machineId, machineId);
    assert.equal(id.regionId, 'cn-test');
    assert.equal(id.networkMode, 'vpc');
    assert.equal(id.publicKeyPem, readFileSync(join(c.hybridDir, 'pub-key'), 'utf8'));
    assert.equal(id.privateKeyPem, readFileSync(join(c.hybridDir, 'pri-key'), 'utf8'));
  });
});

void describe('deregisterInstance', () => {
  void it('is acknowledged by the server after a valid signature, removes the identity and keeps network-mode', async (t) => {
    const c = setup(t);
    ensureMachineId(c);
    await register(c);
    const provider = identityHeaderProvider(c.hybridDir);
    assert.notDeepEqual(provider(), {});

    await deregisterInstance({ paths: c.paths, serverHost, http: c.signed, log: c.log });
    assert.deepEqual(server.signed, [
      { path: LubanPath.deregister, valid: true, requestId: server.signed[0]?.requestId },
    ]);
    assert.equal(server.instances.has('mi-test1'), false);
    assert.deepEqual(readdirSync(c.hybridDir), ['network-mode']);
    assert.equal(readFileSync(join(c.hybridDir, 'network-mode'), 'utf8'), 'vpc');
    assert.equal(readIdentity(c.hybridDir), undefined);
    assert.deepEqual(provider(), {});

    // Registered again afterwards: the identity is complete and new.
    server.registerAnswer = { status: 200, body: { code: 200, instanceId: 'mi-test2' } };
    await register(c);
    assert.equal(readIdentity(c.hybridDir)?.instanceId, 'mi-test2');
    assert.equal(provider()[HybridHeader.instanceId], 'mi-test2');
  });

  void it('keeps every file when the server refuses the signature', async (t) => {
    const c = setup(t, (dir) => {
      const real = identityHeaderProvider(dir);
      return () => ({ ...real(), [HybridHeader.timestamp]: '1' });
    });
    ensureMachineId(c);
    await register(c);
    const before = snapshot(c.hybridDir);
    await assert.rejects(
      deregisterInstance({ paths: c.paths, serverHost, http: c.signed, log: c.log }),
      isCode('REGISTER_REJECTED'),
    );
    assert.deepEqual(
      server.signed.map((s) => s.valid),
      [false],
    );
    assert.deepEqual(snapshot(c.hybridDir), before);
    assert.ok(server.instances.has('mi-test1'));
  });

  void it('keeps every file when the server answers anything but code 200', async (t) => {
    const c = setup(t);
    ensureMachineId(c);
    await register(c);
    const before = snapshot(c.hybridDir);
    server.deregisterAnswer = { status: 200, body: { code: 500, errMsg: 'try again later' } };
    await assert.rejects(
      deregisterInstance({ paths: c.paths, serverHost, http: c.signed, log: c.log }),
      isCode('REGISTER_REJECTED', 'try again later'),
    );
    server.deregisterAnswer = { status: 200, body: '' };
    await assert.rejects(
      deregisterInstance({ paths: c.paths, serverHost, http: c.signed, log: c.log }),
      isCode('REGISTER_REJECTED'),
    );
    assert.equal(server.signed.length, 2);
    assert.deepEqual(snapshot(c.hybridDir), before);
  });

  void it('needs an identity (IDENTITY_MISSING) and sends nothing without one', async (t) => {
    const c = setup(t);
    await assert.rejects(
      deregisterInstance({ paths: c.paths, serverHost, http: c.signed, log: c.log }),
      isCode('IDENTITY_MISSING'),
    );
    assert.equal(server.signed.length, 0);
  });
});

void describe('parseTag', () => {
  void it('splits key=value', () => {
    assert.deepEqual(parseTag('env=dev'), { key: 'env', value: 'dev' });
    assert.deepEqual(parseTag('empty='), { key: 'empty', value: '' });
  });
  void it('refuses anything but exactly one = and a key, with CONFIG_INVALID', () => {
    for (const bad of ['novalue', 'a=b=c', '==', '=value', '']) {
      assert.throws(() => parseTag(bad), isCode('CONFIG_INVALID'), bad);
    }
  });
});
