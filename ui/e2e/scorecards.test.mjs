// End-to-end test of scorecards and the leaderboard (排行榜) against the real server, in
// headless Chromium (same harness as targets.test.mjs).
//
// Set-up through the API: a team (managed by a manager) with three reps; a target plan for
// new_deals over the team (4 deals per rep and month); this month's deals (甲 5, 乙 4, 丙 2);
// a rating form (e2e_rating: user, period, attitude 1–5) with this month's ratings (甲 5,
// 乙 3, 丙 4); and a scorecard — deals attainment (weight 70, cap 120) + attitude (weight 30),
// grades S ≥ 110 / A ≥ 100 / B ≥ 80 / C ≥ 60 / else D, title 月度之星 for the top 1. By hand:
//   甲: 125 % → capped 120; attitude 5 → 100; (70 × 120 + 30 × 100) ÷ 100 = 114 → S, 月度之星
//   乙: 100 %; attitude 3 → 50; (7000 + 1500) ÷ 100 = 85 → B
//   丙: 50 %; attitude 4 → 75; (3500 + 2250) ÷ 100 = 57.5 → D
// Then in the browser: the leaderboard shows the podium, ranks, grades and the title; 甲's row
// expands into the breakdown (the capped item, the weighting); on a phone-sized screen the
// podium gives way to the table; a rep sees the ranking but only their own breakdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiBase, apiLogin, page, setup, signIn, signOut, step, uiBase } from './harness.mjs';

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

