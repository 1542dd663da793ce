// End-to-end test of bottom-up proposals, the mid-year re-spread and a dimension split, in
// headless Chromium against the real server (same harness as targets.test.mjs).
//
// Set-up through the API: 华东 (managed by mgr; reps a1, a2) and 华南 (b1), 2025 won deals
// (a1 40,000 元, a2 10,000 元, b1 50,000 元) for the history, one 2026-03 win of b1 (20,000 元)
// for the actual to date, and a published 2026 plan (¥10,000,000, granularity ¥10,000, teams by
// 0.6 × history.share + 0.4 × potential.share with potential 3 : 1, reps by history.share) split
// over a product line dimension with fixed weights 3 : 1. Then:
//   - the manager signs in: the tree opens at 华东 (their region) with lock and propose buttons
//     on a1 and a2 and no admin-only controls; an amount off the granularity shows the server's
//     422 in the dialog; 5,000,000 元 for a1 shows as the row's proposal with the gap +200,000;
//     when 华东 stops being theirs while the page is open, proposing for a2 shows the 403 clearly;
//   - the admin (with an API proposal for b1 above 华南) opens 提案: accepting both shows the
//     server's 422 in place; accepting a1 alone previews a2 = 华东 − 5,000,000, saves v2, and a1
//     is locked in the tree; a1's row expands into the dimension split, which sums to the row;
//   - in the editor, expanding 华东 in the node table loads a1 and a2 (floor, cap, inputs per rep);
//   - the admin re-spreads from 2026-07: the dry run's new total is the first six months plus
//     the target minus the actual to date; saving makes v3 and every node still sums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiBase, apiLogin, page, setup, signIn, signOut, sleep, step, uiBase } from './harness.mjs';

setup({ timezoneId: 'Asia/Shanghai' });

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

const PLAN = 'fy2026bu';
const suffix = Date.now().toString(36);
const ids = {};
const mgrName = `mgr.${suffix}`;
const mgrPassword = `password-mgr-${suffix}`;

/** sums checks through the API that every team's children add up to it, and the teams to the root. */
async function assertSums(period) {
  const root = await must(200, 'GET', `target-plans/${PLAN}/tree?period=${period}`);
  assert.equal(root.children.reduce((a, c) => a + c.amount, 0), root.node.amount, `root sums (${period})`);
  for (const team of root.children) {
    const tr = await must(200, 'GET', `target-plans/${PLAN}/tree?period=${period}&node=${encodeURIComponent(team.key)}`);
    assert.equal(tr.children.reduce((a, c) => a + c.amount, 0), tr.node.amount, `${team.name} sums (${period})`);
  }
  return root;
}

