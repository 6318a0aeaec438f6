// The event log as a debugging tool (issue 25, item 3): it follows new lines until the user scrolls
// up, then offers "Jump to latest"; it keeps following across a tab switch; a line opens to its
// event's whole payload; a room column and a room filter; a click on a card shows only that
// participant's events; and with level lines on it keeps far more than 40 s of events.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { DEMO_WAV, freshRoom, sleep, startPeer } from '../../clients/js/test/helpers/gateway.mjs';
import { openPage, startGatewayAndBrowser } from './browser.mjs';

let gateway;
let browser;

before(async () => {
  ({ gateway, browser } = await startGatewayAndBrowser('log-gateway'));
});

after(async () => {
  await browser?.close();
  const code = await gateway?.stop();
  assert.ok(!gateway.log().includes('Traceback'), `the gateway logged a traceback; see ${gateway.logPath}`);
  assert.equal(code, 0);
});

/** How far (px) the log is from showing its newest line. */
const fromBottom = () => {
  const log = document.getElementById('log');
  return log.scrollHeight - log.clientHeight - log.scrollTop;
};

async function openDemo() {
  const opened = await openPage(browser, gateway);
  await opened.page.waitForSelector('.card[data-name="Demo Talker"]', { timeout: 10_000 });
  return opened;
}

test('the log follows new lines, also after another tab was shown; scrolling up stops it and "Jump to latest" brings it back', async (t) => {
  const { context, page, problems } = await openDemo();
  try {
    await page.check('#log-levels'); // ten lines a second
    await page.waitForFunction(() => document.querySelectorAll('#log li').length > 80, null, { timeout: 15_000 });
    assert.ok(await page.evaluate(fromBottom) < 30, 'not at the newest line while following');
    // Another tab for a while, then back: still at the newest line (it used to stay where it was).
    await page.click('.tab[data-tab="transcript"]');
    await sleep(1500);
    await page.click('.tab[data-tab="log"]');
    await page.waitForFunction((px) => (() => { const l = document.getElementById('log'); return l.scrollHeight - l.clientHeight - l.scrollTop; })() < px, 30, { timeout: 3000 });
    assert.equal(await page.isHidden('#log-jump'), true);
    // The user scrolls up: the log stays there, and offers to jump.
    const box = await page.locator('#log').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -600);
    await page.waitForSelector('#log-jump:not([hidden])', { timeout: 3000 });
    const top = await page.$eval('#log', (l) => l.scrollTop);
    await sleep(1200);
    assert.ok(Math.abs((await page.$eval('#log', (l) => l.scrollTop)) - top) < 40, 'the log moved while the user read it');
    assert.ok(await page.evaluate(fromBottom) > 100, 'the log went back to the newest line by itself');
    await page.click('#log-jump');
    await page.waitForFunction(() => document.getElementById('log-jump').hidden, null, { timeout: 3000 });
    await sleep(800);
    assert.ok(await page.evaluate(fromBottom) < 30, 'not following again after "Jump to latest"');
    assert.deepEqual(problems, []);
  } finally {
    if (problems.length) t.diagnostic(`page problems: ${problems.join(' | ')}`);
    await context.close();
  }
});

