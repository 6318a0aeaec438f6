// The gateway's sessions (bots) and Daily rooms in the dashboard, in headless Chromium: a gateway
// whose Daily backend runs on the fake daily-python (tests/fakes/daily_remote.py) lists a Daily room
// like a local one, with its participants and the bot in it; watching the room goes through the
// bot (levels and speech of the remote participant); a click on a bot watches it. A local bot is
// listed under its room and watched the same way.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { ARTIFACTS, freshRoom, ROOT, startGateway, startPeer, startPython } from '../../clients/js/test/helpers/gateway.mjs';
import { ARGS, CHROMIUM, openPage } from './browser.mjs';

const CONTROL = join(ARTIFACTS, `fake-daily-${randomBytes(3).toString('hex')}.port`);
const DAILY_ROOM = join(ROOT, 'tests', 'browser', 'daily_room.py');

let gateway;
let browser;

before(async () => {
  gateway = await startGateway({
    name: 'bots-gateway',
    env: { GATEWAY_DAILY_SDK: 'tests.fakes.daily_remote:make_sdk', FAKE_DAILY_CONTROL_FILE: CONTROL, GATEWAY_BACKENDS: 'local,daily' },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
});

after(async () => {
  await browser?.close();
  const code = await gateway?.stop();
  assert.ok(!gateway.log().includes('Traceback'), `the gateway logged a traceback; see ${gateway.logPath}`);
  assert.equal(code, 0);
});

/** Levels of a card over ~3 s: they must move and rise above silence. */
async function levelsMove(card) {
  const levels = [];
  for (let i = 0; i < 20; i++) {
    levels.push(Number(await card.getAttribute('data-level')));
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return { distinct: new Set(levels.map((l) => l.toFixed(3))).size, max: Math.max(...levels) };
}

test('a Daily room is listed like a local one and watched through the bot in it; a click on the bot watches it', async () => {
  const room = `https://example.daily.co/browser-${randomBytes(5).toString('hex')}`;
  const driver = startPython(DAILY_ROOM, ['--url', gateway.url, '--control', CONTROL, '--room', room, '--seconds', '60']);
  let context;
  try {
    const ready = await driver.next(30_000);
    const { alice } = await driver.next(30_000);
    const opened = await openPage(browser, gateway, `?room=${encodeURIComponent(room)}`);
    context = opened.context;
    const { page, problems } = opened;
    const item = page.locator(`#room-list [data-room="${room}"]`);
    await item.waitFor({ timeout: 10_000 });
    assert.equal(await item.getAttribute('data-backend'), 'daily');
    await page.waitForFunction((url) => document.querySelector(`#room-list [data-room="${url}"] .sub`)?.textContent.includes('alice'), room, { timeout: 10_000 });
    const sub = await item.locator('.sub').textContent();
    assert.match(sub, /^daily · 2 in room/);
    const bot = item.locator(`[data-session="${ready.session_id}"]`);
    await bot.waitFor({ timeout: 10_000 });
    assert.equal((await bot.locator('.bot-name').textContent()).trim(), 'daily-bot');

    // Watching the room (the page's ?room=): through the bot, which the header and the list name.
    await page.waitForFunction(() => document.getElementById('room-title').textContent.includes('as daily-bot'), null, { timeout: 10_000 });
    await page.waitForSelector(`#room-list [data-room="${room}"].selected [data-session="${ready.session_id}"].through`, { timeout: 10_000 });
    assert.equal(await page.locator('#room-title').getAttribute('data-session'), ready.session_id);
    const card = page.locator(`.card[data-participant-id="${alice}"]`);
    await card.waitFor({ timeout: 10_000 });
    assert.equal(await card.getAttribute('data-name'), 'alice');
    await page.locator(`.card.watched[data-participant-id="${ready.participant_id}"]`).waitFor({ timeout: 10_000 });
    const { distinct, max } = await levelsMove(card);
    assert.ok(distinct >= 4, `alice's level does not move (${distinct} distinct values)`);
    assert.ok(max > 0.01, `alice's level never rises above silence: ${max}`);
    await page.waitForSelector(`.card.speaking[data-participant-id="${alice}"]`, { timeout: 12_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-daily-room.png') });

    // The bot itself: a click watches it (observe {session_id}), and its entry is the selected one.
    await bot.click();
    await page.waitForSelector(`#room-list [data-session="${ready.session_id}"].selected`, { timeout: 10_000 });
    await page.waitForFunction(() => new URL(location.href).searchParams.get('session') !== null, null, { timeout: 5_000 });
    await card.waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => window.dashboard.counters.speechStarted > 0, null, { timeout: 12_000 });
    assert.deepEqual(problems, []);
  } finally {
    driver.kill();
    await context?.close();
  }
});

test('a local bot is listed under its room; watching it marks it and shows who it hears', async () => {
  const room = freshRoom('bots');
  const peer = startPeer(['join', '--url', gateway.url, '--room', room, '--name', 'local-bot', '--linger', '40']);
  const talker = startPeer(['join', '--url', gateway.url, '--room', room, '--name', 'talker', '--linger', '40']);
  const { context, page, problems } = await openPage(browser, gateway);
  try {
    const { participant_id: botParticipant } = await peer.next();
    await talker.next();
    const entry = page.locator(`#room-list [data-room="${room}"] .session`).filter({ hasText: 'local-bot' });
    await entry.waitFor({ timeout: 10_000 });
    await entry.click();
    await page.waitForFunction(() => document.getElementById('room-title').textContent.includes('as local-bot'), null, { timeout: 10_000 });
    await page.locator(`.card.watched[data-participant-id="${botParticipant}"]`).waitFor({ timeout: 10_000 });
    await page.locator('.card[data-name="talker"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('.card.watched').count(), 1);
    assert.deepEqual(problems, []);
  } finally {
    peer.kill();
    talker.kill();
    await context.close();
  }
});
