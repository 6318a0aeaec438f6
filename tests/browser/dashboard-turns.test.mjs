// Turn latency and history in the dashboard (issue 25, the page halves of items 1 and 2): two bots
// take turns in a room; the page shows each response on the timeline and in its text alternative,
// and the room's response time p50 / p95 in the header, from the gateway's turn events and
// get-turn-stats. A bot that leaves keeps its timeline lane. The History tab lists the sessions
// kept, opens one (its joins, turns and leave in words) and exports it as a JSON file.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { GatewayClient } from '../../clients/js/dist/node.js';
import { ARTIFACTS, DEMO_WAV, freshRoom, readWav, sleep } from '../../clients/js/test/helpers/gateway.mjs';
import { openPage, startGatewayAndBrowser } from './browser.mjs';

let gateway;
let browser;

before(async () => {
  ({ gateway, browser } = await startGatewayAndBrowser('turns-gateway'));
});

after(async () => {
  await browser?.close();
  const code = await gateway?.stop();
  assert.ok(!gateway.log().includes('Traceback'), `the gateway logged a traceback; see ${gateway.logPath}`);
  assert.equal(code, 0);
});

/** A bot in `room` that can say the first `seconds` of the demo WAV, then 1.5 s of silence (so its VAD stops). */
async function speaker(room, name) {
  const speech = readWav(DEMO_WAV);
  const client = new GatewayClient({ url: gateway.url, reconnect: false });
  await client.connect();
  await client.join(room, { user_name: name, audio_out: { sample_rate: speech.sampleRate } });
  return {
    client,
    say(seconds) {
      const spoken = Math.round(seconds * speech.sampleRate) * speech.channels;
      const pcm = new Int16Array(spoken + Math.round(1.5 * speech.sampleRate) * speech.channels);
      pcm.set(speech.samples.subarray(0, spoken));
      return client.sendAudio(pcm);
    },
  };
}

test('two bots take turns: responses on the timeline and in its text, the room\'s p50 / p95 in the header; a bot that leaves keeps its lane', async (t) => {
  const room = freshRoom('turns');
  const alice = await speaker(room, 'alice');
  const bot = await speaker(room, 'answer-bot');
  const { context, page, problems } = await openPage(browser, gateway, `?room=${encodeURIComponent(room)}`);
  try {
    await page.waitForSelector('.card[data-name="answer-bot"]', { timeout: 10_000 });
    await page.waitForFunction(() => window.dashboard.observing, null, { timeout: 10_000 });
    for (let i = 0; i < 2; i++) {
      alice.say(1.5);
      await sleep(2600);
      bot.say(1.5);
      await sleep(2600);
    }
    await page.waitForFunction(() => window.dashboard.turns.some((turn) => turn.kind === 'response'), null, { timeout: 15_000 });
    const turns = await page.evaluate(() => window.dashboard.turns);
    const response = turns.find((turn) => turn.kind === 'response');
    assert.ok(response.gap_ms > 0 && response.gap_ms < 3000, `a response gap of ${response.gap_ms} ms`);
    await page.waitForSelector('#turn-summary:not([hidden])', { timeout: 10_000 });
    assert.match(await page.textContent('#turn-p50'), /^\d+ ms|^\d+\.\d s$/);
    assert.match(await page.textContent('#turn-p95'), /^\d+ ms|^\d+\.\d s$/);
    assert.match(await page.textContent('#turn-count'), /^\d+ responses?$/);
    await page.waitForFunction(() => /Turn: (alice answered answer-bot|answer-bot answered alice) after \d/.test(document.getElementById('timeline-text').textContent), null, { timeout: 5000 });
    await page.waitForFunction(() => /Response time: p50 \d/.test(document.getElementById('timeline-text').textContent), null, { timeout: 5000 });
    await page.waitForSelector('#log li[data-event="turn"]', { state: 'attached', timeout: 5000 });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-turns.png') });

    // The bot leaves: its card goes, its lane stays (marked left) while its speech is in view.
    await bot.client.leave();
    await page.waitForFunction(() => !document.querySelector('.card[data-name="answer-bot"]'), null, { timeout: 10_000 });
    await page.waitForFunction(() => /answer-bot: left the room; spoke [1-9]/.test(document.getElementById('timeline-text').textContent), null, { timeout: 5000 });
    assert.deepEqual(problems, []);
  } finally {
    if (problems.length) t.diagnostic(`page problems: ${problems.join(' | ')}`);
    await alice.client.close();
    await bot.client.close();
    await context.close();
  }
});

test('History: a session that ended is listed, opens to its log in words, and exports as JSON', async () => {
  const room = freshRoom('history');
  const gone = await speaker(room, 'gone-bot');
  const sessionId = gone.client.sessionId;
  await gone.client.leave();
  await gone.client.close();
  const { context, page, problems } = await openPage(browser, gateway);
  try {
    await page.click('.tab[data-tab="history"]');
    const item = page.locator(`#history-list li[data-session="${sessionId}"]`);
    await item.waitFor({ timeout: 10_000 });
    assert.match(await item.textContent(), /gone-bot in history-/);
    assert.match(await item.locator('.sub').textContent(), /^participant · ended \d\d:\d\d:\d\d \(left\) · \d+ events/);
    await page.fill('#history-filter', 'no-such-room');
    assert.equal(await item.count(), 0);
    await page.fill('#history-filter', room.slice('local://'.length));
    await item.locator('button').click();
    await page.waitForSelector('#history-open:not([hidden])', { timeout: 10_000 });
    const events = await page.$$eval('#history-events li', (rows) => rows.map((r) => r.dataset.event));
    assert.equal(events[0], 'joined');
    assert.ok(events.includes('left'), `no left in ${events.join(', ')}`);
    assert.match(await page.textContent('#history-events li[data-event="joined"] .d'), new RegExp(`^joined ${room} as gone-bot$`));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#history-export')]);
    const saved = join(ARTIFACTS, 'history-export.json');
    await download.saveAs(saved);
    const exported = JSON.parse(readFileSync(saved, 'utf8'));
    assert.equal(exported.session.session_id, sessionId);
    assert.deepEqual(exported.events.map((e) => e.event), events);
    await page.click('#history-back');
    assert.equal(await page.isVisible('#history-list'), true);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
