#!/usr/bin/env node
// Generates src/wire.ts, the SDK's wire types, from the protocol's JSON Schemas
// (protocol/schema/: requests/*.json, events/*.json, common.json, server.json) with
// json-schema-to-typescript. The schemas are the one source; this file is never edited by hand.
//
//   node scripts/generate-wire.mjs           write src/wire.ts   (make js-types)
//   node scripts/generate-wire.mjs --check   exit 1 if src/wire.ts is not what the schemas give
//
// What is generated: one interface per request's parameters (`<Type>Params`: the request
// without `type` and `id`), one per event's data (`<Name>Data`), the shared definitions of
// common.json (AudioInFormat, Participant...), the hello's Limits and Capabilities, and the
// maps and lists that key them by wire name (RequestParamsMap, ServerEventMap, KNOWN_REQUESTS,
// KNOWN_EVENTS). Request results are not in the schemas: src/results.ts types them by hand.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { compile } from 'json-schema-to-typescript';

const HERE = dirname(fileURLToPath(import.meta.url));
export const SCHEMA_DIR = resolve(HERE, '../../../protocol/schema');
export const OUTPUT = resolve(HERE, '../src/wire.ts');

/** Names of common.json's object definitions in TypeScript; the others (strings, numbers) are inlined. */
const COMMON_NAMES = {
  audio_in: 'AudioInFormat',
  audio_out: 'AudioOutFormat',
  audio_filter: 'AudioFilter',
  vad: 'VadParams',
  error_object: 'ErrorObject',
  participant: 'Participant',
};

/** Names of server.json's hello parts (the envelopes themselves are typed by hand in codec.ts). */
const HELLO_NAMES = { limits: 'Limits', capabilities: 'Capabilities', server: 'ServerInfo' };

const pascal = (name) => name.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('');
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const names = (dir) => readdirSync(join(SCHEMA_DIR, dir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();

/**
 * Rewrite every `$ref` of `node` (found in `file`, relative to SCHEMA_DIR) into the synthetic
 * root's `$defs`, or inline the target when it is a scalar definition (ids, sample rates...).
 */
function rewriteRefs(node, file, lookup) {
  if (Array.isArray(node)) return node.map((item) => rewriteRefs(item, file, lookup));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) out[key] = rewriteRefs(value, file, lookup);
  if (typeof out.$ref === 'string') {
    const [path, pointer = ''] = out.$ref.split('#');
    const target = path ? join(dirname(file), path) : file;
    const replacement = lookup(target, pointer);
    delete out.$ref;
    return { ...replacement, ...out };
  }
  return out;
}

/**
 * Names listed in `required` without a schema in `properties` (the hello's limits: every one an
 * integer by `additionalProperties`) get that schema, so they become named fields, not only an
 * index signature.
 */
const SHAPE_KEYWORDS = ['type', '$ref', 'enum', 'const', 'oneOf', 'anyOf', 'allOf', 'properties', 'items', 'additionalProperties', 'tsType'];
const ANNOTATIONS = ['description', 'title', 'default', '$comment', 'examples'];

function nameRequired(node) {
  if (Array.isArray(node)) return node.map(nameRequired);
  if (node === null || typeof node !== 'object') return node;
  const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === 'properties' || k === '$defs' ? Object.fromEntries(Object.entries(v).map(([n, s]) => [n, nameRequired(s)])) : nameRequired(v)]));
  // A schema that says nothing of the value's type ("any JSON value") is `unknown`, not an object.
  if (!SHAPE_KEYWORDS.some((k) => k in out) && Object.keys(out).every((k) => ANNOTATIONS.includes(k))) out.tsType = 'unknown';
  if (Array.isArray(out.required) && out.type === 'object') {
    const properties = { ...(out.properties ?? {}) };
    const extra = typeof out.additionalProperties === 'object' ? out.additionalProperties : {};
    for (const name of out.required) if (!(name in properties)) properties[name] = extra;
    out.properties = properties;
  }
  return out;
}

/**
 * A request's top-level `oneOf` / `anyOf` whose alternatives only list required fields (observe:
 * exactly one of `room_url` and `session_id`) says which fields go together, not their shapes:
 * json-schema-to-typescript would turn it into an index signature that accepts anything. The
 * fields stay typed as optional properties; the gateway enforces the choice (`invalid_params`).
 */
function dropFieldChoice(schema) {
  const out = { ...schema };
  for (const keyword of ['oneOf', 'anyOf']) {
    const alternatives = out[keyword];
    if (Array.isArray(alternatives) && alternatives.every((a) => Object.keys(a).length === 1 && Array.isArray(a.required))) {
      delete out[keyword];
    }
  }
  return out;
}

