// Issue 4, SendFile end to end: the official SDK's SendFile to a real agent, which writes the file
// with owner, group and mode (a real user and group created here); overwrite rules
// (FileAlreadyExists) with the old file intact; bad input refused by the API with nothing stored;
// a file handed out once however often the agent fetches (a stock-protocol peer); DescribeSendFileResults.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { apiError } from '../harness/sdk.js';
import { connectStockPeer, type StockPeer } from '../harness/stock-peer.js';

type Instance = { InstanceId: string; InvocationStatus: string; ErrorCode: string; ErrorInfo: string };
type Send = { InvokeId: string; InvocationStatus: string; InvokeInstances: { InvokeInstance: Instance[] } };

const USER = 'ocafile';
const GROUP = 'ocafilegrp';
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });

function ensureUserAndGroup(): { uid: number; gid: number } {
  try {
    sh('getent', ['group', GROUP]);
  } catch {
    sh('groupadd', [GROUP]);
  }
  try {
    sh('id', [USER]);
  } catch {
    sh('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
  }
  return { uid: Number(sh('id', ['-u', USER]).trim()), gid: Number(sh('getent', ['group', GROUP]).split(':')[2]) };
}

describe('SendFile end to end', () => {
  let h: TestControlPlane;
  let agent: TestAgent;
  let peer: StockPeer;
  let dir: string;
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup);
    [agent, peer] = await Promise.all([startAgent(cleanup, h), connectStockPeer(cleanup, h)]);
    dir = mkdtempSync(join(tmpdir(), 'oca-sendfile-'));
    cleanup.after(() => rmSync(dir, { recursive: true, force: true }));
  });

  const send = async (fields: Record<string, unknown>) =>
    (await h.ecs.call('sendFile', { regionId: 'cn-local', instanceId: [agent.instanceId], ...fields })) as {
      invokeId: string;
    };
  const result = async (invokeId: string): Promise<Send> => {
    const r = await h.pop.call('DescribeSendFileResults', { InvokeId: invokeId });
    return r.Invocations.Invocation[0] as Send;
  };
  const ended = (invokeId: string): Promise<Send> =>
    eventually(() => result(invokeId), {
      what: `send ${invokeId} to end`,
      timeoutMs: 15_000,
      until: (s) => ['Success', 'Failed', 'PartialFailed'].includes(s.InvocationStatus),
    });

  it('writes the file with its owner, group and mode, into a directory it creates', async () => {
    const { uid, gid } = ensureUserAndGroup();
    const target = join(dir, 'new', 'sub');
    const { invokeId } = await send({
      name: 'app.conf',
      content: 'listen=8080\n',
      targetDir: target,
      fileOwner: USER,
      fileGroup: GROUP,
      fileMode: '0640',
    });
    assert.match(invokeId, /^f-/);
    const s = await ended(invokeId);
    assert.equal(s.InvocationStatus, 'Success', JSON.stringify(s));
    assert.equal(s.InvokeInstances.InvokeInstance[0]!.InvocationStatus, 'Success');
    const file = join(target, 'app.conf');
    assert.equal(readFileSync(file, 'utf8'), 'listen=8080\n');
    const st = statSync(file);
    assert.equal(st.mode & 0o7777, 0o640);
    assert.equal(st.uid, uid);
    assert.equal(st.gid, gid);
    assert.deepEqual(readdirSync(target), ['app.conf'], 'no temporary file left beside it');
  });

  it('never clobbers an existing file unless Overwrite is true (FileAlreadyExists)', async () => {
    const file = join(dir, 'keep.txt');
    writeFileSync(file, 'original\n');
    const content = Buffer.from('replacement\n').toString('base64');
    const refused = await ended(
      (await send({ name: 'keep.txt', content, contentType: 'Base64', targetDir: dir })).invokeId,
    );
    assert.equal(refused.InvocationStatus, 'Failed');
    const rec = refused.InvokeInstances.InvokeInstance[0]!;
    assert.equal(rec.InvocationStatus, 'Invalid');
    assert.equal(rec.ErrorCode, 'FileAlreadyExists');
    assert.match(rec.ErrorInfo, /keep\.txt/);
    assert.equal(readFileSync(file, 'utf8'), 'original\n', 'the old file is intact');

    const { invokeId } = await send({
      name: 'keep.txt',
      content,
      contentType: 'Base64',
      targetDir: dir,
      overwrite: true,
    });
    assert.equal((await ended(invokeId)).InvocationStatus, 'Success');
    assert.equal(readFileSync(file, 'utf8'), 'replacement\n');

    // The overall status is a filter the store applies before paging: the refused send is among the
    // Failed ones and the replacement is not.
    const failed = await h.pop.call('DescribeSendFileResults', { InvocationStatus: 'Failed', PageSize: 50 });
    const failedIds = (failed.Invocations.Invocation as Send[]).map((x) => x.InvokeId);
    assert.ok(failedIds.includes(refused.InvokeId), JSON.stringify(failedIds));
    assert.ok(!failedIds.includes(invokeId));
    assert.equal(failed.TotalCount, failedIds.length);
    for (const x of failed.Invocations.Invocation as Send[]) {
      assert.equal(x.InvocationStatus, 'Failed');
    }
  });

  it('reports an unknown owner as the agent found it, and writes nothing', async () => {
    const { invokeId } = await send({ name: 'x.txt', content: 'x', targetDir: dir, fileOwner: 'no-such-user-oca' });
    const rec = (await ended(invokeId)).InvokeInstances.InvokeInstance[0]!;
    assert.equal(rec.InvocationStatus, 'Invalid');
    assert.equal(rec.ErrorCode, 'FileOwnerNotExist');
    assert.throws(() => statSync(join(dir, 'x.txt')), /ENOENT/);
  });

  it('refuses unsafe or malformed input with a precise code, storing nothing', async () => {
    const before = await h.cp.db.selectFrom('file_sends').select('invoke_id').execute();
    const cases: [Record<string, unknown>, string][] = [
      [{ name: '../escape', content: 'x', targetDir: dir }, 'InvalidParameter.Name'],
      [{ name: 'a/b', content: 'x', targetDir: dir }, 'InvalidParameter.Name'],
      [{ name: 'ok', content: 'x', targetDir: 'relative/dir' }, 'InvalidParameter.TargetDir'],
      [{ name: 'ok', content: 'x', targetDir: `${dir}/../etc` }, 'InvalidParameter.TargetDir'],
      [{ name: 'ok', content: 'x', targetDir: dir, fileMode: '999' }, 'InvalidParameter.FileMode'],
      [{ name: 'ok', content: '%%%', contentType: 'Base64', targetDir: dir }, 'InvalidParameter.Content'],
      [{ name: 'ok', content: 'x'.repeat(30_000), targetDir: dir }, 'InvalidFileContent.LengthLimitExceeded'],
      [{ name: 'ok', content: 'x', targetDir: dir, timeout: 5 }, 'InvalidParameter.Timeout'],
      [{ content: 'x', targetDir: dir }, 'MissingParameter'],
      [{ name: 'ok', targetDir: dir }, 'MissingParameter'],
    ];
    for (const [fields, code] of cases) {
      const e = await apiError(send(fields));
      assert.equal(e.code, code, `${JSON.stringify(fields).slice(0, 80)} → ${e.code}: ${e.message}`);
    }
    const unknown = await apiError(
      h.ecs.call('sendFile', { regionId: 'cn-local', instanceId: ['mi-nope'], name: 'a', content: 'x' }),
    );
    assert.equal(unknown.code, 'InvalidInstanceId.NotFound');
    assert.deepEqual(await h.cp.db.selectFrom('file_sends').select('invoke_id').execute(), before);
  });

  it('hands a file out once to a stock-protocol agent, and applies its reports', async () => {
    const r = await h.pop.call('SendFile', {
      'InstanceId.1': peer.instanceId,
      Name: 'peer.txt',
      Content: 'hello world\n',
      TargetDir: '/opt/demo',
      FileMode: '0600',
    });
    const id = r.InvokeId as string;
    await peer.kicked(`kick_vm file create ${id}`);
    const q = `reason=kickoff&taskId=${id}&currentTime=${Date.now()}&offset=0&timeZone=UTC`;
    const first = await peer.fetch(q);
    const files = first.json['file'] as { task: Record<string, unknown> }[];
    assert.equal(files.length, 1);
    // The protocol's own example (luban §5.9): signature is the MD5 of the base64 content string.
    assert.deepEqual(
      { ...files[0]!.task },
      {
        taskID: id,
        name: 'peer.txt',
        destination: '/opt/demo',
        content: 'aGVsbG8gd29ybGQK',
        signature: '8b3235b9ec9e796e0d343dded5f617a3',
        mode: '0600',
        owner: '',
        group: '',
        overwrite: false,
        contentType: 'Base64',
        timeout: 60,
      },
    );
    assert.equal(((await peer.fetch(q)).json['file'] as unknown[]).length, 0, 'not handed out twice');
    assert.equal((await result(id)).InvokeInstances.InvokeInstance[0]!.InvocationStatus, 'Running');
    const rep = await peer.report('finish', `taskId=${id}&status=Success&taskType=sendfile&errorcode=0`);
    assert.equal(rep.status, 200);
    assert.equal((await result(id)).InvocationStatus, 'Success');
    // A late contradicting report changes nothing.
    await peer.report('invalid', `taskId=${id}&taskType=sendfile&param=FileExist&value=peer.txt`);
    assert.equal((await result(id)).InvocationStatus, 'Success');
    const bad = await peer.report('finish', `taskId=${id}&status=Failed&taskType=sendfile&errorcode=9`);
    assert.equal(bad.status, 400);
  });

  it('lists sends with filters and paging', async () => {
    const all = await h.pop.call('DescribeSendFileResults', { InstanceId: agent.instanceId, PageSize: 2 });
    assert.equal(all.TotalCount, 4, 'the four sends to the agent above');
    assert.equal(all.Invocations.Invocation.length, 2);
    const named = await h.pop.call('DescribeSendFileResults', { Name: 'keep.txt' });
    assert.equal(named.TotalCount, 2);
    const failed = await h.pop.call('DescribeSendFileResults', { InvocationStatus: 'Failed', Name: 'keep.txt' });
    assert.equal(failed.TotalCount, 1);
    const page1 = await h.pop.call('DescribeSendFileResults', { InstanceId: agent.instanceId, MaxResults: 3 });
    const page2 = await h.pop.call('DescribeSendFileResults', {
      InstanceId: agent.instanceId,
      MaxResults: 3,
      NextToken: page1.NextToken,
    });
    const ids = [...page1.Invocations.Invocation, ...page2.Invocations.Invocation].map((i: Send) => i.InvokeId);
    assert.equal(new Set(ids).size, ids.length, 'no send on two pages');
  });
});
