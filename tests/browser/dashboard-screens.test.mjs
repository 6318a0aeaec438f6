// The dashboard on any screen, accessible and in plain words (issue 25, items 6 to 8): at a phone's
// 390 x 844, at 1024 x 768 and on a desktop every panel and control is reachable; axe-core finds no
// serious or critical violation at each size; the tabs work by keyboard (arrow keys, aria-selected);
// toasts and the ringing banner are announced; the timeline has a text alternative; the panels
// resize on a desktop; rooms can be searched and sorted; the main view speaks plain words.
// Screenshots at each size go to tests/artifacts/ (and, with UPDATE_DOCS_IMG=1, to docs/img/).

import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { ARTIFACTS, freshRoom, ROOT, startPeer } from '../../clients/js/test/helpers/gateway.mjs';
import { openPage, startGatewayAndBrowser } from './browser.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SIZES = { phone: { width: 390, height: 844 }, tablet: { width: 1024, height: 768 }, desktop: { width: 1440, height: 860 } };

let gateway;
let browser;

before(async () => {
  ({ gateway, browser } = await startGatewayAndBrowser('screens-gateway'));
});

after(async () => {
  await browser?.close();
  const code = await gateway?.stop();
  assert.ok(!gateway.log().includes('Traceback'), `the gateway logged a traceback; see ${gateway.logPath}`);
  assert.equal(code, 0);
});

/** axe-core's serious and critical violations on the page as it is now (WCAG 2 A and AA rules). */
async function axeViolations(page) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

/** A screenshot in tests/artifacts/; the one of each size (`docs`) is copied to docs/img/ when UPDATE_DOCS_IMG=1. */
async function screenshot(page, name, { docs = true } = {}) {
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path });
  if (docs && process.env.UPDATE_DOCS_IMG === '1') copyFileSync(path, join(ROOT, 'docs', 'img', name));
}

/** Whether the element is inside the viewport's width and visible (reachable without a horizontal scroll). */
function reachable(selector) {
  const node = document.querySelector(selector);
  if (!node) return `${selector}: missing`;
  const box = node.getBoundingClientRect();
  const style = getComputedStyle(node);
  if (style.display === 'none' || style.visibility === 'hidden' || box.width === 0) return `${selector}: hidden`;
  if (box.left < 0 || box.right > document.documentElement.clientWidth + 1) return `${selector}: outside the width (${box.left}..${box.right})`;
  return 'ok';
}

async function openAt(size, query = '') {
  const opened = await openPage(browser, gateway, query);
  await opened.page.setViewportSize(SIZES[size]);
  await opened.page.waitForSelector('.card[data-name="Demo Talker"]', { timeout: 10_000 });
  return opened;
}

for (const size of ['phone', 'tablet', 'desktop']) {
  test(`at ${SIZES[size].width} x ${SIZES[size].height} (${size}): no serious axe violation, every panel and control reachable, a screenshot`, async (t) => {
    const { context, page, problems } = await openAt(size);
    try {
      await page.waitForSelector('#log li[data-event="speech-started"]', { state: 'attached', timeout: 12_000 });
      await screenshot(page, `dashboard-${size}.png`);
      const violations = await axeViolations(page);
      assert.deepEqual(violations, [], `axe-core at ${size}`);
      const panels = { rooms: ['#room-search', '#room-sort', '#watch-room', '#room-list li[data-room="local://demo"]'],
        stage: ['#room-title', '.card[data-name="Demo Talker"]', '#timeline'], side: ['.tab[data-tab="log"]', '#log-filter', '#log'] };
      for (const [panel, selectors] of Object.entries(panels)) {
        if (size === 'phone') {
          // One panel at a time, chosen with the panel tabs.
          await page.click(`.screen-tab[data-screen="${panel}"]`);
          assert.equal(await page.getAttribute(`.screen-tab[data-screen="${panel}"]`, 'aria-selected'), 'true');
          for (const other of Object.keys(panels).filter((p) => p !== panel)) {
            assert.equal(await page.isVisible(`#panel-${other}`), false, `${other} shows beside ${panel} on a phone`);
          }
          if (panel === 'side') await screenshot(page, 'dashboard-phone-events.png', { docs: false });
        } else {
          assert.equal(await page.isVisible('#screens'), false, 'the phone-size panel tabs show on a wider screen');
        }
        for (const selector of [...selectors, '#join-btn', '#join-room']) {
          if (size !== 'phone') await page.$eval(selector, (node) => node.scrollIntoView({ block: 'nearest' }));
          assert.equal(await page.evaluate(reachable, selector), 'ok', `${selector} at ${size}`);
        }
      }
      // The side tabs' last one (Phone) is reachable too, and its pane works.
      if (size === 'phone') await page.click('.screen-tab[data-screen="side"]');
      await page.locator('.tab[data-tab="phone"]').scrollIntoViewIfNeeded();
      await page.click('.tab[data-tab="phone"]');
      assert.equal(await page.evaluate(reachable, '#phone-register'), 'ok');
      assert.deepEqual(problems, []);
    } finally {
      if (problems.length) t.diagnostic(`page problems: ${problems.join(' | ')}`);
      await context.close();
    }
  });
}

