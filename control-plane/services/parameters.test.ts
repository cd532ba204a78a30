import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isApiError, SecretBox } from '../shared/index.js';
import { instanceRow, runCommandInput } from '../../test/harness/store-rows.js';
import { forEachStore } from '../../test/harness/stores.js';
import type { Db } from '../store/index.js';
import { InvocationService } from './invocations.js';
import { MAX_VERSIONS } from './parameter-rules.js';
import { ParameterService, type CreateParameterInput, type ListParametersFilter } from './parameters.js';

const code = (c: string) => (e: unknown) => isApiError(e) && e.code === c;
const T0 = Date.UTC(2030, 0, 1);
const SECRET = 'pa55-w0rd-Zq9';

function input(name: string, value: string, more: Partial<CreateParameterInput> = {}): CreateParameterInput {
  return { name, type: 'String', value, description: '', constraints: '', tags: new Map(), ...more };
}

const listing = (more: Partial<ListParametersFilter> = {}): ListParametersFilter => ({
  recursive: false,
  tags: new Map(),
  sortField: 'Name',
  sortOrder: 'Ascending',
  paging: { mode: 'token', maxResults: 50 },
  ...more,
});

async function setup(open: () => Promise<Db>) {
  const db = await open();
  const svc = new ParameterService(db, new SecretBox(randomBytes(32)));
  return { db, svc };
}

