// Hostile input to every OOS parameter-store action: each refusal is a documented 4xx code (never
// an internal error), and a refused call changes nothing stored.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { OOS_ACTIONS } from '../../control-plane/openapi/index.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { OosPopClient } from '../harness/oos-sdk.js';

/** The codes docs/parameter-store.md and docs/api-errors.md give the OOS actions. */
const DOCUMENTED = new Set([
  'EntityNotExists.Parameter',
  'EntityNotExists.ParameterVersion',
  'EntityAlreadyExists.Parameter',
  'InvalidParameter',
  'InvalidParameter.Name',
  'InvalidParameter.Type',
  'InvalidParameter.Value',
  'InvalidParameter.Constraints',
  'InvalidParameter.Tags',
  'InvalidParameter.Path',
  'InvalidParameter.NextToken',
  'MissingParameter',
]);

const HOSTILE = [
  '',
  '__proto__',
  'constructor',
  'toString',
  'ALIYUN-x',
  '/',
  '//a',
  'a/',
  '../../etc/passwd',
  'x'.repeat(5000),
  '{',
  '[]',
  '["a",1]',
  '{"__proto__":{"x":1}}',
  '{"AllowedPattern":"(a+)+$"}',
  '{"MinLength":-1}',
  '{"k":{"nested":1}}',
  'null',
  '-1',
  '0',
  '101',
  '1e309',
  'abc',
  'yes',
  'ünïcødé/ℕ',
  '%00',
];

const FIELDS = [
  'Name',
  'Names',
  'Type',
  'Value',
  'Description',
  'Constraints',
  'Tags',
  'Path',
  'Recursive',
  'ParameterVersion',
  'WithDecryption',
  'MaxResults',
  'NextToken',
  'SortField',
  'SortOrder',
];

describe('OOS actions under hostile input', () => {
  const cleanup = suiteCleanup();
  let h: TestControlPlane;
  let oos: OosPopClient;
  before(async () => {
    h = await startControlPlane(cleanup);
    oos = new OosPopClient(h.hostPort, h.key, h.caPath);
    await oos.call('CreateParameter', { Name: 'keep', Type: 'String', Value: 'v' });
    await oos.call('CreateSecretParameter', { Name: 'keep-secret', Value: 's' });
  });

  async function snapshot(): Promise<string> {
    const db = h.cp.db;
    const rows = await Promise.all([
      db.selectFrom('parameters').selectAll().orderBy('name').execute(),
      db.selectFrom('parameter_versions').select(['name', 'version']).orderBy('name').orderBy('version').execute(),
      db.selectFrom('parameter_tags').selectAll().orderBy('name').orderBy('tag_key').execute(),
    ]);
    return JSON.stringify(rows);
  }

  it('refuses with documented codes only, and a refusal stores nothing', async () => {
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let refused = 0;
    for (const action of Object.keys(OOS_ACTIONS)) {
      for (let round = 0; round < 25; round++) {
        const params: Record<string, string> = {};
        for (const f of FIELDS) {
          if (next(3) === 0) {
            params[f] = HOSTILE[next(HOSTILE.length)]!;
          }
        }
        const before = await snapshot();
        try {
          await oos.call(action, params);
        } catch (e) {
          const err = e as {
            data?: { Code?: string };
            entry?: { response?: { statusCode?: number } };
            message: string;
          };
          const status = err.entry?.response?.statusCode ?? 0;
          const code = err.data?.Code ?? '';
          assert.ok(
            DOCUMENTED.has(code),
            `${action} ${JSON.stringify(params).slice(0, 200)} → ${code}: ${err.message}`,
          );
          assert.ok(status >= 400 && status < 500, `${action} status ${status}`);
          assert.equal(await snapshot(), before, `${action} refused but changed the store`);
          refused++;
        }
      }
    }
    assert.ok(refused > 100, `only ${refused} calls were refused: the inputs are not hostile enough`);
    const kept = await oos.call('GetSecretParameter', { Name: 'keep-secret', WithDecryption: true });
    assert.equal(kept.Parameter.Value, 's');
  });
});
