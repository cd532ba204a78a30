// The hybrid identity files in <installDir>/hybrid/ (spec/luban-protocol.md §2.1, §7.2–7.4) and the
// per-request signed headers built from them.
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { hybridHeaders } from '../../protocol/index.js';
import { AgentError } from '../shared/index.js';
import { cachedIntranetIp } from './host-info.js';
import { readMachineId } from './machine-id.js';

export const HybridFile = {
  instanceId: 'instance-id',
  regionId: 'region-id',
  networkMode: 'network-mode',
  publicKey: 'pub-key',
  privateKey: 'pri-key',
  machineId: 'machine-id',
} as const;

export interface HybridIdentity {
  instanceId: string;
  machineId: string;
  regionId: string;
  networkMode: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

const DIR_MODE = 0o700;
const PRIVATE_MODE = 0o600;
const PUBLIC_MODE = 0o644;

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw e;
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The registered identity, or undefined when `<hybridDir>/instance-id` does not exist.
 * Values are raw file contents (the instance id and machine id are signed as stored, §7.4). A missing
 * or unreadable key reads as '' (stock: the request then carries an empty signature); a machine id
 * that no source provides reads as '' too (stock ignores that error as well).
 */
export function readIdentity(hybridDir: string): HybridIdentity | undefined {
  const instanceId = readOptional(join(hybridDir, HybridFile.instanceId));
  if (instanceId === undefined) {
    return undefined;
  }
  let machineId = '';
  try {
    machineId = readMachineId(hybridDir);
  } catch {
    // Left empty: the server will refuse the signature, which is the clearest outcome available here.
  }
  return {
    instanceId,
    machineId,
    regionId: readOrEmpty(join(hybridDir, HybridFile.regionId)),
    networkMode: readOrEmpty(join(hybridDir, HybridFile.networkMode)),
    privateKeyPem: readOrEmpty(join(hybridDir, HybridFile.privateKey)),
    publicKeyPem: readOrEmpty(join(hybridDir, HybridFile.publicKey)),
  };
}

/**
 * A provider of fresh signed `x-acs-*` headers (new timestamp and request id per call), for
 * HttpClient's `identityHeaders`. `{}` while not registered. The files are read once and cached,
 * the private key parsed once (a signature with a parsed key costs a quarter of one that parses
 * the PEM again); each call stats instance-id, and a file that appeared, disappeared or was
 * replaced (register writes it by rename, so a new inode) makes the next call read the identity again.
 */
export function identityHeaderProvider(hybridDir: string): () => Record<string, string> {
  const instanceIdPath = join(hybridDir, HybridFile.instanceId);
  let cached: { stamp: string; identity: HybridIdentity; key: KeyObject | undefined } | undefined;
  return () => {
    const st = statSync(instanceIdPath, { throwIfNoEntry: false });
    if (!st) {
      cached = undefined;
      return {};
    }
    const stamp = `${st.dev}:${st.ino}:${st.mtimeMs}:${st.size}`;
    if (cached?.stamp !== stamp) {
      const identity = readIdentity(hybridDir);
      if (!identity) {
        cached = undefined;
        return {};
      }
      cached = { stamp, identity, key: parsePrivateKey(identity.privateKeyPem) };
    }
    const { instanceId, machineId, privateKeyPem } = cached.identity;
    return hybridHeaders({
      instanceId,
      machineId,
      privateKeyPem,
      ...(cached.key ? { privateKey: cached.key } : {}),
      clientIp: cachedIntranetIp() || undefined,
    });
  };
}

/** The key as a KeyObject; undefined when it does not parse (signing then fails as before: empty signature). */
function parsePrivateKey(pem: string): KeyObject | undefined {
  try {
    return createPrivateKey(pem);
  } catch {
    return undefined;
  }
}

/** Whether `<hybridDir>/instance-id` exists, i.e. the agent is registered. */
export function isRegistered(hybridDir: string): boolean {
  return statSync(join(hybridDir, HybridFile.instanceId), { throwIfNoEntry: false }) !== undefined;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `<dir>/<name>` atomically: a temp file with an unpredictable name in the same directory,
 * created exclusively with its final mode (so a private file is never readable by others), synced,
 * renamed over the target, then the directory synced so the rename is durable before the next write.
 */
export function writeFileAtomic(dir: string, name: string, data: string, mode: number): void {
  const tmp = join(dir, `.${name}.${randomBytes(8).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, name));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

/** Creates the hybrid directory 0700 (and tightens an existing one); refuses a non-directory. */
export function ensureHybridDir(hybridDir: string): void {
  mkdirSync(hybridDir, { recursive: true, mode: DIR_MODE });
  const st = lstatSync(hybridDir);
  if (!st.isDirectory()) {
    throw new AgentError('STATE_CORRUPT', `${hybridDir} is not a directory`);
  }
  if ((st.mode & 0o777) !== DIR_MODE) {
    chmodSync(hybridDir, DIR_MODE);
  }
}

/** Stores a new identity. instance-id goes last: until it exists the agent does not count as registered. */
export function writeIdentity(hybridDir: string, id: HybridIdentity): void {
  ensureHybridDir(hybridDir);
  writeFileAtomic(hybridDir, HybridFile.networkMode, id.networkMode, PUBLIC_MODE);
  writeFileAtomic(hybridDir, HybridFile.publicKey, id.publicKeyPem, PUBLIC_MODE);
  writeFileAtomic(hybridDir, HybridFile.privateKey, id.privateKeyPem, PRIVATE_MODE);
  writeFileAtomic(hybridDir, HybridFile.regionId, id.regionId, PUBLIC_MODE);
  writeFileAtomic(hybridDir, HybridFile.machineId, id.machineId, PUBLIC_MODE);
  writeFileAtomic(hybridDir, HybridFile.instanceId, id.instanceId, PUBLIC_MODE);
}

/** Forgets the identity. instance-id goes first so a crash never leaves a registered-looking half. network-mode is kept (stock). */
export function removeIdentity(hybridDir: string): void {
  for (const name of [
    HybridFile.instanceId,
    HybridFile.publicKey,
    HybridFile.privateKey,
    HybridFile.regionId,
    HybridFile.machineId,
  ]) {
    rmSync(join(hybridDir, name), { force: true });
    if (name === HybridFile.instanceId) {
      fsyncDir(hybridDir);
    }
  }
  fsyncDir(hybridDir);
}