forEachStore((store) => {
  describe('parameter store', () => {
    it('creates, reads, versions and deletes a plain parameter', async () => {
      const { svc } = await setup(store.open);
      const made = await svc.create('plain', input('app/port', '8080', { description: 'the port' }), 'LTAIa', T0);
      assert.equal(made['ParameterVersion'], 1);
      assert.equal(made['Value'], undefined, 'create returns no value');
      assert.match(String(made['Id']), /^p-[0-9a-f]{20}$/);
      assert.equal(made['CreatedBy'], 'LTAIa');
      const v2 = await svc.update('plain', { name: 'app/port', value: '9090' }, 'LTAIb', T0 + 1000);
      assert.equal(v2['ParameterVersion'], 2);
      assert.equal(v2['UpdatedBy'], 'LTAIb');
      assert.equal((await svc.get('plain', 'app/port', undefined, false))['Value'], '9090');
      const old = await svc.get('plain', 'app/port', 1, false);
      assert.deepEqual([old['Value'], old['ParameterVersion']], ['8080', 1]);
      await assert.rejects(svc.get('plain', 'app/port', 7, false), code('EntityNotExists.ParameterVersion'));
      await svc.delete('plain', 'app/port');
      await assert.rejects(svc.get('plain', 'app/port', undefined, false), code('EntityNotExists.Parameter'));
      await assert.rejects(svc.delete('plain', 'app/port'), code('EntityNotExists.Parameter'));
    });

    it('keeps the latest versions only, and versions only on a new value', async () => {
      const { svc } = await setup(store.open);
      await svc.create('plain', input('v', '0'), 'k', T0);
      for (let i = 1; i <= MAX_VERSIONS + 1; i++) {
        await svc.update('plain', { name: 'v', value: String(i) }, 'k', T0 + i);
      }
      const latest = await svc.get('plain', 'v', undefined, false);
      assert.deepEqual([latest['ParameterVersion'], latest['Value']], [MAX_VERSIONS + 2, String(MAX_VERSIONS + 1)]);
      await assert.rejects(svc.get('plain', 'v', 2, false), code('EntityNotExists.ParameterVersion'));
      assert.equal((await svc.get('plain', 'v', 3, false))['Value'], '2');
      const d = await svc.update('plain', { name: 'v', description: 'only text' }, 'k', T0);
      assert.equal(d['ParameterVersion'], MAX_VERSIONS + 2, 'a description change makes no version');
    });

    it('refuses a duplicate name across plain and secret parameters, and bad names, types and values', async () => {
      const { svc, db } = await setup(store.open);
      await svc.create('secret', input('dup', 's', { type: 'Secret' }), 'k', T0);
      await assert.rejects(svc.create('plain', input('dup', 'x'), 'k', T0), code('EntityAlreadyExists.Parameter'));
      await assert.rejects(svc.create('plain', input('ALIYUN-x', 'x'), 'k', T0), code('InvalidParameter.Name'));
      await assert.rejects(svc.create('plain', input('a b', 'x'), 'k', T0), code('InvalidParameter.Name'));
      await assert.rejects(svc.create('plain', input('a/', 'x'), 'k', T0), code('InvalidParameter.Name'));
      await assert.rejects(
        svc.create('plain', input('t', 'x', { type: 'Secret' }), 'k', T0),
        code('InvalidParameter.Type'),
      );
      await assert.rejects(svc.create('plain', input('t', ''), 'k', T0), code('MissingParameter'));
      await assert.rejects(svc.create('plain', input('t', 'x'.repeat(4097)), 'k', T0), code('InvalidParameter.Value'));
      const n = await db
        .selectFrom('parameters')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 1, 'nothing refused was stored');
    });

    it('holds values to their constraints on create and update, and refuses bad constraints', async () => {
      const { svc } = await setup(store.open);
      const constraints = JSON.stringify({ AllowedPattern: '[a-z]+', MinLength: 2, MaxLength: 5 });
      await assert.rejects(
        svc.create('plain', input('c', 'ABC', { constraints }), 'k', T0),
        code('InvalidParameter.Value'),
      );
      await assert.rejects(
        svc.create('plain', input('c', 'a', { constraints }), 'k', T0),
        code('InvalidParameter.Value'),
      );
      await assert.rejects(
        svc.create('plain', input('c', 'abcdef', { constraints }), 'k', T0),
        code('InvalidParameter.Value'),
      );
      await svc.create('plain', input('c', 'abc', { constraints }), 'k', T0);
      await assert.rejects(svc.update('plain', { name: 'c', value: 'abc1' }, 'k', T0), code('InvalidParameter.Value'));
      assert.equal((await svc.get('plain', 'c', undefined, false))['Value'], 'abc', 'a refused update changes nothing');
      const allowed = JSON.stringify({ AllowedValues: ['red', 'blue'] });
      await assert.rejects(
        svc.create('plain', input('e', 'green', { constraints: allowed }), 'k', T0),
        code('InvalidParameter.Value'),
      );
      for (const bad of [
        '{',
        '[]',
        '{"AllowedValues":"red"}',
        '{"AllowedPattern":"("}',
        '{"MinLength":3,"MaxLength":2}',
        '{"Other":1}',
      ]) {
        await assert.rejects(
          svc.create('plain', input('b', 'x', { constraints: bad }), 'k', T0),
          code('InvalidParameter.Constraints'),
          bad,
        );
      }
      assert.equal((await svc.get('plain', 'c', undefined, false))['Constraints'], constraints);
      const started = Date.now();
      const redos = JSON.stringify({ AllowedPattern: '(a+)+' });
      await assert.rejects(
        svc.create('plain', input('r', `${'a'.repeat(40)}b`, { constraints: redos }), 'k', T0),
        code('InvalidParameter.Constraints'),
      );
      assert.ok(Date.now() - started < 5_000, 'a pattern that backtracks without end is cut short');
    });

    it('seals secret values at rest and shows them only with decryption', async () => {
      const { svc, db } = await setup(store.open);
      const made = await svc.create('secret', input('db/pw', SECRET, { type: 'Secret' }), 'k', T0);
      assert.equal(made['Type'], 'Secret');
      const stored = await db.selectFrom('parameter_versions').select('value').execute();
      assert.equal(stored.length, 1);
      assert.ok(!stored[0]!.value.includes(SECRET), 'the store holds no plaintext');
      assert.equal((await svc.get('secret', 'db/pw', undefined, false))['Value'], undefined);
      assert.equal((await svc.get('secret', 'db/pw', undefined, true))['Value'], SECRET);
      const many = await svc.getMany('secret', ['db/pw', 'nope'], true);
      assert.deepEqual(many.InvalidParameters, ['nope']);
      assert.equal(many.Parameters[0]!['Value'], SECRET);
      await assert.rejects(
        svc.get('plain', 'db/pw', undefined, false),
        code('EntityNotExists.Parameter'),
        'plain actions do not see secrets',
      );
      await svc.update('secret', { name: 'db/pw', value: 'second-secret' }, 'k', T0 + 1);
      assert.deepEqual((await svc.secretValues(['db/pw'])).sort(), [SECRET, 'second-secret'].sort());
    });

    it('tags parameters, filters by tags and replaces tags on update', async () => {
      const { svc } = await setup(store.open);
      await svc.create(
        'plain',
        input('a', '1', {
          tags: new Map([
            ['env', 'prod'],
            ['team', 'x'],
          ]),
        }),
        'k',
        T0,
      );
      await svc.create('plain', input('b', '2', { tags: new Map([['env', 'dev']]) }), 'k', T0);
      assert.deepEqual((await svc.get('plain', 'a', undefined, false))['Tags'], { env: 'prod', team: 'x' });
      const prod = await svc.list('plain', listing({ tags: new Map([['env', 'prod']]) }), false);
      assert.deepEqual(
        prod.Parameters.map((p) => p['Name']),
        ['a'],
      );
      assert.equal(prod.TotalCount, 1);
      await svc.update('plain', { name: 'a', tags: new Map([['env', 'dev']]) }, 'k', T0);
      const dev = await svc.list('plain', listing({ tags: new Map([['env', 'dev']]) }), false);
      assert.deepEqual(
        dev.Parameters.map((p) => p['Name']),
        ['a', 'b'],
      );
      assert.deepEqual((await svc.get('plain', 'a', undefined, false))['Tags'], { env: 'dev' });
    });

    it('pages listings with MaxResults and NextToken in either order, without values', async () => {
      const { svc } = await setup(store.open);
      const names = Array.from({ length: 23 }, (_, i) => `p${String(i).padStart(2, '0')}`);
      for (const [i, n] of names.entries()) {
        await svc.create('plain', input(n, `v${i}`), 'k', T0 + i);
      }
      await svc.create('secret', input('hidden', 's', { type: 'Secret' }), 'k', T0);
      for (const [sortField, sortOrder, expected] of [
        ['Name', 'Ascending', names],
        ['CreatedDate', 'Descending', [...names].reverse()],
      ] as const) {
        const seen: string[] = [];
        let token: string | undefined;
        do {
          const page = await svc.list(
            'plain',
            listing({
              sortField,
              sortOrder,
              paging: { mode: 'token', maxResults: 10, ...(token ? { nextToken: token } : {}) },
            }),
            false,
          );
          assert.equal(page.TotalCount, 23);
          assert.ok(page.Parameters.every((p) => p['Value'] === undefined));
          seen.push(...page.Parameters.map((p) => p['Name'] as string));
          token = page.NextToken;
        } while (token);
        assert.deepEqual(seen, expected);
      }
      const contains = await svc.list('plain', listing({ name: 'P1' }), false);
      assert.deepEqual(
        contains.Parameters.map((p) => p['Name']),
        names.filter((n) => n.startsWith('p1')),
      );
    });

    it('lists by path, one level or recursively, with values', async () => {
      const { svc } = await setup(store.open);
      for (const n of ['/app/a', '/app/b', '/app/deep/c', '/apple', 'app/x']) {
        await svc.create('plain', input(n, `v:${n}`), 'k', T0);
      }
      const one = await svc.list('plain', listing({ path: '/app/' }), true);
      assert.deepEqual(
        one.Parameters.map((p) => [p['Name'], p['Value']]),
        [
          ['/app/a', 'v:/app/a'],
          ['/app/b', 'v:/app/b'],
        ],
      );
      const all = await svc.list('plain', listing({ path: '/app/', recursive: true }), true);
      assert.deepEqual(
        all.Parameters.map((p) => p['Name']),
        ['/app/a', '/app/b', '/app/deep/c'],
      );
    });

    it('resolves references: values, decrypted secrets, and what is missing', async () => {
      const { svc } = await setup(store.open);
      await svc.create('plain', input('host', 'db.local'), 'k', T0);
      await svc.create('secret', input('pw', SECRET, { type: 'Secret' }), 'k', T0);
      const refs = [
        { name: 'host', secret: false },
        { name: 'pw', secret: true },
        { name: 'pw', secret: false },
        { name: 'gone', secret: true },
      ];
      assert.deepEqual(await svc.missing(refs), [refs[2], refs[3]]);
      const r = await svc.resolve(refs.slice(0, 2));
      assert.deepEqual(
        [...r.values],
        [
          ['oos:host', 'db.local'],
          ['oos-secret:pw', SECRET],
        ],
      );
      assert.deepEqual(r.missing, []);
    });
  });

  describe('parameter references in invocations', () => {
    async function harness() {
      const db = await store.open();
      const params = new ParameterService(db, new SecretBox(randomBytes(32)));
      const svc = new InvocationService(
        db,
        { connectedAmong: async (ids) => new Set(ids), kick: () => {}, disconnect: () => {} },
        'cn-local',
        undefined,
        undefined,
        params,
      );
      await db
        .insertInto('instances')
        .values(instanceRow('mi-1', { instance_name: 'one', registered_at: T0 }))
        .execute();
      const run = (content: string, enableParameter = true) =>
        svc.runCommand(runCommandInput(['mi-1'], { commandContent: content, enableParameter }), T0);
      const fetch = () => svc.tasksFor('mi-1', { reason: 'kickoff', currentTime: T0, offset: 0, timeZone: 'UTC' }, T0);
      return { db, params, svc, run, fetch };
    }

    it('refuses a command naming a missing parameter before anything is stored', async () => {
      const h = await harness();
      await h.params.create('plain', input('host', 'db.local'), 'k', T0);
      await assert.rejects(
        h.run('echo {{oos:host}} {{oos-secret:nope}}'),
        code('InvalidParameter.OosParameterNotFound'),
      );
      await assert.rejects(
        h.run('echo {{oos-secret:host}}'),
        code('InvalidParameter.OosParameterNotFound'),
        'kinds must match',
      );
      const n = await h.db
        .selectFrom('invocations')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 0);
      // Without custom parameters enabled the tokens are text, as on the stock agent.
      await h.run('echo {{oos:nope}}', false);
      // A saved command (InvokeCommand) is checked the same way.
      await h.db
        .insertInto('commands')
        .values({
          command_id: 'c-saved',
          name: 'saved',
          description: '',
          type: 'RunShellScript',
          content: Buffer.from('echo {{oos-secret:gone}}').toString('base64'),
          working_dir: '',
          timeout: 60,
          enable_parameter: 1,
          username: '',
          kept: 1,
          created_at: T0,
          client_token: null,
        })
        .execute();
      const invoke = () =>
        h.svc.invokeCommand(
          { commandId: 'c-saved', instanceIds: ['mi-1'], parameters: {}, repeatMode: 'Once', clientToken: undefined },
          T0,
        );
      await assert.rejects(invoke(), code('InvalidParameter.OosParameterNotFound'));
      await h.params.create('secret', input('gone', 'back', { type: 'Secret' }), 'k', T0);
      await invoke();
    });

    it('fills values only in the delivered task, keeps tokens stored, and masks secrets in output', async () => {
      const h = await harness();
      await h.params.create('plain', input('host', 'db.local'), 'k', T0);
      await h.params.create('secret', input('pw', SECRET, { type: 'Secret' }), 'k', T0);
      const { InvokeId } = await h.run('echo {{oos:host}} {{ oos-secret:pw }}');
      const stored = await h.db
        .selectFrom('invocations')
        .select(['command_content', 'command_template'])
        .executeTakeFirstOrThrow();
      for (const v of Object.values(stored)) {
        const text = Buffer.from(v, 'base64').toString();
        assert.ok(text.includes('{{ oos-secret:pw }}') && !text.includes(SECRET));
      }
      const tasks = await h.fetch();
      assert.equal(Buffer.from(tasks.run[0]!.task.commandContent, 'base64').toString(), `echo db.local ${SECRET}`);
      assert.equal(tasks.run[0]!.task.secretContent, true, 'the agent is told to keep no copy');
      // The secret split across two reports is masked once both halves are in.
      const half = SECRET.length >> 1;
      await h.svc.applyReport(
        'mi-1',
        { kind: 'running', taskId: InvokeId, invokeVersion: 0, start: T0 + 1 },
        Buffer.from(`db.local ${SECRET.slice(0, half)}`),
        T0 + 2,
      );
      await h.svc.applyReport(
        'mi-1',
        { kind: 'finish', taskId: InvokeId, invokeVersion: 0, start: T0 + 1, end: T0 + 3, exitCode: 0, dropped: 0 },
        Buffer.from(`${SECRET.slice(half)}\nagain ${SECRET}\n`),
        T0 + 4,
      );
      const out = await h.db.selectFrom('invocation_instances').select('output').executeTakeFirstOrThrow();
      assert.equal(out.output.toString(), 'db.local ******\nagain ******\n');
    });

    it('fails an execution whose parameter was deleted before delivery, without sending it', async () => {
      const h = await harness();
      await h.params.create('plain', input('host', 'db.local'), 'k', T0);
      const { InvokeId } = await h.run('echo {{oos:host}}');
      await h.params.delete('plain', 'host');
      const tasks = await h.fetch();
      assert.equal(tasks.run.length, 0);
      const rec = await h.db
        .selectFrom('invocation_instances')
        .select(['status', 'error_code'])
        .where('invoke_id', '=', InvokeId)
        .executeTakeFirstOrThrow();
      assert.deepEqual([rec.status, rec.error_code], ['Invalid', 'ParameterFailed']);
      const inv = await h.db.selectFrom('invocations').select(['n_pending', 'n_failed']).executeTakeFirstOrThrow();
      assert.deepEqual([inv.n_pending, inv.n_failed], [0, 1]);
    });
  });
});
