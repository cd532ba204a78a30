// AccessKey pairs of operators: secrets are encrypted at rest; lookups are served from memory
// because signature checks are synchronous and happen on every API call.
import type { Db } from '../store/index.js';
import { newAccessKeyId, newAccessKeySecret, type SecretBox } from '../shared/index.js';

export class AccessKeyService {
  readonly #db: Db;
  readonly #box: SecretBox;
  readonly #secrets = new Map<string, string>();
  #lastNoncePurge = 0;
  #lastReload = 0;

  private constructor(db: Db, box: SecretBox) {
    this.#db = db;
    this.#box = box;
  }

  static async load(db: Db, box: SecretBox): Promise<AccessKeyService> {
    const s = new AccessKeyService(db, box);
    await s.#readAll();
    return s;
  }

  async #readAll(): Promise<void> {
    const rows = await this.#db.selectFrom('access_keys').selectAll().where('disabled', '=', 0).execute();
    for (const r of rows) {
      if (!this.#secrets.has(r.access_key_id)) {
        this.#secrets.set(r.access_key_id, this.#box.open(r.secret_enc));
      }
    }
  }

  /**
   * Reads keys created since (by another node of a cluster), at most once a second, however many
   * requests name an unknown key; true when it read.
   */
  async reload(nowMs: number): Promise<boolean> {
    if (nowMs - this.#lastReload < 1_000) {
      return false;
    }
    this.#lastReload = nowMs;
    await this.#readAll();
    return true;
  }

  /** A new key pair: an account (root) key, or the key of RAM user `userName`. */
  async create(
    description = '',
    userName: string | null = null,
  ): Promise<{ accessKeyId: string; accessKeySecret: string }> {
    const accessKeyId = newAccessKeyId();
    const accessKeySecret = newAccessKeySecret();
    await this.#db
      .insertInto('access_keys')
      .values({
        access_key_id: accessKeyId,
        secret_enc: this.#box.seal(accessKeySecret),
        description,
        created_at: Date.now(),
        disabled: 0,
        user_name: userName,
      })
      .execute();
    this.#secrets.set(accessKeyId, accessKeySecret);
    return { accessKeyId, accessKeySecret };
  }

  lookupSecret = (accessKeyId: string): string | undefined => this.#secrets.get(accessKeyId);

  /** Drops deleted keys from memory (the store rows are gone already). */
  forget(accessKeyIds: readonly string[]): void {
    for (const id of accessKeyIds) {
      this.#secrets.delete(id);
    }
  }

  /** Records a signature nonce; false when it was already used (a replay). */
  async useNonce(nonce: string, accessKeyId: string, nowMs: number, ttlMs: number): Promise<boolean> {
    if (nowMs - this.#lastNoncePurge > 60_000) {
      this.#lastNoncePurge = nowMs;
      await this.#db.deleteFrom('api_nonces').where('expires_at', '<', nowMs).execute();
    }
    const r = await this.#db
      .insertInto('api_nonces')
      .values({ nonce: `${accessKeyId}:${nonce}`, access_key_id: accessKeyId, expires_at: nowMs + ttlMs })
      .onConflict((oc) => oc.column('nonce').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }
}
