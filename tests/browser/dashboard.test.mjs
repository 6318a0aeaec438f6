// The dashboard in headless Chromium (Debian's, driven by playwright-core; no browser download):
// it shows the demo room live, and a browser joining with a fake microphone is heard,
// by content, by a Python client in the same room.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { ARTIFACTS, DEMO_WAV, freshRoom, ROOT, sleep, startPeer } from '../../clients/js/test/helpers/gateway.mjs';
import { openPage, startGatewayAndBrowser } from './browser.mjs';

let gateway;
let browser;

before(async () => {
  ({ gateway, browser } = await startGatewayAndBrowser('browser-gateway'));
});

after(async () => {
  await browser?.close();
  const code = await gateway?.stop();
  assert.ok(!gateway.log().includes('Traceback'), `the gateway logged a traceback; see ${gateway.logPath}`);
  assert.equal(code, 0);
});

const openDashboard = (query = '') => openPage(browser, gateway, query);

test('the dashboard shows the demo room live: the demo talker, a moving level, speaking events', async () => {
  const { context, page, problems } = await openDashboard();
  try {
    await page.waitForSelector('#conn[data-state="connected"]', { timeout: 10_000 });
    await page.waitForSelector('#room-list [data-room="local://demo"]', { timeout: 10_000 });
    const card = page.locator('.card[data-name="Demo Talker"]');
    await card.waitFor({ timeout: 10_000 });
    const levels = [];
    for (let i = 0; i < 25; i++) {
      levels.push(Number(await card.getAttribute('data-level')));
      await sleep(150);
    }
    const distinct = new Set(levels.map((l) => l.toFixed(3)));
    assert.ok(distinct.size >= 5, `the level does not move: ${[...distinct].join(', ')}`);
    assert.ok(Math.max(...levels) > 0.01, `the level never rises above silence: ${Math.max(...levels)}`);
    await page.waitForSelector('#log li[data-event="speech-started"]', { timeout: 12_000 });
    await page.waitForFunction(() => window.dashboard.counters.speechStopped > 0, null, { timeout: 12_000 });
    await page.waitForSelector('.card.speaking[data-name="Demo Talker"]', { timeout: 12_000 });
    const width = await card.locator('.meter .fill').evaluate((node) => parseFloat(node.style.width));
    assert.ok(width > 0, 'the meter bar is empty while the talker speaks');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-demo.png') });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('joining with a fake microphone: a Python client in the room hears the browser (content check), the browser hears it', async (t) => {
  const room = freshRoom('browser');
  const peer = startPeer([
    'join', '--url', gateway.url, '--room', room, '--name', 'python-ear',
    '--send-wav', DEMO_WAV, '--record-from', 'browser-mic', '--seconds', '5', '--reference', DEMO_WAV,
    '--timeout', '40', '--linger', '30',
  ]);
  const { context, page, problems } = await openDashboard(`?room=${encodeURIComponent(room)}&processing=0`);
  try {
    await peer.next();
    await page.waitForSelector('.card[data-name="python-ear"]', { timeout: 10_000 });
    await page.fill('#join-room', room);
    await page.fill('#join-name', 'browser-mic');
    await page.click('#join-btn');
    await page.waitForSelector('#me:not([hidden])', { timeout: 15_000 });
    await page.waitForSelector('.card[data-name="browser-mic"] .badge.you:not([hidden])', { timeout: 10_000 });
    const heard = await peer.next(40_000);
    t.diagnostic(`the Python client heard the browser: correlation ${heard.peak} with the WAV, ${heard.seconds} s, rms ${heard.rms}`);
    assert.ok(heard.peak > 0.8, `the Python client did not hear the WAV the fake microphone plays (correlation ${heard.peak}, rms ${heard.rms})`);
    assert.ok(heard.seconds >= 4, `only ${heard.seconds} s of the browser's audio arrived`);
    // The browser plays the room: the Python client's speech goes through the SDK's AudioWorklet player.
    await page.waitForFunction(() => (window.dashboard.player?.stats.samplesPlayed ?? 0) > 48000, null, { timeout: 15_000 });
    // App messages from the dashboard reach the room (and come back to the observer's list).
    await page.click('.tab[data-tab="messages"]');
    await page.fill('#send-text', '{"hello": "from the browser"}');
    await page.click('#send-btn');
    await page.waitForSelector('#messages li pre:has-text("from the browser")', { timeout: 5000 });
    await page.click('.tab[data-tab="log"]');
    await page.waitForSelector('.card.speaking[data-name="browser-mic"]', { timeout: 15_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-joined.png') });
    assert.deepEqual(problems, []);
  } finally {
    peer.kill();
    await peer.done;
    await context.close();
  }
});

test('the browser gets the SDK module as JavaScript from /sdk/, and nothing outside it', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const response = await page.goto(`${gateway.httpUrl}/sdk/../../pyproject.toml`);
    assert.notEqual(response.status(), 200, 'a path outside /sdk was served');
    const sdk = await page.goto(`${gateway.httpUrl}/sdk/index.js`);
    assert.equal(sdk.status(), 200);
    assert.match(sdk.headers()['content-type'], /^text\/javascript/);
  } finally {
    await context.close();
  }
});

test('in Chromium, the SDK served at /sdk/ passes the protocol vectors and talks to the gateway', async () => {
  const vectors = {
    json: JSON.parse(readFileSync(join(ROOT, 'protocol', 'vectors', 'json.json'), 'utf8')),
    binary: JSON.parse(readFileSync(join(ROOT, 'protocol', 'vectors', 'binary.json'), 'utf8')),
  };
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${gateway.httpUrl}/dashboard/`);
    const failures = await page.evaluate(async ({ json, binary, wsUrl }) => {
      const sdk = await import('/sdk/index.js');
      const codec = await import('/sdk/codec.js'); // decodeRequest is the gateway's side: not in the SDK's API
      const out = [];
      const hex = (t) => Uint8Array.from(t.match(/../g) ?? [], (h) => parseInt(h, 16));
      const toHex = (b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
      const codeOf = (fn) => {
        try { fn(); } catch (err) { return err.code; }
        return 'no error';
      };
      for (const v of json.server_messages) {
        if (v.error) {
          if (codeOf(() => sdk.decodeServerMessage(v.text)) !== v.error.code) out.push(v.name);
        } else if (sdk.decodeServerMessage(v.text).type !== v.expect.kind) out.push(v.name);
      }
      for (const v of json.requests) {
        const options = v.max_bytes != null ? { maxBytes: v.max_bytes } : {};
        if (v.error?.layer === 'envelope') {
          if (codeOf(() => codec.decodeRequest(v.text, options)) !== v.error.code) out.push(v.name);
        } else if (codec.decodeRequest(v.text, options).id !== (v.expect?.id ?? v.error.request_id)) out.push(v.name);
      }
      for (const v of binary.decode) {
        if (v.error) {
          if (codeOf(() => sdk.decodeFrame(hex(v.hex))) !== v.error.code) out.push(v.name);
        } else if (toHex(sdk.decodeFrame(hex(v.hex)).payload) !== v.expect.payload) out.push(v.name);
      }
      for (const v of binary.encode) {
        const f = v.fields;
        const common = { track: f.track, seq: f.seq, timestampUs: f.timestamp_us, flags: f.flags, payload: hex(f.payload) };
        const bytes = f.kind === 'audio'
          ? sdk.encodeAudioFrame({ ...common, sampleRate: f.sample_rate, channels: f.channels })
          : sdk.encodeVideoFrame({ ...common, width: f.width, height: f.height, colorFormat: f.color_format });
        if (toHex(bytes) !== v.hex) out.push(v.name);
      }
      const client = await sdk.GatewayClient.connect(wsUrl, { reconnect: false });
      const rooms = await client.listRooms();
      if (!rooms.some((r) => r.room_url === 'local://demo')) out.push('list-rooms from the browser');
      await client.close();
      return out;
    }, { ...vectors, wsUrl: gateway.url });
    assert.deepEqual(failures, []);
  } finally {
    await context.close();
  }
});
