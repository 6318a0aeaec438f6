// The type test: test/types/api.ts (and the README's TypeScript examples) must compile under
// --strict against the built declarations, and every `@ts-expect-error` line in it must fail to.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';

const run = promisify(execFile);
const TYPES = fileURLToPath(new URL('./types/', import.meta.url));
const TSC = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));

/** The README's ```ts blocks, each a module of its own (the browser one imports the package by name here). */
function readmeExamples() {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1].replaceAll("'/sdk/index.js'", "'@daily-ws-gateway/client'"));
}

test('the API types: what must compile does, and each @ts-expect-error line does not (tsc --strict --noEmit)', async () => {
  const dir = `${TYPES}.readme/`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const examples = readmeExamples();
  assert.ok(examples.length >= 3, `only ${examples.length} TypeScript examples in the README`);
  examples.forEach((source, i) => writeFileSync(`${dir}example-${i + 1}.ts`, `${source}\nexport {};\n`));
  try {
    await run(process.execPath, [TSC, '-p', `${TYPES}tsconfig.json`], { cwd: TYPES });
  } catch (err) {
    assert.fail(`tsc reported errors:\n${err.stdout}${err.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
