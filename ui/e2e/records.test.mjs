// End-to-end test of the web UI against the real server, in headless Chromium.
//
// It builds nothing: run `npm run build` here and then, in the repository root,
// `go build -o bin/stride ./cmd/stride` (the binary embeds ui/dist), then
// `npm run test:e2e`. It starts ../bin/stride on a free loopback port with a fresh
// data folder, signs in as the bootstrap admin of tenant "demo" and creates a deal
// through the form, checking that a server-side-only rule (requiredIf) shows its
// message under the right field.
//
// The server, the browser and the helpers are in harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiBase, apiLogin, fillLogin, page, PASSWORD, setup, signIn, step, uiBase } from './harness.mjs';

setup();

test('a wrong password shows the server problem detail', { timeout: 60_000 }, async () => {
  await step('login-failure', async () => {
    await fillLogin(`${PASSWORD}-wrong`);
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
    await signIn();
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
