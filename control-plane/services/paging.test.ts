import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forEachStore } from '../../test/harness/stores.js';
import type { AgentPresenceTable, Db } from '../store/index.js';
import { keysetPage, keysetPageInMemory, type KeyColumn, type KeyPart, type Paging } from './paging.js';

// Twelve rows with ties on the first column and on the first two, so pages of two split tied groups.
// Lower-case letters and digits only: every collation orders them as JavaScript does.
const ROWS: AgentPresenceTable[] = Array.from({ length: 12 }, (_, i) => ({
  instance_id: `i${String((i * 7) % 12).padStart(2, '0')}`,
  node_id: ['na', 'nb', 'nc'][i % 3]!,
  lease_until: [100, 200, 300][Math.floor(i / 4)]!,
}));

const keyOf = (r: AgentPresenceTable): KeyPart[] => [r.lease_until, r.node_id, r.instance_id];

/** Every asc/desc combination of the key (lease_until, node_id, instance_id). */
const KEYS: KeyColumn[][] = [0, 1, 2, 3, 4, 5, 6, 7].map((bits) => [
  { column: 'lease_until', direction: bits & 4 ? 'desc' : 'asc', type: 'number' },
  { column: 'node_id', direction: bits & 2 ? 'desc' : 'asc', type: 'string' },
  { column: 'instance_id', direction: bits & 1 ? 'desc' : 'asc', type: 'string' },
]);

/** The rows in the key's order, worked out here rather than by the store. */
function sorted(key: readonly KeyColumn[]): string[] {
  return [...ROWS]
    .sort((a, b) => {
      for (const [i, c] of key.entries()) {
        const [x, y] = [keyOf(a)[i]!, keyOf(b)[i]!];
        if (x !== y) {
          return (x < y ? -1 : 1) * (c.direction === 'desc' ? -1 : 1);
        }
      }
      return 0;
    })
    .map((r) => r.instance_id);
}

/** Pages through with MaxResults 2 and NextToken until no token comes back; the ids in page order. */
async function pageThrough(
  total: number,
  page: (paging: Paging) => Promise<{ rows: AgentPresenceTable[]; fields: { TotalCount: number; NextToken?: string } }>,
): Promise<string[]> {
  const seen: string[] = [];
  let nextToken: string | undefined;
  for (let calls = 0; calls <= total; calls++) {
    const { rows, fields } = await page({ mode: 'token', maxResults: 2, ...(nextToken ? { nextToken } : {}) });
    assert.equal(fields.TotalCount, total);
    assert.ok(rows.length <= 2);
    seen.push(...rows.map((r) => r.instance_id));
    nextToken = fields.NextToken;
    if (!nextToken) {
      return seen;
    }
  }
  assert.fail('the NextToken chain did not end');
}

forEachStore((store) => {
  describe('keysetPage', () => {
    let db: Db;
    const directions = (key: readonly KeyColumn[]) => key.map((c) => c.direction).join(',');

    it('stores the table', async () => {
      db = await store.open();
      await db.insertInto('agent_presence').values(ROWS).execute();
    });

    for (const key of KEYS) {
      it(`gives every row once, in order, by (${directions(key)})`, async () => {
        const expected = sorted(key);
        const viaSql = await pageThrough(ROWS.length, (p) =>
          keysetPage(db.selectFrom('agent_presence').selectAll(), p, key, keyOf, ROWS.length),
        );
        assert.deepEqual(viaSql, expected);
        const viaMemory = await pageThrough(ROWS.length, async (p) => keysetPageInMemory(ROWS, p, key, keyOf));
        assert.deepEqual(viaMemory, expected);
        // PageNumber/PageSize walks the same order.
        const byNumber: string[] = [];
        for (let n = 1; n <= ROWS.length / 2; n++) {
          const { rows } = await keysetPage(
            db.selectFrom('agent_presence').selectAll(),
            { mode: 'page', pageNumber: n, pageSize: 2 },
            key,
            keyOf,
            ROWS.length,
          );
          byNumber.push(...rows.map((r) => r.instance_id));
        }
        assert.deepEqual(byNumber, expected);
      });
    }

    it("keeps the listing's own filters after a token (the condition is ANDed to them)", async () => {
      const key = KEYS[2]!; // lease_until asc, node_id desc, instance_id asc
      const kept = ROWS.filter((r) => r.node_id !== 'nb');
      const seen = await pageThrough(kept.length, (p) =>
        keysetPage(
          db.selectFrom('agent_presence').selectAll().where('node_id', '!=', 'nb'),
          p,
          key,
          keyOf,
          kept.length,
        ),
      );
      assert.deepEqual(
        seen,
        sorted(key).filter((id) => kept.some((r) => r.instance_id === id)),
      );
    });
  });
});
