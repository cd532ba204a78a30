import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  buildHeartbeatQuery,
  buildReportQuery,
  buildTaskListQuery,
  clampHeartbeatInterval,
  formatKick,
  goQueryEscape,
  HybridHeader,
  hybridHeaders,
  hybridSignatureInput,
  type Kick,
  parseKick,
  parseRegisterRequest,
  parseReportQuery,
  parseTaskListQuery,
  parseTaskListResponse,
  userAgent,
  verifyHybrid,
} from './index.js';

describe('kick grammar', () => {
  it('round-trips every kick form', () => {
    const kicks: Kick[] = [
      { type: 'all' },
      { type: 'noop' },
      { type: 'task', action: 'run', id: 't-1' },
      { type: 'task', action: 'stop', id: 't-2' },
      { type: 'file', action: 'create', id: 't-3' },
      { type: 'session', action: 'start', id: 'c-1' },
      { type: 'agent', action: 'update' },
    ];
    for (const k of kicks) {
      assert.deepEqual(parseKick(formatKick(k)), k);
    }
    assert.equal(formatKick({ type: 'task', action: 'run', id: 't-1' }), 'kick_vm task run t-1');
  });
  it('refuses what the stock agent answers with unknow:', () => {
    for (const bad of [
      'kick_vm task',
      'kick_vm task run',
      'kick_vm bogus',
      'kick_vm task jump t-1',
      'hello',
      'kick_vm  task run t-1',
      'kick_vm agent explode',
    ]) {
      assert.equal(parseKick(bad), undefined, bad);
    }
  });
});

describe('task list', () => {
  it('builds the stock query order, cold_start only at startup', () => {
    assert.equal(
      buildTaskListQuery({
        reason: 'startup',
        coldStart: true,
        currentTime: 1,
        offset: 28800,
        timeZone: 'Asia/Shanghai',
      }),
      'reason=startup&cold_start=true&currentTime=1&offset=28800&timeZone=Asia%2FShanghai',
    );
    assert.equal(
      buildTaskListQuery({ reason: 'kickoff', taskId: 't-9', currentTime: 2, offset: 0, timeZone: 'UTC' }),
      'reason=kickoff&taskId=t-9&currentTime=2&offset=0&timeZone=UTC',
    );
    const parsed = parseTaskListQuery(
      new URLSearchParams('reason=kickoff&taskId=t-9&currentTime=1700000000123&offset=0&timeZone=UTC'),
    );
    assert.deepEqual(parsed, {
      ok: true,
      value: { reason: 'kickoff', taskId: 't-9', currentTime: 1700000000123, offset: 0, timeZone: 'UTC' },
    });
    assert.equal(parseTaskListQuery(new URLSearchParams('reason=poll&currentTime=x')).ok, false);
  });
  it('derives repeat from cron, reads null strings as empty, and reports bad fields', () => {
    const r = parseTaskListResponse({
      code: 200,
      instanceId: 'mi-1',
      run: [
        {
          task: {
            taskID: 't-1',
            type: 'RunShellScript',
            commandContent: 'ZWNobw==',
            workingDirectory: null,
            cron: '0 * * * * ?',
          },
          output: {},
        },
      ],
    });
    assert.ok(r.ok);
    assert.equal(r.value.run[0]!.repeat, 'Period');
    assert.equal(r.value.run[0]!.task.workingDirectory, '');
    const bad = parseTaskListResponse({ run: [{ task: { invokeVersion: 'one' }, repeat: 'Weekly' }] });
    assert.ok(!bad.ok);
    assert.deepEqual(
      bad.errors.sort(),
      [
        'run[0].repeat: unknown value Weekly',
        'run[0].task.invokeVersion: expected an integer',
        'run[0].task.taskID: required',
      ].sort(),
    );
  });
});

