// Browser-test harness: a `holdfast dev` cluster in a temporary directory,
// Debian's Chromium driven by playwright-core, and small helpers. Everything
// listens on 127.0.0.1 only; everything started here is stopped here.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
// playwright-core is one of web/'s npm packages (scripts/setup.sh installs them).
const webRequire = createRequire(path.join(repoRoot, 'web', 'package.json'));
const { chromium } = webRequire('playwright-core');

export const kChromium = '/usr/bin/chromium';

export function artifactsDir() {
  const dir = process.env.HOLDFAST_WEB_ARTIFACTS || path.join(os.tmpdir(), 'holdfast-web-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export async function screenshot(page, name, options = {}) {
  const file = path.join(artifactsDir(), `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, ...options });
  return file;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Polls fn until it returns a truthy value; fails with what was last seen.
// An error with .fatal set ends the wait at once.
export async function waitFor(fn, { timeoutMs = 30000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      if (e.fatal) throw e;
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function sha256(buffer) {
  return createHash('sha256').update(buffer).digest('hex');
}

export async function sha256File(file) {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

// A file of random bytes; returns { path, name, size, sha256 }.
export function makeFile(dir, name, size) {
  const file = path.join(dir, name);
  const fd = fs.openSync(file, 'w');
  const hash = createHash('sha256');
  const chunk = 1 << 20;
  for (let left = size; left > 0; left -= chunk) {
    const bytes = randomBytes(Math.min(chunk, left));
    hash.update(bytes);
    fs.writeSync(fd, bytes);
  }
  fs.closeSync(fd);
  return { path: file, name, size, sha256: hash.digest('hex') };
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isHoldfast(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('holdfast');
  } catch {
    return false;
  }
}

export class DevCluster {
  static async start() {
    const bin = process.env.HOLDFAST_BIN;
    if (!bin || !fs.existsSync(bin)) throw new Error(`HOLDFAST_BIN must name the holdfast executable (got ${bin})`);
    // The gateway serves web/ beside the executable unless told otherwise.
    const webRoot = process.env.HOLDFAST_WEB_ROOT || path.join(path.dirname(bin), 'web');
    if (!fs.existsSync(path.join(webRoot, 'index.html'))) {
      throw new Error(`${webRoot}/index.html is missing: the web application was not built (run scripts/setup.sh, then build)`);
    }
    const cluster = new DevCluster();
    cluster.bin = bin;
    cluster.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'holdfast-web-'));
    cluster.port = await freePort();
    do cluster.webPort = await freePort();
    while (cluster.webPort === cluster.port);
    const log = fs.openSync(path.join(cluster.dir, 'dev.log'), 'w');
    cluster.proc = spawn(
      bin,
      // A loss grace of a minute: a killed provider stays "down" (not yet rebuilt) while the dashboard is checked.
      ['dev', '--data-dir', cluster.dir, '--port', String(cluster.port), '--web-port', String(cluster.webPort), '--web-root', webRoot,
       '--loss-grace-ms', '60000'],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    cluster.exited = false;
    cluster.proc.on('exit', () => (cluster.exited = true));
    try {
      const devJson = path.join(cluster.dir, 'dev.json');
      await waitFor(
        () => {
          if (cluster.exited) throw Object.assign(new Error(`holdfast dev exited early:\n${cluster.log()}`), { fatal: true });
          return fs.existsSync(devJson);
        },
        { timeoutMs: 60000, what: 'dev.json' },
      );
      cluster.dev = JSON.parse(fs.readFileSync(devJson, 'utf8'));
      cluster.webUrl = (cluster.dev.web_url || `http://127.0.0.1:${cluster.webPort}`).replace(/\/$/, '');
      cluster.operatorPassword = `op-${randomBytes(9).toString('hex')}`;
      await cluster.run(['account', 'create', 'admin', '--operator', '--dev-dir', cluster.dir], cluster.operatorPassword + '\n');
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  log() {
    try {
      return fs.readFileSync(path.join(this.dir, 'dev.log'), 'utf8').slice(-4000);
    } catch {
      return '';
    }
  }

  // Runs `holdfast ARGS` to completion; returns stdout; throws on failure.
  async run(args, input = '') {
    const child = spawn(this.bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.stdin.end(input);
    const [code] = await once(child, 'exit');
    if (code !== 0) throw new Error(`holdfast ${args.join(' ')} exited ${code}: ${err || out}`);
    return out;
  }

  nodesOf(provider) {
    return this.dev.nodes.filter((n) => n.provider === provider);
  }

  killNode(node) {
    if (alive(node.pid) && isHoldfast(node.pid)) process.kill(node.pid, 'SIGKILL');
  }

  async stop() {
    if (this.proc && !this.exited) {
      this.proc.kill('SIGTERM');
      const deadline = Date.now() + 20000;
      while (!this.exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (!this.exited) this.proc.kill('SIGKILL');
    }
    // Nodes the gateway did not stop (it was killed, or never wrote dev.json).
    for (const node of this.dev?.nodes ?? []) this.killNode(node);
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: kChromium,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
