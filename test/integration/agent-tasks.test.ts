// The real agent process against the real control plane: parallel commands and the pool limit,
// parameters full of shell metacharacters, Python and Perl scripts, and a 50 MB output with the agent's memory watched.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';

interface Result {
  InvokeId: string;
  InvocationStatus: string;
  InvokeRecordStatus: string;
  ExitCode?: number;
  Output: string;
  Dropped: number;
  ErrorCode: string;
  ErrorInfo: string;
}

const text = (r: Result): string => Buffer.from(r.Output, 'base64').toString('utf8');
const rssMiB = (pid: number): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

describe('agent tasks against the control plane', { timeout: 120_000 }, () => {
  let h: TestControlPlane;
  let agent: TestAgent;
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup);
    agent = await startAgent(cleanup, h, { instanceName: 'tasks-box' });
  });

  async function invoke(content: string, extra: Record<string, unknown> = {}): Promise<string> {
    const r = await h.ecs.call('runCommand', {
      regionId: 'cn-local',
      type: 'RunShellScript',
      commandContent: content,
      instanceId: [agent.instanceId],
      timeout: 120,
      ...extra,
    });
    return r.invokeId as string;
  }

  async function result(invokeId: string, timeoutMs = 30_000): Promise<Result> {
    const body = await eventually(() => h.pop.call('DescribeInvocationResults', { InvokeId: invokeId }), {
      until: (x) =>
        ['Finished', 'Failed', 'Stopped'].includes(
          x.Invocation.InvocationResults.InvocationResult[0]?.InvokeRecordStatus,
        ),
      timeoutMs,
      intervalMs: 250,
      what: `invocation ${invokeId} to end`,
    });
    return body.Invocation.InvocationResults.InvocationResult[0] as Result;
  }

  it('runs 20 commands sent at once: all finish with their own output, at most 10 at a time', async () => {
    const t0 = Date.now();
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        invoke(`s=$(date +%s%3N); sleep 1; echo "n=${i} s=$s e=$(date +%s%3N) me=$(id -un)"`),
      ),
    );
    const results = await Promise.all(ids.map((id) => result(id)));
    const wall = Date.now() - t0;
    const spans = results.map((r, i) => {
      assert.equal(r.InvocationStatus, 'Success', `${i}: ${r.ErrorCode} ${r.ErrorInfo}`);
      assert.equal(r.ExitCode, 0);
      const m = /^n=(\d+) s=(\d+) e=(\d+) me=root\n$/.exec(text(r));
      assert.ok(m, `output of ${i}: ${JSON.stringify(text(r))}`);
      assert.equal(Number(m[1]), i, 'each command got its own output');
      return { s: Number(m[2]), e: Number(m[3]) };
    });
    const busiest = Math.max(...spans.map((x) => spans.filter((y) => y.s <= x.s && x.s < y.e).length));
    assert.ok(busiest <= 10, `at most 10 at once, saw ${busiest}`);
    assert.ok(busiest >= 5, `they ran in parallel (${busiest} at once)`);
    assert.ok(wall < 20_000, `20 × 1 s in ${wall} ms`);
  });

  it('passes custom parameters and names full of shell metacharacters through unchanged', async () => {
    const nasty = `it's "$(touch /tmp/oca-pwned)" \`id\` ; | & > < * ? [a] ~ \\ $HOME %s %n \t{end}`;
    const plain = 'a;b|c&d>e<f*g$h`i`(j)';
    const cwd = join(tmpdir(), `oca dir $x;'q' ${Date.now()}`);
    mkdirSync(cwd);
    try {
      const id = await invoke(
        ["cat <<'OCA_EOF'", '{{nasty}}', 'OCA_EOF', `printf '%s\\n' '{{plain}}'`, 'pwd', 'echo "$0"'].join('\n'),
        {
          name: `x; rm -rf "$(pwd)" 'y' ../..`,
          workingDir: cwd,
          enableParameter: true,
          parameters: { nasty, plain },
        },
      );
      const r = await result(id);
      assert.equal(r.InvocationStatus, 'Success', `${r.ErrorCode} ${r.ErrorInfo} ${text(r)}`);
      const [gotNasty, gotPlain, gotCwd, script] = text(r).split('\n');
      assert.equal(gotNasty, nasty);
      assert.equal(gotPlain, plain);
      assert.equal(gotCwd, cwd);
      // The script file name is reduced to safe characters and stays inside the script directory.
      assert.equal(dirname(script!), join(agent.installDir, 'work', 'script'));
      assert.match(basename(script!), /^x__rm_-rf_+pwd_+y__\.\._\.\.-t-\w+\.sh$/);
      assert.throws(() => readFileSync('/tmp/oca-pwned'), 'no command substitution ran');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('runs Python and Perl scripts through their interpreter line, as the console sends them', async () => {
    const scripts = {
      python: ['#!/usr/bin/python3', 'import sys', 'print("py", sys.version_info.major, 6 * 7)'].join('\n'),
      perl: ['#!/usr/bin/perl', 'use strict;', 'printf("pl %d\\n", 6 * 7);', 'exit 4;'].join('\n'),
    };
    const [py, pl] = await Promise.all([invoke(scripts.python), invoke(scripts.perl)]);
    const [pyResult, plResult] = await Promise.all([result(py), result(pl)]);
    assert.equal(text(pyResult), 'py 3 42\n');
    assert.equal(pyResult.ExitCode, 0);
    assert.equal(text(plResult), 'pl 42\n');
    assert.equal(plResult.ExitCode, 4, "the interpreter's exit code is the result");
  });

  it('prints 50 MB: the tail arrives, the count is exact, and the agent stays small', async () => {
    const pid = agent.process!.pid!;
    const before = rssMiB(pid);
    let peak = before;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssMiB(pid));
      } catch {
        // the agent exited: the assertions below fail on the result instead
      }
    }, 50);
    const total = 50 * 1024 * 1024;
    try {
      const id = await invoke(`head -c ${total} /dev/zero | tr '\\0' 'x'; echo; echo THE-END`);
      const r = await result(id, 60_000);
      assert.equal(r.InvocationStatus, 'Success');
      const out = text(r);
      assert.ok(out.endsWith('x\nTHE-END\n'));
      assert.equal(r.Dropped + Buffer.byteLength(out), total + 1 + 'THE-END\n'.length);
    } finally {
      clearInterval(sampler);
    }
    console.log(`agent RSS: ${before.toFixed(1)} MiB before, ${peak.toFixed(1)} MiB peak during 50 MB of output`);
    assert.ok(peak < 200, `agent RSS peaked at ${peak.toFixed(1)} MiB`);
    assert.ok(peak - before < 100, `grew by ${(peak - before).toFixed(1)} MiB`);
  });
});
