// End-to-end test of the template gallery, install, diff and export against the real server, in
// headless Chromium (same harness as the other e2e tests).
//
// The admin opens 模板中心 from the menu, previews pharma (its pipeline's stages in order, as the
// API's bundle has them), installs it — the dry run lists every definition as 新建 and writes
// nothing; confirming writes them — and finds the new 医院 object in the menu and its list page.
// Comparing with pharma then shows nothing added or changed. A consultant's tweak (a stage label
// changed through the API) shows in the diff as one field, old → new, and makes the next install
// a conflict until "覆盖本地修改" turns it into an overwrite. The export downloads
// <name>.template.json, a stride.template/v1 bundle, which uploaded into the diff view compares
// clean; a bundle with a bad metric is refused at the dry run with the pointer into the bundle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { apiBase, apiLogin, page, setup, signIn, step, uiBase } from './harness.mjs';

setup({ timezoneId: 'Asia/Shanghai' });

let token;
async function call(method, p, body, headers = {}) {
  const res = await fetch(`${apiBase}/api/v1/${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
}
async function must(status, method, p, body, headers) {
  const r = await call(method, p, body, headers);
  assert.equal(r.status, status, `${method} ${p}: ${r.text}`);
  return r.body;
}

/** shot saves a screenshot for a human to look at when E2E_SHOTS is set. */
async function shot(name, fullPage = false) {
  if (!process.env.E2E_SHOTS) return;
  fs.mkdirSync('e2e/artifacts', { recursive: true });
  await page.screenshot({ path: `e2e/artifacts/templates-${name}.png`, fullPage });
}

/** changeActions reads the rows of a change table: "kind:key" → action. */
async function changeActions(testId) {
  const table = page.getByTestId(testId);
  await table.waitFor();
  return table.locator('[data-testid^="change-"][data-action]').evaluateAll((rows) => Object.fromEntries(rows.map((r) => [r.dataset.testid.slice('change-'.length), r.dataset.action])));
}

/** keysOf lists every definition of a bundle as "kind-key", as the change rows name them. */
function keysOf(b) {
  return [
    ...(b.objects ?? []).map((d) => `object-${d.key}`),
    ...(b.pipelines ?? []).map((d) => `pipeline-${d.key}`),
    ...(b.metrics ?? []).map((d) => `metric-${d.key}`),
    ...(b.targetPlans ?? []).map((d) => `target_plan-${d.key}`),
    ...(b.commissionPlans ?? []).map((d) => `commission_plan-${d.key}`),
    ...(b.scorecards ?? []).map((d) => `scorecard-${d.key}`),
  ].sort();
}

/** diffCounts waits for a diff result and reads its added / changed / removed counts. */
async function diffCounts() {
  const r = page.getByTestId('diff-result');
  await r.waitFor();
  const [added, changed, removed] = await Promise.all(['added', 'changed', 'removed'].map((k) => r.getAttribute(`data-${k}`)));
  return { added: Number(added), changed: Number(changed), removed: Number(removed) };
}

test('templates: preview and install pharma, diff clean, tweak → conflict → overwrite, export and upload', { timeout: 240_000 }, async () => {
  let pharma;
  await step('login', async () => {
    await signIn();
    token = await apiLogin();
    pharma = await must(200, 'GET', 'templates/pharma');
    await must(404, 'GET', 'objects/hospital');
  });

  await step('gallery', async () => {
    await page.getByRole('menuitem', { name: '模板中心' }).click();
    await page.waitForURL((u) => u.pathname === '/admin/templates');
    const gallery = await must(200, 'GET', 'templates');
    for (const it of gallery.items) {
      const card = page.getByTestId(`template-card-${it.name}`);
      await card.waitFor();
      assert.ok((await card.innerText()).includes(it.metadata.label['zh-CN']), `card ${it.name} shows its label`);
      for (const c of ['objects', 'pipelines', 'metrics', 'targetPlans']) {
        assert.equal(await page.getByTestId(`template-count-${it.name}-${c}`).innerText(), String(it.contains[c].length), `${it.name} ${c} count`);
      }
    }
  });

  await step('preview', async () => {
    await page.getByTestId('template-preview-pharma').click();
    const drawer = page.getByTestId('template-preview');
    for (const p of pharma.pipelines) {
      const stages = drawer.locator(`[data-testid^="preview-stage-${p.key}-"]`);
      await stages.first().waitFor();
      const shown = await stages.evaluateAll((els) => els.map((e) => e.dataset.testid));
      assert.deepEqual(shown, p.stages.map((s) => `preview-stage-${p.key}-${s.key}`), `${p.key}: every stage, in order`);
      const texts = await stages.allInnerTexts();
      p.stages.forEach((s, i) => assert.ok(texts[i].includes(s.label['zh-CN']), `stage ${s.key} labelled ${s.label['zh-CN']}: ${texts[i]}`));
    }
    const objects = await drawer.getByTestId('preview-objects').innerText();
    for (const o of pharma.objects) assert.ok(objects.includes(o.label['zh-CN']), `object ${o.key} in the preview`);
    assert.ok((await drawer.getByTestId('preview-plans').innerText()).includes('年度回款目标'));
    await shot('preview');
  });

  await step('install: dry run', async () => {
    await page.getByTestId('preview-install').click();
    const rows = await changeActions('install-changes');
    assert.deepEqual(Object.keys(rows).sort(), keysOf(pharma), 'the dry run lists every definition of the bundle');
    for (const [k, a] of Object.entries(rows)) assert.equal(a, 'create', `${k} is created`);
    const summary = await page.getByTestId('change-summary').innerText();
    assert.ok(summary.includes(`新建 ${keysOf(pharma).length}`), summary);
    await must(404, 'GET', 'objects/hospital'); // a dry run writes nothing
    await shot('dry-run');
  });

  await step('install: confirm', async () => {
    await page.getByTestId('install-confirm').click();
    await page.getByTestId('install-result').waitFor();
    assert.ok((await page.getByTestId('install-result').innerText()).includes('已安装 pharma 1.0.0 到租户 demo'));
    const rows = await changeActions('install-result-changes');
    assert.equal(Object.values(rows).filter((a) => a === 'create').length, keysOf(pharma).length);
    await page.getByTestId('install-close').click();
    const hospital = await must(200, 'GET', 'objects/hospital?published=true');
    assert.equal(hospital.definition.label['zh-CN'], '医院');
  });

  await step('pharma objects in the app', async () => {
    // The menu is refreshed after the install: 医院 opens its list page.
    await page.getByRole('menuitem').filter({ hasText: /^医院$/ }).click();
    await page.waitForURL((u) => u.pathname === '/records/hospital');
    await page.getByRole('heading', { name: '医院' }).waitFor();
  });

  await step('diff: clean after install', async () => {
    await page.getByRole('menuitem', { name: '模板中心' }).click();
    await page.getByTestId('template-compare-pharma').click();
    await page.waitForURL((u) => u.pathname === '/admin/templates/diff' && u.searchParams.get('name') === 'pharma');
    const n = await diffCounts();
    assert.equal(n.added, 0, 'nothing added');
    assert.equal(n.changed, 0, 'nothing changed');
    assert.ok(n.removed > 0, "the demo tenant's own definitions are only in the tenant");
    await page.getByTestId('diff-same').waitFor();
    // Definitions only the tenant has are hidden until asked for.
    assert.equal(await page.locator('[data-testid^="diff-entry-"]').count(), 0);
    await page.getByTestId('diff-show-removed').click();
    await page.getByTestId('diff-entry-object-deal').waitFor();
    assert.equal(await page.getByTestId('diff-entry-object-deal').getAttribute('data-status'), 'removed');
  });

  await step('diff: a local tweak', async () => {
    const env = await must(200, 'GET', 'pipelines/hospital_access');
    const def = structuredClone(env.definition);
    def.stages[1].label['zh-CN'] = '进院评审';
    await must(200, 'PUT', 'pipelines/hospital_access', def, { 'If-Match': `"${env.version}"` });
    await must(200, 'POST', 'pipelines/hospital_access/publish');
    await page.getByTestId('diff-run').click();
    await page.getByTestId('diff-entry-pipeline-hospital_access').waitFor();
    const n = await diffCounts();
    assert.deepEqual([n.added, n.changed], [0, 1]);
    assert.equal(await page.getByTestId('diff-entry-pipeline-hospital_access').getAttribute('data-status'), 'changed');
    // A changed definition opens with its field changes.
    const change = page.getByTestId('diff-changes-pipeline-hospital_access').getByTestId('diff-change');
    await change.waitFor();
    assert.equal(await change.getAttribute('data-path'), '/stages/1/label/zh-CN');
    const text = await change.innerText();
    assert.ok(text.includes('进院评审') && text.includes('进院申请'), `tenant → template: ${text}`);
    await shot('diff-changed', true);
  });

  await step('install again: conflict, then overwrite', async () => {
    await page.getByTestId('diff-install').click();
    let rows = await changeActions('install-changes');
    assert.equal(rows['pipeline-hospital_access'], 'conflict');
    const row = page.getByTestId('install-changes').getByTestId('change-pipeline-hospital_access');
    assert.ok((await row.innerText()).includes('模板 pharma 安装后在本租户被修改过'), await row.innerText());
    for (const [k, a] of Object.entries(rows)) if (k !== 'pipeline-hospital_access') assert.equal(a, 'unchanged', k);
    await shot('conflict');
    // Nothing to write while the only difference is a conflict.
    await page.getByTestId('install-nothing').waitFor();
    assert.ok((await page.getByTestId('install-nothing').innerText()).includes('覆盖本地修改'));
    assert.equal(await page.getByTestId('install-confirm').isDisabled(), true);
    await page.getByTestId('install-force').click();
    await page.getByTestId('install-changes').locator('[data-testid="change-pipeline-hospital_access"][data-action="overwrite"]').waitFor();
    await page.getByTestId('install-confirm').click();
    await page.getByTestId('install-result').waitFor();
    rows = await changeActions('install-result-changes');
    assert.equal(rows['pipeline-hospital_access'], 'overwrite');
    await page.getByTestId('install-close').click();
    const env = await must(200, 'GET', 'pipelines/hospital_access?published=true');
    assert.equal(env.definition.stages[1].label['zh-CN'], '进院申请');
    const n = await diffCounts(); // the page compares again after an install
    await page.getByTestId('diff-same').waitFor();
    assert.equal(n.changed + n.added, 0);
  });

  let exported;
  await step('export', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('template-export').click()]);
    assert.match(download.suggestedFilename(), /^[\w.-]+\.template\.json$/);
    exported = download.suggestedFilename();
    const file = await download.path();
    const b = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(b.bundle, 'stride.template/v1');
    assert.equal(exported, `${b.metadata.name}.template.json`);
    for (const o of pharma.objects) assert.ok(b.objects.some((x) => x.key === o.key), `export has ${o.key}`);
    fs.copyFileSync(file, `${file}.json`);
    exported = { name: exported, path: `${file}.json` };
  });

  await step('upload the export: clean', async () => {
    await page.getByTestId('diff-mode').getByText('上传模板包').click();
    await page.locator('input[type=file]').setInputFiles({ name: exported.name, mimeType: 'application/json', buffer: fs.readFileSync(exported.path) });
    await page.getByTestId('diff-file').waitFor();
    await page.getByTestId('diff-same').waitFor();
    const n = await diffCounts();
    assert.deepEqual(n, { added: 0, changed: 0, removed: 0 });
  });

  await step('upload a bad bundle: 422 with its pointer', async () => {
    const bad = {
      bundle: 'stride.template/v1',
      metadata: { name: 'bad', version: '1.0.0', label: { en: 'Bad' } },
      metrics: [{ key: 'm1', label: { en: 'M' }, object: 'deal', value: 'amout', dateField: 'closeDate', ownerField: 'owner' }],
    };
    await page.locator('input[type=file]').setInputFiles({ name: 'bad.template.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(bad)) });
    await page.getByTestId('diff-entry-metric-m1').waitFor();
    await page.getByTestId('diff-install').click();
    const problem = page.getByTestId('install-dry-run').getByTestId('bundle-problem');
    await problem.waitFor();
    const item = problem.locator('li[data-pointer="/bundle/metrics/0/value"]');
    await item.waitFor();
    assert.ok((await item.innerText()).includes('指标 m1'), await item.innerText());
    assert.equal(await page.getByTestId('install-confirm').isDisabled(), true);
    await shot('bad-bundle');
    await must(404, 'GET', 'metrics/m1');
    // Not JSON at all: said in the page, nothing sent.
    await page.keyboard.press('Escape');
    await page.locator('input[type=file]').setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"bundle": ') });
    await page.getByTestId('diff-file-error').waitFor();
  });

  await step('phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const noSideways = async (what) => {
      const [sw, cw] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
      assert.ok(sw <= cw, `${what}: the page scrolls sideways (${sw} > ${cw})`);
    };
    await page.goto(`${uiBase}/admin/templates/diff?name=pharma`);
    await page.getByTestId('diff-show-removed').click();
    await page.locator('[data-testid^="diff-entry-"]').first().waitFor();
    await noSideways('diff');
    await shot('phone-diff', true);
    await page.goto(`${uiBase}/admin/templates`);
    await page.getByTestId('template-card-pharma').waitFor();
    await noSideways('gallery');
    await shot('phone-gallery', true);
    await page.getByTestId('template-preview-pharma').click();
    await page.getByTestId('preview-pipeline-hospital_access').waitFor();
    const box = await page.locator('.ant-drawer-content-wrapper').boundingBox();
    assert.ok(box && box.width >= 389, `the preview is full-width on a phone (${box?.width})`);
    await shot('phone-preview');
    await page.getByTestId('preview-install').click();
    await page.getByTestId('install-changes').waitFor();
    await noSideways('install dialog');
    await shot('phone-install');
  });
});
