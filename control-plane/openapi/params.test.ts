import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isApiError } from '../shared/index.js';
import { Params } from './params.js';

describe('Params', () => {
  it('reads flat lists in index order, and JSON-array lists', () => {
    const p = new Params({ 'InstanceId.2': 'b', 'InstanceId.10': 'c', 'InstanceId.1': 'a', Other: '[1,"x"]' });
    assert.deepEqual(p.list('InstanceId'), ['a', 'b', 'c']);
    assert.deepEqual(p.list('Other'), ['1', 'x']);
    assert.deepEqual(p.list('Missing'), []);
    assert.deepEqual(new Params({ InstanceId: 'solo' }).list('InstanceId'), ['solo']);
  });
  it('refuses malformed integers, booleans, maps and pages with InvalidParameter', () => {
    const p = new Params({ Timeout: '1e3', Flag: 'yes', Parameters: '[1]', PageSize: '500' });
    for (const f of [() => p.int('Timeout'), () => p.bool('Flag'), () => p.jsonObject('Parameters'), () => p.page()]) {
      assert.throws(f, (e: unknown) => isApiError(e) && e.code === 'InvalidParameter');
    }
    assert.deepEqual(new Params({}).page(), { pageNumber: 1, pageSize: 10 });
    assert.deepEqual(new Params({ Parameters: '{"a":1}' }).jsonObject('Parameters'), { a: 1 });
  });
  it('reads Tag.N.Key/Value in either spelling, and keeps an absent value absent', () => {
    const p = new Params({
      'Tag.2.Key': 'b',
      'Tag.1.key': 'a',
      'Tag.1.value': '1',
      'Tag.2.Value': '',
      'Tag.3.Key': 'c',
    });
    assert.deepEqual(p.tags(), [{ key: 'a', value: '1' }, { key: 'b', value: '' }, { key: 'c' }]);
  });
  it('pages by number unless MaxResults or NextToken is given', () => {
    assert.deepEqual(new Params({ PageNumber: '3' }).paging(), { mode: 'page', pageNumber: 3, pageSize: 10 });
    assert.deepEqual(new Params({ NextToken: 'x' }).paging(), { mode: 'token', maxResults: 10, nextToken: 'x' });
    assert.deepEqual(new Params({ MaxResults: '50' }).paging(), { mode: 'token', maxResults: 50 });
    assert.throws(
      () => new Params({ MaxResults: '51' }).paging(),
      (e: unknown) => isApiError(e) && e.code === 'InvalidParameter',
    );
  });
  it('refuses integers beyond the safe range, and pages whose offset would leave it', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isApiError(e) ? e.code : String(e);
      }
      return 'ok';
    };
    assert.equal(new Params({ N: '9007199254740991' }).int('N'), Number.MAX_SAFE_INTEGER);
    for (const v of ['9007199254740992', '-9007199254740992', '922337203685477580000', '9'.repeat(400)]) {
      assert.equal(
        code(() => new Params({ N: v }).int('N')),
        'InvalidParameter',
        v,
      );
    }
    const page = (n: string, size = '50') => code(() => new Params({ PageNumber: n, PageSize: size }).paging());
    assert.equal(page('922337203685477580', '10'), 'InvalidParameter');
    assert.equal(page(String(2 ** 31 / 32 + 1), '32'), 'ok');
    assert.equal(page(String(2 ** 31 / 32 + 2), '32'), 'InvalidParameter');
    assert.equal(page(String(2 ** 31 + 1), '1'), 'ok');
    assert.equal(page(String(2 ** 31 + 2), '1'), 'InvalidParameter');
    assert.equal(
      code(() => new Params({ MaxResults: '18446744073709551616' }).paging()),
      'InvalidParameter',
    );
    assert.equal(
      code(() => new Params({ MaxResults: '-1' }).paging()),
      'InvalidParameter',
    );
  });
  it('refuses a list longer than the maximum a call documents', () => {
    const ids = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`InstanceId.${i + 1}`, `i${i}`]));
    assert.equal(new Params(ids(50)).list('InstanceId', 50).length, 50);
    assert.throws(
      () => new Params(ids(51)).list('InstanceId', 50),
      (e: unknown) => isApiError(e) && e.code === 'InvalidParameter' && /at most 50/.test(e.message),
    );
    const json = `[${Array.from({ length: 33_000 }, (_, i) => i).join(',')}]`;
    assert.throws(
      () => new Params({ InstanceId: json }).list('InstanceId', 50),
      (e: unknown) => isApiError(e) && e.code === 'InvalidParameter',
    );
  });
  it('reads optional booleans strictly: true, false, or absent', () => {
    assert.equal(new Params({ Connected: 'true' }).optBool('Connected'), true);
    assert.equal(new Params({ Connected: '' }).optBool('Connected'), undefined);
    for (const v of ['yes', 'TRUE', '1', 'garbage']) {
      assert.throws(
        () => new Params({ Connected: v }).optBool('Connected'),
        (e: unknown) => isApiError(e) && e.code === 'InvalidParameter',
        v,
      );
    }
  });
});
