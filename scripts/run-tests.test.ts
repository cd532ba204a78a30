import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { selectTests } from './run-tests.js';

const ROOT = join(import.meta.dirname, '..');

describe('run-tests: which files', () => {
  it('runs every suite without arguments, one suite by name', () => {
    const all = selectTests([], ROOT);
    assert.deepEqual(all.problems, []);
    assert.ok(all.files.includes('test/e2e/smoke.test.ts'));
    assert.ok(all.files.includes('scripts/run-tests.test.ts'));
    const e2e = selectTests(['e2e'], ROOT).files;
    assert.ok(e2e.length > 1 && e2e.every((f) => f.startsWith('test/e2e/')), e2e.join(' '));
  });

  it('runs just the files named, relative to where it was started, each once', () => {
    assert.deepEqual(selectTests(['test/e2e/smoke.test.ts'], ROOT), {
      files: ['test/e2e/smoke.test.ts'],
      problems: [],
    });
    assert.deepEqual(
      selectTests(
        ['smoke.test.ts', '../e2e/smoke.test.ts', join(ROOT, 'test/e2e/cli.test.ts')],
        join(ROOT, 'test/e2e'),
      ),
      { files: ['test/e2e/smoke.test.ts', 'test/e2e/cli.test.ts'], problems: [] },
    );
    const dir = selectTests(['test/harness/../integration'], ROOT).files;
    assert.ok(dir.length > 1 && dir.every((f) => f.startsWith('test/integration/')), dir.join(' '));
  });

  it('names what it cannot run', () => {
    const r = selectTests(['test/e2e/no-such.test.ts', 'README.md', 'docs'], ROOT);
    assert.deepEqual(r.files, []);
    assert.equal(r.problems.length, 3);
    assert.match(r.problems[0]!, /no-such\.test\.ts: no such file or directory/);
    assert.match(r.problems[1]!, /README\.md: not a test file/);
    assert.match(r.problems[2]!, /docs: no \*\.test\.ts files below it/);
  });
});