test('targets: a manager proposes, the admin accepts (422 in place first), re-spreads the remainder; all sums hold', { timeout: 120_000 }, async () => {
  await step('org-and-plan', async () => {
    token = await apiLogin();
    const user = async (name, role, password) => (await must(201, 'POST', 'users', { username: `${name}.${suffix}`, displayName: name, password: password ?? `password-${name}-${suffix}`, roles: [role] })).id;
    ids.mgr = await user('mgr', 'manager', mgrPassword);
    ids.a1 = await user('a1', 'rep');
    ids.a2 = await user('a2', 'rep');
    ids.b1 = await user('b1', 'rep');
    ids.east = (await must(201, 'POST', 'teams', { name: `华东 ${suffix}`, managers: [ids.mgr] })).id;
    ids.south = (await must(201, 'POST', 'teams', { name: `华南 ${suffix}` })).id;
    for (const [team, u] of [[ids.east, ids.a1], [ids.east, ids.a2], [ids.south, ids.b1]]) {
      await must(201, 'POST', `teams/${team}/members`, { userId: u, from: '2024-01-01' });
    }
    for (const [owner, amount, day] of [[ids.a1, 4_000_000, '2025-03-10'], [ids.a2, 1_000_000, '2025-11-02'], [ids.b1, 5_000_000, '2025-06-30'], [ids.b1, 2_000_000, '2026-03-15']]) {
      const id = (await must(201, 'POST', 'records/deal', { name: `E2E ${day}`, amount, customer: 'E2E 客户', closeDate: day, owner })).id;
      for (const to of ['qualified', 'proposal', 'won']) await must(200, 'POST', `records/deal/${id}/transition`, { to });
    }
    await must(200, 'PUT', `target-plans/${PLAN}`, {
      label: { 'zh-CN': '2026 自下而上', en: '2026 bottom-up' },
      metric: 'won_revenue',
      fiscalYear: 2026,
      amounts: { target: 1_000_000_000 },
      granularity: 1_000_000,
      seasonality: { source: 'equal' },
      allocation: { formula: '0.6 * history.share + 0.4 * potential.share', levels: [{ depth: 2, formula: 'history.share' }] },
      nodes: { [`team:${ids.east}`]: { inputs: { potential: 3 } }, [`team:${ids.south}`]: { inputs: { potential: 1 } } },
      dimension: { field: 'productLine', weightsFrom: 'fixed', values: [{ key: 'imaging', label: { 'zh-CN': '影像' }, weight: 3 }, { key: 'lab', label: { 'zh-CN': '检验' }, weight: 1 }] },
    });
    await must(200, 'POST', `target-plans/${PLAN}/allocate`, { reason: '年度目标发布' });
  });

  await step('manager-view', async () => {
    await signIn(mgrName, mgrPassword);
    await page.goto(`${uiBase}/targets/${PLAN}`);
    // The tree opens at the manager's region: 华东 is the node, its reps the rows.
    await page.getByTestId(`tree-row-user:${ids.a1}`).waitFor();
    assert.ok((await page.getByTestId('tree-node').textContent()).includes(`华东 ${suffix}`));
    for (const u of [ids.a1, ids.a2]) {
      const row = page.getByTestId(`tree-row-user:${u}`);
      assert.equal(await row.getByTestId('row-propose').count(), 1, 'the manager may propose for their reps');
      assert.equal(await row.getByTestId('row-lock').count(), 1, 'and lock them');
    }
    assert.equal(await page.getByTestId('respread-open').count(), 0, 'no re-spread for a manager');
    assert.equal(await page.getByRole('tab', { name: '提案' }).count(), 0, 'no 提案 tab for a manager');
    assert.equal(await page.getByRole('tab', { name: '编辑' }).count(), 0, 'no editor for a manager');
  });

  await step('manager-propose', async () => {
    await page.getByTestId(`tree-row-user:${ids.a1}`).getByTestId('row-propose').click();
    await page.getByTestId('propose-dialog').waitFor();
    const amount = page.getByTestId('propose-amount-target');
    assert.equal(await amount.inputValue(), '4800000', 'the dialog starts from the allocation');
    // Off the ¥10,000 granularity: the server's 422 shows under the field.
    await amount.fill('5000001');
    await page.getByTestId('propose-note').fill('重点客户已签约');
    await page.getByTestId('propose-save').click();
    await page.getByTestId('propose-error').waitFor();
    await page.locator('.ant-form-item-has-error', { has: amount }).waitFor();
    await amount.fill('5000000');
    const saved = page.waitForResponse((r) => r.url().endsWith(`/target-plans/${PLAN}/proposals`) && r.request().method() === 'POST');
    await page.getByTestId('propose-save').click();
    assert.equal((await saved).status(), 200, 'proposal saved');
    await page.getByTestId('propose-dialog').waitFor({ state: 'detached' });
    const row = page.getByTestId(`tree-row-user:${ids.a1}`);
    await row.getByTestId('row-proposal').waitFor();
    assert.equal(await row.getByTestId('row-proposal-amount').getAttribute('data-amount'), '500000000');
    assert.equal(await row.getByTestId('row-proposal-gap').getAttribute('data-amount'), '20000000', 'gap = 5,000,000 − 4,800,000 元');
    assert.equal(Number(await row.getByTestId('row-annual').getAttribute('data-amount')), 480_000_000, 'a proposal does not change the allocation');
  });

  await step('manager-403', async () => {
    // The org changes while the page is open: mgr no longer manages 华东. The button is still on
    // screen; the server's 403 shows in the dialog as a permission problem with its reason.
    await must(200, 'PATCH', `teams/${ids.east}`, { managers: [] });
    try {
      await page.getByTestId(`tree-row-user:${ids.a2}`).getByTestId('row-propose').click();
      await page.getByTestId('propose-dialog').waitFor();
      const refused = page.waitForResponse((r) => r.url().endsWith(`/target-plans/${PLAN}/proposals`) && r.request().method() === 'POST');
      await page.getByTestId('propose-save').click();
      assert.equal((await refused).status(), 403);
      const err = page.getByTestId('propose-error');
      await err.waitFor();
      const text = await err.textContent();
      assert.ok(text.includes('你没有权限执行此操作') && text.includes('not in a team you manage'), `403: ${text}`);
      await page.keyboard.press('Escape');
      await page.getByTestId('propose-dialog').waitFor({ state: 'detached' });
    } finally {
      await must(200, 'PATCH', `teams/${ids.east}`, { managers: [ids.mgr] });
    }
  });

  await step('admin-accept', async () => {
    // An admin's proposal for b1 above 华南's 4,000,000 元 cannot be accepted.
    await must(200, 'POST', `target-plans/${PLAN}/proposals`, { node: `user:${ids.b1}`, amounts: { target: 500_000_000 }, note: '超出上级' });
    await signOut();
    await signIn();
    await page.goto(`${uiBase}/targets/${PLAN}?tab=proposals`);
    const a1 = page.getByTestId(`proposal-user:${ids.a1}`);
    await a1.waitFor();
    assert.equal(await a1.getByTestId('proposal-gap-target').getAttribute('data-amount'), '20000000');
    assert.equal(await a1.getByTestId('proposal-allocated-target').getAttribute('data-amount'), '480000000');
    const b1 = page.getByTestId(`proposal-user:${ids.b1}`);
    await a1.locator('.ant-checkbox-input').check();
    await b1.locator('.ant-checkbox-input').check();
    await page.getByTestId('proposals-accept').click();
    const err = page.getByTestId('accept-error');
    await err.waitFor();
    assert.ok((await err.textContent()).includes('500,000,000'), `the 422 names the numbers: ${await err.textContent()}`);
    assert.equal(await page.getByTestId('accept-save').isDisabled(), true);
    await page.keyboard.press('Escape');
    await page.getByTestId('accept-dialog').waitFor({ state: 'detached' });
    await b1.locator('.ant-checkbox-input').uncheck();
    await page.getByTestId('proposals-accept').click();
    const a2 = page.getByTestId('accept-changes').getByTestId(`change-user:${ids.a2}`);
    await a2.waitFor();
    assert.equal(await a2.getByTestId('change-new').getAttribute('data-amount'), '100000000', 'a2 = 华东 6,000,000 − 5,000,000 元');
    assert.equal((await must(200, 'GET', `target-plans/${PLAN}/history`)).items.length, 1, 'the dry run saved nothing');
    await page.getByTestId('accept-reason').fill('接受华东经理提案');
    const saved = page.waitForResponse((r) => r.url().endsWith('/proposals/accept') && r.request().postDataJSON()?.dryRun === false);
    await page.getByTestId('accept-save').click();
    assert.equal((await saved).status(), 200, 'accepted');
    await page.getByTestId('accept-dialog').waitFor({ state: 'detached' });
    await a1.waitFor({ state: 'detached' });
    await b1.waitFor(); // still open
  });

  await step('tree-lock-and-dims', async () => {
    await page.goto(`${uiBase}/targets/${PLAN}?node=team:${ids.east}`);
    const a1 = page.getByTestId(`tree-row-user:${ids.a1}`);
    await a1.getByTestId('rule-locked').waitFor();
    assert.equal(await a1.getByTestId('row-annual').getAttribute('data-amount'), '500000000');
    assert.ok((await page.getByTestId('tree-sum').textContent()).includes('与上级一致'));
    // The product line split of a1: 3 : 1 of 5,000,000 元, summing to the row.
    await a1.locator('.ant-table-row-expand-icon').click();
    const dims = page.getByTestId(`dims-user:${ids.a1}`);
    await dims.waitFor();
    assert.equal(await dims.getByTestId('dim-imaging').getByTestId('dim-amount').getAttribute('data-amount'), '375000000');
    assert.equal(await dims.getByTestId('dim-lab').getByTestId('dim-amount').getAttribute('data-amount'), '125000000');
    assert.ok((await dims.textContent()).includes('影像'));
    assert.ok((await dims.getByTestId('dims-sum').textContent()).includes('一致'));
  });

  await step('editor-nodes', async () => {
    // The editor's node table reaches the reps: expanding 华东 loads its children through the preview.
    await page.getByRole('tab', { name: '编辑' }).click();
    const east = page.getByTestId(`node-row-team:${ids.east}`);
    await east.waitFor();
    assert.equal(await east.getByTestId(`node-input-potential-team:${ids.east}`).inputValue(), '3');
    await east.locator('.ant-table-row-expand-icon').click();
    const a1 = page.getByTestId(`node-row-user:${ids.a1}`);
    await a1.waitFor();
    await a1.getByTestId(`node-floor-user:${ids.a1}`).fill('1000000');
    await page.getByText('有未保存的修改').waitFor();
    assert.equal(await page.getByTestId('dim-field').inputValue(), 'productLine');
    if (process.env.E2E_SHOTS) await page.screenshot({ path: 'e2e/artifacts/targets-editor-nodes.png', fullPage: true });
    // Leave without saving: the plan stays as published.
    await page.getByTestId(`node-floor-user:${ids.a1}`).fill('');
  });

  await step('respread', async () => {
    const before = await must(200, 'GET', `target-plans/${PLAN}/tree`);
    const firstHalf = before.node.months.slice(0, 6).reduce((a, b) => a + b, 0);
    // The unmet remainder: 10,000,000 − 20,000 元 won before July, spread over July–December.
    const expected = firstHalf + 1_000_000_000 - 2_000_000;
    await page.goto(`${uiBase}/targets/${PLAN}`);
    await page.getByTestId('respread-open').click();
    await page.getByTestId('respread-dialog').waitFor();
    // Pick July (retried: the current month's dry run may re-render the dialog under the click).
    const month = page.getByTestId('respread-month');
    for (let i = 0; i < 5 && !(await month.textContent()).includes('2026-07'); i++) {
      if (!(await page.locator('.ant-select-item-option[title="2026-07"]').isVisible())) await month.click();
      await page.locator('.ant-select-item-option[title="2026-07"]').click();
      await sleep(200);
    }
    // The dialog opened on the current month's dry run; wait for July's.
    const preview = page.locator('[data-testid="respread-preview"][data-from="2026-07"]');
    await preview.waitFor();
    const total = preview.getByTestId('respread-total-target').getByTestId('respread-new-total');
    assert.equal(Number(await total.getAttribute('data-amount')), expected, 'new total = first half + target − actual to date');
    // a1 keeps its lock; a2 and b1 take the rest of their teams' new amounts.
    await preview.getByTestId('respread-changes').getByTestId(`change-user:${ids.a2}`).waitFor();
    assert.equal(await preview.getByTestId('respread-changes').getByTestId(`change-user:${ids.a1}`).count(), 0);
    assert.equal((await must(200, 'GET', `target-plans/${PLAN}/history`)).items.length, 2, 'the dry run saved nothing');
    await page.getByTestId('respread-reason').fill('下半年剩余目标重新分配');
    const saved = page.waitForResponse((r) => r.url().endsWith(`/target-plans/${PLAN}/respread`) && r.request().postDataJSON()?.dryRun === false);
    await page.getByTestId('respread-save').click();
    assert.equal((await saved).status(), 200, 're-spread saved');
    await page.getByTestId('respread-dialog').waitFor({ state: 'detached' });
    await page.waitForFunction((n) => document.querySelector('[data-testid="node-amount"]')?.dataset.amount === String(n), expected);
    assert.ok((await page.getByTestId('tree-sum').textContent()).includes('与上级一致'));
    const h = await must(200, 'GET', `target-plans/${PLAN}/history`);
    assert.equal(h.items.length, 3);
    assert.equal(h.items[2].totals.target, expected);
    for (const p of ['2026', '2026-Q1', '2026-Q3', '2026-Q4', '2026-07']) await assertSums(p);
  });
});
