// Shared by the browser tests: Debian's chromium launched by playwright-core (no browser
// download) with a fake microphone playing the demo WAV, a gateway, and the dashboard page.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';

import { chromium } from 'playwright-core';

import { ARTIFACTS, DEMO_WAV, startGateway } from '../../clients/js/test/helpers/gateway.mjs';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const ARGS = [
  // What this machine needs (no sandbox as root, no GPU, no network beyond loopback):
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // A microphone that speaks the demo WAV, allowed without a prompt; audio without a gesture.
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  `--use-file-for-fake-audio-capture=${DEMO_WAV}`,
  '--autoplay-policy=no-user-gesture-required',
];

/** A gateway (with the demo room) and a headless Chromium; the caller closes both. */
export async function startGatewayAndBrowser(name) {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run make browser-setup`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const gateway = await startGateway({ name });
  // A fresh temporary profile (user-data-dir) per launch is Playwright's default.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  return { gateway, browser };
}

/**
 * The dashboard in a new context with the microphone allowed. `problems` collects page errors,
 * console errors, failed requests and HTTP errors (a module that does not load is one);
 * `responses` lists every HTTP response ({url, status, contentType}) from the first request on.
 */
export async function openPage(browser, gateway, query = '') {
  const context = await browser.newContext({ viewport: { width: 1440, height: 860 } });
  await context.grantPermissions(['microphone'], { origin: gateway.httpUrl });
  const page = await context.newPage();
  const problems = [];
  const responses = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
  page.on('response', (response) => {
    const entry = { url: response.url(), status: response.status(), contentType: response.headers()['content-type'] ?? '' };
    responses.push(entry);
    if (entry.status >= 400) problems.push(`HTTP ${entry.status}: ${entry.url}`);
  });
  await page.goto(`${gateway.httpUrl}/dashboard/${query}`);
  return { context, page, problems, responses };
}
