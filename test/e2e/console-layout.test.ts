// The console's stylesheet does what its markup relies on, checked in Debian's Chromium: the live
// announcer is off-screen, the skip link appears only on keyboard focus, the selected tab looks
// selected, failure and success are coloured apart, and `hidden` hides even flex rows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startControlPlane } from '../harness/control-plane.js';
import { openConsole, openTab, screenshot, signIn } from './console-helpers.js';

describe('console layout', { timeout: 60_000 }, () => {
  it('hides what is for screen readers and marks the selected tab and statuses', async (t) => {
    const h = await startControlPlane(t);
    const page = await openConsole(t, h);

    const skip = page.getByRole('link', { name: 'Skip to content' });
    const above = await skip.boundingBox();
    assert.ok(above && above.y + above.height <= 0, `skip link off-screen before focus (${JSON.stringify(above)})`);
    await page.keyboard.press('Tab');
    const focused = await skip.boundingBox();
    assert.ok(focused && focused.y >= 0, `skip link on screen when focused (${JSON.stringify(focused)})`);

    await signIn(page, h);
    // The page heading (and the window title) name the open tab.
    const heading = page.getByRole('heading', { level: 2 });
    assert.equal(await heading.innerText(), 'Run command');
    for (const tab of ['Commands', 'Results', 'Managed instances', 'Activation codes', 'File sends']) {
      await openTab(page, tab);
      assert.equal(await heading.innerText(), tab);
      assert.equal(await page.title(), `${tab} · Open Cloud Assistant`);
    }
    await page.getByRole('tab', { name: 'File sends' }).press('Home'); // the keyboard path too
    assert.equal(await heading.innerText(), 'Run command');
    assert.equal(await page.getByRole('region', { name: 'Run command' }).count(), 1, 'the section is named by it');

    const announcer = await page.locator('#announcer').boundingBox();
    assert.ok(announcer && announcer.width <= 1 && announcer.height <= 1, 'the announcer takes no space');

    const background = (name: string) =>
      page.getByRole('tab', { name }).evaluate((el) => getComputedStyle(el).backgroundColor);
    await page.mouse.move(0, 0);
    assert.notEqual(await background('Run command'), await background('Commands'), 'the selected tab stands out');
    await openTab(page, 'Commands');
    await page.getByRole('tab', { name: 'Commands' }).hover();
    assert.notEqual(await background('Commands'), await background('Run command'), 'still when hovered');

    // dom.ts status() classes: ok (Success), bad (Failed), busy (Running).
    const colours = await page.evaluate(() =>
      ['ok', 'bad', 'busy', ''].map((c) => {
        const s = document.createElement('span');
        s.className = `status ${c}`.trim();
        document.body.append(s);
        const colour = getComputedStyle(s).color;
        s.remove();
        return colour;
      }),
    );
    assert.equal(new Set(colours).size, 4, `four distinct status colours: ${colours.join(', ')}`);

    await openTab(page, 'Run command');
    assert.equal(await page.locator('[data-freq=at]').isVisible(), false, 'a hidden .row stays hidden');
    await screenshot(page, 'run-command');
  });
});