test('tabs by keyboard: arrow keys, Home and End move the selection (aria-selected, one tab in the Tab order), the pane follows', async () => {
  const { context, page, problems } = await openAt('desktop');
  try {
    await page.focus('.tab[data-tab="log"]');
    const selected = () => page.evaluate(() => [...document.querySelectorAll('.side [role="tab"]')]
      .map((tab) => `${tab.dataset.tab}:${tab.getAttribute('aria-selected')}:${tab.tabIndex}`).join(' '));
    await page.keyboard.press('ArrowRight');
    assert.equal(await selected(), 'log:false:-1 transcript:true:0 messages:false:-1 history:false:-1 phone:false:-1');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.tab), 'transcript');
    assert.equal(await page.isVisible('#pane-transcript'), true);
    await page.keyboard.press('End');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.tab), 'phone');
    assert.equal(await page.isVisible('#phone-register'), true);
    await page.keyboard.press('ArrowRight'); // wraps around
    assert.equal(await page.evaluate(() => document.activeElement.dataset.tab), 'log');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.tab), 'phone');
    await page.keyboard.press('Home');
    assert.equal(await selected(), 'log:true:0 transcript:false:-1 messages:false:-1 history:false:-1 phone:false:-1');
    assert.equal(await page.isVisible('#log-filter'), true);
    // A room is operable by keyboard too: Tab to it, Enter watches it.
    const other = freshRoom('keys');
    const peer = startPeer(['join', '--url', gateway.url, '--room', other, '--name', 'keyboard-peer', '--linger', '30']);
    try {
      await peer.next();
      const item = page.locator(`#room-list li.room[data-room="${other}"]`);
      await item.waitFor({ timeout: 10_000 });
      await item.focus();
      await page.keyboard.press('Enter');
      await page.waitForFunction((room) => document.getElementById('room-title').textContent === room, other, { timeout: 10_000 });
      await page.waitForSelector('.card[data-name="keyboard-peer"]', { timeout: 10_000 });
    } finally {
      peer.kill();
    }
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('announced and described: the toast and ringing banner are live regions, the timeline has a text alternative that names the talker', async () => {
  const { context, page, problems } = await openAt('desktop');
  try {
    assert.equal(await page.getAttribute('#toast', 'aria-live'), 'polite');
    assert.equal(await page.getAttribute('#ring-banner', 'role'), 'alert');
    assert.equal(await page.getAttribute('#phone-incoming', 'role'), 'alert');
    assert.equal(await page.getAttribute('#timeline', 'aria-describedby'), 'timeline-text');
    await page.waitForSelector('.card.speaking[data-name="Demo Talker"]', { timeout: 12_000 });
    await page.waitForFunction(() => /^Demo Talker: (speaking|silent) now; spoke [1-9]\d* times? in the last 60 s/.test(document.getElementById('timeline-text').textContent), null, { timeout: 5000 });
    // Every text colour of the palette keeps 4.5:1 on the panels (axe checks the page's text; this checks the palette).
    const ratios = await page.evaluate(() => {
      const css = getComputedStyle(document.documentElement);
      const hex = (name) => css.getPropertyValue(name).trim();
      const lum = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16) / 255)
        .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
        .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
      const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
      return Object.fromEntries(['--text', '--muted', '--faint', '--accent', '--accent-2', '--danger', '--warn', '--violet']
        .map((name) => [name, Math.min(ratio(hex(name), hex('--panel')), ratio(hex(name), hex('--panel-2')))]));
    });
    for (const [name, ratio] of Object.entries(ratios)) assert.ok(ratio >= 4.5, `${name} has a contrast of ${ratio.toFixed(2)} on the panels`);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('panels resize on a desktop by dragging or with the arrow keys, and the widths are kept across a reload', async () => {
  const { context, page, problems } = await openAt('desktop');
  try {
    const width = (selector) => page.$eval(selector, (node) => Math.round(node.getBoundingClientRect().width));
    const rooms = await width('#panel-rooms');
    const handle = await page.$('#resize-rooms');
    const box = await handle.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + 100);
    await page.mouse.down();
    await page.mouse.move(box.x + 120, box.y + 100, { steps: 5 });
    await page.mouse.up();
    const wider = await width('#panel-rooms');
    assert.ok(wider >= rooms + 100, `dragging the handle 120 px right made the rooms panel ${rooms} -> ${wider} px`);
    const side = await width('#panel-side');
    await page.focus('#resize-side');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await width('#panel-side'), side + 48, 'two ArrowLeft on the side handle widen the side panel by 2 x 24 px');
    assert.equal(await page.getAttribute('#resize-side', 'aria-valuenow'), String(side + 48));
    await page.reload();
    await page.waitForSelector('.card[data-name="Demo Talker"]', { timeout: 10_000 });
    assert.equal(await width('#panel-rooms'), wider);
    assert.equal(await width('#panel-side'), side + 48);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('rooms are searched (by room, person or bot) and sorted (by name, busiest, newest)', async () => {
  const prefix = `sort-${Date.now().toString(36)}`;
  const rooms = [`local://${prefix}-a`, `local://${prefix}-b`];
  const peers = [
    startPeer(['join', '--url', gateway.url, '--room', rooms[0], '--name', 'zoe', '--linger', '40']),
    startPeer(['join', '--url', gateway.url, '--room', rooms[1], '--name', 'yann', '--linger', '40']),
    startPeer(['join', '--url', gateway.url, '--room', rooms[1], '--name', 'xena', '--linger', '40']),
  ];
  const { context, page, problems } = await openAt('desktop');
  try {
    await Promise.all(peers.map((p) => p.next()));
    const listed = () => page.$$eval('#room-list li.room', (items) => items.map((i) => i.dataset.room));
    await page.fill('#room-search', prefix);
    await page.waitForFunction((n) => document.querySelectorAll('#room-list li.room').length === n, 2, { timeout: 10_000 });
    assert.deepEqual(await listed(), rooms, 'by name');
    await page.selectOption('#room-sort', 'busiest');
    assert.deepEqual(await listed(), [rooms[1], rooms[0]], 'busiest first');
    await page.selectOption('#room-sort', 'newest');
    assert.equal((await listed()).length, 2);
    await page.fill('#room-search', 'xena');
    await page.waitForFunction(() => document.querySelectorAll('#room-list li.room').length >= 1, null, { timeout: 5000 });
    assert.deepEqual(await listed(), [rooms[1]], 'a person\'s name finds their room');
    assert.match(await page.textContent('#rooms-hidden'), /not matching the search/);
    assert.deepEqual(problems, []);
  } finally {
    for (const peer of peers) peer.kill();
    await context.close();
  }
});

test('plain words: no "mic playable" nor "track N" in the main view, short ids with a copy button, "watching" never counts yourself', async () => {
  const { context, page, problems } = await openAt('desktop');
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gateway.httpUrl });
  const second = await openPage(browser, gateway);
  try {
    await page.waitForSelector('#log li[data-event="speech-started"]', { timeout: 12_000 });
    await page.waitForSelector('#log li[data-event="track-started"], #log li[data-event="speech-stopped"]', { timeout: 12_000 });
    const main = await page.evaluate(() => [document.getElementById('panel-stage').innerText, document.getElementById('log').innerText].join('\n'));
    assert.doesNotMatch(main, /mic playable|track \d+|\bplayable\b/, 'jargon in the main view');
    const card = page.locator('.card[data-name="Demo Talker"]');
    assert.match(await card.locator('.stat').textContent(), /^microphone on/);
    const id = await card.getAttribute('data-participant-id');
    assert.equal(await card.locator('.short-id > span').textContent(), id.slice(0, 8));
    await card.locator('.short-id .copy').click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), id, 'the copy button copies the whole id');
    // Alone: nobody else watching; a second page watching the demo room: "1 other watching".
    await second.page.waitForSelector('.card[data-name="Demo Talker"]', { timeout: 10_000 });
    await page.waitForFunction(() => document.getElementById('room-meta').textContent === '1 participant · 1 other watching', null, { timeout: 6000 });
    await page.waitForFunction(() => document.querySelector('#room-list li.selected .sub')?.textContent === 'local · 1 in room · 1 watching · Demo Talker', null, { timeout: 6000 });
    await second.context.close();
    await page.waitForFunction(() => document.getElementById('room-meta').textContent === '1 participant', null, { timeout: 6000 });
    assert.deepEqual(problems, []);
  } finally {
    await second.context.close().catch(() => {});
    await context.close();
  }
});
