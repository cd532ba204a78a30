import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  configPath,
  normalizeEndpoint,
  readProfileFile,
  resolveCredentials,
  writeProfile,
  type ProfileFile,
} from './credentials.js';
import { isCliError } from './errors.js';

const FILE: ProfileFile = {
  current: 'lab',
  profiles: {
    lab: {
      accessKeyId: 'lab-id',
      accessKeySecret: 'lab-secret',
      endpoint: 'lab:8443',
      region: 'cn-lab',
      caFile: '/lab/ca.pem',
    },
    prod: { accessKeyId: 'prod-id', accessKeySecret: 'prod-secret', endpoint: 'https://prod.example.com' },
  },
};
const ENV = {
  ASSIST_ACCESS_KEY_ID: 'env-id',
  ASSIST_ACCESS_KEY_SECRET: 'env-secret',
  ASSIST_ENDPOINT: 'env:1',
  ASSIST_REGION: 'cn-env',
  ASSIST_CA_FILE: '/env/ca.pem',
};

function configError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(isCliError(e) && e.code === 'CONFIG', String(e));
    return e.message;
  }
  throw new Error('expected a CONFIG error');
}

describe('resolveCredentials: flag > environment > profile', () => {
  it('uses the current profile when nothing else is set', () => {
    const c = resolveCredentials({}, {}, FILE);
    assert.deepEqual(c, {
      accessKeyId: 'lab-id',
      accessKeySecret: 'lab-secret',
      endpoint: 'https://lab:8443',
      regionId: 'cn-lab',
      caFile: '/lab/ca.pem',
      keySource: 'profile lab',
    });
  });

  it('the environment overrides the profile, field by field', () => {
    const c = resolveCredentials({}, ENV, FILE);
    assert.equal(c.accessKeyId, 'env-id');
    assert.equal(c.accessKeySecret, 'env-secret');
    assert.equal(c.endpoint, 'https://env:1');
    assert.equal(c.regionId, 'cn-env');
    assert.equal(c.caFile, '/env/ca.pem');
    assert.equal(c.keySource, 'environment');
    // Only the endpoint in the environment: the key still comes from the profile.
    const mixed = resolveCredentials({}, { ASSIST_ENDPOINT: 'http://env:2' }, FILE);
    assert.deepEqual([mixed.accessKeyId, mixed.endpoint, mixed.regionId], ['lab-id', 'http://env:2', 'cn-lab']);
  });

  it('flags override the environment', () => {
    const c = resolveCredentials({ endpoint: 'flag:3', region: 'cn-flag', caFile: '/flag/ca.pem' }, ENV, FILE);
    assert.deepEqual([c.endpoint, c.regionId, c.caFile], ['https://flag:3', 'cn-flag', '/flag/ca.pem']);
  });

  it('--profile beats ASSIST_PROFILE, which beats the current profile', () => {
    assert.equal(resolveCredentials({}, { ASSIST_PROFILE: 'prod' }, FILE).accessKeyId, 'prod-id');
    assert.equal(resolveCredentials({ profile: 'lab' }, { ASSIST_PROFILE: 'prod' }, FILE).accessKeyId, 'lab-id');
    const prod = resolveCredentials({ profile: 'prod' }, {}, FILE);
    assert.deepEqual([prod.endpoint, prod.regionId, prod.caFile], ['https://prod.example.com', 'cn-local', undefined]);
  });

  it('accepts the ALIBABA_CLOUD_ variables; the ASSIST_ ones win', () => {
    const ali = {
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'ali-id',
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'ali-secret',
      ASSIST_ENDPOINT: 'e:1',
    };
    assert.equal(resolveCredentials({}, ali, { profiles: {} }).accessKeyId, 'ali-id');
    assert.equal(
      resolveCredentials({}, { ...ali, ASSIST_ACCESS_KEY_ID: 'a', ASSIST_ACCESS_KEY_SECRET: 'b' }, { profiles: {} })
        .accessKeyId,
      'a',
    );
  });

  it('takes the AccessKey as a pair: an id in the environment is never signed with a profile secret', () => {
    const msg = configError(() => resolveCredentials({}, { ASSIST_ACCESS_KEY_ID: 'env-id' }, FILE));
    assert.match(msg, /ASSIST_ACCESS_KEY_SECRET/);
  });

  it('names everything that is missing at once, and an unknown profile', () => {
    const msg = configError(() => resolveCredentials({}, {}, { profiles: {} }));
    assert.match(msg, /AccessKey id.*AccessKey secret.*endpoint/);
    assert.match(
      configError(() => resolveCredentials({ profile: 'nope' }, ENV, FILE)),
      /profile nope .*known: lab, prod/,
    );
  });

  it('normalizes endpoints and refuses other schemes', () => {
    assert.equal(normalizeEndpoint('127.0.0.1:8443'), 'https://127.0.0.1:8443');
    assert.equal(normalizeEndpoint('https://h.example.com/'), 'https://h.example.com');
    assert.equal(normalizeEndpoint('http://h:80'), 'http://h');
    assert.match(
      configError(() => normalizeEndpoint('ftp://h')),
      /https:\/\/ or http:\/\//,
    );
  });
});

describe('the profile file', () => {
  it('is written 0600 in a 0700 directory, keeping other profiles; the first one is current', () => {
    const home = mkdtempSync(join(tmpdir(), 'oca-cli-cred-'));
    try {
      const path = configPath({}, home);
      assert.equal(path, join(home, '.assist', 'config.json'));
      writeProfile(path, 'a', { accessKeyId: 'a-id', accessKeySecret: 'a-s', endpoint: 'https://a' });
      writeProfile(path, 'b', { accessKeyId: 'b-id', accessKeySecret: 'b-s', endpoint: 'https://b' });
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(join(home, '.assist')).mode & 0o777, 0o700);
      const f = readProfileFile(path);
      assert.equal(f.current, 'a');
      assert.deepEqual(Object.keys(f.profiles), ['a', 'b']);
      assert.equal(resolveCredentials({ profile: 'b' }, {}, f).accessKeySecret, 'b-s');
      // Replacing a profile keeps 0600 even if someone loosened the file.
      chmodSync(path, 0o644);
      assert.equal(statSync(path).mode & 0o777, 0o644);
      writeProfile(path, 'a', { accessKeyId: 'a2', accessKeySecret: 'a2-s', endpoint: 'https://a' });
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(readProfileFile(path).profiles['a']?.accessKeyId, 'a2');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('is empty when absent, and a broken file is a clear CONFIG error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oca-cli-cred-'));
    try {
      assert.deepEqual(readProfileFile(join(dir, 'none.json')), { profiles: {} });
      writeFileSync(join(dir, 'bad.json'), '{not json');
      assert.match(
        configError(() => readProfileFile(join(dir, 'bad.json'))),
        /not valid JSON/,
      );
      writeFileSync(join(dir, 'shape.json'), '{"default": {}}');
      assert.match(
        configError(() => readProfileFile(join(dir, 'shape.json'))),
        /no "profiles" object/,
      );
      assert.equal(configPath({ ASSIST_CONFIG_FILE: '/x/y.json' }, dir), '/x/y.json');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
