// Resource ids in the stock shapes: c-… commands, t-… invocations, f-… file sends, mi-… managed instances.
import { randomBytes, randomUUID } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
function token(n: number): string {
  const bytes = randomBytes(n);
  let s = '';
  for (const b of bytes) {
    s += ALPHABET[b % ALPHABET.length];
  }
  return s;
}

/** Ids use only [a-z0-9-]: the agent puts task ids in query strings unescaped (luban §1.1). */
export const newId = (prefix: 'c' | 't' | 'f' | 'mi' | 'acs', region = 'hz') => `${prefix}-${region}${token(18)}`;
export const newActivationId = () => randomUUID().toUpperCase();
export const newRequestId = () => randomUUID().toUpperCase();
/** Activation codes are secrets: 24 characters from a CSPRNG. */
export const newActivationCode = () => `a-${token(24)}`;
export const newAccessKeyId = () => `LTAI${token(20)}`;
export const newAccessKeySecret = () => randomBytes(24).toString('base64url');
