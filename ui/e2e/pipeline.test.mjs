// End-to-end test of the pipeline board and the progress page against the real server,
// in headless Chromium (same harness as records.test.mjs).
//
// Build first: `npm run build` here, then `go build -o bin/stride ./cmd/stride` in the
// repository root (the binary embeds ui/dist), then `npm run test:e2e`. It starts ../bin/stride
// on a free loopback port with a fresh data folder, signs in as the admin of tenant "demo",
// creates a deal through the API (stage lead, customer and close date set, amount 0), drags it
// on the deal_sales board to 方案报价 and checks that the stage guard's refusal shows on the
// card; fills the amount through "补充信息", drags again (it moves), drags to 赢单, and checks
// that /progress for won_revenue in the current quarter counts the amount.
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
    // The server's periods are in Asia/Shanghai; the page computes the current quarter locally.
    timezoneId: 'Asia/Shanghai',
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

const PIPELINE = 'deal_sales';
const METRIC = 'won_revenue';
const AMOUNT_FEN = 888888; // ¥8,888.88

let token;

async function call(method, p, body) {
  const res = await fetch(`${apiBase}/api/v1/${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
}

/** shanghaiToday is today's date in Asia/Shanghai (YYYY-MM-DD), the server's business time zone. */
function shanghaiToday() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

function quarterKey(date) {
  const [y, m] = date.split('-').map(Number);
  return `${y}-Q${Math.floor((m - 1) / 3) + 1}`;
}

/** yuan renders fen the way the UI does ("¥8,888.88"). */
function yuan(fen) {
  const s = (Math.abs(fen) / 100).toFixed(2);
  const [i, f] = s.split('.');
  return `${fen < 0 ? '-' : ''}¥${i.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${f}`;
}

/** drag drags a card onto a column and returns the transition response it caused. */
async function drag(id, stage) {
  const resp = page.waitForResponse((r) => r.url().endsWith(`/api/v1/records/deal/${encodeURIComponent(id)}/transition`) && r.request().method() === 'POST');
  await page.getByTestId(`board-card-${id}`).dragTo(page.getByTestId(`board-column-${stage}`));
  return resp;
}

let id; // the deal the board test creates and wins
let baseline; // the company's won_revenue actual before the win, in fen
const name = `E2E 看板商机 ${Date.now()}`;
const today = shanghaiToday();
const period = quarterKey(today);

test('pipeline board: a guard refusal shows on the card; fill in, then move and win', { timeout: 180_000 }, async () => {
  await step('login', async () => {
    await page.goto(`${uiBase}/login`);
    await page.fill('#login-tenant', TENANT);
    await page.fill('#login-username', ADMIN);
    await page.fill('#login-password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
    token = await apiLogin();
  });

  await step('seeded', async () => {
    const p = await call('GET', `pipelines/${PIPELINE}?published=true`);
    assert.equal(p.status, 200, `published pipeline ${PIPELINE}: ${p.text}`);
    // The side menu links the board under 业务数据.
    await page.locator('.ant-layout-sider .ant-menu').getByText('新签销售流程').waitFor();
  });

  await step('create-deal', async () => {
    const r = await call('POST', 'records/deal', { name, stage: 'lead', customer: 'E2E 客户', closeDate: today, amount: 0 });
    assert.equal(r.status, 201, `create deal: ${r.text}`);
    id = r.body.id;
  });

  await step('board', async () => {
    await page.goto(`${uiBase}/pipelines/${PIPELINE}/board`);
    const lead = page.getByTestId('board-column-lead');
    await lead.getByTestId(`board-card-${id}`).waitFor();
    assert.ok((await lead.textContent()).includes('线索'), 'the column shows the stage label in Chinese');
    assert.ok((await page.getByTestId('board-column-proposal').textContent()).includes('60%'), 'the column shows the probability');
  });

  await step('guard-refusal', async () => {
    const r = await drag(id, 'proposal');
    assert.equal(r.status(), 422, `expected the guard to refuse: ${await r.text()}`);
    const problem = await r.json();
    const refusal = page.getByTestId(`board-card-${id}`).getByTestId('card-refusal');
    await refusal.waitFor();
    const text = await refusal.textContent();
    const expected = problem.stageMessage?.['zh-CN'] ?? '报价前请填写金额';
    assert.ok(text.includes(expected), `the card shows "${expected}", got "${text}"`);
    // The card stayed in its column.
    await page.getByTestId('board-column-lead').getByTestId(`board-card-${id}`).waitFor();
    assert.equal(await page.getByTestId('board-column-proposal').getByTestId(`board-card-${id}`).count(), 0);
  });

  await step('fill-in', async () => {
    await page.getByTestId(`board-card-${id}`).getByTestId('card-fill-in').click();
    await page.waitForURL((u) => u.pathname === `/records/deal/${id}`);
    await page.locator('#root_amount').waitFor();
    await page.fill('#root_amount', '8888.88');
    const resp = page.waitForResponse((r) => r.url().endsWith(`/api/v1/records/deal/${encodeURIComponent(id)}`) && r.request().method() === 'PATCH');
    await page.getByTestId('save').click();
    const r = await resp;
    assert.equal(r.status(), 200, `save amount: ${await r.text()}`);
    assert.deepEqual(r.request().postDataJSON(), { amount: AMOUNT_FEN });
    // Saving returns to the board.
    await page.waitForURL((u) => u.pathname === `/pipelines/${PIPELINE}/board`);
    await page.getByTestId('board-column-lead').getByTestId(`board-card-${id}`).waitFor();
  });

  await step('move', async () => {
    const r = await drag(id, 'proposal');
    assert.equal(r.status(), 200, `move to proposal: ${await r.text()}`);
    const card = page.getByTestId('board-column-proposal').getByTestId(`board-card-${id}`);
    await card.waitFor();
    assert.ok((await card.textContent()).includes(yuan(AMOUNT_FEN)), 'the card shows the amount in yuan');
    assert.equal(await card.getByTestId('card-refusal').count(), 0, 'the refusal is gone');
    assert.equal(await page.getByTestId('board-column-lead').getByTestId(`board-card-${id}`).count(), 0);
  });

  await step('win', async () => {
    const p = await call('GET', `progress?metric=${METRIC}&period=${period}`);
    assert.equal(p.status, 200, `progress before the win: ${p.text}`);
    baseline = p.body.node.actual;
    const r = await drag(id, 'won');
    assert.equal(r.status(), 200, `move to won: ${await r.text()}`);
    await page.getByTestId('board-column-won').getByTestId(`board-card-${id}`).waitFor();
    const rec = await call('GET', `records/deal/${id}`);
    assert.equal(rec.body.data.stage, 'won');
    assert.deepEqual(
      rec.body.meta.stageHistory.map((h) => h.stage),
      ['lead', 'proposal', 'won'],
      'the stage history records the moves',
    );
  });
});

test('progress: the won deal counts in won_revenue for the current quarter', { timeout: 120_000 }, async () => {
  assert.ok(id && baseline !== undefined, 'the board test created and won a deal');
  let actual;

  await step('progress-api', async () => {
    // The projection may trail the transition by a moment.
    for (let i = 0; i < 20; i++) {
      const p = await call('GET', `progress?metric=${METRIC}&period=${period}`);
      assert.equal(p.status, 200, `progress: ${p.text}`);
      actual = p.body.node.actual;
      if (actual === baseline + AMOUNT_FEN) break;
      await sleep(250);
    }
    assert.equal(actual, baseline + AMOUNT_FEN, `the actual grows by the deal's amount (before the win: ${yuan(baseline)})`);
    const recs = await call('GET', `progress/records?metric=${METRIC}&period=${period}`);
    assert.equal(recs.status, 200, `progress records: ${recs.text}`);
    // docs/api.md names the members record and value; the server sends recordId and sum (reported).
    const mine = recs.body.items.find((x) => (x.record ?? x.recordId) === id);
    assert.ok(mine, `the won deal is behind the actual: ${recs.text.slice(0, 500)}`);
    assert.equal(mine.value ?? mine.sum, AMOUNT_FEN);
  });

  await step('progress-page', async () => {
    await page.goto(`${uiBase}/progress?metric=${METRIC}`);
    assert.equal((await page.getByTestId('progress-period').textContent()).trim(), period, 'the current quarter is the default period');
    const shown = page.getByTestId('progress-actual');
    await shown.waitFor();
    assert.ok((await shown.textContent()).includes(yuan(actual)), `the page shows the actual ${yuan(actual)}, got "${await shown.textContent()}"`);
    // The drill-down lists the deal with its amount.
    await page.getByTestId('progress-drill').click();
    const item = page.getByTestId('progress-records').locator('.ant-list-item', { hasText: name });
    await item.waitFor();
    assert.ok((await item.textContent()).includes(yuan(AMOUNT_FEN)), 'the drill-down shows the deal amount in yuan');
  });
});