describe('reports', () => {
  it('uses the stock keys: exitCode, but exitcode on stopped; escapes errDesc like Go', () => {
    assert.equal(
      buildReportQuery({ kind: 'finish', taskId: 't-1', invokeVersion: 0, start: 1, end: 2, exitCode: 3, dropped: 4 }),
      'taskId=t-1&invokeVersion=0&start=1&end=2&exitCode=3&dropped=4',
    );
    assert.equal(
      buildReportQuery({
        kind: 'stopped',
        taskId: 't-1',
        invokeVersion: 1,
        start: 1,
        end: 2,
        exitCode: 0,
        dropped: 0,
        result: 'killed',
      }),
      'taskId=t-1&invokeVersion=1&start=1&end=2&exitcode=0&dropped=0&result=killed',
    );
    const err = buildReportQuery({
      kind: 'error',
      taskId: 't',
      invokeVersion: 0,
      start: 0,
      end: 0,
      exitCode: 0,
      dropped: 0,
      errCode: '-9',
      errDesc: "ScriptFileExisted: a b/c (x)'",
    });
    assert.ok(err.endsWith('&errCode=-9&errDesc=ScriptFileExisted%3A+a+b%2Fc+%28x%29%27'), err);
    assert.equal(goQueryEscape('a b*'), 'a+b%2A');
  });
  it('parses what it builds', () => {
    const q = new URLSearchParams(
      buildReportQuery({
        kind: 'stopped',
        taskId: 't-1',
        invokeVersion: 2,
        start: 1700000000005,
        end: 1700000000006,
        exitCode: 9,
        dropped: 1,
        result: 'completed',
      }),
    );
    assert.deepEqual(parseReportQuery('stopped', q), {
      kind: 'stopped',
      taskId: 't-1',
      invokeVersion: 2,
      start: 1700000000005,
      end: 1700000000006,
      exitCode: 9,
      dropped: 1,
      result: 'completed',
    });
    assert.deepEqual(parseReportQuery('finish', new URLSearchParams('invokeVersion=1')), {
      error: 'taskId is required',
    });
  });
});

describe('register and hybrid signatures', () => {
  it('validates the register body', () => {
    assert.equal(
      parseRegisterRequest({ activationCode: 'a', machineId: 'm', publicKey: 'p', activationId: 'i', tag: [] }).ok,
      true,
    );
    const bad = parseRegisterRequest({ activationCode: 1, tag: [{ value: 'v' }] });
    assert.ok(!bad.ok);
    assert.ok(bad.errors.includes('register.tag[0].key: required'));
    assert.ok(bad.errors.includes('register.activationCode: expected a string'));
  });
  it('signs with RSA-MD5 over instance+machine+timestamp+request id, fresh each time', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const h1 = hybridHeaders({ instanceId: 'mi-1', machineId: 'm-1', privateKeyPem: privateKey, now: 1000 });
    const h2 = hybridHeaders({ instanceId: 'mi-1', machineId: 'm-1', privateKeyPem: privateKey, now: 1000 });
    assert.notEqual(h1[HybridHeader.requestId], h2[HybridHeader.requestId]);
    const input = hybridSignatureInput('mi-1', 'm-1', '1000', h1[HybridHeader.requestId]!);
    assert.equal(verifyHybrid(publicKey, input, h1[HybridHeader.signature]!), true);
    assert.equal(verifyHybrid(publicKey, input.replace('1000', '1001'), h1[HybridHeader.signature]!), false);
    assert.equal(
      hybridHeaders({ instanceId: 'mi', machineId: 'm', privateKeyPem: 'not a key' })[HybridHeader.signature],
      '',
    );
  });
});

describe('heartbeat and user agent', () => {
  it('adds the first-beat parameters only when asked, and clamps the interval', () => {
    const base = { uptime: 1, timestamp: 2, pid: 3, processUptime: 4, index: 0, seqNo: 0 };
    assert.equal(buildHeartbeatQuery(base), 'uptime=1&timestamp=2&pid=3&process_uptime=4&index=0&seq_no=0');
    assert.match(
      buildHeartbeatQuery({
        ...base,
        first: { osVersion: 'Linux_#1 SMP_x86_64', az: 'unknown', machineId: 'm', coldStart: true },
      }),
      /&virt_type=kvm&os_version=Linux_%231\+SMP_x86_64&az=unknown&machineid=m&cold_start=true$/,
    );
    assert.equal(clampHeartbeatInterval(60_000), 60_000);
    assert.equal(
      clampHeartbeatInterval(1000, () => 0),
      55_000,
    );
    assert.equal(
      clampHeartbeatInterval('60000', () => 0.5),
      60_000,
    );
  });
  it('formats User-Agent as GOOS_GOARCH/version', () => {
    assert.equal(userAgent('linux', 'x64', '2.6.0.1'), 'linux_amd64/2.6.0.1');
    assert.equal(userAgent('win32', 'arm64', '1'), 'windows_arm64/1');
  });
});
