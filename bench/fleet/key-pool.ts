// The RSA key pairs simulated instances register with. The stock agent makes one 2048-bit pair per
// instance at registration (§7.2); making 20,000 would take minutes of CPU, so a pool (64 by
// default) is made once, kept in the benchmark's data dir, and assigned round-robin. Every instance
// still registers a real public key and signs every request with the matching private key; only the
// server's per-instance key material repeats (it keys nothing on the key itself).
import { generateKeyPair } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface KeyPair {
  /** PKCS#1 `RSA PRIVATE KEY` PEM, as the stock agent stores `pri-key`. */
  privateKeyPem: string;
  /** SPKI `PUBLIC KEY` PEM, as the stock agent registers it. */
  publicKeyPem: string;
}

const generate = promisify(generateKeyPair);

export async function loadOrCreateKeyPool(dir: string, count: number): Promise<KeyPair[]> {
  const file = join(dir, 'keys.json');
  const have: KeyPair[] = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as KeyPair[]) : [];
  if (have.length >= count) {
    return have.slice(0, count);
  }
  const made = await Promise.all(
    Array.from({ length: count - have.length }, async () => {
      const { privateKey, publicKey } = await generate('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      });
      return { privateKeyPem: privateKey, publicKeyPem: publicKey };
    }),
  );
  const all = [...have, ...made];
  writeFileSync(file, JSON.stringify(all), { mode: 0o600 });
  return all;
}
