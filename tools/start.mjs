#!/usr/bin/env node
/**
 * `node tools/start.mjs <demo|tail> [args]`: runs a tool from its compiled JS, compiling first
 * only what it needs and only when a source is newer than its build (`tsc -b` on a built tree
 * still costs about a second; this check costs milliseconds). While it compiles it says so, with
 * the seconds going by. Plain JS on purpose: it runs before anything is compiled.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Each tool: its entry, and the TypeScript projects it runs (their references come along). */
const TOOLS = {
  demo: {
    entry: 'tools/dist/demo.js',
    projects: ['tools', 'services/ari-gateway', 'services/call-controller', 'services/health', 'test/ari-simulator'],
  },
  tail: { entry: 'tools/dist/tail.js', projects: ['tools'] },
};

const [name, ...args] = process.argv.slice(2);
const tool = TOOLS[name ?? ''];
if (!tool) {
  process.stderr.write(`usage: node tools/start.mjs <${Object.keys(TOOLS).join('|')}> [args]\n`);
  process.exit(2);
}

const stale = staleProjects(tool.projects);
if (stale.length > 0) await build(tool.projects, stale);
process.argv = [process.argv[0], join(root, tool.entry), ...args];
await import(pathToFileURL(join(root, tool.entry)).href);

/** The projects (with their references) whose build is missing or older than a source of theirs. */
function staleProjects(projects) {
  const seen = new Set();
  const out = [];
  const visit = (project) => {
    if (seen.has(project)) return;
    seen.add(project);
    let config;
    try {
      config = JSON.parse(readFileSync(join(root, project, 'tsconfig.json'), 'utf8'));
    } catch {
      out.push(project); // unreadable here: let tsc say what is wrong
      return;
    }
    for (const ref of config.references ?? []) visit(join(project, ref.path).replace(/\\/g, '/'));
    const built = mtime(join(root, project, 'tsconfig.tsbuildinfo'));
    const sources = Math.max(
      newest(join(root, project, 'src')),
      mtime(join(root, project, 'tsconfig.json')),
      mtime(join(root, 'tsconfig.base.json')),
    );
    if (built === 0 || sources > built) out.push(project);
  };
  for (const p of projects) visit(p);
  return out;
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** The newest mtime of a folder, its files and its subfolders (a deleted file changes its folder's). */
function newest(dir) {
  let max = mtime(dir);
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return max;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newest(path) : mtime(path));
  }
  return max;
}

/** `tsc -b` of the tool's projects, with a line that shows it is working; exits on failure. */
async function build(projects, stale) {
  let tsc;
  try {
    tsc = join(dirname(createRequire(join(root, 'package.json')).resolve('typescript/package.json')), 'bin', 'tsc');
  } catch {
    process.stderr.write(`${name}: TypeScript is not installed; run ./pnpmw install (or pnpm install) first\n`);
    process.exit(1);
  }
  const started = Date.now();
  const what = `compiling ${stale.length === 1 ? stale[0] : `${stale.length} packages`} (tsc -b)`;
  const tty = process.stderr.isTTY;
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  process.stderr.write(tty ? `${name}: ${what}...` : `${name}: ${what}...\n`);
  const ticker = tty ? setInterval(() => process.stderr.write(`\r${name}: ${what}... ${seconds()}`), 500) : undefined;
  const child = spawn(process.execPath, [tsc, '-b', ...projects], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stdout.on('data', (b) => output.push(b));
  child.stderr.on('data', (b) => output.push(b));
  const code = await new Promise((r) => child.once('close', (c) => r(c ?? 1)));
  clearInterval(ticker);
  if (tty) process.stderr.write('\r\x1b[2K');
  if (code !== 0) {
    process.stderr.write(`${name}: ${what} failed after ${seconds()}:\n${Buffer.concat(output).toString()}`);
    process.exit(1);
  }
  process.stderr.write(`${name}: compiled in ${seconds()}\n`);
}