const suffix = Date.now().toString(36);
const ids = {};
const now = new Date(new Date().toLocaleString('en-US', { timeZone: 'Asia/Shanghai' }));
const month = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`;

/** rows reads the leaderboard table: name, rank, score and grade per row, in order. */
async function rows() {
  return page.getByTestId('lb-table').locator('tbody tr[data-testid^="lb-row-"]').evaluateAll((trs) =>
    trs.map((tr) => ({
      id: tr.dataset.testid.slice('lb-row-'.length),
      rank: tr.querySelector('[data-testid="lb-rank"]')?.textContent ?? null,
      score: Number(tr.querySelector('[data-testid="lb-score"]')?.dataset.score ?? NaN),
      grade: tr.querySelector('[data-testid="lb-grade"]')?.textContent ?? null,
      text: tr.textContent,
    })),
  );
}

test('scorecards: leaderboard with ranks, grades and a title; a breakdown; phone layout; a rep sees only their own breakdown', { timeout: 240_000 }, async () => {
  await step('login', async () => {
    await signIn();
    token = await apiLogin();
  });

  await step('org-and-data', async () => {
    const user = async (name, display, role) =>
      (await must(201, 'POST', 'users', { username: `${name}.${suffix}`, displayName: display, password: `password-${name}-${suffix}`, roles: [role] })).id;
    ids.mgr = await user('mgr', '经理', 'manager');
    ids.a = await user('a', '甲', 'rep');
    ids.b = await user('b', '乙', 'rep');
    ids.c = await user('c', '丙', 'rep');
    ids.team = (await must(201, 'POST', 'teams', { name: `销售一部 ${suffix}`, managers: [ids.mgr] })).id;
    for (const u of [ids.a, ids.b, ids.c]) await must(201, 'POST', `teams/${ids.team}/members`, { userId: u, from: '2024-01-01' });
    await must(200, 'PUT', 'target-plans/e2e_deals', {
      label: { 'zh-CN': '新增商机目标', en: 'New deals' },
      metric: 'new_deals',
      fiscalYear: now.getFullYear(),
      amounts: { target: 14400 }, // stored units: a count metric keeps 100 per deal
      granularity: 1,
      seasonality: { weights: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
      org: { root: `team:${ids.team}` },
      allocation: { formula: 'potential.share' },
      nodes: Object.fromEntries([ids.a, ids.b, ids.c].map((u) => [`user:${u}`, { inputs: { potential: 1 } }])),
    });
    await must(200, 'POST', 'target-plans/e2e_deals/allocate', { reason: 'e2e' });
    for (const [owner, n] of [[ids.a, 5], [ids.b, 4], [ids.c, 2]]) {
      for (let i = 0; i < n; i++) await must(201, 'POST', 'records/deal', { name: `E2E 商机 ${i}`, amount: 1000, customer: 'E2E 客户', owner });
    }
    await must(200, 'PUT', 'objects/e2e_rating', {
      label: { 'zh-CN': '绩效评分', en: 'Rating' },
      schema: {
        type: 'object',
        required: ['user', 'period', 'attitude'],
        properties: { user: { type: 'string' }, period: { type: 'string' }, attitude: { type: 'integer', minimum: 1, maximum: 5 } },
      },
    });
    await must(200, 'POST', 'objects/e2e_rating/publish');
    for (const [u, v] of [[ids.a, 5], [ids.b, 3], [ids.c, 4]]) await must(201, 'POST', 'records/e2e_rating', { user: u, period: month, attitude: v });
  });

  await step('scorecard', async () => {
    const def = {
      label: { 'zh-CN': '月度考核', en: 'Monthly KPI' },
      grain: 'month',
      population: { roles: ['rep'] },
      items: [
        { key: 'deals', label: { 'zh-CN': '商机达成', en: 'Deals' }, weight: 70, cap: 120, type: 'attainment', metric: 'new_deals' },
        { key: 'attitude', label: { 'zh-CN': '工作态度', en: 'Attitude' }, weight: 30, type: 'rating', object: 'e2e_rating', field: 'attitude', userField: 'user', periodField: 'period', scale: { min: 1, max: 5 } },
      ],
      grades: [{ grade: 'S', min: 110 }, { grade: 'A', min: 100 }, { grade: 'B', min: 80 }, { grade: 'C', min: 60 }],
      fallbackGrade: 'D',
      recognition: [{ key: 'star', title: { 'zh-CN': '月度之星', en: 'Star of the month' }, top: 1 }],
    };
    // Unsorted grades are refused with a pointer.
    const bad = await call('PUT', 'scorecards/e2e_kpi', { ...def, grades: [{ grade: 'B', min: 80 }, { grade: 'A', min: 100 }] });
    assert.equal(bad.status, 422);
    assert.ok(bad.body.errors.some((e) => e.pointer === '/grades/1/min'), bad.text);
    await must(200, 'PUT', 'scorecards/e2e_kpi', def);
    await must(200, 'POST', 'scorecards/e2e_kpi/publish');
  });

  await step('admin-list', async () => {
    await page.goto(`${uiBase}/admin/scorecards`);
    await page.getByTestId('scorecard-e2e_kpi').waitFor();
  });

  await step('leaderboard', async () => {
    await page.goto(`${uiBase}/leaderboard?scorecard=e2e_kpi&node=team:${ids.team}`);
    await page.getByTestId(`lb-row-${ids.a}`).waitFor();
    const got = await rows();
    assert.deepEqual(
      got.map((r) => [r.id, r.rank, r.score, r.grade]),
      [
        [ids.a, '1', 114, 'S'],
        [ids.b, '2', 85, 'B'],
        [ids.c, '3', 57.5, 'D'],
      ],
    );
    assert.ok(got[0].text.includes('月度之星'), `title on 甲's row: ${got[0].text}`);
    assert.ok(!got[1].text.includes('月度之星'));
    const podium = page.getByTestId('podium');
    await podium.waitFor();
    assert.ok((await podium.textContent()).includes('甲'));
    assert.equal(await page.getByTestId('lb-period').textContent(), month);
  });

  await step('breakdown', async () => {
    await page.getByTestId(`lb-row-${ids.a}`).locator('.ant-table-row-expand-icon').click();
    const bd = page.getByTestId(`breakdown-${ids.a}`);
    await bd.waitFor();
    assert.equal(await bd.getByTestId('item-deals-score').getAttribute('data-score'), '120');
    assert.ok((await bd.getByTestId('item-deals-score').textContent()).includes('封顶'), 'capped tag');
    assert.equal(await bd.getByTestId('item-attitude-score').getAttribute('data-score'), '100');
    const explain = await bd.getByTestId('breakdown-explain').textContent();
    assert.ok(explain.includes('(70 × 120 + 30 × 100) ÷ 100 = 114'), explain);
    assert.ok((await bd.textContent()).includes('实际 5 / 目标 4'), await bd.textContent());
  });

  await step('phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.getByTestId(`lb-row-${ids.a}`).waitFor();
    assert.equal(await page.getByTestId('podium').count(), 0, 'no podium on a phone');
    const got = await rows();
    assert.deepEqual(got.map((r) => r.rank), ['1', '2', '3']);
    assert.ok(got[0].text.includes('月度之星'), 'titles stay visible on a phone');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px on a phone`);
    await page.setViewportSize({ width: 1366, height: 900 });
  });

  await step('rep-view', async () => {
    await signOut();
    await signIn(`b.${suffix}`, `password-b-${suffix}`);
    await page.goto(`${uiBase}/leaderboard?scorecard=e2e_kpi`);
    await page.getByTestId(`lb-row-${ids.a}`).waitFor();
    assert.ok((await page.getByTestId('lb-node-name').textContent()).includes('销售一部'), 'a rep lands on their team');
    assert.deepEqual((await rows()).map((r) => r.rank), ['1', '2', '3']);
    await page.getByTestId(`lb-row-${ids.a}`).locator('.ant-table-row-expand-icon').click();
    await page.getByText('仅本人与上级可见明细').waitFor();
    await page.getByTestId(`lb-row-${ids.b}`).locator('.ant-table-row-expand-icon').click();
    await page.getByTestId(`breakdown-${ids.b}`).waitFor();
  });
});
