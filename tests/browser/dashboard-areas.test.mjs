// The dashboard's modules and areas in headless Chromium: every ES module under
// clients/dashboard loads (as JavaScript, no failed request, no page error), and each feature's
// area renders from the live demo room: connection, room list, the watched room's header and
// cards, the timeline, the event log and its filter, the side tabs, the join bar and the phone.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';

import { freshRoom, ROOT } from '../../clients/js/test/helpers/gateway.mjs';
import { openPage, startGatewayAndBrowser } from './browser.mjs';

const DASHBOARD = join(ROOT, 'clients', 'dashboard');

let gateway;
let browser;

before(async () => {
  ({ gateway, browser } = await startGatewayAndBrowser('areas-gateway'));
});

after(async () => {
  await browser?.close();
  const code = await gateway?.stop();
  assert.ok(!gateway.log().includes('Traceback'), `the gateway logged a traceback; see ${gateway.logPath}`);
  assert.equal(code, 0);
});

/** Every .js file under clients/dashboard, as its path under /dashboard/. */
function moduleFiles(folder = DASHBOARD) {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return moduleFiles(path);
    return entry.name.endsWith('.js') ? [relative(DASHBOARD, path).split('\\').join('/')] : [];
  });
}

/** Bright pixels (a voice activity bar) in the timeline's plot, inside the first lane. */
function timelineBarPixels() {
  const canvas = document.getElementById('timeline');
  const ratio = window.devicePixelRatio || 1;
  const ctx = canvas.getContext('2d');
  const x0 = Math.ceil(122 * ratio);
  const x1 = Math.floor(canvas.width - 16 * ratio);
  const y = Math.round(21 * ratio); // the middle of lane 1 (8 px top + 26 px lanes)
  if (x1 <= x0) return 0;
  const row = ctx.getImageData(x0, y, x1 - x0, 1).data;
  let bright = 0;
  for (let i = 0; i < row.length; i += 4) if (row[i + 3] > 0 && row[i] + row[i + 1] + row[i + 2] > 300) bright += 1;
  return bright;
}

