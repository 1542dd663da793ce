// End-to-end test of the web UI against the real server, in headless Chromium.
//
// It builds nothing: run `npm run build` here and then, in the repository root,
// `go build -o bin/stride ./cmd/stride` (the binary embeds ui/dist), then
// `npm run test:e2e`. It starts ../bin/stride on a free loopback port with a fresh
// data folder, signs in as the bootstrap admin of tenant "demo" and creates a deal
// through the form, checking that a server-side-only rule (requiredIf) shows its
// message under the right field.
//
// Environment: STRIDE_BIN (default ../bin/stride), CHROMIUM_PATH (default
// /usr/bin/chromium). Screenshots of failures go to e2e/artifacts/.
import { after, before, test } from 'node:test';
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

const UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.resolve(UI_DIR, process.env.STRIDE_BIN ?? '../bin/stride');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(UI_DIR, 'e2e', 'artifacts');
const DIST = path.join(UI_DIR, 'dist');
const TENANT = 'demo';
const ADMIN = 'admin';
const PASSWORD = `e2e-${crypto.randomBytes(9).toString('base64url')}`;

let server; // the stride process
let serverLog = '';
let apiBase; // http://127.0.0.1:<port> of the stride server
let uiBase; // where the browser goes: the server itself, or a dist server in front of it
let uiProxy; // that dist server, only when the binary has no UI embedded
let dataDir;
let profileDir;
let context;
let page;

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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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
async function step(name, fn) {
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

async function apiLogin() {
  const res = await fetch(`${apiBase}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ tenant: TENANT, username: ADMIN, password: PASSWORD }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `API login failed: ${text}`);
  return JSON.parse(text).token;
}

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
    env: { ...process.env, STRIDE_ADDR: `127.0.0.1:${port}`, STRIDE_DATA: dataDir, STRIDE_ADMIN_PASSWORD: PASSWORD },
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

test('a wrong password shows the server problem detail', { timeout: 60_000 }, async () => {
  await step('login-failure', async () => {
    await page.goto(`${uiBase}/login`);
    await page.fill('#login-tenant', TENANT);
    await page.fill('#login-username', ADMIN);
    await page.fill('#login-password', `${PASSWORD}-wrong`);
    const resp = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login'));
    await page.click('button[type=submit]');
    const r = await resp;
    assert.equal(r.status(), 401);
    const problem = await r.json();
    const alert = page.getByTestId('login-error');
    await alert.waitFor();
    if (problem.detail) assert.ok((await alert.textContent()).includes(problem.detail), `login alert should show "${problem.detail}"`);
  });
});

test('admin signs in to tenant demo', { timeout: 60_000 }, async () => {
  await step('login', async () => {
    await page.goto(`${uiBase}/login`);
    await page.fill('#login-tenant', TENANT);
    await page.fill('#login-username', ADMIN);
    await page.fill('#login-password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
    // The side menu lists the seeded deal object (商机) and the admin section.
    await page.locator('.ant-layout-sider .ant-menu').getByText('商机').waitFor();
    await page.locator('.ant-layout-sider .ant-menu').getByText('对象管理').waitFor();
  });
});

test('deal form: a server-only requiredIf error shows under lossReason, then the deal is created', { timeout: 90_000 }, async () => {
  const name = `E2E 商机 ${Date.now()}`;

  await step('fill-form', async () => {
    await page.goto(`${uiBase}/records/deal/new`);
    await page.locator('#root_name').waitFor();
    await page.fill('#root_name', name);
    await page.fill('#root_amount', '12500.50');
    await page.click('#root_stage');
    await page.locator('.ant-select-dropdown .ant-select-item-option').filter({ hasText: /^(输单|Lost|lost)$/ }).click();
  });

  await step('server-validation', async () => {
    const resp = page.waitForResponse((r) => r.url().endsWith('/api/v1/records/deal') && r.request().method() === 'POST');
    await page.getByTestId('save').click();
    const r = await resp;
    const sent = r.request().postDataJSON();
    assert.equal(sent.amount, 1250050, 'money is sent as integer fen');
    assert.equal(sent.stage, 'lost');
    assert.equal(sent.lossReason, undefined);
    assert.match(r.request().headers()['idempotency-key'] ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(r.status(), 422, `expected 422, got ${r.status()}: ${await r.text()}`);
    const problem = await r.json();
    const fieldError = (problem.errors ?? []).find((e) => e.pointer === '/lossReason');
    assert.ok(fieldError, `the server should report /lossReason: ${JSON.stringify(problem)}`);

    // The message is rendered inside the lossReason form item, under its input.
    const item = page.locator('.ant-form-item', { has: page.locator('#root_lossReason') });
    const explain = item.locator('.ant-form-item-explain');
    await explain.waitFor();
    assert.ok((await explain.textContent()).includes(fieldError.message), `expected "${fieldError.message}" under lossReason, got "${await explain.textContent()}"`);
    // Both boxes are read in one go: the page may still be scrolling the field into view.
    const [inputBottom, msgTop] = await explain.evaluate((el) => [document.getElementById('root_lossReason').getBoundingClientRect().bottom, el.getBoundingClientRect().top]);
    assert.ok(msgTop >= inputBottom - 1, `the message (top ${msgTop}) sits below the input (bottom ${inputBottom})`);
    await page.getByTestId('form-alert').waitFor();
  });

  let id;
  await step('create', async () => {
    await page.fill('#root_lossReason', '预算不足，客户选择了竞品');
    const resp = page.waitForResponse((r) => r.url().endsWith('/api/v1/records/deal') && r.request().method() === 'POST');
    await page.getByTestId('save').click();
    const r = await resp;
    assert.ok(r.status() === 201 || r.status() === 200, `expected 201, got ${r.status()}: ${await r.text()}`);
    id = (await r.json()).id;
    assert.ok(id, 'the created record has an id');
    await page.waitForURL((u) => u.pathname === '/records/deal');
  });

  await step('in-list', async () => {
    const row = page.locator('.ant-table-row', { hasText: name });
    for (let i = 0; i < 50 && !(await row.count()); i++) {
      await page.waitForTimeout(300);
      if (await row.count()) break;
      const more = page.getByTestId('load-more');
      if (await more.count()) await more.click();
    }
    await row.waitFor();
    assert.ok((await row.textContent()).includes('¥12,500.50'), 'the amount is shown in yuan');
  });

  await step('via-api', async () => {
    const token = await apiLogin();
    const res = await fetch(`${apiBase}/api/v1/records/deal/${encodeURIComponent(id)}`, { headers: { Authorization: `Bearer ${token}` } });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const rec = JSON.parse(text);
    assert.equal(rec.data.name, name);
    assert.equal(rec.data.amount, 1250050);
    assert.equal(rec.data.stage, 'lost');
    assert.equal(rec.data.lossReason, '预算不足，客户选择了竞品');
  });
});
