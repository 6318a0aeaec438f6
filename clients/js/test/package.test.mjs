// The SDK as users install it: `npm pack` of a checkout without dist/ builds it (prepare), and the
// tarball installed into fresh projects works with `import` and `require`, in JavaScript and in
// TypeScript (`tsc --strict`, ESM and CommonJS), against a real gateway; `npm install <path>`
// of the checkout works too. Everything stays offline: the SDK's one dependency, ws, is packed
// from this checkout's node_modules.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { freshRoom, startGateway } from './helpers/gateway.mjs';

const run = promisify(execFile);
const SDK = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(SDK, 'node_modules', 'typescript', 'bin', 'tsc');
const NPM_FLAGS = ['--offline', '--no-audit', '--no-fund', '--loglevel=error'];
const pkg = JSON.parse(readFileSync(join(SDK, 'package.json'), 'utf8'));

let gateway;
let work;
let tarballs;

/** A checkout of the SDK as git has it (no dist/), sharing this one's node_modules (offline). */
function checkout() {
  const dir = join(work, 'checkout');
  for (const name of ['src', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.cjs.json', 'README.md']) {
    cpSync(join(SDK, name), join(dir, name), { recursive: true });
  }
  symlinkSync(join(SDK, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

async function npm(args, cwd) {
  const { stdout } = await run('npm', args, { cwd, maxBuffer: 16 << 20 });
  return stdout;
}

/** A fresh project of `type` ('module' or 'commonjs') with the packed SDK (and ws) installed. */
async function project(name, type) {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type }));
  await npm(['install', ...NPM_FLAGS, tarballs.ws, tarballs.sdk], dir);
  return dir;
}

async function node(file, cwd) {
  const { stdout } = await run(process.execPath, [file], { cwd, env: { ...process.env, GATEWAY_URL: gateway.url, ROOM: freshRoom('pkg') } });
  return JSON.parse(stdout.trim().split('\n').pop());
}

/** What every script does with the SDK: connect, join, ping, read the typed state, leave, close. */
const BODY = `
  const client = await GatewayClient.connect(process.env.GATEWAY_URL, { reconnect: false });
  const joined = await client.join(process.env.ROOM, { user_name: 'packaged' });
  const pong = await client.ping();
  await client.leave();
  const state = client.sessionState;
  await client.close();
  console.log(JSON.stringify({ joined: joined.participant_id === client.participantId, pong: typeof pong, state, closed: client.state }));
`;
const EXPECTED = { joined: true, pong: 'number', state: 'left', closed: 'disconnected' };

before(async () => {
  gateway = await startGateway({ name: 'js-package', args: [] });
  work = mkdtempSync(join(tmpdir(), 'dwg-package-'));
  const dir = checkout();
  const packed = (await npm(['pack', '--pack-destination', work, '--loglevel=error'], dir)).trim().split('\n').pop();
  const ws = (await npm(['pack', join(SDK, 'node_modules', 'ws'), '--pack-destination', work, '--loglevel=error'], work)).trim().split('\n').pop();
  tarballs = { sdk: join(work, packed), ws: join(work, ws) };
});

after(async () => {
  await gateway?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('npm pack of a checkout without dist/ builds it: the tarball has ESM, CommonJS and types for every entry', async () => {
  const { stdout } = await run('tar', ['tzf', tarballs.sdk]);
  const files = new Set(stdout.split('\n'));
  const targets = JSON.stringify(pkg.exports).match(/\.\/dist\/[^"]+/g);
  for (const target of targets) assert.ok(files.has(`package/${target.slice(2)}`), `${target} is not in the tarball`);
  assert.ok(files.has('package/dist/cjs/package.json'), 'the CommonJS build is not marked as CommonJS');
  assert.ok(!files.has('package/node_modules/ws/package.json'));
});

test('installed from the tarball into an ES module project, `import` works against a real gateway', async () => {
  const dir = await project('fresh-esm', 'module');
  writeFileSync(join(dir, 'main.js'), `import { GatewayClient } from '@daily-ws-gateway/client';\n${BODY}`);
  assert.deepEqual(await node('main.js', dir), EXPECTED);
});

test('installed into a CommonJS project, `require` works (no top-level await in the Node entry)', async () => {
  const dir = await project('fresh-cjs', 'commonjs');
  writeFileSync(join(dir, 'main.js'), `const { GatewayClient } = require('@daily-ws-gateway/client');\n(async () => {${BODY}})();`);
  assert.deepEqual(await node('main.js', dir), EXPECTED);
});

for (const [type, module] of [['commonjs', 'node16'], ['module', 'nodenext']]) {
  test(`a TypeScript project ("type": "${type}", module ${module}, --strict) compiles against the types and runs`, async () => {
    const dir = await project(`fresh-ts-${type}`, type);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, module, moduleResolution: module, target: 'es2022', outDir: 'out', skipLibCheck: false, types: [] },
      files: ['main.ts'],
    }));
    const main = `import { GatewayClient, type JoinedData, type SessionState } from '@daily-ws-gateway/client';
declare const process: { env: Record<string, string | undefined> };
async function main(): Promise<void> {
  const client = await GatewayClient.connect(process.env.GATEWAY_URL!, { reconnect: false });
  const joined: JoinedData = await client.join(process.env.ROOM!, { user_name: 'packaged' });
  const pong: number = await client.ping();
  await client.leave();
  const state: SessionState = client.sessionState;
  await client.close();
  console.log(JSON.stringify({ joined: joined.participant_id === client.participantId, pong: typeof pong, state, closed: client.state }));
}
void main();
`;
    writeFileSync(join(dir, 'main.ts'), main);
    await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: dir }).catch((err) => assert.fail(`tsc failed:\n${err.stdout}${err.stderr}`));
    assert.deepEqual(await node(join('out', 'main.js'), dir), EXPECTED);
  });
}

test('npm install <path of the checkout> gives a working package (a link to the built checkout)', async () => {
  const dir = join(work, 'fresh-path');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fresh-path', version: '1.0.0', private: true, type: 'module' }));
  await npm(['install', ...NPM_FLAGS, join(work, 'checkout')], dir);
  writeFileSync(join(dir, 'main.js'), `import { GatewayClient } from '@daily-ws-gateway/client';\n${BODY}`);
  assert.deepEqual(await node('main.js', dir), EXPECTED);
});
