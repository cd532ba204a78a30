// The bundles the build leaves in dist/ (scripts/test builds before it tests) are ASCII: V8 keeps a
// script's whole source in memory for lazy compilation, two bytes a character if one character is
// not Latin-1. The control plane's bundle held a 7.7 MB string that way (docs/benchmarks.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const DIST = join(import.meta.dirname, '..', 'dist');

describe('bundles are ASCII', () => {
  for (const name of ['assist-server.cjs', 'aliyun-service.cjs', 'aliyun-assist.cjs']) {
    it(name, () => {
      const text = readFileSync(join(DIST, name), 'latin1');
      const at = text.search(/[\x80-\xff]/);
      assert.equal(at, -1, `${name}: a non-ASCII byte at ${at}: …${text.slice(Math.max(0, at - 60), at + 20)}…`);
    });
  }
});
