// `prepare`: build dist/ when the package is installed from a checkout (a path, a link, or a
// packed folder), so what gets installed works. A checkout may have no node_modules yet:
// then its locked dependencies (TypeScript, ws) are installed first, from npm's cache when
// they are there. In an installed tarball dist/ is already built and nothing runs.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (args) => execFileSync(npm, args, { cwd: root, stdio: 'inherit' });

if (!existsSync(new URL('../node_modules/typescript/package.json', import.meta.url))) {
  run(['ci', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']);
}
run(['run', '--silent', 'build']);
