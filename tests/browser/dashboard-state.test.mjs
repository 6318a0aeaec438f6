// Honest state (issue 25, item 5): while the gateway is unreachable the page greys every panel of
// live data and says since when ("last seen"), and comes back when the gateway does; transcription
// shows "Starting…" / "Stopping…" and a second page opened later shows the real state; watching a
// name nobody is in shows no room to other pages.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { GatewayClient } from '../../clients/js/dist/node.js';
import { ARTIFACTS, freshRoom, startGateway } from '../../clients/js/test/helpers/gateway.mjs';
import { openPage, startGatewayAndBrowser } from './browser.mjs';

let gateway;
let browser;

before(async () => {
  ({ gateway, browser } = await startGatewayAndBrowser('state-gateway'));
});

after(async () => {
  await browser?.close();
  const code = await gateway?.stop();
  assert.ok(!gateway.log().includes('Traceback'), `the gateway logged a traceback; see ${gateway.logPath}`);
  assert.equal(code, 0);
});

/** The browser's own reports of a refused connection, expected while the gateway is down. */
const refused = (problem) => /ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/.test(problem);

test('the gateway goes away: every live panel greys, a banner and the top bar say "last seen"; it comes back: all restored', async (t) => {
  let own = await startGateway({ name: 'offline-gateway' });
  const { context, page, problems } = await openPage(browser, own);
  try {
    await page.waitForSelector('.card[data-name="Demo Talker"]', { timeout: 10_000 });
    assert.equal(await page.getAttribute('body', 'data-online'), 'true');
    assert.equal(await page.isHidden('#offline-banner'), true);
    assert.equal(await page.$eval('#panel-stage', (node) => getComputedStyle(node).opacity), '1');

    assert.equal(await own.stop(), 0);
    await page.waitForSelector('body[data-online="false"]', { timeout: 10_000 });
    assert.equal(await page.isVisible('#offline-banner'), true);
    assert.match(await page.textContent('#last-seen'), /^\d\d:\d\d:\d\d$/);
    assert.match(await page.textContent('#conn-text'), /^unreachable · last seen \d\d:\d\d:\d\d/);
    for (const panel of ['#panel-rooms', '#panel-stage', '#panel-side']) {
      assert.ok(Number(await page.$eval(panel, (node) => getComputedStyle(node).opacity)) < 0.7, `${panel} is not greyed`);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-offline.png') });

    own = await startGateway({ name: 'offline-gateway-again', port: own.port });
    await page.waitForSelector('body[data-online="true"]', { timeout: 15_000 });
    assert.equal(await page.isHidden('#offline-banner'), true);
    assert.match(await page.textContent('#conn-text'), /^connected/);
    // The observer watches again: the demo talker's card is back and speaking.
    await page.waitForSelector('.card.speaking[data-name="Demo Talker"]', { timeout: 15_000 });
    assert.equal(await page.$eval('#panel-stage', (node) => getComputedStyle(node).opacity), '1');
    assert.deepEqual(problems.filter((p) => !refused(p)), []);
  } finally {
    const unexpected = problems.filter((p) => !refused(p));
    if (unexpected.length) t.diagnostic(`page problems: ${unexpected.join(' | ')}`);
    await context.close();
    await own.stop();
  }
});

test('transcription: the button says "Starting…" then "Stop transcription"; a page opened later shows it running; stopping shows "Stopping…" then "Start" on both', async (t) => {
  const room = freshRoom('transcribe');
  const first = await openPage(browser, gateway, `?room=${encodeURIComponent(room)}`);
  let second;
  try {
    const { page } = first;
    await page.fill('#join-room', room);
    await page.fill('#join-name', 'speaker');
    await page.click('#join-btn');
    await page.waitForSelector('#me:not([hidden])', { timeout: 15_000 });
    await page.click('.tab[data-tab="transcript"]');
    // Every state the button goes through, from the click on.
    await page.evaluate(() => {
      window.seenStates = [];
      const button = document.getElementById('transcribe-btn');
      new MutationObserver(() => window.seenStates.push(button.dataset.state)).observe(button, { attributeFilter: ['data-state'] });
    });
    await page.click('#transcribe-btn');
    await page.waitForSelector('#transcribe-btn[data-state="on"]', { timeout: 60_000 });
    assert.equal(await page.textContent('#transcribe-btn'), 'Stop transcription');
    assert.equal((await page.evaluate(() => window.seenStates))[0], 'starting');

    second = await openPage(browser, gateway, `?room=${encodeURIComponent(room)}`);
    await second.page.click('.tab[data-tab="transcript"]');
    await second.page.waitForSelector('#transcribe-btn[data-state="on"]', { timeout: 8000 });
    assert.match(await second.page.textContent('#transcribe-state'), /^Transcribing/);

    await page.evaluate(() => (window.seenStates = []));
    await page.click('#transcribe-btn');
    await page.waitForSelector('#transcribe-btn[data-state="off"]', { timeout: 30_000 });
    assert.equal((await page.evaluate(() => window.seenStates))[0], 'stopping');
    await second.page.waitForSelector('#transcribe-btn[data-state="off"]', { timeout: 8000 });
    assert.equal(await second.page.textContent('#transcribe-btn'), 'Start transcription');
    assert.deepEqual(first.problems, []);
    assert.deepEqual(second.problems, []);
  } finally {
    if (first.problems.length) t.diagnostic(`page problems: ${first.problems.join(' | ')}`);
    await second?.context.close();
    await first.context.close();
  }
});

test('watching a name nobody is in: the watching page says so, and other pages are shown no such room', async () => {
  const ghost = freshRoom('ghost');
  const watcher = await openPage(browser, gateway);
  const other = await openPage(browser, gateway);
  const lister = new GatewayClient({ url: gateway.url, reconnect: false });
  try {
    await watcher.page.waitForSelector('.card[data-name="Demo Talker"]', { timeout: 10_000 });
    await watcher.page.fill('#watch-room', ghost);
    await watcher.page.click('#watch-form button[type="submit"]');
    await watcher.page.waitForFunction((room) => document.getElementById('room-note').textContent.includes(`Nobody is in ${room} yet`), ghost, { timeout: 10_000 });
    await watcher.page.waitForSelector(`#room-list li.room.selected[data-room="${ghost}"]`, { timeout: 10_000 });
    // The gateway has the room (observing made it), so the other page's list has it too, and hides it.
    await lister.connect();
    const listed = (await lister.listRooms()).find((r) => r.room_url === ghost);
    assert.ok(listed && listed.observers === 1 && Object.keys(listed.participants).length === 0, 'the gateway did not list the watched room');
    await other.page.waitForSelector('#room-list li.room[data-room="local://demo"]', { timeout: 10_000 });
    await other.page.waitForFunction(() => /empty room/.test(document.getElementById('rooms-hidden').textContent), null, { timeout: 6000 });
    assert.equal(await other.page.locator(`#room-list li[data-room="${ghost}"]`).count(), 0, 'another page shows the phantom room');
    assert.deepEqual(watcher.problems, []);
    assert.deepEqual(other.problems, []);
  } finally {
    await lister.close();
    await watcher.context.close();
    await other.context.close();
  }
});
