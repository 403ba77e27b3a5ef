// The event explorer (/ui) end to end in a real headless Chromium (playwright-core) against a real
// gateway and nats-server: sign in, live tail (within 1 s, pause/resume, copy as curl), history
// search, saga timeline, dead-letter redrive (one, then all after a dry-run count), catalogue
// publish validated in the page; every view scanned by axe-core (no serious or critical
// violations) at 1280 px and at phone width, screenshots in test-output/ui/, no CSP violation, and
// the key never in a URL or a log line. Skips with the reason when Chromium is missing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import { axeScan, chromiumMissing, launchBrowser, testOutputDir } from './helpers/browser.ts';
import { eventually } from './helpers/eventually.ts';
import { KEYS, auth, sampleEvent, startGateway } from './helpers/gateway.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { startNats } from './helpers/nats.ts';

const WAIT = { timeout: 30_000 };
// Page-side code is written as strings: this project's TypeScript has no DOM types.

/** The `data-<name>` of every element matching `selector`, in document order. */
function dataOf(page: Page, selector: string, name: string): Promise<string[]> {
  return page.evaluate(`[...document.querySelectorAll(${JSON.stringify(selector)})].map((e) => e.dataset[${JSON.stringify(name)}])`);
}

t.test('the event explorer in a browser', { skip: chromiumMissing() }, async (t) => {
  const logs = captureLogs('info');
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true, logger: logs.logger });
  const shots = testOutputDir('ui');

  const rest = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { ...auth(KEYS.a), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const publish = (event: Record<string, unknown>) =>
    rest('POST', '/v1/events', sampleEvent(event)) as Promise<{ id: string; seq: number }>;

  const context = await launchBrowser(t);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.url });
  // Before any page script: collect CSP violations the browser reports.
  await context.addInitScript(`
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
  `);
  const page = await context.newPage();
  const problems: string[] = [];
  const urls: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  // Chrome logs every failed request as a console error; those are checked as responses below.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`console error: ${msg.text()}`);
  });
  const failed: string[] = [];
  page.on('response', (res) => {
    if (res.status() >= 400) failed.push(`${res.status()} ${new URL(res.url()).pathname}`);
  });
  page.on('request', (req) => urls.push(req.url()));

  const axeFindings: Record<string, string[]> = {};
  async function check(view: string) {
    await page.screenshot({ path: join(shots, `${view}.png`), fullPage: true });
    axeFindings[view] = await axeScan(page);
  }

  // ---- the page and its headers
  const first = await page.goto(`${gw.url}/ui`);
  t.equal(new URL(page.url()).pathname, '/ui/', '/ui redirects to /ui/');
  const csp = (await first?.allHeaders())?.['content-security-policy'] ?? '';
  t.match(csp, /default-src 'self'/);
  t.match(csp, /script-src 'self'(;|$)/, 'scripts from the gateway only, nothing inline');
  t.match(csp, new RegExp(`connect-src 'self' ws://${new URL(gw.url).host.replace(/\./g, '\\.')}`));
  t.notMatch(csp, /unsafe-inline|unsafe-eval/);

  // ---- sign in (a wrong key first)
  await page.getByLabel('API key').fill('not-a-key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('This key is not valid.').waitFor(WAIT);
  await check('sign-in');
  await page.getByLabel('API key').fill(KEYS.a);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-view="live"][data-state="live"]').waitFor(WAIT);
  t.equal(await page.evaluate(`Object.values(sessionStorage).includes(${JSON.stringify(KEYS.a)})`), true, 'the key is in sessionStorage');
  t.equal(await page.evaluate('localStorage.length'), 0, 'and nowhere lasting');

  // ---- live tail: an event published now shows within 1 s (measured in the page, from the publish)
  await page.evaluate(`
    window.seen = {};
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) if (n.dataset?.id) window.seen[n.dataset.id] ??= Date.now();
    }).observe(document.querySelector('ol.events'), { childList: true });
  `);
  const sentAt = Date.now();
  const live = await publish({
    id: 'evt_ui_live_1',
    type: 'order.created',
    data: { order_id: 'ord_ui_1' },
    metadata: { correlation_id: 'live_ui_1' },
  });
  await page.locator('li[data-id="evt_ui_live_1"]').waitFor(WAIT);
  const latency = (await page.evaluate<number>("window.seen['evt_ui_live_1']")) - sentAt;
  t.ok(latency <= 1000, `the event appears in the live tail within 1 s (took ${latency} ms)`);
  t.equal(await page.locator('li[data-id="evt_ui_live_1"] .seq').textContent(), `#${live.seq}`);
  await page.locator('li[data-id="evt_ui_live_1"] summary').click();
  t.match(await page.locator('li[data-id="evt_ui_live_1"] pre.json').textContent(), /"order_id": "ord_ui_1"/, 'expanded as formatted JSON');
  await page.locator('li[data-id="evt_ui_live_1"]').getByRole('button', { name: 'Copy as curl' }).click();
  const curl = (await page.locator('li[data-id="evt_ui_live_1"] pre.curl').textContent()) ?? '';
  t.match(curl, /^curl -X POST '.*\/v1\/events'/);
  t.match(curl, /Authorization: Bearer \$KEY/, 'the key stays a shell variable');
  t.notMatch(curl, /key-tenant-a/);
  t.equal(await page.evaluate('navigator.clipboard.readText()'), curl, 'copied to the clipboard');
  // The rate counts the last 5 s, so each probe publishes one more event (at most 16) and reads it.
  let ticks = 0;
  await eventually(
    'a rate above zero',
    async () => {
      await publish({ id: `evt_ui_tick_${ticks++}`, type: 'dns.configured', data: { resource_id: 'res_1', hostname: 'vm1.example.net' } });
      return page.locator('output.rate').textContent();
    },
    (r) => Number(r) > 0,
    { timeoutMs: 30_000, intervalMs: 1000, maxTries: 16 },
  );

  await page.getByRole('button', { name: 'Pause' }).click();
  await publish({
    id: 'evt_ui_paused',
    type: 'invoice.paid',
    data: { invoice_id: 'inv_1', amount: 5, currency: 'EUR', paid_at: '2026-03-15T10:05:22Z' },
  });
  await page.getByText('1 buffered').waitFor(WAIT);
  t.equal(await page.locator('li[data-id="evt_ui_paused"]').count(), 0, 'paused: not shown');
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator('li[data-id="evt_ui_paused"]').waitFor(WAIT);

  // A type pattern: only order events from now on.
  await page.getByLabel('Type patterns').fill('resource.*');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByText('Live: resource.*').waitFor(WAIT);
  await publish({ id: 'evt_ui_skip', type: 'order.created', data: { order_id: 'x' } });
  await publish({ id: 'evt_ui_res', type: 'resource.created', data: { id: 'res_1', type: 'virtual_machine', status: 'running' } });
  await page.locator('li[data-id="evt_ui_res"]').waitFor(WAIT);
  t.equal(await page.locator('li[data-id="evt_ui_skip"]').count(), 0, 'other types are not shown');
  await page.locator('li[data-id="evt_ui_res"] summary').click();
  await check('live');

  // ---- history: search by correlation id, then click through to the saga
  await page.getByRole('link', { name: 'History' }).click();
  await page.getByLabel('Correlation id').fill('live_ui_1');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('tr[data-id="evt_ui_live_1"]').waitFor(WAIT);
  t.equal(await page.locator('tbody tr').count(), 1, 'the search finds exactly that event');
  await page.getByLabel('Correlation id').fill('');
  await page.getByLabel('Types').fill('order.*,invoice.*');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('tr[data-id="evt_ui_paused"]').waitFor(WAIT);
  t.same(await dataOf(page, 'tbody tr', 'id'), ['evt_ui_live_1', 'evt_ui_paused', 'evt_ui_skip'], 'types filter the search');
  await check('history');
  await page.getByRole('link', { name: 'Saga of correlation live_ui_1' }).click();
  await page.locator('ol.steps li[data-type="order.created"]').waitFor(WAIT);
  t.equal(new URL(page.url()).hash, '#/saga/live_ui_1');

  // ---- saga: a 5-event correlation across three services, one step failing
  const saga = [
    { type: 'order.created', source: 'order-service', data: { order_id: 'ord_s' } },
    { type: 'order.validated', source: 'order-service', data: { order_id: 'ord_s' } },
    {
      type: 'resource.created',
      source: 'provisioning-service',
      data: { id: 'res_s', type: 'virtual_machine', status: 'running', order_id: 'ord_s' },
    },
    { type: 'order.failed', source: 'provisioning-service', data: { order_id: 'ord_s', reason: 'quota exceeded' } },
    { type: 'resource.deleted', source: 'cleanup-service', data: { id: 'res_s', type: 'virtual_machine', status: 'deleted' } },
  ];
  for (const [i, e] of saga.entries()) await publish({ ...e, id: `evt_saga_${i}`, metadata: { correlation_id: 'saga_ui_1' } });
  await page.getByLabel('Correlation id').fill('saga_ui_1');
  await page.getByRole('button', { name: 'Show timeline' }).click();
  await page.locator('svg.timeline g.mark').nth(4).waitFor(WAIT);
  t.same(
    await dataOf(page, 'ol.steps li', 'type'),
    saga.map((e) => e.type),
    'the steps in order',
  );
  t.same(
    await dataOf(page, 'svg.timeline g.mark', 'type'),
    saga.map((e) => e.type),
    'the marks in order',
  );
  t.same(
    await page.locator('svg.timeline .lane-label').allTextContents(),
    ['order-service', 'provisioning-service', 'cleanup-service'],
    'one lane per source',
  );
  t.same(await dataOf(page, 'svg.timeline g.mark.failed', 'type'), ['order.failed'], 'the failure in its colour');
  t.same(await dataOf(page, 'svg.timeline g.mark.compensation', 'type'), ['resource.deleted'], 'and what followed it in another');
  t.not(
    await page.evaluate("getComputedStyle(document.querySelector('svg.timeline g.mark.failed circle')).fill"),
    await page.evaluate("getComputedStyle(document.querySelector('svg.timeline g.mark.ok circle')).fill"),
    'drawn in a different colour',
  );
  t.match(await page.locator('svg.timeline text.step-no').nth(1).textContent(), /^2 · \+\d/, 'the time since the previous step');
  await check('saga');

  // ---- consumers and dead letters: two dead letters; redrive one, then all after a dry-run count
  await rest('PUT', '/v1/consumers/fragile', { types: ['usage.*'], from: 'new', ack_wait: 1000, max_deliver: 1 });
  for (const i of [1, 2])
    await publish({ id: `evt_dl_${i}`, type: 'usage.recorded', data: { resource_id: 'res_1', metric: 'cpu', value: i, unit: 's' } });
  await eventually(
    'two dead letters',
    async () => {
      const got = (await rest('POST', '/v1/consumers/fragile/fetch', { max: 10, wait_ms: 500 })).events as { ack_token: string }[];
      if (got.length) await rest('POST', '/v1/consumers/fragile/ack', { naks: got.map((e) => e.ack_token) });
      return ((await rest('GET', '/v1/dead-letters')).dead_letters as unknown[]).length;
    },
    (n) => n === 2,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  await page.getByRole('link', { name: 'Consumers & dead letters' }).click();
  await page.locator('tr[data-consumer="fragile"]').waitFor(WAIT);
  const rows = page.locator('tbody tr[data-seq]');
  await rows.nth(1).waitFor(WAIT);
  t.match(await rows.first().textContent(), /max_deliver_exceeded/, 'the failure reason');
  await check('consumers');
  const firstSeq = await rows.first().getAttribute('data-seq');
  await page.getByRole('button', { name: `Redrive dead letter ${firstSeq}` }).click();
  await page.getByText('1 redriven. 1 dead letter left.').waitFor(WAIT);
  t.equal(await rows.count(), 1, 'one dead letter left');

  await page.getByRole('button', { name: 'Redrive all…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Redrive dead letters' });
  await dialog.waitFor(WAIT);
  t.match(await dialog.textContent(), /1 dead letter would be redriven/, 'a dry-run count first');
  t.equal(((await rest('GET', '/v1/dead-letters')).dead_letters as unknown[]).length, 1, 'the dry run changed nothing');
  await check('redrive-dialog');
  await dialog.getByRole('button', { name: 'Redrive' }).click();
  await page.getByText('1 redriven. No dead letters left.').waitFor(WAIT);
  t.same((await rest('GET', '/v1/dead-letters')).dead_letters, [], 'every dead letter redriven');
  const again = (await rest('POST', '/v1/consumers/fragile/fetch', { max: 10, wait_ms: 2000 })).events as { event: { id: string } }[];
  t.same(again.map((e) => e.event.id).sort(), ['evt_dl_1', 'evt_dl_2'], 'both delivered to their consumer again');

  // ---- catalogue: schema, example, and a publish validated before it is sent
  await page.getByRole('link', { name: 'Catalogue' }).click();
  const types = (await rest('GET', '/v1/event-types')).types as unknown[];
  await page
    .locator('details.type-entry')
    .nth(types.length - 1)
    .waitFor(WAIT);
  t.equal(await page.locator('details.type-entry').count(), types.length, 'every event type');
  await page.locator('details.type-entry[data-type="invoice.paid"] summary').click();
  t.match(await page.locator('details.type-entry[data-type="invoice.paid"]').textContent(), /"currency": "EUR"/, 'schema and example');
  await page.getByRole('button', { name: 'Publish a test invoice.paid' }).click();
  await page.getByLabel('Source', { exact: true }).fill('ui-test');
  await page.getByLabel('Data (JSON)').fill('{"invoice_id": "inv_9", "amount": -1, "currency": "euro"}');
  await page.getByRole('button', { name: 'Validate and publish' }).click();
  await page.getByText(/Not sent: \d+ problems/).waitFor(WAIT);
  const errors = await page.locator('ul.errors li').allTextContents();
  t.ok(errors.includes('data/currency must match ^[A-Z]{3}$'), JSON.stringify(errors));
  t.ok(
    errors.some((e) => e.startsWith('data/amount must be ≥')),
    JSON.stringify(errors),
  );
  await check('catalogue-invalid');
  t.same((await rest('GET', '/v1/events?source=ui-test')).events, [], 'nothing was sent');
  await page
    .getByLabel('Data (JSON)')
    .fill('{"invoice_id": "inv_9", "amount": 12.5, "currency": "EUR", "paid_at": "2026-03-15T10:05:22Z"}');
  await page.getByRole('button', { name: 'Validate and publish' }).click();
  await page.getByText(/^Published evt_/).waitFor(WAIT);
  t.match((await rest('GET', '/v1/events?source=ui-test')).events, [{ event: { type: 'invoice.paid', data: { invoice_id: 'inv_9' } } }]);
  await check('catalogue');

  // ---- phone width: every view again, scanned and photographed
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [view, ready] of [
    ['live', '[data-state="live"]'],
    ['history', 'form'],
    ['saga/saga_ui_1', 'svg.timeline'],
    ['consumers', 'tr[data-consumer="fragile"]'],
    ['catalogue', 'details.type-entry'],
  ] as const) {
    await page.evaluate(`window.location.hash = '#/${view}'`);
    await page.locator(`main ${ready}`).first().waitFor(WAIT);
    t.equal(
      await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1'),
      true,
      `${view}: no sideways scrolling of the page at phone width`,
    );
    await check(`phone-${view.split('/')[0]}`);
  }

  // ---- keyboard: the views are reachable by Tab and Enter
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.evaluate("window.location.hash = '#/live'");
  await page.locator('[data-state="live"]').waitFor(WAIT);
  await page.locator('a[data-view="history"]').focus();
  await page.keyboard.press('Enter');
  await page.locator('[data-view="history"] form').waitFor(WAIT);
  await page.keyboard.press('Tab');
  t.ok(await page.evaluate("document.activeElement?.matches('input, select, button, a, textarea')"), 'Tab moves into the view');

  // ---- sign out
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').waitFor(WAIT);
  t.equal(await page.evaluate('sessionStorage.length'), 0, 'signing out forgets the key');

  // A read-only key: the live tail says why it cannot subscribe (and does not retry in a loop).
  await page.getByLabel('API key').fill(KEYS.aRead);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Live tail' }).click();
  await page.getByText(/^Cannot connect: GW_FORBIDDEN_SCOPE/).waitFor(WAIT);
  await page.getByRole('button', { name: 'Sign out' }).click();

  writeFileSync(join(shots, 'axe.json'), `${JSON.stringify({ axeFindings, problems }, null, 2)}\n`);
  t.same(axeFindings, Object.fromEntries(Object.keys(axeFindings).map((k) => [k, []])), 'axe: no serious or critical violations');
  t.same(await page.evaluate('window.cspViolations'), [], 'no CSP violations');
  t.same(problems, [], 'no page errors');
  t.same(
    failed.filter((f) => !['401 /v1/event-types', '404 /v1/consumers', '403 /v1/ws-tickets'].includes(f)),
    [],
    'no failed request but the wrong key, the read-only key, and the consumer list of a gateway without one',
  );
  t.same(
    urls.filter((u) => u.includes(KEYS.a)),
    [],
    'the key is never in a URL',
  );
  t.same(
    logs.raw.filter((l) => l.includes(KEYS.a)),
    [],
    'nor in a log line',
  );
  t.comment(`live tail latency ${latency} ms; screenshots in ${shots}`);
});
