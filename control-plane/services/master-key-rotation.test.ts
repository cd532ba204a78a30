import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SecretBox } from '../shared/index.js';
import { forEachStore } from '../../test/harness/stores.js';
import { AccessKeyService } from './access-keys.js';
import { rotateMasterKey } from './master-key-rotation.js';
import { ParameterService } from './parameters.js';

const T0 = Date.UTC(2030, 0, 1);

forEachStore((store) => {
  describe('master key rotation', () => {
    async function setup() {
      const dir = mkdtempSync(join(tmpdir(), 'oca-rotate-'));
      const keyFile = join(dir, 'master.key');
      const box = SecretBox.fromFile(keyFile);
      const db = await store.open();
      const keys = await AccessKeyService.load(db, box);
      const key = await keys.create('k');
      const params = new ParameterService(db, box);
      await params.create(
        'secret',
        { name: 'pw', type: 'Secret', value: 'v1', description: '', constraints: '', tags: new Map() },
        'k',
        T0,
      );
      await params.update('secret', { name: 'pw', value: 'v2' }, 'k', T0 + 1);
      await params.create(
        'plain',
        { name: 'host', type: 'String', value: 'h', description: '', constraints: '', tags: new Map() },
        'k',
        T0,
      );
      return { dir, keyFile, db, key, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
    }

    it('re-seals AccessKey secrets and every secret version under a new key, keeping the old one aside', async () => {
      const s = await setup();
      try {
        const oldKey = readFileSync(s.keyFile);
        const r = await rotateMasterKey(s.db, s.dir);
        assert.deepEqual(r, { accessKeys: 1, secretParameterVersions: 2, resumed: false });
        const newKey = readFileSync(s.keyFile);
        assert.notDeepEqual(newKey, oldKey);
        assert.deepEqual(readFileSync(`${s.keyFile}.old`), oldKey);
        assert.equal(statSync(s.keyFile).mode & 0o777, 0o600);
        assert.equal(statSync(`${s.keyFile}.old`).mode & 0o777, 0o600);
        assert.ok(!existsSync(`${s.keyFile}.next`));
        // What a restarted server sees: the new key opens everything.
        const box = SecretBox.fromFile(s.keyFile);
        const keys = await AccessKeyService.load(s.db, box);
        assert.equal(keys.lookupSecret(s.key.accessKeyId), s.key.accessKeySecret);
        const params = new ParameterService(s.db, box);
        assert.equal((await params.get('secret', 'pw', undefined, true))['Value'], 'v2');
        assert.equal((await params.get('secret', 'pw', 1, true))['Value'], 'v1');
        assert.equal((await params.get('plain', 'host', undefined, false))['Value'], 'h', 'plain values untouched');
        const sealed = await s.db.selectFrom('access_keys').select('secret_enc').executeTakeFirstOrThrow();
        assert.throws(() => new SecretBox(oldKey).open(sealed.secret_enc), 'the old key opens nothing any more');
      } finally {
        s.cleanup();
      }
    });

    it('finishes a rotation interrupted after its commit instead of rotating again', async () => {
      const s = await setup();
      try {
        const oldKey = readFileSync(s.keyFile);
        await rotateMasterKey(s.db, s.dir);
        const committedKey = readFileSync(s.keyFile);
        // As if the command had stopped before its rename: the old key back in place, the new one pending.
        writeFileSync(`${s.keyFile}.next`, committedKey, { mode: 0o600 });
        writeFileSync(s.keyFile, oldKey);
        const r = await rotateMasterKey(s.db, s.dir);
        assert.equal(r.resumed, true);
        assert.deepEqual(readFileSync(s.keyFile), committedKey);
        const keys = await AccessKeyService.load(s.db, SecretBox.fromFile(s.keyFile));
        assert.equal(keys.lookupSecret(s.key.accessKeyId), s.key.accessKeySecret);
      } finally {
        s.cleanup();
      }
    });

    it('refuses a key file that does not open the store, changing nothing', async () => {
      const s = await setup();
      try {
        writeFileSync(s.keyFile, randomBytes(32));
        const before = await s.db.selectFrom('access_keys').select('secret_enc').execute();
        await assert.rejects(rotateMasterKey(s.db, s.dir), /not sealed under/);
        assert.deepEqual(await s.db.selectFrom('access_keys').select('secret_enc').execute(), before);
      } finally {
        s.cleanup();
      }
    });
  });
});
