// Runs the boundary check on the real tree (must pass) and on the bad fixture (must fail), so a
// rule that silently stops matching is noticed.
import { checkTree } from './check-boundaries.js';

const real = checkTree('.');
for (const p of real) {
  console.error(p);
}
const fixture = checkTree('test/lint-fixtures/tree');
const expected = [
  'agent/executor/bad-import.ts',
  'control-plane/store/bad-import.ts',
  'installer/bad-import.ts',
  'protocol/bad-import.ts',
];
const missed = expected.filter((f) => !fixture.some((p) => p.startsWith(f)));
if (missed.length > 0) {
  console.error(`boundary rules no longer catch the bad fixture: ${missed.join(', ')}`);
}
console.log(
  `boundaries: ${real.length} problem(s) in the tree; bad fixture caught ${expected.length - missed.length}/${expected.length}`,
);
process.exitCode = real.length === 0 && missed.length === 0 ? 0 : 1;
