import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isApiError } from '../shared/index.js';
import { checkTimeout, parameterNames, renderScript, substituteParameters } from './command-content.js';
import {
  countStatuses,
  detailedStatusesOf,
  invocationStatus,
  invocationStatusOf,
  RECORD_STATUSES,
} from './invocation-status.js';
import { errorOutcome } from './invocations.js';
import { decodeToken, encodeToken, pageOf, windowOf } from './paging.js';
import { findPublicCommand, providerMatches, PUBLIC_COMMANDS } from './public-commands.js';
import { validateTagFilters, validateTags } from './tags.js';

const code = (c: string) => (e: unknown) => isApiError(e) && e.code === c;

describe('custom parameter names', () => {
  it('ignores spaces and line feeds, matches names case-insensitively, leaves agent tokens alone', () => {
    assert.deepEqual(parameterNames('{{ a }} {{\nB\n}} {{A}} {{ACS::InstanceId}} {{oos:p}} {{oos-secret:s}}'), [
      'a',
      'B',
    ]);
    assert.equal(
      substituteParameters('echo {{ Name }} {{name}} {{ACS::RegionId}}', { NAME: 'x' }),
      'echo x x {{ACS::RegionId}}',
    );
  });
  it('refuses empty, malformed and over-long names, and more than 20', () => {
    assert.throws(() => parameterNames('{{  }}'), code('CmdParam.EmptyKey'));
    assert.throws(() => parameterNames('{{a b}}'), code('CmdParam.InvalidParamName'));
    assert.throws(() => parameterNames('{{a.b}}'), code('CmdParam.InvalidParamName'));
    assert.throws(() => parameterNames(`{{${'k'.repeat(65)}}}`), code('CmdParamName.ExceedLimit'));
    assert.doesNotThrow(() => parameterNames(`{{${'k'.repeat(64)}}}`));
    const many = (n: number) => Array.from({ length: n }, (_, i) => `{{p${i}}}`).join(' ');
    assert.equal(parameterNames(many(20)).length, 20);
    assert.throws(() => parameterNames(many(21)), code('ParameterCount.ExceedLimit'));
  });
  it('wants a value for every name and a name for every value; values are scalars', () => {
    assert.throws(() => substituteParameters('{{a}}', {}), code('InvalidParameter.Parameters'));
    assert.throws(() => substituteParameters('{{a}}', { a: 1, b: 2 }), /does not use: b/);
    assert.throws(() => substituteParameters('{{a}}', { a: { x: 1 } }), /strings, numbers or booleans/);
    assert.throws(() => substituteParameters('{{a}}', { a: 1, A: 2 }), /twice/);
    assert.equal(substituteParameters('{{a}}{{b}}', { a: true, b: 0 }), 'true0');
    // A value is not substituted again.
    assert.equal(substituteParameters('{{a}} {{b}}', { a: '{{b}}', b: 'x' }), '{{b}} x');
  });
  it('refuses Parameters when custom parameters are disabled, and leaves the content as it is', () => {
    assert.equal(renderScript('echo {{a}}', false, {}), 'echo {{a}}');
    assert.throws(() => renderScript('echo {{a}}', false, { a: 1 }), code('Parameter.Disabled'));
  });
  it('raises timeouts under 10 s to 10 and refuses the rest', () => {
    assert.equal(checkTimeout(undefined), 60);
    assert.equal(checkTimeout(3), 10);
    assert.equal(checkTimeout(undefined, 120), 120);
    assert.throws(() => checkTimeout(86_401), code('InvalidParameter.Timeout'));
  });
});

describe('tags', () => {
  it('validates count, keys, values and duplicates', () => {
    assert.deepEqual(validateTags([{ key: 'env', value: 'prod' }, { key: 'team' }]), [
      { key: 'env', value: 'prod' },
      { key: 'team', value: '' },
    ]);
    assert.throws(
      () => validateTags(Array.from({ length: 21 }, (_, i) => ({ key: `k${i}` }))),
      code('InvalidTagCount'),
    );
    for (const key of ['', 'aliyun-x', 'acs:y', 'http://z', 'k'.repeat(129)]) {
      assert.throws(() => validateTags([{ key, value: 'v' }]), code('InvalidTagKey.Malformed'), key);
    }
    assert.throws(() => validateTags([{ key: 'k', value: 'v'.repeat(129) }]), code('InvalidTagValue.Malformed'));
    assert.throws(() => validateTags([{ key: 'k' }, { key: 'k' }]), code('Duplicate.TagKey'));
    assert.deepEqual(validateTagFilters([{ key: 'env' }, { key: 'a', value: '' }]), [
      { key: 'env' },
      { key: 'a', value: '' },
    ]);
  });
});

