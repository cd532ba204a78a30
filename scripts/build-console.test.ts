// The committed console bundle must be what scripts/build-console.ts makes from the sources now.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { CONSOLE_BUNDLE, bundleConsole } from './build-console.js';

it('control-plane/console/assets/app.generated.js is up to date (else: npx tsx scripts/build-console.ts)', async () => {
  assert.equal(readFileSync(CONSOLE_BUNDLE, 'utf8'), await bundleConsole());
});
