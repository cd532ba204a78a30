// The console's terminal in Debian's Chromium: Connect on a managed instance opens xterm.js on a
// real session with the real agent; typing `echo hi` shows `hi`; the terminal follows the window
// size; the sessions list ends a session with its End button; a recorded session replays.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { openConsole, openTab, screenshot, signIn } from './console-helpers.js';

describe('console terminal', () => {
  let h: TestControlPlane;
  let agent: TestAgent;
  let page: Page;
  const cspErrors: string[] = [];
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup, { sessions: { record: true } });
    agent = await startAgent(cleanup, h, { instanceName: 'term-box' });
    page = await openConsole(cleanup, h);
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) {
        cspErrors.push(m.text());
      }
    });
    await signIn(page, h);
  });

  const screen = () => page.locator('#terminal .xterm-rows').innerText();

  /** Types a line into the terminal until `marker` shows (the first keys may beat the prompt). */
  async function typeUntil(line: string, marker: RegExp): Promise<void> {
    await eventually(
      async () => {
        await page.locator('#terminal .xterm').click();
        await page.keyboard.type(line);
        await page.keyboard.press('Enter');
        return eventually(async () => marker.test(await screen()), { timeoutMs: 3_000, what: line });
      },
      { what: `${line} to show ${marker}` },
    );
  }

  it('opens a terminal from Connect: echo hi shows hi, and stty size follows the window', async () => {
    const instances = await openTab(page, 'Managed instances');
    await instances.getByRole('button', { name: `Connect to ${agent.instanceId}` }).click();
    await page.getByRole('tab', { name: 'Sessions', selected: true }).waitFor();
    await page.locator('#terminal .xterm').waitFor();
    await typeUntil('echo hi', /^hi\s*$/m);
    await typeUntil('stty size', /^\d+ \d+\s*$/m);
    const before = /^(\d+) (\d+)\s*$/m.exec(await screen())!;
    await page.setViewportSize({ width: 800, height: 600 });
    await eventually(
      async () => {
        await typeUntil('clear; stty size', /^\d+ \d+\s*$/m);
        const now = /^(\d+) (\d+)\s*$/m.exec(await screen());
        return now !== null && Number(now[2]) < Number(before[2]);
      },
      { what: 'fewer columns after the window shrank' },
    );
    await screenshot(page, 'session-terminal');
    assert.deepEqual(cspErrors, []);
  });

  it('lists the session and ends it with its End button', async () => {
    const d = (await h.pop.call('DescribeTerminalSessions', { InstanceId: agent.instanceId })) as {
      Sessions: { Session: { SessionId: string; Status: string }[] };
    };
    const open = d.Sessions.Session.find((s) => s.Status !== 'Ended')!;
    const sessions = await openTab(page, 'Sessions');
    await sessions.getByRole('button', { name: 'Refresh' }).click();
    await sessions.getByRole('button', { name: `End ${open.SessionId}` }).click();
    await eventually(async () => (await screen()).includes('[session closed: Exit]'), {
      what: 'the terminal to close',
    });
    const after = (await h.pop.call('DescribeTerminalSessions', { SessionId: open.SessionId })) as {
      Sessions: { Session: { Status: string; EndReason: string }[] };
    };
    assert.equal(after.Sessions.Session[0]?.EndReason, 'EndedByUser');
  });

  it('replays the recorded session in the page', async () => {
    const d = (await h.pop.call('DescribeTerminalSessions', { InstanceId: agent.instanceId })) as {
      Sessions: { Session: { SessionId: string; Recorded: boolean }[] };
    };
    const recorded = d.Sessions.Session.find((s) => s.Recorded)!;
    assert.ok(recorded, 'a recorded session');
    const sessions = await openTab(page, 'Sessions');
    await sessions.getByRole('button', { name: 'Refresh' }).click();
    await sessions.getByRole('button', { name: `Replay ${recorded.SessionId}` }).click();
    await eventually(async () => /^hi\s*$/m.test(await screen()), { what: 'the recorded echo hi' });
    await screenshot(page, 'session-replay');
  });
});
