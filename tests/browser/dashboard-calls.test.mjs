// Telephony and recording visible in the dashboard (issue 25, item 4): watching a bot that dials
// out, its dial events are in the log and on the phone participant's card, a normal hang-up logs no
// error and a busy line does; a ringing page phone shows a banner (announced) with the caller's
// name; an admin (the page joined as the room's owner) starts and stops a recording, with an
// indicator that a page opened later shows too.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { GatewayClient } from '../../clients/js/dist/node.js';
import { ARTIFACTS, freshRoom } from '../../clients/js/test/helpers/gateway.mjs';
import { openPage, startGatewayAndBrowser } from './browser.mjs';

let gateway;
let browser;

before(async () => {
  ({ gateway, browser } = await startGatewayAndBrowser('calls-gateway'));
});

after(async () => {
  await browser?.close();
  const code = await gateway?.stop();
  assert.ok(!gateway.log().includes('Traceback'), `the gateway logged a traceback; see ${gateway.logPath}`);
  assert.equal(code, 0);
});

test('a watched bot dials out: ringing, answered and hung up in the log and on the phone\'s card, no error for a normal hang-up; a busy line is an error', async (t) => {
  const room = freshRoom('dial');
  const bot = new GatewayClient({ url: gateway.url, reconnect: false });
  await bot.connect();
  await bot.join(room, { user_name: 'support-bot' });
  const { context, page, problems } = await openPage(browser, gateway, `?session=${bot.sessionId}`);
  try {
    await page.waitForFunction(() => document.getElementById('room-title').textContent.includes('as support-bot'), null, { timeout: 10_000 });
    await page.waitForFunction(() => window.dashboard.observing, null, { timeout: 10_000 });
    // The test phone +15550000 answers after 0.3 s.
    const call = await bot.startDialout({ phoneNumber: '+15550000', displayName: 'Support' });
    await page.waitForSelector('#log li[data-event="dialout-connected"]', { timeout: 10_000 });
    await page.waitForSelector('#log li[data-event="dialout-answered"]', { timeout: 10_000 });
    const badge = page.locator(`.card[data-participant-id="${call}"] .badge.phone`);
    await badge.waitFor({ timeout: 10_000 });
    assert.equal(await badge.textContent(), 'phone · in a call');
    assert.match(await page.textContent('#log li[data-event="dialout-connected"] .d'), /^calling \+15550000: ringing$/);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-call.png') });

    await bot.stopDialout(call);
    await page.waitForSelector('#log li[data-event="dialout-stopped"]', { timeout: 10_000 });
    assert.equal(await page.locator('#log li[data-kind="error"]').count(), 0, 'a normal hang-up was logged as an error');

    const busy = await bot.startDialout({ phoneNumber: '+15550001' });
    const error = page.locator('#log li[data-event="dialout-error"]');
    await error.waitFor({ timeout: 10_000 });
    assert.equal(await error.getAttribute('data-kind'), 'error');
    assert.match(await error.locator('.d').textContent(), /^call with \+15550001 failed: busy/);
    assert.equal(await error.getAttribute('data-people'), busy);
    assert.deepEqual(problems, []);
  } finally {
    if (problems.length) t.diagnostic(`page problems: ${problems.join(' | ')}`);
    await bot.close();
    await context.close();
  }
});

