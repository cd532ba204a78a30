// Where `assist` finds its endpoint and AccessKey: flags, then environment, then a named profile
// in ~/.assist/config.json (written by `assist configure`). Resolution is a pure function.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CliError } from './errors.js';

export interface Profile {
  accessKeyId?: string;
  accessKeySecret?: string;
  endpoint?: string;
  region?: string;
  caFile?: string;
}

export interface ProfileFile {
  /** The profile used when neither --profile nor ASSIST_PROFILE names one. */
  current?: string;
  profiles: Record<string, Profile>;
}

/** Flags that override everything else. */
export interface CredentialFlags {
  profile?: string | undefined;
  endpoint?: string | undefined;
  region?: string | undefined;
  caFile?: string | undefined;
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface Credentials {
  accessKeyId: string;
  accessKeySecret: string;
  /** `https://host:port` (a bare `host:port` gets https). */
  endpoint: string;
  regionId: string;
  caFile: string | undefined;
  /** Where the AccessKey came from, for messages: `environment` or `profile <name>`. */
  keySource: string;
}

export const DEFAULT_REGION = 'cn-local';
export const DEFAULT_PROFILE = 'default';

export function configPath(env: Env, homeDir: string): string {
  return env['ASSIST_CONFIG_FILE'] || join(homeDir, '.assist', 'config.json');
}

/** The profile file, or an empty one when it does not exist. */
export function readProfileFile(path: string): ProfileFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      return { profiles: {} };
    }
    throw new CliError('CONFIG', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CliError('CONFIG', `${path} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const o = parsed as Partial<ProfileFile> | null;
  if (typeof o !== 'object' || o === null || typeof o.profiles !== 'object' || o.profiles === null) {
    throw new CliError('CONFIG', `${path} has no "profiles" object`);
  }
  return { ...(typeof o.current === 'string' ? { current: o.current } : {}), profiles: o.profiles };
}

/** The first value that is set and not empty. */
const first = (...values: (string | undefined)[]): string | undefined =>
  values.find((v) => v !== undefined && v !== '');

/**
 * Each setting comes from the first of: flag, environment, profile. The AccessKey is taken as a pair
 * from one place, so an id from the environment is never signed with a secret from a profile.
 */
export function resolveCredentials(flags: CredentialFlags, env: Env, file: ProfileFile): Credentials {
  const profileName = first(flags.profile, env['ASSIST_PROFILE'], file.current) ?? DEFAULT_PROFILE;
  const profile = file.profiles[profileName];
  const explicit = first(flags.profile, env['ASSIST_PROFILE']) !== undefined;
  if (!profile && explicit) {
    const known = Object.keys(file.profiles);
    throw new CliError(
      'CONFIG',
      `profile ${profileName} is not in the profile file (${known.length > 0 ? `known: ${known.join(', ')}` : 'it has none'}); run assist configure --profile ${profileName}`,
    );
  }
  const p: Profile = profile ?? {};

  const envId = first(env['ASSIST_ACCESS_KEY_ID'], env['ALIBABA_CLOUD_ACCESS_KEY_ID']);
  const envSecret = first(env['ASSIST_ACCESS_KEY_SECRET'], env['ALIBABA_CLOUD_ACCESS_KEY_SECRET']);
  const fromEnv = envId !== undefined || envSecret !== undefined;
  const key = fromEnv ? { id: envId, secret: envSecret } : { id: p.accessKeyId, secret: p.accessKeySecret };
  const keySource = fromEnv ? 'environment' : `profile ${profileName}`;
  const endpoint = first(flags.endpoint, env['ASSIST_ENDPOINT'], p.endpoint);

  const missing: string[] = [];
  if (!key.id) {
    missing.push(fromEnv ? 'ASSIST_ACCESS_KEY_ID (the secret is set in the environment)' : 'the AccessKey id');
  }
  if (!key.secret) {
    missing.push(fromEnv ? 'ASSIST_ACCESS_KEY_SECRET (the id is set in the environment)' : 'the AccessKey secret');
  }
  if (!endpoint) {
    missing.push('the endpoint (--endpoint or ASSIST_ENDPOINT)');
  }
  if (missing.length > 0 || !key.id || !key.secret || !endpoint) {
    throw new CliError(
      'CONFIG',
      `missing ${missing.join(', ')}; set ASSIST_ACCESS_KEY_ID, ASSIST_ACCESS_KEY_SECRET and ASSIST_ENDPOINT, or run assist configure`,
    );
  }
  return {
    accessKeyId: key.id,
    accessKeySecret: key.secret,
    endpoint: normalizeEndpoint(endpoint),
    regionId: first(flags.region, env['ASSIST_REGION'], env['ALIBABA_CLOUD_REGION_ID'], p.region) ?? DEFAULT_REGION,
    caFile: first(flags.caFile, env['ASSIST_CA_FILE'], p.caFile),
    keySource,
  };
}

/** `host:port` → `https://host:port`; a URL keeps its scheme; no trailing slash. */
export function normalizeEndpoint(endpoint: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError('CONFIG', `endpoint ${endpoint} is not host:port or an http(s) URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CliError('CONFIG', `endpoint ${endpoint} must be https:// or http://`);
  }
  return `${url.protocol}//${url.host}`;
}

/**
 * Adds or replaces one profile, keeping the others; the file is written 0600 in a 0700 directory
 * (it holds secrets) and replaced atomically. The first profile written becomes the current one.
 */
export function writeProfile(path: string, name: string, profile: Profile): ProfileFile {
  const existing = readProfileFile(path);
  const next: ProfileFile = {
    current: existing.current ?? name,
    profiles: { ...existing.profiles, [name]: profile },
  };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // A fresh name opened with O_EXCL: created 0600 (a umask only removes bits), never someone else's file.
  const tmp = `${path}.${randomUUID()}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
  return next;
}
