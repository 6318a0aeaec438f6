// The dashboard as a phone (PROTOCOL.md 5.9, a local simulation): a bot in a local room dials
// the number the page registered; the page rings, is answered with a click, talks with its
// (fake) microphone and hears the bot; its keypad reaches the bot as dtmf-events, in order.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { GatewayClient } from '../../clients/js/dist/node.js';
import { ARTIFACTS, compareWithReference, DEMO_WAV, freshRoom, readWav } from '../../clients/js/test/helpers/gateway.mjs';
import { openPage, startGatewayAndBrowser } from './browser.mjs';

let gateway;
let browser;

before(async () => {
  ({ gateway, browser } = await startGatewayAndBrowser('phone-gateway'));
});

after(async () => {
  await browser?.close();
  const code = await gateway?.stop();
  assert.ok(!gateway.log().includes('Traceback'), `the gateway logged a traceback; see ${gateway.logPath}`);
  assert.equal(code, 0);
});

test('the dashboard registers as a phone, rings when a bot dials it, and once answered the bot hears its microphone (content check) and its keypad as dtmf-events in order', async (t) => {
  const room = freshRoom('phone');
  const number = `+1212${String(Date.now()).slice(-7)}`;
  const speech = readWav(DEMO_WAV);
  const { context, page, problems } = await openPage(browser, gateway, `?room=${encodeURIComponent(room)}&processing=0`);
  const bot = new GatewayClient({ url: gateway.url, reconnect: false });
  try {
    await page.waitForSelector('#conn[data-state="connected"]', { timeout: 10_000 });
    await page.click('.tab[data-tab="phone"]');
    await page.fill('#phone-number', number);
    await page.click('#phone-register');
    await page.waitForSelector('#phone[data-state="registered"]', { timeout: 10_000 });

    await bot.connect();
    await bot.join(room, {
      user_name: 'phone-bot',
      audio_in: { sample_rate: 16000, frame_ms: 20 },
      audio_out: { sample_rate: speech.sampleRate },
    });
    const sessionId = await bot.startDialout({ phoneNumber: number, displayName: 'phone-bot', callerId: '+14155550100' });
    await page.waitForSelector('#phone[data-state="ringing"] #phone-incoming:not([hidden])', { timeout: 10_000 });
    assert.equal(await page.textContent('#phone-from'), 'phone-bot'); // the caller's name (phone-ringing.caller_name)
    assert.equal(await page.textContent('#phone-from-number'), '+14155550100');
    assert.equal(await page.textContent('#phone-room'), `in ${room}`);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone-ringing.png') });
    await page.click('#phone-answer');
    await page.waitForSelector('#phone[data-state="in-call"]', { timeout: 15_000 });
    const answered = await bot.waitFor('dialout-answered', undefined, { timeoutMs: 10_000 });
    assert.equal(answered.data.sessionId, sessionId);

    // The bot hears the page's fake microphone: the demo WAV, by correlation.
    await bot.waitFor('track-started', (d) => d.participant_id === sessionId, { timeoutMs: 10_000 });
    const pcm = await bot.record(5000, { participantId: sessionId });
    const path = join(mkdtempSync(join(tmpdir(), 'dwg-phone-')), 'from-phone.pcm');
    writeFileSync(path, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    const heard = await compareWithReference(path, 16000);
    t.diagnostic(`the bot heard the phone: correlation ${heard.peak} with the WAV, ${(pcm.length / 16000).toFixed(1)} s`);
    assert.ok(pcm.length >= 16000 * 4, `only ${pcm.length / 16000} s of the phone's audio reached the bot`);
    assert.ok(heard.peak > 0.8, `the bot did not hear the WAV the fake microphone plays (correlation ${heard.peak})`);

    // The page hears the bot through the SDK's player (the same path as "Join with microphone").
    bot.sendAudio(speech.samples.subarray(0, speech.sampleRate * 3));
    await page.waitForFunction(() => (window.dashboard.phone.player?.stats.samplesPlayed ?? 0) > 48000, null, { timeout: 15_000 });

    // The keypad: clicked keys arrive at the bot as dtmf-events, in the order clicked.
    const keys = ['1', '9', '4', '*', '0', '#'];
    for (const key of keys) await page.click(`#keypad .key[data-key="${key}"]`);
    const tones = [];
    for (let i = 0; i < keys.length; i++) {
      const { data } = await bot.waitFor('dtmf-event', undefined, { timeoutMs: 10_000 });
      assert.equal(data.sessionId, sessionId);
      tones.push(data.tone);
    }
    assert.deepEqual(tones, keys);
    assert.equal((await page.textContent('#phone-display')).trim(), keys.join(''));
    await page.waitForSelector('.card[data-name="phone-bot"]', { timeout: 10_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png') });

    // Hanging up in the page ends the call for the bot; the phone waits for the next one.
    await page.click('#phone-hangup');
    await bot.waitFor('dialout-stopped', (d) => d.data.sessionId === sessionId, { timeoutMs: 10_000 });
    await page.waitForSelector('#phone[data-state="registered"]', { timeout: 10_000 });
    assert.equal(await page.evaluate(() => window.dashboard.phone.mic), null, 'the microphone is still on after the hang-up');
    assert.deepEqual(problems, []);
  } finally {
    await bot.close().catch(() => {});
    await context.close();
  }
});
