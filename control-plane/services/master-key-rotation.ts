// Rotating the master key (<dataDir>/master.key) that seals AccessKey secrets and secret
// parameter values: every sealed value is re-sealed under a new key in ONE transaction, then the
// new key replaces the old one (kept as master.key.old). Run with every node of the control plane
// stopped: a running node keeps the old key in memory and would seal new secrets with it.
//
// Crash safety: the new key is written to master.key.next (0600) before the transaction. If the
// command stops after the commit but before the rename, the store is sealed under master.key.next;
// running the command again finds that out (the next key opens a stored value) and finishes the
// rename instead of rotating again.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type Db } from '../store/index.js';
import { SecretBox } from '../shared/index.js';

export interface RotationResult {
  accessKeys: number;
  secretParameterVersions: number;
  /** True when an interrupted rotation was completed rather than a new one made. */
  resumed: boolean;
}

function writeKeyFile(file: string, key: Buffer): void {
  const fd = openSync(file, 'w', 0o600);
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A sealed value of the store, to tell which key the store is sealed under. */
async function sampleSealed(db: Db): Promise<string | undefined> {
  const k = await db.selectFrom('access_keys').select('secret_enc').limit(1).executeTakeFirst();
  if (k) {
    return k.secret_enc;
  }
  const p = await db
    .selectFrom('parameter_versions as v')
    .innerJoin('parameters as p', 'p.name', 'v.name')
    .select('v.value')
    .where('p.type', '=', 'Secret')
    .limit(1)
    .executeTakeFirst();
  return p?.value;
}

const opens = (box: SecretBox, sealed: string): boolean => {
  try {
    box.open(sealed);
    return true;
  } catch {
    return false;
  }
};

export async function rotateMasterKey(db: Db, dataDir: string): Promise<RotationResult> {
  const keyFile = join(dataDir, 'master.key');
  const nextFile = `${keyFile}.next`;
  if (!existsSync(keyFile)) {
    throw new Error(`${keyFile} does not exist: nothing is sealed under a master key there`);
  }
  const oldKey = readFileSync(keyFile);
  const old = new SecretBox(oldKey);
  const sample = await sampleSealed(db);
  if (existsSync(nextFile)) {
    const pending = new SecretBox(readFileSync(nextFile));
    if (sample !== undefined && opens(pending, sample) && !opens(old, sample)) {
      writeKeyFile(`${keyFile}.old`, oldKey);
      renameSync(nextFile, keyFile);
      return { accessKeys: 0, secretParameterVersions: 0, resumed: true };
    }
    rmSync(nextFile); // an attempt that never committed
  }
  if (sample !== undefined && !opens(old, sample)) {
    throw new Error(`the store's secrets are not sealed under ${keyFile}: is this the right data dir and database?`);
  }
  const newKey = randomBytes(32);
  const next = new SecretBox(newKey);
  writeKeyFile(nextFile, newKey);
  const counts = await db.transaction().execute(async (tx) => {
    const keys = await tx.selectFrom('access_keys').select(['access_key_id', 'secret_enc']).execute();
    for (const k of keys) {
      await tx
        .updateTable('access_keys')
        .set({ secret_enc: next.seal(old.open(k.secret_enc)) })
        .where('access_key_id', '=', k.access_key_id)
        .execute();
    }
    const secrets = await tx
      .selectFrom('parameter_versions as v')
      .innerJoin('parameters as p', 'p.name', 'v.name')
      .select(['v.name', 'v.version', 'v.value'])
      .where('p.type', '=', 'Secret')
      .execute();
    for (const s of secrets) {
      await tx
        .updateTable('parameter_versions')
        .set({ value: next.seal(old.open(s.value)) })
        .where('name', '=', s.name)
        .where('version', '=', s.version)
        .execute();
    }
    return { accessKeys: keys.length, secretParameterVersions: secrets.length };
  });
  writeKeyFile(`${keyFile}.old`, oldKey);
  renameSync(nextFile, keyFile);
  return { ...counts, resumed: false };
}

/**
 * `assist-server rotate-master-key`: opens the store the server uses (`database`, else the
 * data dir's SQLite file), rotates, closes.
 */
export async function rotateMasterKeyOfStore(o: { dataDir: string; database?: string }): Promise<RotationResult> {
  const db = await openStore(o.database ?? join(o.dataDir, 'assist.db'));
  try {
    return await rotateMasterKey(db, o.dataDir);
  } finally {
    await db.destroy();
  }
}
