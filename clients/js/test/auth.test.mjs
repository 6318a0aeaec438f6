// The SDK against a gateway that requires credentials (PROTOCOL.md, "Authentication").

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';

import { CloseCode, GatewayClient } from '@daily-ws-gateway/client';
import { freshRoom, PYTHON, ROOT, startGateway } from './helpers/gateway.mjs';

const KEYS = 'ops:0123456789abcdef-js-auth-key';
let gateway;

before(async () => {
  gateway = await startGateway({ name: 'js-gateway-auth', args: ['--api-keys', KEYS] });
});

after(async () => {
  assert.equal(await gateway.stop(), 0);
});

function mint(room, role = 'bot') {
  return execFileSync(PYTHON, ['-m', 'gateway', 'mint-token', '--room', room, '--role', role], {
    cwd: ROOT, env: { ...process.env, GATEWAY_API_KEYS: KEYS }, encoding: 'utf8',
  }).trim();
}

test('a token option is offered as a subprotocol entry and admits the client to its room', async () => {
  const room = freshRoom();
  const client = new GatewayClient({ url: gateway.url, reconnect: false, token: mint(room) });
  try {
    await client.connect();
    await assert.rejects(client.join(`${room}-other`), (err) => err.code === 'unauthorized');
    const joined = await client.join(room, { user_name: 'js-token' });
    assert.equal(joined.room_url, room);
  } finally {
    await client.close();
  }
});

test('without a credential connect() rejects with the 4001 close code and its typed reason', async () => {
  const client = new GatewayClient({ url: gateway.url, reconnect: false });
  await assert.rejects(client.connect(), (err) => {
    assert.equal(err.closeCode, CloseCode.UNAUTHORIZED);
    assert.match(err.closeReason, /^unauthorized: credentials required/);
    return true;
  });
  await client.close();
});