describe('paging', () => {
  it('round-trips tokens and refuses foreign ones', () => {
    const t = encodeToken([1700000000000, 't-abc']);
    assert.deepEqual(decodeToken(t, ['number', 'string']), [1700000000000, 't-abc']);
    for (const bad of [
      'garbage',
      encodeToken(['x', 't']),
      encodeToken([1]),
      Buffer.from('{"a":1}').toString('base64url'),
    ]) {
      assert.throws(() => decodeToken(bad, ['number', 'string']), code('InvalidParameter.NextToken'));
    }
  });
  it('asks for one extra row, and returns a NextToken only when there is more', () => {
    const page = { mode: 'page', pageNumber: 2, pageSize: 2 } as const;
    assert.deepEqual(windowOf(page, ['number']), { limit: 3, offset: 2 });
    const more = pageOf(page, [1, 2, 3], 9, (n) => [n]);
    assert.deepEqual(more.rows, [1, 2]);
    assert.deepEqual(more.fields, { TotalCount: 9, PageNumber: 2, PageSize: 2, NextToken: encodeToken([2]) });
    const last = pageOf({ mode: 'token', maxResults: 5 }, [7], 9, (n) => [n]);
    assert.deepEqual(last.fields, { TotalCount: 9, PageSize: 5 });
  });
});

describe('status counters', () => {
  it('give the same aggregate as the record list, for every mix of up to three records', () => {
    const all = [...RECORD_STATUSES];
    for (const a of all) {
      for (const b of all) {
        for (const c of all) {
          const recs = [a, b, c];
          assert.equal(invocationStatusOf(countStatuses(recs)), invocationStatus(recs), recs.join(','));
        }
      }
    }
    assert.deepEqual(detailedStatusesOf('Finished'), ['Success', 'Failed', 'Finished']);
    assert.deepEqual(detailedStatusesOf('Scheduled'), ['Scheduled']);
    assert.deepEqual(detailedStatusesOf('Failed'), ['Timeout', 'Error', 'Invalid', 'Aborted']);
    assert.deepEqual(detailedStatusesOf('Bogus'), []);
  });
});

describe('agent error reports', () => {
  it('map InstanceRestarted and ScriptFileExisted apart from other errors', () => {
    assert.equal(errorOutcome('-13', 'InstanceRestarted: the agent restarted').error_code, 'InstanceRestarted');
    assert.equal(errorOutcome('-9', 'ScriptFileExisted: /x/t-1.sh').error_code, 'InstanceRestarted');
    assert.match(errorOutcome('-9', 'ScriptFileExisted: /x/t-1.sh').error_info!, /not run twice/);
    const other = errorOutcome('-4', 'SaveScriptFileFailed: disk');
    assert.deepEqual(other, {
      status: 'Error',
      error_code: 'ExecutionException',
      error_info: 'SaveScriptFileFailed: disk',
    });
    assert.equal(errorOutcome('-13', 'general').error_code, 'ExecutionException');
  });
});

describe('public commands', () => {
  it('are found by id or name and filtered by provider prefix', () => {
    assert.equal(findPublicCommand('ACS-ECS-DiskUsage')?.commandId, 'c-acs-ecs-diskusage-v1');
    assert.equal(findPublicCommand('c-acs-ecs-agentversion-v1')?.name, 'ACS-ECS-AgentVersion');
    assert.equal(findPublicCommand('ACS-ECS-Nope'), undefined);
    assert.ok(PUBLIC_COMMANDS.every((c) => providerMatches(c.provider, 'AlibabaCloud')));
    assert.equal(providerMatches('AlibabaCloud.ECS.GuestOS', 'AlibabaCloud.ECS'), true);
    assert.equal(providerMatches('AlibabaCloudX', 'AlibabaCloud'), false);
    assert.ok(PUBLIC_COMMANDS.every((c) => /^[a-z0-9-]+$/.test(c.commandId)));
  });
});
