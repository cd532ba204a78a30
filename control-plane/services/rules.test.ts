import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isApiError } from '../shared/index.js';
import { ipInRange, parseCidrList } from './cidr.js';
import { substituteParameters } from './invocations.js';

describe('activation source ranges', () => {
  it('matches IPv4, IPv4-mapped IPv6 and IPv6 against a CIDR list; empty means any', () => {
    assert.equal(ipInRange('10.1.2.3', '10.0.0.0/8'), true);
    assert.equal(ipInRange('::ffff:10.1.2.3', '10.0.0.0/8, 192.168.0.0/16'), true);
    assert.equal(ipInRange('127.0.0.1', '10.0.0.0/8'), false);
    assert.equal(ipInRange('fd00::5', 'fd00::/8'), true);
    assert.equal(ipInRange('anything', ''), true);
    assert.throws(() => parseCidrList('10.0.0.0/33'));
    assert.throws(() => parseCidrList('not-an-ip'));
  });
});

describe('custom parameters', () => {
  it('substitutes {{name}} and leaves {{ACS::…}} for the agent', () => {
    assert.equal(
      substituteParameters('echo {{ a }} {{b}} {{ACS::InstanceId}}', { a: 'x;y', b: 2 }),
      'echo x;y 2 {{ACS::InstanceId}}',
    );
  });
  it('refuses missing values and more than 20 parameters', () => {
    assert.throws(
      () => substituteParameters('echo {{a}} {{b}}', { a: 1 }),
      (e: unknown) => isApiError(e) && /missing values for: b/.test(e.message),
    );
    const many = Array.from({ length: 21 }, (_, i) => `{{p${i}}}`).join(' ');
    assert.throws(
      () => substituteParameters(many, {}),
      (e: unknown) => isApiError(e) && /at most 20/.test(e.message),
    );
  });
});
