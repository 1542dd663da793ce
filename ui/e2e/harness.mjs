// The shared harness of the end-to-end tests (records, pipeline, targets, targets-bottomup): it starts
// ../bin/stride on a free loopback port with a fresh data folder and a random admin password,
// waits for /readyz, launches Debian's Chromium through playwright-core, and tears all of it
// down afterwards. Call setup() once at the top level of a test file; the exported bindings
// (apiBase, uiBase, page) are live and filled in by its before hook.
//
// Environment: STRIDE_BIN (default ../bin/stride), CHROMIUM_PATH (default
// /usr/bin/chromium). Screenshots of failures go to e2e/artifacts/.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = path.resolve(UI_DIR, process.env.STRIDE_BIN ?? '../bin/stride');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(UI_DIR, 'e2e', 'artifacts');
export const DIST = path.join(UI_DIR, 'dist');
export const TENANT = 'demo';
export const ADMIN = 'admin';
export const PASSWORD = `e2e-${crypto.randomBytes(9).toString('base64url')}`;

let server; // the stride process
let serverLog = '';
export let apiBase; // http://127.0.0.1:<port> of the stride server
export let uiBase; // where the browser goes: the server itself, or a dist server in front of it
let uiProxy; // that dist server, only when the binary has no UI embedded
let dataDir;
let profileDir;
let context;
export let page;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitReady(url, ms) {
  const until = Date.now() + ms;
  let last = '';
  while (Date.now() < until) {
    if (server.exitCode !== null) throw new Error(`stride exited with code ${server.exitCode} before it was ready:\n${serverLog}`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.message;
    }
    await sleep(200);
  }
  throw new Error(`stride did not answer 200 on ${url} within ${ms} ms (last: ${last}):\n${serverLog}`);
}

/** serveDist serves ui/dist with SPA fallback and proxies API paths to the stride server. */
function serveDist(port) {
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };
  const target = new URL(apiBase);
  const srv = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    if (/^\/(api|healthz|readyz|docs)(\/|$)/.test(p)) {
      const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      req.pipe(up);
      return;
    }
    let file = path.join(DIST, path.normalize(decodeURIComponent(p)));
    if (!file.startsWith(DIST) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(DIST, 'index.html');
    res.writeHead(200, { 'Content-Type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => srv.listen(port, '127.0.0.1', () => resolve(srv)));
}

/** step runs one part of a test and leaves a screenshot and the server log tail when it fails. */
export async function step(name, fn) {
  try {
    return await fn();
  } catch (err) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const base = path.join(ARTIFACTS, `${new Date().toISOString().replace(/[:.]/g, '-')}-${name.replace(/[^\w-]+/g, '_')}`);
    if (page) {
      await page.screenshot({ path: `${base}.png`, fullPage: true }).catch(() => {});
      fs.writeFileSync(`${base}.html`, await page.content().catch(() => ''));
    }
    fs.writeFileSync(`${base}.server.log`, serverLog);
    err.message = `[${name}] ${err.message}\n(screenshot: ${base}.png; server log tail:\n${serverLog.slice(-2000)})`;
    throw err;
  }
}

export async function apiLogin() {
  const res = await fetch(`${apiBase}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ tenant: TENANT, username: ADMIN, password: PASSWORD }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `API login failed: ${text}`);
  return JSON.parse(text).token;
}

/** fillLogin opens the login page and fills tenant, user name (default the admin) and the given password. */
export async function fillLogin(password = PASSWORD, username = ADMIN) {
  await page.goto(`${uiBase}/login`);
  await page.fill('#login-tenant', TENANT);
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
}

/** signIn signs in through the login page (default: as the admin) and waits to leave it. */
export async function signIn(username = ADMIN, password = PASSWORD) {
  await fillLogin(password, username);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
}

/** signOut forgets the browser's session (the token in localStorage), so the next page asks to sign in. */
export async function signOut() {
  await page.evaluate(() => localStorage.removeItem('stride.token'));
}

/**
 * setup registers the before and after hooks that start and stop the server and the browser.
 * timezoneId, when given, is the browser's time zone.
 */
export function setup({ timezoneId } = {}) {
  before(async () => {
    if (!fs.existsSync(BIN)) {
      throw new Error(`stride binary not found at ${BIN}.\nBuild it first: (cd ui && npm run build) && go build -o bin/stride ./cmd/stride — or set STRIDE_BIN.`);
    }
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH.`);
    }
    const port = await freePort();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stride-e2e-'));
    apiBase = `http://127.0.0.1:${port}`;
    server = spawn(BIN, ['serve'], {
      // The tests run on the classic demo (its deal object; STRIDE_DEMO=classic, the default being the
      // SaaS template) and build their own orgs and plans: no demo org (STRIDE_DEMO_ORG=off).
      env: { ...process.env, STRIDE_ADDR: `127.0.0.1:${port}`, STRIDE_DATA: dataDir, STRIDE_ADMIN_PASSWORD: PASSWORD, STRIDE_DEMO: "classic", STRIDE_DEMO_ORG: "off" },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (b) => {
      serverLog = (serverLog + b.toString()).slice(-20000);
    };
    server.stdout.on('data', collect);
    server.stderr.on('data', collect);
    await waitReady(`${apiBase}/readyz`, 60_000);

    // The binary serves the UI it was built with. If it was built before the UI,
    // serve ui/dist in front of it instead (the API is still the real server's).
    const index = await (await fetch(`${apiBase}/`)).text();
    if (index.includes('stride-ui')) {
      uiBase = apiBase;
    } else if (fs.existsSync(path.join(DIST, 'index.html'))) {
      const uiPort = await freePort();
      uiProxy = await serveDist(uiPort);
      uiBase = `http://127.0.0.1:${uiPort}`;
      console.log(`# ${BIN} has no UI embedded; serving ui/dist on ${uiBase} in front of it`);
    } else {
      throw new Error('the binary has no UI embedded and ui/dist is not built: run npm run build (and rebuild the binary)');
    }

    profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stride-e2e-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      locale: 'zh-CN',
      ...(timezoneId ? { timezoneId } : {}),
      viewport: { width: 1366, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
  });

  after(async () => {
    await context?.close().catch(() => {});
    await new Promise((r) => (uiProxy ? uiProxy.close(r) : r()));
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    for (const dir of [dataDir, profileDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
}
