import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { invocationStatus, recordStatus } from './invocation-status.js';

describe('invocation status priority', () => {
  it('follows the documented table', () => {
    assert.equal(invocationStatus(['Running', 'Failed']), 'Running');
    assert.equal(invocationStatus(['Pending', 'Finished']), 'Running');
    assert.equal(invocationStatus(['Pending', 'Pending']), 'Pending');
    assert.equal(invocationStatus(['Stopping', 'Finished']), 'Stopping');
    assert.equal(invocationStatus(['Stopped', 'Stopped']), 'Stopped');
    assert.equal(invocationStatus(['Failed', 'Stopped']), 'Failed');
    assert.equal(invocationStatus(['Failed']), 'Failed');
    assert.equal(invocationStatus(['Finished', 'Stopped']), 'Finished');
    assert.equal(invocationStatus(['Finished', 'Finished']), 'Finished');
    assert.equal(invocationStatus(['Finished', 'Failed', 'Stopped']), 'PartialFailed');
  });
  it('maps a non-zero exit to Finished and a timeout to Failed', () => {
    assert.equal(recordStatus('Failed'), 'Finished');
    assert.equal(recordStatus('Timeout'), 'Failed');
    assert.equal(recordStatus('Aborted'), 'Failed');
  });
});
