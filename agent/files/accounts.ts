// Owner and group names of a sent file → ids, through NSS (`getent`, no shell), so LDAP and sssd
// accounts resolve as they would for chown(1).
import { execFile } from 'node:child_process';

/** How names become ids; a port so that a test can count lookups. undefined: no such account. */
export interface AccountLookup {
  uid(name: string): Promise<number | undefined>;
  gid(name: string): Promise<number | undefined>;
}

/** A lookup that could not be answered (getent missing, timed out): not the same as "no such name". */
export class AccountLookupError extends Error {
  override readonly name = 'AccountLookupError';
}

/** Only an exact name match counts: `getent passwd 0` would otherwise turn a numeric "name" into an id. */
function getentId(db: 'passwd' | 'group', name: string): Promise<number | undefined> {
  if (name === '' || /[:\n\r\0]/.test(name)) {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    execFile('getent', [db, '--', name], { timeout: 5_000, encoding: 'utf8' }, (err, stdout) => {
      if (err !== null) {
        // getent exits 2 when the key is not found.
        if ((err as { code?: unknown }).code === 2) {
          return resolve(undefined);
        }
        return reject(new AccountLookupError(`getent ${db} ${name}: ${err.message.trim()}`, { cause: err }));
      }
      const fields = stdout.split('\n')[0]!.split(':');
      const id = Number(fields[2]);
      resolve(fields[0] === name && fields[2] !== '' && Number.isSafeInteger(id) && id >= 0 ? id : undefined);
    });
  });
}

export const systemAccounts: AccountLookup = {
  uid: (name) => getentId('passwd', name),
  gid: (name) => getentId('group', name),
};
