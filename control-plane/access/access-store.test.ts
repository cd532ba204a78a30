// The audit trail and the authorizer's cache on both store dialects: events of one turn are written
// together and paged newest first; purges go in bounded batches; a policy change made through one
// node's directory reaches another node's cache through the version row, and unchanged policies
// cost the hot path no store read.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { forEachStore } from '../../test/harness/stores.js';
import { AccessKeyService } from '../services/index.js';
import { SecretBox, type ApiError } from '../shared/index.js';
import type { Db } from '../store/index.js';
import { AccessControl } from './access-control.js';
import { AuditTrail, type AuditEntry } from './audit-trail.js';
import { RamDirectory } from './ram-directory.js';

const scope = { regionId: 'cn-local', accountId: 'local' };
const entry = (): AuditEntry => ({
  time: Date.now(),
  requestId: 'r',
  sourceIp: '127.0.0.1',
  identityType: 'Unknown',
  userName: '',
  accessKeyId: '',
  action: '',
  resources: [],
});

forEachStore((store) => {
  describe('audit trail and access cache', () => {
    let db: Db;
    let box: SecretBox;
    const dir = mkdtempSync(join(tmpdir(), 'oca-access-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    before(async () => {
      db = await store.open();
      box = SecretBox.fromFile(join(dir, 'master.key'));
    });

    it('writes the events of one turn together and pages them newest first', async () => {
      const audit = new AuditTrail(db);
      await db.deleteFrom('audit_log').execute();
      for (let i = 0; i < 1_200; i++) {
        audit.record({
          time: 1_000 + i,
          requestId: `req-${i}`,
          identityType: 'Account',
          userName: '',
          accessKeyId: 'LTAIroot',
          action: i % 2 ? 'RunCommand' : 'DescribeCommands',
          resources: [`acs:ecs:cn-local:local:instance/mi-${i}`],
          sourceIp: '127.0.0.1',
          result: i % 3 ? 'Success' : 'Forbidden.RAM',
        });
      }
      await audit.flush();
      const seen: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await audit.describe({
          action: 'RunCommand',
          paging: { mode: 'token', maxResults: 100, ...(nextToken ? { nextToken } : {}) },
        });
        assert.equal(page.TotalCount, 600);
        seen.push(...page.AuditEvents.AuditEvent.map((e) => e.RequestId));
        nextToken = page.NextToken;
      } while (nextToken);
      assert.equal(seen.length, 600);
      assert.equal(seen[0], 'req-1199');
      assert.equal(seen.at(-1), 'req-1');
      const refused = await audit.describe({
        result: 'Forbidden.RAM',
        startTime: 1_000,
        endTime: 1_009,
        paging: { mode: 'page', pageNumber: 1, pageSize: 50 },
      });
      assert.deepEqual(
        refused.AuditEvents.AuditEvent.map((e) => e.RequestId),
        ['req-9', 'req-6', 'req-3', 'req-0'],
      );
    });

    it('purges only events past the retention', async () => {
      const audit = new AuditTrail(db, { retentionDays: 1 });
      await db.deleteFrom('audit_log').execute();
      const now = Date.UTC(2026, 5, 1);
      for (let i = 0; i < 6_000; i++) {
        audit.record({ ...entry(), time: now - 2 * 86_400_000 + i, result: 'Success', requestId: `old-${i}` });
      }
      audit.record({ ...entry(), time: now - 1_000, result: 'Success', requestId: 'fresh' });
      await audit.flush();
      assert.equal(await audit.purgeExpired(now), 6_000);
      const left = await db.selectFrom('audit_log').select('request_id').execute();
      assert.deepEqual(
        left.map((r) => r.request_id),
        ['fresh'],
      );
    });

    it("another node's policy change reaches this node's cache; unchanged policies read nothing", async () => {
      const keys = await AccessKeyService.load(db, box);
      const nodeA = new RamDirectory(db, keys);
      const nodeB = new RamDirectory(db, keys);
      const accessB = new AccessControl(db, nodeB, scope);
      await accessB.reload();
      await nodeA.createUser({ userName: 'frank' });
      const key = await nodeA.createAccessKey('frank');
      await nodeA.createPolicy({
        policyName: 'FrankDescribe',
        policyDocument: JSON.stringify({
          Version: '1',
          Statement: [{ Effect: 'Allow', Action: 'ecs:Describe*', Resource: '*' }],
        }),
      });
      await nodeA.attachPolicyToUser('FrankDescribe', 'frank');

      const call = (action: string, nowMs: number) =>
        accessB.authorize(entry(), { accessKeyId: key.AccessKeyId, action, params: {}, nowMs });
      let t0 = Date.now();
      await call('DescribeCommands', t0); // a key B has not seen: read on first use
      // Hot path: within the second, no snapshot and no version read.
      let versionReads = 0;
      let snapshots = 0;
      const version = nodeB.version.bind(nodeB);
      const snapshot = nodeB.snapshot.bind(nodeB);
      nodeB.version = () => (versionReads++, version());
      nodeB.snapshot = () => (snapshots++, snapshot());
      for (let i = 0; i < 200; i++) {
        await call('DescribeInvocations', t0 + 10);
      }
      assert.equal(versionReads + snapshots, 0);
      await assert.rejects(call('DeleteCommand', t0 + 20), (e: ApiError) => e.code === 'Forbidden.RAM');

      // Node A allows DeleteCommand; node B sees it at its next version check (≤ 1 s later).
      await nodeA.updatePolicy(
        'FrankDescribe',
        JSON.stringify({
          Version: '1',
          Statement: [{ Effect: 'Allow', Action: ['ecs:Describe*', 'ecs:DeleteCommand'], Resource: '*' }],
        }),
      );
      t0 += 1_500;
      await call('DeleteCommand', t0);
      assert.equal(versionReads, 1);
      assert.equal(snapshots, 1);
      for (let i = 0; i < 50; i++) {
        await call('DeleteCommand', t0 + 2_000);
      }
      assert.equal(versionReads, 2);
      assert.equal(snapshots, 1);

      // Node A deletes the user: its key is refused on B once B has checked.
      await nodeA.deleteUser('frank');
      await assert.rejects(
        call('DescribeCommands', t0 + 4_000),
        (e: ApiError) => e.code === 'InvalidAccessKeyId.NotFound',
      );
    });
  });
});
