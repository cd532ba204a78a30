import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fillParameterRefs, maskSecrets, parameterRefs, SECRET_MASK } from './parameter-tokens.js';

describe('parameter-store tokens', () => {
  it('finds plain and secret references once each, in order, with spaces around the parts', () => {
    const script = 'a={{oos:db/host}} b={{ oos-secret : pw }} c={{oos:db/host}} d={{ACS::InstanceId}} e={{name}}';
    assert.deepEqual(parameterRefs(script), [
      { name: 'db/host', secret: false },
      { name: 'pw', secret: true },
    ]);
  });

  it('tells a plain and a secret reference of the same name apart', () => {
    assert.deepEqual(parameterRefs('{{oos:x}}{{oos-secret:x}}'), [
      { name: 'x', secret: false },
      { name: 'x', secret: true },
    ]);
  });

  it('ignores empty names, other prefixes and scripts without tokens', () => {
    assert.deepEqual(parameterRefs('{{oos:}} {{oosx:a}} {{ oos-secretx:b }} {{oos-secret: }}'), []);
    assert.deepEqual(parameterRefs('echo no tokens here'), []);
  });

  it('fills references and leaves every other token as it is', () => {
    const out = fillParameterRefs('{{oos:a}}-{{ oos-secret:b }}-{{ACS::InvokeId}}-{{c}}', (r) =>
      r.secret ? `S(${r.name})` : `P(${r.name})`,
    );
    assert.equal(out, 'P(a)-S(b)-{{ACS::InvokeId}}-{{c}}');
  });

  it('masks every occurrence of each secret, the longest first, on bytes', () => {
    const out = maskSecrets(Buffer.from('x hunter2 y hunter2hunter2 z hunt'), ['hunt', 'hunter2', '']);
    assert.equal(out.toString(), `x ${SECRET_MASK} y ${SECRET_MASK}${SECRET_MASK} z ${SECRET_MASK}`);
    const bin = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('pässwörd'), Buffer.from([0x80])]);
    assert.deepEqual(
      maskSecrets(bin, ['pässwörd']),
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SECRET_MASK), Buffer.from([0x80])]),
    );
  });

  it('returns output without secrets unchanged', () => {
    const b = Buffer.from('nothing secret');
    assert.equal(maskSecrets(b, ['zzz']).toString(), 'nothing secret');
  });
});
