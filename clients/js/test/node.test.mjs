// What the Node entry point does for a bot process: closing on exit (no ghost participant for the
// resume grace), and credentials with a WebSocket that cannot send headers (Node's global one).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { unlinkSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { GatewayClient } from '@daily-ws-gateway/client';
import { freshRoom, startGateway } from './helpers/gateway.mjs';

const SECRET = '0123456789abcdef-js-node-key';
let open;
let secured;

before(async () => {
  [open, secured] = await Promise.all([
    startGateway({ name: 'js-node', args: [] }),
    startGateway({ name: 'js-node-auth', args: ['--api-keys', `ops:${SECRET}`] }),
  ]);
});

after(async () => {
  assert.equal(await open.stop(), 0);
  assert.equal(await secured.stop(), 0);
});

/** Run `source` as an ES module inside the package (so it imports the SDK by name); resolves {code, out}. */
async function runScript(source, { env = {}, nodeArgs = [] } = {}) {
  const path = new URL(`./node-script-${randomBytes(4).toString('hex')}.test-tmp.mjs`, import.meta.url);
  writeFileSync(path, source);
  try {
    const child = spawn(process.execPath, [...nodeArgs, path.pathname], { env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    return { code, out };
  } finally {
    unlinkSync(path);
  }
}

describe('closing on exit', () => {
  for (const [how, ending] of [
    ['process.exit()', 'process.exit(0);'],
    ['an uncaught exception', "throw new Error('the bot crashed');"],
  ]) {
    test(`a process that ends with ${how} without close() leaves the room at once, not after the resume grace`, async () => {
      const room = freshRoom('exit');
      const watcher = new GatewayClient({ url: open.url, reconnect: false });
      await watcher.connect();
      try {
        await watcher.observe(room);
        const grace = watcher.hello.limits.resume_grace_ms;
        assert.ok(grace >= 10_000, `the gateway's resume grace (${grace} ms) is too short for this test to tell`);
        const run = runScript(`
          import { GatewayClient } from '@daily-ws-gateway/client';
          const client = await GatewayClient.connect(process.env.GATEWAY_URL);
          await client.join(process.env.ROOM, { user_name: 'exiter' });
          ${ending}
        `, { env: { GATEWAY_URL: open.url, ROOM: room } });
        const joined = await watcher.waitFor('participant-joined', (d) => d.participant.info?.userName === 'exiter', { timeoutMs: 15_000 });
        const started = Date.now();
        await watcher.waitFor('participant-left', (d) => d.participant.id === joined.participant.id, { timeoutMs: 5000 });
        assert.ok(Date.now() - started < grace / 2);
        await run;
      } finally {
        await watcher.close();
      }
    });
  }
});

describe('credentials', () => {
  test('with a WebSocket that cannot send headers (Node\'s global one), a Bearer header goes as the subprotocol credential', async () => {
    const { code, out } = await runScript(`
      import { GatewayClient } from '@daily-ws-gateway/client';
      if (typeof globalThis.WebSocket !== 'function') throw new Error('no global WebSocket in this Node');
      const client = new GatewayClient({
        url: process.env.GATEWAY_URL, reconnect: false, WebSocket: globalThis.WebSocket,
        webSocketOptions: { headers: { Authorization: 'Bearer ' + process.env.SECRET } },
      });
      await client.connect();
      console.log('ping', typeof (await client.ping()));
      await client.close();
    `, { env: { GATEWAY_URL: secured.url, SECRET }, nodeArgs: ['--experimental-websocket', '--no-warnings'] });
    assert.equal(code, 0, out);
    assert.match(out, /ping number/);
  });

  test('with such a WebSocket, other headers or options fail connect() loudly instead of being dropped', async () => {
    const { code, out } = await runScript(`
      import { GatewayClient } from '@daily-ws-gateway/client';
      const client = new GatewayClient({
        url: process.env.GATEWAY_URL, reconnect: false, WebSocket: globalThis.WebSocket,
        webSocketOptions: { headers: { Authorization: 'Bearer x', 'X-Team': 'a' }, perMessageDeflate: false },
      });
      try {
        await client.connect();
        console.log('connected');
      } catch (err) {
        console.log(err.code, err.message);
      }
    `, { env: { GATEWAY_URL: secured.url }, nodeArgs: ['--experimental-websocket', '--no-warnings'] });
    assert.equal(code, 0, out);
    assert.match(out, /^connect_failed .*cannot send headers or options \(headers\.X-Team, perMessageDeflate\)/m);
  });

  test('an API key is presented as its secret, in a header (ws) or as the token; id:secret is refused, with why', async () => {
    const header = new GatewayClient({ url: secured.url, reconnect: false, webSocketOptions: { headers: { Authorization: `Bearer ${SECRET}` } } });
    await header.connect();
    await header.close();
    const token = new GatewayClient({ url: secured.url, reconnect: false, token: SECRET });
    await token.connect();
    await token.close();
    const asToken = new GatewayClient({ url: secured.url, reconnect: false, token: `ops:${SECRET}` });
    await assert.rejects(asToken.connect(), (err) => err.code === 'connect_failed' && /secret alone .* not as id:secret/.test(err.message));
    const asHeader = new GatewayClient({ url: secured.url, reconnect: false, webSocketOptions: { headers: { Authorization: `Bearer ops:${SECRET}` } } });
    await assert.rejects(asHeader.connect(), (err) => err.closeCode === 4001 && /unknown API key/.test(err.closeReason));
  });
});
