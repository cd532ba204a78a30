import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACTIONS } from './actions.js';
import { OOS_ACTIONS, OOS_API_VERSION, oosParameterNames, routeAction } from './oos-actions.js';

describe('OOS action routing', () => {
  it('routes version 2019-06-01 to the OOS table and any other version to the ECS table', () => {
    assert.equal(OOS_API_VERSION, '2019-06-01');
    assert.ok(routeAction('2019-06-01', 'CreateSecretParameter'));
    assert.equal(routeAction('2019-06-01', 'RunCommand'), undefined);
    assert.equal(routeAction('2014-05-26', 'CreateParameter'), undefined);
    assert.equal(routeAction(undefined, 'CreateParameter'), undefined);
    assert.ok(routeAction('2014-05-26', 'RunCommand'));
    assert.ok(routeAction(undefined, 'RunCommand'), 'no version: the ECS table, as before');
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      assert.equal(routeAction('2019-06-01', name), undefined, name);
    }
  });

  it('serves the fourteen parameter actions, none of them an ECS name', () => {
    assert.deepEqual(Object.keys(OOS_ACTIONS).sort(), [
      'CreateParameter',
      'CreateSecretParameter',
      'DeleteParameter',
      'DeleteSecretParameter',
      'GetParameter',
      'GetParameters',
      'GetParametersByPath',
      'GetSecretParameter',
      'GetSecretParameters',
      'GetSecretParametersByPath',
      'ListParameters',
      'ListSecretParameters',
      'UpdateParameter',
      'UpdateSecretParameter',
    ]);
    assert.ok(Object.keys(OOS_ACTIONS).every((a) => !Object.hasOwn(ACTIONS, a)));
  });

  it('names the parameters a call touches, for resource-scoped policies', () => {
    assert.deepEqual(oosParameterNames('GetSecretParameter', { Name: 'db/pw' }), ['db/pw']);
    assert.deepEqual(oosParameterNames('GetParameters', { Names: '["a","b",3]' }), ['a', 'b']);
    assert.deepEqual(oosParameterNames('GetSecretParameters', { Names: 'not json' }), []);
    assert.deepEqual(oosParameterNames('GetParametersByPath', { Path: '/app' }), ['/app/*']);
    assert.deepEqual(oosParameterNames('ListParameters', { Path: '/app/' }), ['/app/*']);
    assert.deepEqual(oosParameterNames('ListSecretParameters', {}), ['*']);
    assert.deepEqual(oosParameterNames('DeleteParameter', {}), []);
    assert.deepEqual(oosParameterNames('RunCommand', { Name: 'x' }), []);
    assert.deepEqual(oosParameterNames('__proto__', { Name: 'x' }), []);
  });
});