function stripMeta(schema) {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

/** Build one schema whose `$defs` hold every type, then compile it in one go (shared types once). */
export async function generate() {
  const common = readJson(join(SCHEMA_DIR, 'common.json'));
  const server = readJson(join(SCHEMA_DIR, 'server.json'));
  const defs = {};

  const lookup = (file, pointer) => {
    const key = pointer.replace(/^\/\$defs\//, '');
    if (file === 'common.json') {
      if (COMMON_NAMES[key]) return { $ref: `#/$defs/${COMMON_NAMES[key]}` };
      const def = common.$defs[key];
      if (!def) throw new Error(`unknown reference common.json#${pointer}`);
      return rewriteRefs(def, 'common.json', lookup);
    }
    if (file === 'server.json') {
      const def = server.$defs[key];
      if (!def) throw new Error(`unknown reference server.json#${pointer}`);
      return rewriteRefs(def, 'server.json', lookup);
    }
    throw new Error(`reference to ${file}#${pointer}: add it to scripts/generate-wire.mjs`);
  };

  for (const [key, name] of Object.entries(COMMON_NAMES)) {
    defs[name] = { ...rewriteRefs(common.$defs[key], 'common.json', lookup), title: name };
  }
  const hello = server.$defs.hello.properties;
  for (const [key, name] of Object.entries(HELLO_NAMES)) {
    defs[name] = { ...rewriteRefs(hello[key], 'server.json', lookup), title: name };
  }

  const requests = names('requests');
  const requestDocs = {};
  for (const type of requests) {
    const file = `requests/${type}.json`;
    const schema = dropFieldChoice(stripMeta(readJson(join(SCHEMA_DIR, file))));
    if (schema.properties?.type?.const !== type) throw new Error(`${file}: properties.type.const is not '${type}'`);
    // Parameters are the request without its envelope (`type`, `id`): what `request()` takes.
    const { type: _t, id: _id, ...properties } = schema.properties;
    const required = (schema.required ?? []).filter((field) => field !== 'type' && field !== 'id');
    requestDocs[type] = schema.description;
    defs[`${pascal(type)}Params`] = rewriteRefs(
      { ...schema, title: `${pascal(type)}Params`, properties, required },
      file,
      lookup,
    );
  }

  const events = names('events');
  const eventDocs = {};
  for (const name of events) {
    const file = `events/${name}.json`;
    const schema = stripMeta(readJson(join(SCHEMA_DIR, file)));
    eventDocs[name] = schema.description;
    defs[`${pascal(name)}Data`] = rewriteRefs({ ...schema, title: `${pascal(name)}Data` }, file, lookup);
  }

  const root = {
    title: 'RequestParamsMap',
    description: 'Request type -> its parameters (the request without `type` and `id`).',
    type: 'object',
    additionalProperties: false,
    required: requests,
    properties: Object.fromEntries(
      requests.map((type) => [type, { $ref: `#/$defs/${pascal(type)}Params` }]),
    ),
    $defs: defs,
  };
  const compiled = await compile(nameRequired(root), 'RequestParamsMap', {
    bannerComment: '',
    unreachableDefinitions: true,
    declareExternallyReferenced: true,
    additionalProperties: true, // what JSON Schema says when a schema is silent: extra fields are allowed
    unknownAny: true,
    ignoreMinAndMaxItems: true, // a plain string[] for ids: [string, ...string[]] helps nobody
    strictIndexSignatures: false,
    format: true,
    style: { singleQuote: true, printWidth: 120 },
    $refOptions: { resolve: { external: false } },
  });

  const body = compiled
    // json-schema-to-typescript notes where each definition came from; here that is always the root.
    .replace(/\n \*\n \* This interface was referenced by `RequestParamsMap`'s JSON-Schema\n \* via the `definition` "\w+"\./g, '')
    .replace(/\/\*\*\n \* This interface was referenced by `RequestParamsMap`'s JSON-Schema\n \* via the `definition` "\w+"\.\n \*\/\n/g, '')
    // Array bounds as prose (TypeDoc knows no @minItems / @maxItems tags).
    .replace(/@minItems (\d+)/g, 'At least $1 items.')
    .replace(/@maxItems (\d+)/g, 'At most $1 items.')
    // A request without parameters takes none: `{}` would accept any object.
    .replace(/export interface (\w+Params) \{\}/g, 'export type $1 = Record<string, never>;');
  const quote = (name) => (/^[a-z_][a-z0-9_]*$/i.test(name) ? name : `'${name}'`);
  const doc = (text) => (text ? `  /** ${text.replace(/\*\//g, '* /')} */\n` : '');
  const eventMap = events.map((name) => `${doc(eventDocs[name])}  ${quote(name)}: ${pascal(name)}Data;`).join('\n');
  return `/**
 * Wire types of daily-gateway.v1, generated from the protocol's JSON Schemas
 * (protocol/schema/) by scripts/generate-wire.mjs with json-schema-to-typescript.
 *
 * DO NOT EDIT: change the schema, then run \`make js-types\` (or \`npm run generate\` in
 * clients/js). \`make test\` fails while this file is not what the schemas give.
 * Field names are the wire's: what PROTOCOL.md says is what you type.
 */

/* eslint-disable */

${body.trim()}

/** Protocol event name -> its \`data\` (PROTOCOL.md, "Events"). */
export interface ServerEventMap {
${eventMap}
}

/** A request type of the protocol (protocol/schema/requests/). */
export type RequestType = keyof RequestParamsMap;

/** A protocol event name (protocol/schema/events/). */
export type ServerEventName = keyof ServerEventMap;

/** Every request type of the protocol, sorted (the gateway's hello lists those it serves). */
export const KNOWN_REQUESTS: readonly RequestType[] = ${JSON.stringify(requests, null, 2).replace(/"/g, "'")};

/** Every event of the protocol, sorted (clients ignore events they do not know). */
export const KNOWN_EVENTS: readonly ServerEventName[] = ${JSON.stringify(events, null, 2).replace(/"/g, "'")};
`;
}

async function main() {
  const text = await generate();
  if (process.argv.includes('--check')) {
    const current = readFileSync(OUTPUT, 'utf8');
    if (current !== text) {
      console.error(
        'clients/js/src/wire.ts is stale: it is not what protocol/schema/ generates.\n'
        + 'Run `make js-types` (or `npm run generate` in clients/js) and commit the result.',
      );
      process.exit(1);
    }
    console.log('clients/js/src/wire.ts is current');
    return;
  }
  writeFileSync(OUTPUT, text);
  console.log(`wrote ${OUTPUT}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