test('every module under clients/dashboard loads as JavaScript from /dashboard/, with no failed request or page error', async () => {
  const { context, page, problems, responses } = await openPage(browser, gateway);
  try {
    // page.goto waited for the load event, which follows the module graph: its failures are in.
    assert.deepEqual(problems, [], 'the page did not load cleanly');
    assert.equal(await page.evaluate(() => typeof window.dashboard), 'object', 'main.js did not run');
    const prefix = `${gateway.httpUrl}/dashboard/`;
    const loaded = responses.filter((r) => r.url.startsWith(prefix) && r.url.endsWith('.js'));
    for (const r of loaded) {
      assert.equal(r.status, 200, `${r.url} answered ${r.status}`);
      assert.match(r.contentType, /^text\/javascript/, `${r.url} is served as ${r.contentType}`);
    }
    // Each file on disk is a module the page imports (no dead file), and nothing else is asked for.
    assert.deepEqual(loaded.map((r) => r.url.slice(prefix.length)).sort(), moduleFiles().sort());
    assert.ok(responses.some((r) => r.url === `${gateway.httpUrl}/sdk/index.js` && r.status === 200), 'the SDK was not loaded from /sdk/');
    // And the page then runs: it watches the demo room without an error.
    await page.waitForSelector('.card[data-name="Demo Talker"]', { timeout: 10_000 });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('each area renders from the demo room: connection, rooms, header and cards, timeline, event log, tabs, join bar, phone', async (t) => {
  const { context, page, problems } = await openPage(browser, gateway);
  try {
    // The connection (directory.js): connected, and the server's name, version and protocol.
    await page.waitForSelector('#conn[data-state="connected"]', { timeout: 10_000 });
    assert.equal(await page.textContent('#conn-text'), `connected · ${new URL(gateway.httpUrl).host}`);
    await page.waitForFunction(() => document.getElementById('server-info').textContent.includes(' · '), null, { timeout: 5000 });

    // The room list (room-list.js): the demo room, picked when nothing was asked for, and in the URL.
    await page.waitForSelector('#room-list li.room.selected[data-room="local://demo"]', { timeout: 10_000 });
    assert.ok(Number(await page.textContent('#room-count')) >= 1);
    // This page's own observer is not counted among those watching (issue 25, plain words).
    await page.waitForFunction(() => document.querySelector('#room-list li.selected .sub')?.textContent === 'local · 1 in room · Demo Talker', null, { timeout: 5000 });
    assert.equal(new URL(page.url()).searchParams.get('room'), 'local://demo');

    // The room view (room-view.js): header, and the demo talker's card with avatar, badges, meter.
    const card = page.locator('.card[data-name="Demo Talker"]');
    await card.waitFor({ timeout: 10_000 });
    assert.equal(await page.textContent('#room-title'), 'local://demo');
    await page.waitForFunction(() => document.getElementById('room-meta').textContent.startsWith('1 participant'), null, { timeout: 5000 });
    assert.equal(await page.isHidden('#cards-empty'), true, 'the empty-room hint shows beside a card');
    assert.equal(await card.locator('.avatar').textContent(), 'DT');
    assert.equal(await card.locator('.badge.demo').isVisible(), true, 'the demo badge is hidden');
    assert.equal(await card.locator('.badge.you').isHidden(), true, 'the observer is marked as you');
    assert.match(await card.locator('.stat').textContent(), /^microphone (on|off|starting)/);

    // The timeline (timeline.js): one lane, and a bar drawn once the talker has spoken.
    assert.equal(await page.$eval('#timeline', (c) => c.style.height), '58px');
    await page.waitForSelector('.card.speaking[data-name="Demo Talker"]', { timeout: 12_000 });
    await page.waitForFunction(timelineBarPixels, null, { timeout: 5000 });

    // The event log (event-log.js): the page's note, speech events, and the filter hiding the rest.
    await page.waitForSelector('#log li[data-event="speech-started"]', { timeout: 12_000 });
    const note = page.locator('#log li[data-kind="client"]', { hasText: 'watching local://demo (1 in room)' });
    assert.equal(await note.count(), 1);
    assert.ok(Number(await page.textContent('#log-count')) >= 2);
    await page.fill('#log-filter', 'watching local://demo');
    assert.equal(await page.locator('#log li:not([hidden])').count(), 1, 'the filter keeps only the matching line');
    await page.fill('#log-filter', '');
    assert.ok(await page.locator('#log li:not([hidden])').count() >= 2, 'clearing the filter shows every line again');

    // The side tabs (tabs.js), each pane in its empty state.
    for (const [tab, visible] of [['transcript', '#transcript-empty'], ['messages', '#send-form'], ['phone', '#phone-register-form'], ['log', '#log-filter']]) {
      await page.click(`.tab[data-tab="${tab}"]`);
      assert.equal(await page.locator('.tab.active').getAttribute('data-tab'), tab);
      assert.equal(await page.locator('.tabpane.active').getAttribute('data-pane'), tab);
      assert.equal(await page.isVisible(visible), true, `${visible} is not shown in the ${tab} tab`);
    }

    // Messages and transcription (messages.js, transcript.js) ask you to join first.
    await page.click('.tab[data-tab="messages"]');
    await page.fill('#send-text', 'hello');
    await page.click('#send-btn');
    await page.waitForSelector('#toast:not([hidden]):has-text("join the room to send app messages")', { timeout: 5000 });

    // The join bar (join.js): the watched room as its placeholder, your controls hidden until you join.
    assert.equal(await page.getAttribute('#join-room', 'placeholder'), 'local://demo');
    assert.equal(await page.isHidden('#me'), true);

    // The phone (phone.js): not registered, every key disabled.
    assert.equal(await page.getAttribute('#phone', 'data-state'), 'off');
    assert.equal(await page.locator('#keypad .key').count(), 12);
    assert.equal(await page.locator('#keypad .key:disabled').count(), 12);

    // The state people inspect keeps its shape.
    const shape = await page.evaluate(() => ({
      selected: window.dashboard.selected,
      participants: window.dashboard.participants.size,
      phone: window.dashboard.phone.state,
      counters: Object.keys(window.dashboard.counters).sort(),
    }));
    assert.deepEqual(shape, {
      selected: 'local://demo', participants: 1, phone: 'off',
      counters: ['events', 'levels', 'messages', 'speechStarted', 'speechStopped', 'transcripts'],
    });
    assert.deepEqual(problems, []);
  } finally {
    if (problems.length) t.diagnostic(`page problems: ${problems.join(' | ')}`); // why a wait timed out
    await context.close();
  }
});

test('watching another room clears the cards and lane, moves the selection and the URL, and watching the demo again restores it', async (t) => {
  const { context, page, problems } = await openPage(browser, gateway);
  const other = freshRoom('watch');
  try {
    await page.waitForSelector('.card[data-name="Demo Talker"]', { timeout: 10_000 });
    await page.fill('#watch-room', other);
    await page.click('#watch-form button[type="submit"]');
    await page.waitForFunction((room) => document.getElementById('room-title').textContent === room, other, { timeout: 5000 });
    await page.waitForSelector('#cards-empty:not([hidden])', { timeout: 5000 });
    assert.equal(await page.locator('.card').count(), 0, 'the demo talker\'s card stayed after switching rooms');
    assert.equal(await page.$eval('#timeline', (c) => c.style.height), '58px');
    assert.equal(await page.evaluate(timelineBarPixels), 0, 'the demo talker\'s lane stayed after switching rooms');
    assert.equal(new URL(page.url()).searchParams.get('room'), other);
    await page.waitForSelector(`#room-list li.room.selected[data-room="${other}"]`, { timeout: 10_000 });
    assert.equal(await page.locator('#room-list li.room.selected').count(), 1);
    assert.match(await page.textContent('#room-meta'), /^0 participants/);

    await page.click('#room-list li[data-room="local://demo"]');
    await page.waitForSelector('.card[data-name="Demo Talker"]', { timeout: 10_000 });
    await page.waitForSelector('#room-list li.room.selected[data-room="local://demo"]', { timeout: 5000 });
    assert.equal(await page.textContent('#room-title'), 'local://demo');
    assert.deepEqual(problems, []);
  } finally {
    if (problems.length) t.diagnostic(`page problems: ${problems.join(' | ')}`); // why a wait timed out
    await context.close();
  }
});