test('a ringing page phone shows a banner with the caller\'s name (announced), and Decline there declines the call', async () => {
  const room = freshRoom('ring');
  const number = `+1646${String(Date.now()).slice(-7)}`;
  const { context, page, problems } = await openPage(browser, gateway, `?phone=${encodeURIComponent(number)}`);
  const bot = new GatewayClient({ url: gateway.url, reconnect: false });
  try {
    await page.waitForSelector('#conn[data-state="connected"]', { timeout: 10_000 });
    await page.click('.tab[data-tab="phone"]');
    await page.click('#phone-register');
    await page.waitForSelector('#phone[data-state="registered"]', { timeout: 10_000 });
    await page.click('.tab[data-tab="log"]'); // the banner shows whichever tab is open
    await bot.connect();
    await bot.join(room, { user_name: 'desk-bot' });
    const call = await bot.startDialout({ phoneNumber: number, displayName: 'Support Desk', callerId: '+14155550100' });
    await page.waitForSelector('#ring-banner:not([hidden])', { timeout: 10_000 });
    assert.equal(await page.getAttribute('#ring-banner', 'role'), 'alert');
    // caller_name is the dialing participant's name; the number it gave as callerId beside it.
    assert.equal(await page.textContent('#ring-caller'), 'desk-bot (+14155550100)');
    assert.equal(await page.textContent('#ring-room'), `in ${room}`);
    assert.equal(await page.textContent('#phone-from'), 'desk-bot');
    assert.equal(await page.textContent('#phone-from-number'), '+14155550100');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-ringing-banner.png') });
    await page.click('#ring-decline');
    const declined = await bot.waitFor('dialout-error', (d) => d.data.sessionId === call, { timeoutMs: 10_000 });
    assert.ok(declined.data.errorMsg);
    await page.waitForSelector('#ring-banner[hidden]', { state: 'attached', timeout: 5000 });
    assert.deepEqual(problems, []);
  } finally {
    await bot.close();
    await context.close();
  }
});

test('recording: joined as the owner, Start recording shows the indicator (also on a page opened later), Stop hides it on both and links the finished WAV', async (t) => {
  const room = freshRoom('rec');
  const first = await openPage(browser, gateway, `?room=${encodeURIComponent(room)}`);
  let second;
  try {
    const { page } = first;
    assert.equal(await page.isDisabled('#rec-btn'), true, 'recording offered before joining (watching is read-only)');
    await page.fill('#join-room', room);
    await page.fill('#join-name', 'host');
    await page.click('#join-btn');
    await page.waitForSelector('#me:not([hidden])', { timeout: 15_000 });
    await page.waitForSelector('#rec-btn:not([disabled])', { timeout: 5000 });
    await page.click('#rec-btn');
    await page.waitForSelector('#rec-indicator:not([hidden])', { timeout: 10_000 });
    await page.waitForSelector('#rec-btn[data-state="on"]', { timeout: 5000 });
    assert.equal(await page.textContent('#rec-btn'), 'Stop recording');
    await page.waitForSelector('#log li[data-event="recording-started"]', { timeout: 5000 });

    second = await openPage(browser, gateway, `?room=${encodeURIComponent(room)}`);
    await second.page.waitForSelector('#rec-indicator:not([hidden])', { timeout: 8000 });

    await page.click('#rec-btn');
    await page.waitForSelector('#rec-indicator[hidden]', { state: 'attached', timeout: 10_000 });
    await second.page.waitForSelector('#rec-indicator[hidden]', { state: 'attached', timeout: 8000 });
    assert.equal(await page.textContent('#rec-btn'), 'Start recording');
    // The link to the finished mix, served by the gateway: a WAV file.
    const link = page.locator('#rec-link');
    await link.waitFor({ timeout: 5000 });
    const href = await link.getAttribute('href');
    assert.match(href, new RegExp(`^${gateway.httpUrl}/recordings/rec-[0-9a-f]+/[^/]+/mix\\.wav$`));
    const response = await page.request.get(href);
    assert.equal(response.status(), 200);
    const body = await response.body();
    assert.equal(body.toString('ascii', 0, 4), 'RIFF');
    assert.equal(body.toString('ascii', 8, 12), 'WAVE');
    assert.deepEqual(first.problems, []);
    assert.deepEqual(second.problems, []);
  } finally {
    if (first.problems.length) t.diagnostic(`page problems: ${first.problems.join(' | ')}`);
    await second?.context.close();
    await first.context.close();
  }
});
