// End-to-end test of alerts, the inbox and notifier plugins against the real server, in
// headless Chromium (same harness as targets.test.mjs).
//
// The server runs with a STRIDE_SECRET_KEY so plugin secrets can be stored. A local HTTP server
// in this test plays the receiving end of a webhook and verifies every delivery's signature
// (X-Stride-Signature: sha256=HMAC(secret, timestamp + "." + body)).
//
// In the browser: configure a webhook notifier pointing at that server (the secret comes back
// masked) and send a test message; create the stuck-deal alert from its template (the formula
// check passes) and publish it. The demo pipeline's lead stage gets an SLA of 0 days (leads must
// be worked the same day), so a lead is past its SLA within moments: changing one is the record
// change that triggers the alert. The bell shows it, the inbox lists it, it is marked read, and
// the webhook server receives it, signed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { apiBase, apiLogin, page, setup, signIn, sleep, step, uiBase } from './harness.mjs';

process.env.STRIDE_SECRET_KEY = crypto.randomBytes(32).toString('base64');
setup({ timezoneId: 'Asia/Shanghai' });

const SECRET = `e2e-hook-${crypto.randomBytes(12).toString('hex')}`;
const received = [];
let badSignatures = 0;
const sink = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const ts = req.headers['x-stride-timestamp'];
    const want = 'sha256=' + crypto.createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex');
    if (req.headers['x-stride-signature'] !== want) {
      badSignatures++;
      res.writeHead(401).end();
      return;
    }
    received.push({ delivery: req.headers['x-stride-delivery'], ...JSON.parse(body) });
    res.writeHead(204).end();
  });
});
await new Promise((r) => sink.listen(0, '127.0.0.1', r));
const sinkURL = `http://127.0.0.1:${sink.address().port}/stride`;
after(() => sink.close());

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
async function must(status, method, p, body) {
  const r = await call(method, p, body);
  assert.equal(r.status, status, `${method} ${p}: ${r.text}`);
  return r.body;
}
async function until(what, fn, ms = 15_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

test('alerts: webhook notifier with a test message; stuck-deal alert from the template fires on a record change into the inbox and the webhook', { timeout: 240_000 }, async () => {
  await step('login', async () => {
    await signIn();
    token = await apiLogin();
  });

  await step('configure a webhook notifier', async () => {
    await page.goto(`${uiBase}/admin/plugins`);
    await page.getByTestId('new-plugin').click();
    await page.getByTestId('plugin-module').click();
    await page.locator('.ant-select-dropdown .ant-select-item-option').filter({ hasText: 'notify.webhook' }).click();
    await page.getByTestId('plugin-id').fill('ops_hook');
    await page.getByTestId('plugin-label').fill('运维群 Webhook');
    await page.getByTestId('plugin-field-url').fill(sinkURL);
    await page.getByTestId('plugin-field-secret').fill(SECRET);
    await page.getByTestId('save-plugin').click();
    await page.getByTestId('plugin-ops_hook').waitFor();
    const p = await must(200, 'GET', 'plugins/ops_hook');
    assert.equal(p.config.secret, '********', 'the secret must come back masked');
    assert.ok(!JSON.stringify(p).includes(SECRET), 'the secret leaked');
  });

  await step('send a test message', async () => {
    await page.getByTestId('test-ops_hook').click();
    await until('the test message', () => received.length >= 1);
    assert.equal(badSignatures, 0);
    assert.match(received[0].title, /测试消息/);
  });

  await step('leads must be worked the same day: SLA 0', async () => {
    const pl = await must(200, 'GET', 'pipelines/deal_sales');
    const def = pl.definition;
    def.stages.find((s) => s.key === 'lead').slaDays = 0;
    await must(200, 'PUT', 'pipelines/deal_sales', def);
    await must(200, 'POST', 'pipelines/deal_sales/publish');
  });

  let lead;
  await step('a new lead (before the rule exists)', async () => {
    lead = await must(201, 'POST', 'records/deal', { name: '滞留线索 E2E', customer: '测试客户', amount: 12000000, closeDate: '2026-12-31', stage: 'lead' });
  });

  await step('create the stuck-deal alert from its template and publish it', async () => {
    await page.goto(`${uiBase}/admin/alerts`);
    await page.getByTestId('new-alert').click();
    await page.getByTestId('template-stuck_deal').click();
    assert.equal(await page.getByTestId('alert-key').inputValue(), 'stuck_deal');
    await page.getByTestId('create-alert').click();
    await page.waitForURL(/\/admin\/alerts\/stuck_deal$/);
    await page.getByTestId('alert-check-ok').waitFor();
    await page.getByTestId('publish-alert').click();
    await page.locator('.ant-popconfirm .ant-btn-primary').click();
    await until('the published alert', async () => (await call('GET', 'alerts/stuck_deal')).body?.publishedVersion === 1);
  });

  await step('a record change triggers it', async () => {
    await sleep(2500); // published configuration is cached for up to 2 s per process
    // The lead has now been in its stage for seconds, over its SLA of 0 days: changing it fires the rule.
    await must(200, 'PATCH', `records/deal/${lead.id}`, { amount: 15000000 });
  });

  await step('the bell shows it and the inbox lists it', async () => {
    await page.goto(`${uiBase}/`);
    const inbox = await until('the inbox message', async () => (await must(200, 'GET', 'inbox')).unread > 0).catch(async (e) => {
      const ds = await call('GET', 'alert-deliveries');
      const al = await call('GET', 'alerts/stuck_deal');
      const rec = await call('GET', `records/deal/${lead.id}`);
      throw new Error(`${e.message}\ndeliveries: ${ds.text}\nalert: ${al.text}\nrecord: ${rec.text}`);
    });
    assert.ok(inbox);
    await page.reload(); // the bell reads the count when the page loads (and every 30 s, and on navigation)
    const count = page.getByTestId('inbox-badge').locator('.ant-badge-count');
    await count.waitFor({ timeout: 35_000 });
    assert.match((await count.getAttribute('title')) ?? (await count.textContent()) ?? '', /[1-9]/);
    await page.getByTestId('inbox-bell').click();
    await page.waitForURL(/\/inbox$/);
    const item = page.getByTestId('inbox-item').filter({ hasText: '滞留线索 E2E' });
    await item.waitFor();
    assert.match(await item.textContent(), /商机停滞/);
    await item.getByTestId('inbox-read').click();
    await until('read', async () => (await page.getByTestId('inbox-item').filter({ hasText: '滞留线索 E2E' }).getByTestId('inbox-read').count()) === 0);
  });

  await step('the webhook received it, signed', async () => {
    const msg = await until('the alert at the webhook', () => received.find((m) => m.alert === 'stuck_deal'));
    assert.equal(msg.title, '商机停滞:滞留线索 E2E');
    assert.equal(msg.severity, 'warning');
    assert.ok(msg.delivery && msg.id === msg.delivery);
    assert.equal(badSignatures, 0);
  });
});
