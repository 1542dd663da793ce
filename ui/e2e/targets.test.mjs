// End-to-end test of target plans against the real server, in headless Chromium (same harness
// as records.test.mjs and pipeline.test.mjs).
//
// Set-up through the API: two teams (华东 managed by a manager, with reps a1 and a2; 华南 with
// b1), memberships since 2024, and 2025 won deals (a1 40,000 元, a2 10,000 元, b1 50,000 元) so
// the allocation formula has history. A plan for 2026 (¥10,000,000, granularity ¥10,000,
// 0.6 × history.share + 0.4 × potential.share over the teams, history.share over the reps)
// is saved as a draft through the API and published from the editor with a reason. Then in
// the tree: drill into 华东, lock a1 at ¥4,000,000 — the dialog's dry run shows a2's new
// amount = 华东 − the lock before anything is saved — save with a reason, and see the lock tag,
// the children still summing to the team, and version 2 in 历史.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiBase, apiLogin, page, setup, signIn, sleep, step, uiBase } from './harness.mjs';

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

const PLAN = 'fy2026';
const suffix = Date.now().toString(36);
const ids = {};

/** amountsOf reads the raw amounts (分) of the rows of the children table, by node key. */
async function amountsOf() {
  return page.getByTestId('tree-children').locator('tbody tr[data-testid^="tree-row-"]').evaluateAll((rows) =>
    Object.fromEntries(rows.map((r) => [r.dataset.testid.slice('tree-row-'.length), Number(r.querySelector('[data-testid="row-annual"]').dataset.amount)])),
  );
}

