// Marks dist/cjs/ as CommonJS (the package itself is "type": "module"), so Node and
// TypeScript read the require() build's .js and .d.ts files as CommonJS.
import { mkdirSync, writeFileSync } from 'node:fs';

mkdirSync(new URL('../dist/cjs/', import.meta.url), { recursive: true });
writeFileSync(new URL('../dist/cjs/package.json', import.meta.url), '{\n  "type": "commonjs"\n}\n');
