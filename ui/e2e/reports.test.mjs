// End-to-end test of reports (报表) against the real server, in headless Chromium (same harness
// as targets.test.mjs).
//
// Set-up through the API: a team 报表组 with two reps; this quarter's deals won by each
// (甲 1,234.56 + 200.00 元, 乙 999.99 元) and one open deal that must not count. In the browser:
// the built-in attainment report for the team shows each rep's actual and the team's total,
// equal to the sum of the won deals created through the API; the chart is drawn; the Excel and
// CSV exports download (an XLSX workbook; a CSV with Chinese headers and the amounts in 元).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { apiBase, apiLogin, page, setup, signIn, step, uiBase } from './harness.mjs';

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
const now = new Date(new Date().toLocaleString('en-US', { timeZone: 'Asia/Shanghai' }));
const today = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
const quarter = `${now.getFullYear()}-Q${Math.floor(now.getMonth() / 3) + 1}`;
const yuan = (fen) => (fen / 100).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

test('reports: a built-in report shows the numbers of deals created through the API, draws its chart and exports', { timeout: 240_000 }, async () => {
  let team;
  const won = { a: [123456, 20000], b: [99999] };
  await step('login and data', async () => {
    await signIn();
    token = await apiLogin();
    const a = await must(201, 'POST', 'users', { username: `rpt.a.${suffix}`, displayName: '报表甲', password: 'password-rpt-a', roles: ['rep'] });
    const b = await must(201, 'POST', 'users', { username: `rpt.b.${suffix}`, displayName: '报表乙', password: 'password-rpt-b', roles: ['rep'] });
    team = (await must(201, 'POST', 'teams', { name: `报表组 ${suffix}` })).id;
    for (const u of [a, b]) await must(201, 'POST', `teams/${team}/members`, { userId: u.id, from: '2020-01-01' });
    const deal = async (owner, amount, win) => {
      const d = await must(201, 'POST', 'records/deal', { name: `rpt ${amount}`, amount, customer: 'e2e', closeDate: today, owner });
      if (win) for (const to of ['qualified', 'proposal', 'won']) await must(200, 'POST', `records/deal/${d.id}/transition`, { to });
    };
    for (const x of won.a) await deal(a.id, x, true);
    for (const x of won.b) await deal(b.id, x, true);
    await deal(a.id, 777777, false);
  });

  const total = [...won.a, ...won.b].reduce((s, x) => s + x, 0);
  await step('run the attainment report for the team', async () => {
    await page.goto(`${uiBase}/reports?report=builtin:attainment&metric=won_revenue&period=${quarter}&node=team:${team}`);
    const table = page.getByTestId('report-table');
    await table.getByText('报表甲').waitFor();
    const rowA = table.locator('tr', { hasText: '报表甲' });
    const rowB = table.locator('tr', { hasText: '报表乙' });
    assert.match(await rowA.textContent(), new RegExp(yuan(won.a[0] + won.a[1]).replace(/[.]/g, '\\.')));
    assert.match(await rowB.textContent(), new RegExp(yuan(won.b[0]).replace(/[.]/g, '\\.')));
    assert.equal((await page.getByTestId('report-total-actual').textContent()).trim(), yuan(total));
    await page.getByTestId('report-chart').locator('canvas').first().waitFor();
  });

  await step('export Excel and CSV', async () => {
    const [x] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-xlsx').click()]);
    assert.match(x.suggestedFilename(), /^attainment-.*\.xlsx$/);
    const xp = await x.path();
    const head = fs.readFileSync(xp).subarray(0, 2).toString();
    assert.equal(head, 'PK', 'an XLSX file is a zip');
    const [c] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const csv = fs.readFileSync(await c.path(), 'utf8');
    assert.ok(csv.startsWith('\uFEFF节点,目标,实际'), csv.slice(0, 60));
    assert.ok(csv.includes('报表甲'), csv);
    assert.ok(csv.includes(((won.a[0] + won.a[1]) / 100).toFixed(2)), csv);
  });

  await step('the API agrees', async () => {
    const r = await must(200, 'GET', `reports/builtin/attainment?metric=won_revenue&period=${quarter}&node=team:${team}`);
    assert.equal(r.totals.actual, total);
  });
});
