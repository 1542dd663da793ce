// End-to-end test of commission (提成) against the real server, in headless Chromium (same
// harness as targets.test.mjs and scorecards.test.mjs).
//
// Set-up through the API: team 华东 (a manager, reps 张三 a1 and 李四 a2) and a rep c1 outside it
// (no target); a won_revenue target plan over the team (¥1,200,000 a year, equal months, split
// evenly: ¥50,000 per rep and month); this month 张三 wins two deals, ¥30,000.00 and ¥12,345.67
// (attainment 42,345.67 ÷ 50,000 = 84.69 %). The commission plan e2e_comm pays reps a tier on
// attainment — 0 % → 3 %, 80 % → 5 %, 100 % → 8 % — of every won deal's amount, and ¥1,000 when
// attainment crosses 80 %. By hand, 张三's month: 5 % of 30,000.00 = 1,500.00; 5 % of 12,345.67 =
// 617.2835 → 617.28 (half-even, per line); bonus 1,000.00; total ¥3,117.28 (311,728 分).
// In the browser:
//   admin — the plan editor type-checks a formula as it is typed (the server's error under the
//           field, with its column) and publishes; 提成结算 runs the month: the job finishes, the
//           report names c1 with 缺少目标, the others got statements;
//   张三   — 我的提成 shows ¥3,117.28 and 84.69 %; the ¥30,000 line expands into its explanation
//           (base, band 2, 5 %, → ¥1,500.00); 申诉 on it with a comment;
//   manager — 申诉处理 lists it; accept with ¥88.88; 提成审批 bulk-approves 华东's two drafts;
//   张三   — sees the adjustment line (+¥88.88, total ¥3,206.16), the lock, and the dispute accepted;
//           at 390 px wide the page does not scroll sideways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, apiBase, apiLogin, page, setup, signIn, signOut, step, uiBase } from './harness.mjs';

setup({ timezoneId: 'Asia/Shanghai' });