test('with level lines on, the log keeps 1000 of them (100 s at 10 a second) and still the events before them', async () => {
  const { context, page, problems } = await openDemo();
  try {
    await page.waitForSelector('#log li[data-kind="client"]', { timeout: 5000 });
    await page.check('#log-levels');
    // 1000 audio-levels events through the observer's own event path (the SDK's server-event), as the
    // gateway's would arrive over 100 s; the old single budget of 400 lines kept 40 s.
    await page.evaluate(() => {
      const observer = window.dashboard.observer;
      const id = [...window.dashboard.participants.keys()][0];
      for (let i = 0; i < 1000; i++) {
        observer.emit('server-event', { event: 'audio-levels', data: { levels: [{ track: 16, participant_id: id, level: 0.01, speaking: false }] } });
      }
    });
    const levels = await page.locator('#log li[data-kind="levels"]').count();
    assert.ok(levels >= 1000, `only ${levels} level lines kept`);
    assert.equal(await page.locator('#log li[data-kind="client"]', { hasText: 'watching local://demo' }).count(), 1, 'the first note was pushed out by level lines');
    assert.ok(await page.locator('#log li[data-event="track-started"]').count() >= 1, 'the track-started line was pushed out by level lines');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('a line opens to the event\'s whole payload (click or Enter), in plain words when closed', async () => {
  const { context, page, problems } = await openDemo();
  try {
    const row = page.locator('#log li[data-event="speech-started"]').first();
    await row.waitFor({ timeout: 12_000 });
    const summary = await row.locator('.d').textContent();
    assert.equal(summary, 'Demo Talker started speaking');
    const button = row.locator('button.row');
    assert.equal(await button.getAttribute('aria-expanded'), 'false');
    await button.click();
    assert.equal(await button.getAttribute('aria-expanded'), 'true');
    const payload = JSON.parse(await row.locator('.payload').textContent());
    assert.equal(typeof payload.track, 'number', 'the track number is in the payload');
    assert.equal(typeof payload.offset_ms, 'number', 'the offset is in the payload');
    assert.equal(payload.participant_id, await page.getAttribute('.card[data-name="Demo Talker"]', 'data-participant-id'));
    await button.focus();
    await page.keyboard.press('Enter');
    assert.equal(await row.locator('.payload').count(), 0, 'Enter did not close the line');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('a room column and a room filter: lines of a room watched before stay, marked, and "watched room" hides them', async () => {
  const { context, page, problems } = await openDemo();
  const other = freshRoom('logroom');
  try {
    await page.waitForSelector('#log li[data-room="local://demo"]', { timeout: 5000 });
    assert.equal(await page.locator('#log li[data-room="local://demo"] .r').first().textContent(), 'demo');
    await page.fill('#watch-room', other);
    await page.click('#watch-form button[type="submit"]');
    await page.waitForSelector(`#log li[data-room="${other}"]`, { timeout: 10_000 });
    assert.ok(await page.locator('#log li[data-room="local://demo"]:not([hidden])').count() > 0, 'the demo room\'s lines went away');
    await page.selectOption('#log-room', 'watched');
    assert.equal(await page.locator('#log li[data-room="local://demo"]:not([hidden])').count(), 0, 'the demo room\'s lines show under "watched room"');
    assert.ok(await page.locator(`#log li[data-room="${other}"]:not([hidden])`).count() > 0);
    await page.selectOption('#log-room', 'all');
    assert.ok(await page.locator('#log li[data-room="local://demo"]:not([hidden])').count() > 0);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('a click on a card shows only that participant\'s events; "show everyone" shows all again', async () => {
  const room = freshRoom('who');
  const talker = startPeer(['join', '--url', gateway.url, '--room', room, '--name', 'alice', '--send-wav', DEMO_WAV, '--linger', '40']);
  const quiet = startPeer(['join', '--url', gateway.url, '--room', room, '--name', 'bob', '--linger', '40']);
  const { context, page, problems } = await openPage(browser, gateway, `?room=${encodeURIComponent(room)}`);
  try {
    await talker.next();
    await quiet.next();
    await page.waitForSelector('.card[data-name="alice"]', { timeout: 10_000 });
    await page.waitForSelector('.card[data-name="bob"]', { timeout: 10_000 });
    await page.waitForSelector('#log li[data-event="speech-started"]', { timeout: 15_000 });
    const alice = await page.getAttribute('.card[data-name="alice"]', 'data-participant-id');
    await page.click('.card[data-name="alice"] .name');
    assert.equal(await page.isVisible('#log-who'), true);
    assert.equal(await page.textContent('#log-who-name'), 'alice');
    assert.equal(await page.getAttribute('.card[data-name="alice"] button[aria-pressed]', 'aria-pressed'), 'true');
    const visible = await page.$$eval('#log li:not([hidden])', (rows) => rows.map((r) => r.dataset.people));
    assert.ok(visible.length > 0, 'nothing shown for alice');
    for (const people of visible) assert.ok(people.split(' ').includes(alice), `a line about ${people || 'nobody'} shows under alice`);
    const hiddenCount = await page.locator('#log li[hidden]').count();
    assert.ok(hiddenCount > 0, 'no line was hidden (bob\'s join, the page\'s note)');
    await page.click('#log-who-clear');
    assert.equal(await page.locator('#log li[hidden]').count(), 0);
    assert.equal(await page.isHidden('#log-who'), true);
    assert.deepEqual(problems, []);
  } finally {
    talker.kill();
    quiet.kill();
    await context.close();
  }
});