test('targets: publish from the editor, drill in, lock a rep with the re-spread previewed, see version 2', { timeout: 240_000 }, async () => {
  await step('login', async () => {
    await signIn();
    token = await apiLogin();
  });

  await step('org', async () => {
    const user = async (name, role) => (await must(201, 'POST', 'users', { username: `${name}.${suffix}`, displayName: name, password: `password-${name}-${suffix}`, roles: [role] })).id;
    ids.mgr = await user('mgr', 'manager');
    ids.a1 = await user('a1', 'rep');
    ids.a2 = await user('a2', 'rep');
    ids.b1 = await user('b1', 'rep');
    ids.east = (await must(201, 'POST', 'teams', { name: `华东 ${suffix}`, managers: [ids.mgr] })).id;
    ids.south = (await must(201, 'POST', 'teams', { name: `华南 ${suffix}` })).id;
    for (const [team, u] of [[ids.east, ids.a1], [ids.east, ids.a2], [ids.south, ids.b1]]) {
      await must(201, 'POST', `teams/${team}/members`, { userId: u, from: '2024-01-01' });
    }
    for (const [owner, amount, day] of [[ids.a1, 4_000_000, '2025-03-10'], [ids.a2, 1_000_000, '2025-11-02'], [ids.b1, 5_000_000, '2025-06-30']]) {
      const id = (await must(201, 'POST', 'records/deal', { name: `E2E 历史 ${day}`, amount, customer: 'E2E 客户', closeDate: day, owner })).id;
      for (const to of ['qualified', 'proposal', 'won']) await must(200, 'POST', `records/deal/${id}/transition`, { to });
    }
  });

  await step('draft', async () => {
    await must(200, 'PUT', `target-plans/${PLAN}`, {
      label: { 'zh-CN': '2026 赢单目标', en: '2026 won revenue' },
      metric: 'won_revenue',
      fiscalYear: 2026,
      amounts: { target: 1_000_000_000 },
      granularity: 1_000_000,
      seasonality: { source: 'equal' },
      allocation: { formula: '0.6 * history.share + 0.4 * potential.share', levels: [{ depth: 2, formula: 'history.share' }] },
      nodes: { [`team:${ids.east}`]: { inputs: { potential: 3 } }, [`team:${ids.south}`]: { inputs: { potential: 1 } } },
    });
  });

  await step('editor-publish', async () => {
    await page.goto(`${uiBase}/targets`);
    await page.getByTestId(`target-plan-${PLAN}`).click();
    await page.getByRole('tab', { name: '编辑' }).click();
    // The live preview splits the root over the two teams (east 60 %).
    const east = page.getByTestId(`preview-row-team:${ids.east}`);
    await east.waitFor();
    assert.equal(await east.getByTestId('preview-amount').getAttribute('data-amount'), '600000000');
    // A formula typo answers in place, under the field, without saving.
    const formula = page.getByTestId('editor-formula');
    await formula.fill('0.6 * history.share + 0.4 * potentail.share');
    await page.getByTestId('editor-preview-error').waitFor();
    await page.locator('.ant-form-item-has-error', { has: formula }).waitFor();
    await formula.fill('0.6 * history.share + 0.4 * potential.share');
    await east.waitFor();
    await page.getByTestId('editor-publish').click();
    await page.getByTestId('publish-reason').fill('年度目标发布');
    const resp = page.waitForResponse((r) => r.url().includes(`/target-plans/${PLAN}/allocate`) && !r.url().includes('dryRun') && r.request().method() === 'POST');
    await page.getByTestId('publish-ok').click();
    assert.equal((await resp).status(), 200, 'publish');
  });

  let eastAnnual;
  await step('tree-drill', async () => {
    await page.getByRole('tab', { name: '目标树' }).click();
    const row = page.getByTestId(`tree-row-team:${ids.east}`);
    await row.waitFor();
    eastAnnual = Number(await row.getByTestId('row-annual').getAttribute('data-amount'));
    assert.equal(eastAnnual, 600_000_000);
    assert.ok((await row.textContent()).includes('公式'), 'the rule tag says 公式');
    // The explain drawer says how 华东 got 60 %.
    await row.getByTestId('row-explain').click();
    const ex = page.getByTestId('explain');
    await ex.waitFor();
    const text = await ex.textContent();
    assert.ok(text.includes('0.6 * history.share + 0.4 * potential.share') && text.includes('60.00%') && text.includes('history'), `explain: ${text}`);
    await page.keyboard.press('Escape');
    await ex.waitFor({ state: 'detached' });
    await row.getByTestId('tree-drill').click();
    await page.getByTestId(`tree-row-user:${ids.a1}`).waitFor();
    assert.ok((await page.getByTestId('tree-path').textContent()).includes(`华东 ${suffix}`));
    assert.deepEqual(await amountsOf(), { [`user:${ids.a1}`]: 480_000_000, [`user:${ids.a2}`]: 120_000_000 });
  });

  await step('lock', async () => {
    await page.getByTestId(`tree-row-user:${ids.a1}`).getByTestId('row-lock').click();
    const dialog = page.getByTestId('lock-dialog');
    await dialog.waitFor();
    // An impossible lock shows the server's numbers in place.
    await page.getByTestId('lock-amount').fill('7000000');
    const err = page.getByTestId('lock-error');
    await err.waitFor();
    assert.ok((await err.textContent()).includes('700,000,000'), `lock error: ${await err.textContent()}`);
    const dry = page.waitForResponse((r) => r.url().endsWith(`/target-plans/${PLAN}/locks`) && r.request().postDataJSON()?.amount === 400_000_000);
    await page.getByTestId('lock-amount').fill('4000000');
    assert.equal((await dry).status(), 200);
    assert.equal((await dry).request().postDataJSON().dryRun, true);
    const sib = dialog.getByTestId(`change-user:${ids.a2}`);
    await sib.waitFor();
    assert.equal(Number(await sib.getByTestId('change-new').getAttribute('data-amount')), eastAnnual - 400_000_000, "a2's new amount is 华东 − the lock");
    assert.equal(Number(await sib.getByTestId('change-old').getAttribute('data-amount')), 120_000_000);
    const h = await must(200, 'GET', `target-plans/${PLAN}/history`);
    assert.equal(h.items.length, 1, 'the dry run saved nothing');
    await page.getByTestId('lock-reason').fill('a1 客户调整');
    const saved = page.waitForResponse((r) => r.url().endsWith(`/target-plans/${PLAN}/locks`) && r.request().postDataJSON()?.dryRun === false);
    await page.getByTestId('lock-save').click();
    assert.equal((await saved).status(), 200, 'lock saved');
    await dialog.waitFor({ state: 'detached' });
  });

  await step('tree-after', async () => {
    const a1 = page.getByTestId(`tree-row-user:${ids.a1}`);
    await a1.getByTestId('rule-locked').waitFor();
    let amounts;
    for (let i = 0; i < 20; i++) {
      amounts = await amountsOf();
      if (amounts[`user:${ids.a1}`] === 400_000_000) break;
      await sleep(200);
    }
    assert.deepEqual(amounts, { [`user:${ids.a1}`]: 400_000_000, [`user:${ids.a2}`]: 200_000_000 });
    const node = Number(await page.getByTestId('node-amount').getAttribute('data-amount'));
    assert.equal(node, eastAnnual);
    assert.equal(Object.values(amounts).reduce((a, b) => a + b, 0), node, 'the reps still sum to the team');
    assert.ok((await page.getByTestId('tree-sum').textContent()).includes('与上级一致'));
    // A quarter sums too.
    await page.getByText('季度', { exact: true }).click();
    await page.waitForURL((u) => u.searchParams.get('period') === '2026-Q1');
    await page.waitForFunction(() => document.querySelector('[data-testid="tree-sum"]')?.textContent.includes('与上级一致'));
  });

  await step('history', async () => {
    await page.getByRole('tab', { name: '历史' }).click();
    const v2 = page.getByTestId('history-v2');
    await v2.waitFor();
    assert.ok((await v2.textContent()).includes('a1 客户调整'));
    assert.ok((await page.getByTestId('history-v1').textContent()).includes('年度目标发布'));
    const diff = page.getByTestId('diff');
    await diff.waitFor();
    await diff.getByTestId(`change-user:${ids.a1}`).waitFor();
  });

  await step('phone', async () => {
    // On a phone the table scrolls sideways inside the page and the explain drawer is full-width.
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${uiBase}/targets/${PLAN}?node=team:${ids.east}`);
      const row = page.getByTestId(`tree-row-user:${ids.a1}`);
      await row.waitFor();
      const docWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(docWidth <= 390, `the page does not scroll sideways (${docWidth} px)`);
      if (process.env.E2E_SHOTS) await page.screenshot({ path: 'e2e/artifacts/targets-phone-tree.png', fullPage: true });
      await row.getByTestId('row-explain').click();
      const drawer = page.locator('.ant-drawer-content-wrapper');
      await page.getByTestId('explain').waitFor();
      const box = await drawer.boundingBox();
      assert.ok(box && box.width >= 389, `the drawer is full-width (${box?.width})`);
      if (process.env.E2E_SHOTS) await page.screenshot({ path: 'e2e/artifacts/targets-phone-explain.png' });
    } finally {
      await page.setViewportSize({ width: 1366, height: 900 });
    }
  });
});