let token;
async function call(method, p, body, tok = token) {
  const res = await fetch(`${apiBase}/api/v1/${p}`, {
    method,
    headers: { Authorization: `Bearer ${tok}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
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

const shots = !!process.env.E2E_SHOTS;
async function shot(name) {
  if (!shots) return;
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `commission-${name}.png`), fullPage: true });
}

const suffix = Date.now().toString(36);
const ids = {};
const now = new Date(new Date().toLocaleString('en-US', { timeZone: 'Asia/Shanghai' }));
const year = now.getFullYear();
const month = `${year}-${String(now.getMonth() + 1).padStart(2, '0')}`;
const today = `${month}-${String(now.getDate()).padStart(2, '0')}`;
const PLAN = 'e2e_comm';
const pw = (name) => `password-${name}-${suffix}`;
const uname = (name) => `${name}.${suffix}`;

const planDef = (base = 'amount') => ({
  name: { 'zh-CN': '华东销售提成', en: 'East sales commission' },
  grain: 'month',
  quota: { metric: 'won_revenue' },
  assign: { roles: ['rep'] },
  credits: { object: 'deal', when: 'stage == "won"', base, dateField: 'closeDate' },
  rules: [
    {
      key: 'tiered',
      name: { 'zh-CN': '阶梯提成', en: 'Tiered commission' },
      rate: { kind: 'tier', table: [[0, 0.03], [0.8, 0.05], [1, 0.08]] },
    },
  ],
  quotaBonuses: [{ key: 'q80', name: { 'zh-CN': '达成 80% 奖', en: '80 % bonus' }, threshold: 0.8, amount: 100000 }],
});

/** lineByRecord is the rate line of a record on the page. */
const lineByRecord = (record) => page.locator(`[data-testid^="line-"][data-kind="rate"][data-record="${record}"]`);

test('commission: run a period, a rep reads a line and disputes it, the manager accepts with an amount, the rep sees the adjustment', { timeout: 300_000 }, async () => {
  await step('login', async () => {
    await signIn();
    token = await apiLogin();
  });

  await step('org-and-data', async () => {
    const user = async (name, display, role) => (await must(201, 'POST', 'users', { username: uname(name), displayName: display, password: pw(name), roles: [role] })).id;
    ids.mgr = await user('mgr', '王经理', 'manager');
    ids.a1 = await user('a1', '张三', 'rep');
    ids.a2 = await user('a2', '李四', 'rep');
    ids.c1 = await user('c1', '赵六', 'rep');
    ids.east = (await must(201, 'POST', 'teams', { name: `华东 ${suffix}`, managers: [ids.mgr] })).id;
    for (const u of [ids.a1, ids.a2]) await must(201, 'POST', `teams/${ids.east}/members`, { userId: u, from: '2024-01-01' });
    await must(200, 'PUT', 'target-plans/e2e_won', {
      label: { 'zh-CN': '华东赢单目标', en: 'East won revenue' },
      metric: 'won_revenue',
      fiscalYear: year,
      amounts: { target: 120_000_000 },
      granularity: 100,
      seasonality: { weights: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
      org: { root: `team:${ids.east}` },
      allocation: { formula: 'potential.share' },
      nodes: { [`user:${ids.a1}`]: { inputs: { potential: 1 } }, [`user:${ids.a2}`]: { inputs: { potential: 1 } } },
    });
    await must(200, 'POST', 'target-plans/e2e_won/allocate', { reason: 'e2e' });
    const win = async (name, amount, owner) => {
      const id = (await must(201, 'POST', 'records/deal', { name, amount, customer: 'E2E 客户', closeDate: today, owner })).id;
      for (const to of ['qualified', 'proposal', 'won']) await must(200, 'POST', `records/deal/${id}/transition`, { to });
      return id;
    };
    ids.d1 = await win('E2E 大单', 3_000_000, ids.a1);
    ids.d2 = await win('E2E 小单', 1_234_567, ids.a1);
    await win('E2E 无目标', 500_000, ids.c1);
    await must(200, 'PUT', `commission-plans/${PLAN}`, planDef());
  });

  await step('plan-editor', async () => {
    await page.goto(`${uiBase}/commission/plans`);
    await page.getByTestId(`commission-plan-${PLAN}`).click();
    await page.getByTestId('plan-check-ok').waitFor();
    // The tier table is edited as rows: band 2 is 80 % at 5 %.
    const cell = (id) => page.locator(`input[data-testid="${id}"], [data-testid="${id}"] input`).first();
    assert.equal(await cell('row-1-threshold').inputValue(), '80');
    assert.equal(await cell('row-1-rate').inputValue(), '5');
    // A typo in a formula answers under that field, with the server's column, before saving.
    const base = page.getByTestId('credits-base');
    await base.fill('amount * amout');
    const err = page.locator('[data-pointer="/credits/base"] [data-testid="field-error"]');
    await err.waitFor();
    const text = await err.textContent();
    assert.ok(text.includes('amout') && /第 1 行.*第 10 列|1.*10/.test(text), `formula error: ${text}`);
    await page.getByTestId('plan-check-errors').waitFor();
    await base.fill('amount');
    await page.getByTestId('plan-check-ok').waitFor();
    await err.waitFor({ state: 'detached' });
    await shot('plan-editor');
    // Publish (the draft is saved already).
    await page.getByTestId('publish-commission-plan').click();
    const resp = page.waitForResponse((r) => r.url().endsWith(`/commission-plans/${PLAN}/publish`));
    await page.locator('.ant-popconfirm').getByRole('button', { name: /确\s*定|OK/ }).click();
    assert.equal((await resp).status(), 200, 'publish');
    const env = await must(200, 'GET', `commission-plans/${PLAN}`);
    assert.equal(env.publishedVersion, 1);
  });

  await step('run', async () => {
    await page.goto(`${uiBase}/commission/run?plan=${PLAN}&period=${month}`);
    await page.getByTestId('run-start').click();
    const job = page.locator('[data-testid="run-job"][data-status="done"]');
    await job.waitFor({ timeout: 60_000 });
    const report = await page.getByTestId('run-report').textContent();
    assert.ok(report.includes('¥3,117.28'), `the report's total is 张三's (the others earn nothing): ${report}`);
    const errors = await page.getByTestId('run-errors').textContent();
    assert.ok(errors.includes(ids.c1) && errors.includes('缺少目标'), `c1 has no target: ${errors}`);
    await shot('run');
    const sts = await must(200, 'GET', `statements?period=${month}&plan=${PLAN}`);
    assert.deepEqual(sts.items.map((s) => s.rep).sort(), [ids.a1, ids.a2].sort(), 'statements for the team, none for c1');
  });

  await step('rep-reads-a-line', async () => {
    await signOut();
    await signIn(uname('a1'), pw('a1'));
    await page.getByRole('menuitem', { name: '我的提成' }).click();
    await page.waitForURL((u) => u.pathname === '/commission/mine');
    const card = page.getByTestId(`statement-${PLAN}:${month}:${ids.a1}`);
    await card.waitFor();
    assert.equal(await card.getByTestId('statement-total').getAttribute('data-amount'), '311728');
    assert.ok((await card.textContent()).includes('84.7%'), 'attainment against the target');
    const line = lineByRecord(ids.d1);
    assert.equal(await line.count(), 1);
    assert.equal(await line.getByTestId('line-amount').getAttribute('data-amount'), '150000');
    await line.getByText('E2E 大单').waitFor(); // the deal by its name, not its id
    assert.ok((await line.textContent()).includes('阶梯提成'), 'the rule is named as in the plan');
    await line.getByTestId('line-toggle').click();
    const explain = line.getByTestId('line-explain');
    await explain.waitFor();
    const words = await explain.getByTestId('line-text').textContent();
    for (const want of ['¥30,000.00', '第 2 档', '84.69%', '5%', '¥1,500.00']) assert.ok(words.includes(want), `explanation ${JSON.stringify(words)} lacks ${want}`);
    const numbers = await explain.textContent();
    assert.ok(numbers.includes('计提基数') && numbers.includes('第 2 档（80.0% – 100.0%）'), `the numbers: ${numbers}`);
    await shot('mine-line');
  });

  await step('rep-disputes', async () => {
    const line = lineByRecord(ids.d1);
    await line.getByTestId('line-dispute').click();
    await page.getByTestId('dispute-comment').fill('这单是和李四一起跟进的，分成比例不对');
    const resp = page.waitForResponse((r) => r.url().includes('/disputes') && r.request().method() === 'POST');
    await page.getByTestId('dispute-ok').click();
    assert.equal((await resp).status(), 201);
    await line.getByText('申诉中').first().waitFor();
    assert.ok((await page.getByTestId('my-disputes').textContent()).includes('分成比例不对'));
  });

  await step('manager-resolves', async () => {
    await signOut();
    await signIn(uname('mgr'), pw('mgr'));
    await page.getByRole('menuitem', { name: '申诉处理' }).click();
    const row = page.getByTestId(`dispute-row-${ids.a1}`);
    await row.waitFor();
    assert.ok((await row.textContent()).includes('张三'), 'the rep by name');
    await row.getByTestId('dispute-resolve').click();
    // Rejecting needs a reason (checked before anything is sent).
    await page.locator('.ant-radio-button-wrapper', { hasText: '驳回' }).click();
    await page.getByTestId('resolve-ok').click();
    await page.getByText('驳回必须填写理由').waitFor();
    await page.locator('.ant-radio-button-wrapper', { hasText: '采纳' }).click();
    await page.getByTestId('resolve-amount').fill('88.88');
    await page.getByTestId('resolve-reason').fill('按 80/20 分成补差');
    const resp = page.waitForResponse((r) => r.url().includes('/resolve'));
    await page.getByTestId('resolve-ok').click();
    const r = await resp;
    assert.equal(r.status(), 200);
    assert.deepEqual(r.request().postDataJSON(), { decision: 'accept', amount: 8888, reason: '按 80/20 分成补差' });
    await row.waitFor({ state: 'detached' });
  });

  await step('manager-approves', async () => {
    await page.getByRole('menuitem', { name: '提成审批' }).click();
    await page.waitForURL((u) => u.pathname === '/commission/statements');
    await page.getByTestId(`statement-row-${ids.a1}`).waitFor();
    assert.equal(await page.locator('tbody tr[data-testid^="statement-row-"]').count(), 2, "the manager's two drafts");
    await shot('approvals');
    await page.locator('thead .ant-checkbox-input').check();
    await page.getByTestId('bulk-approve').click();
    const confirm = page.locator('.ant-modal-confirm');
    await confirm.waitFor();
    assert.ok((await confirm.textContent()).includes('¥3,206.16'), `the confirmation names the sum: ${await confirm.textContent()}`);
    await page.getByTestId('bulk-ok').click();
    await page.getByText('已审批 2 张提成单').waitFor();
    const sts = await must(200, 'GET', `statements?period=${month}&plan=${PLAN}`);
    assert.deepEqual(sts.items.map((s) => s.status), ['approved', 'approved']);
  });

  await step('rep-sees-adjustment', async () => {
    await signOut();
    await signIn(uname('a1'), pw('a1'));
    await page.goto(`${uiBase}/commission/mine`);
    const card = page.getByTestId(`statement-${PLAN}:${month}:${ids.a1}`);
    await card.waitFor();
    assert.equal(await card.getByTestId('statement-total').getAttribute('data-amount'), String(311728 + 8888));
    assert.equal(await card.getByTestId('statement-status').getAttribute('data-status'), 'approved');
    const adj = card.getByTestId('group-adjustment').locator('[data-kind="adjustment"]');
    assert.equal(await adj.count(), 1);
    assert.equal(await adj.getByTestId('line-amount').getAttribute('data-amount'), '8888');
    await adj.getByTestId('line-toggle').click();
    const words = await adj.getByTestId('line-text').textContent();
    assert.ok(words.includes('按 80/20 分成补差'), `the adjustment names the manager's note: ${words}`);
    assert.ok((await adj.getByTestId('line-explain').textContent()).includes('¥88.88'), 'and its amount');
    const disputes = await page.getByTestId('my-disputes').textContent();
    assert.ok(disputes.includes('已采纳') && disputes.includes('+¥88.88'), `my disputes: ${disputes}`);
    await lineByRecord(ids.d1).getByTestId('line-toggle').click();
    await shot('mine-desktop');
  });

  await step('phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    const card = page.getByTestId(`statement-${PLAN}:${month}:${ids.a1}`);
    await card.waitFor();
    await lineByRecord(ids.d1).getByTestId('line-toggle').click();
    await lineByRecord(ids.d1).getByTestId('line-explain').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at 390px`);
    await shot('mine-phone');
    await page.setViewportSize({ width: 1366, height: 900 });
  });
});
