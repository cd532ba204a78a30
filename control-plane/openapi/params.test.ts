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
});
