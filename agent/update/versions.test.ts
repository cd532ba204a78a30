// Version directories, the active-version pointer and the running-task count, on real files.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { runningTaskCount } from './agent-process.js';
import { activeVersion, installedVersions, pruneVersions, writeActiveVersion } from './versions.js';

it('prunes version directories but the kept ones, and nothing that is not a version', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'oca-versions-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const d of ['2.6.0.1', '2.6.0.2', '2.6.0.3', 'config', 'hybrid', '2.6.0']) {
    mkdirSync(join(root, d));
  }
  writeFileSync(join(root, '2.6.0.9'), 'a file, not a version directory');
  assert.deepEqual(installedVersions(root).sort(), ['2.6.0.1', '2.6.0.2', '2.6.0.3']);
  assert.deepEqual(pruneVersions(root, ['2.6.0.3', '2.6.0.2']), ['2.6.0.1']);
  for (const kept of ['2.6.0.2', '2.6.0.3', 'config', 'hybrid', '2.6.0', '2.6.0.9']) {
    assert.ok(existsSync(join(root, kept)), kept);
  }
  assert.ok(!existsSync(join(root, '2.6.0.1')));
});

it('reads and writes the active version, refusing anything that is not n.n.n.n', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'oca-versions-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.equal(activeVersion(root), undefined);
  writeActiveVersion(root, '2.6.0.7');
  assert.equal(activeVersion(root), '2.6.0.7');
  writeFileSync(join(root, 'version'), '../../etc\n');
  assert.equal(activeVersion(root), undefined);
});

it('counts the tasks the running journal lists, not files being written', (t) => {
  const state = mkdtempSync(join(tmpdir(), 'oca-journal-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  assert.equal(runningTaskCount(state), 0, 'no journal yet');
  mkdirSync(join(state, 'running'));
  writeFileSync(join(state, 'running', 't-1-0123.json'), '{}');
  writeFileSync(join(state, 'running', '.tmp-t-2-4567.json'), '{}');
  assert.equal(runningTaskCount(state), 1);
});
