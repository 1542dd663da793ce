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
// The server, the browser and the helpers are in harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiBase, apiLogin, page, setup, signIn, sleep, step, uiBase } from './harness.mjs';

// The server's periods are in Asia/Shanghai; the page computes the current quarter locally.
setup({ timezoneId: 'Asia/Shanghai' });

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
    await signIn();
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
