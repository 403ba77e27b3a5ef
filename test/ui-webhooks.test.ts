// The explorer's Webhooks view in a real headless Chromium (playwright-core) against a real
// gateway, nats-server and HTTP receivers on 127.0.0.1: webhooks made through the API are listed
// with their state and lag (one disabled by a 410), one webhook's attempts show the delivered
// event (and a failing receiver's status and error), pause and resume from the page reach the API
// (resume by keyboard), a rotated secret is shown once and signs the next delivery, at 1280 px and
// at phone width, with axe-core (no serious or critical violation), screenshots in test-output/ui/,
// no CSP violation, and neither key nor secret in a URL or a log line. Skips with the reason when
// Chromium is missing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { axeScan, chromiumMissing, launchBrowser, testOutputDir } from './helpers/browser.ts';
import { call, publish } from './helpers/consumers.ts';
import { eventually } from './helpers/eventually.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { startNats } from './helpers/nats.ts';
import { startReceiver, verify } from './helpers/webhook-receiver.ts';
import { putWebhook } from './helpers/webhooks.ts';

const WAIT = { timeout: 30_000 };
const LOCAL = { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_ALLOW_HTTP: true };

t.test('the webhooks view: list, attempts, pause and resume, secret rotation', { skip: chromiumMissing() }, async (t) => {
  const logs = captureLogs('debug');
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, LOCAL, { listen: true, logger: logs.logger });
  const { app } = gw;
  const shots = testOutputDir('ui');
  const receiver = await startReceiver(t);
  const failing = await startReceiver(t, () => ({ status: 500, body: 'broken' }));
  const gone = await startReceiver(t, () => ({ status: 410 }));

  const orders = await putWebhook(app, KEYS.a, 'orders', { url: `${receiver.url}/orders`, types: ['order.*'] });
  t.equal(orders.status, 201, JSON.stringify(orders.body));
  const broken = await putWebhook(app, KEYS.a, 'broken', {
    url: `${failing.url}/hook`,
    types: ['invoice.*'],
    retry: { max_attempts: 2, initial_backoff: 100, max_backoff: 100 },
  });
  t.equal(broken.status, 201, JSON.stringify(broken.body));
  const retired = await putWebhook(app, KEYS.a, 'retired', { url: `${gone.url}/hook`, types: ['usage.*'] });
  t.equal(retired.status, 201, JSON.stringify(retired.body));
  const webhookState = async (name: string) => (await call(app, KEYS.a, 'GET', `/v1/webhooks/${name}`)).body.state;

  const first = await publish(app, KEYS.a, { type: 'order.created', data: { order_id: 'ord_ui_wh_1' } });
  const invoice = await publish(app, KEYS.a, {
    type: 'invoice.paid',
    data: { invoice_id: 'inv_wh', amount: 5, currency: 'EUR', paid_at: '2026-03-15T10:05:22Z' },
  });
  await eventually('the order delivered', () => receiver.deliveredIds().has(first.id), Boolean, { timeoutMs: 30_000 });
  await eventually(
    'two failed attempts of the invoice',
    () => failing.received.length,
    (n) => n >= 2,
    { timeoutMs: 30_000 },
  );
  await publish(app, KEYS.a, { type: 'usage.recorded', data: { resource_id: 'res_1', metric: 'cpu', value: 1, unit: 's' } });
  await eventually(
    'a 410 disabling a webhook',
    () => webhookState('retired'),
    (s) => s === 'disabled',
    { timeoutMs: 30_000, intervalMs: 200 },
  );

  const context = await launchBrowser(t);
  await context.addInitScript(`
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
  `);
  const page = await context.newPage();
  const problems: string[] = [];
  const urls: string[] = [];
  const failed: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`console error: ${msg.text()}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) failed.push(`${res.status()} ${new URL(res.url()).pathname}`);
  });
  page.on('request', (req) => urls.push(req.url()));
  const axeFindings: Record<string, string[]> = {};
  async function check(view: string) {
    await page.screenshot({ path: join(shots, `${view}.png`), fullPage: true });
    axeFindings[view] = await axeScan(page);
  }

  // ---- sign in, then the view from the navigation
  await page.goto(`${gw.url}/ui/#/catalogue`);
  await page.getByLabel('API key').fill(KEYS.a);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Webhooks' }).click();
  t.equal(await page.title(), 'Webhooks · Event explorer');
  const row = (name: string) => page.locator(`tr[data-webhook="${name}"]`);
  await row('orders').waitFor(WAIT);
  await row('broken').waitFor(WAIT);
  t.same(
    await page.locator('tr[data-webhook]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-webhook'))),
    ['broken', 'orders', 'retired'],
    'by name',
  );
  const ordersRow = await row('orders').textContent();
  t.match(ordersRow, `${receiver.url}/orders`, 'the URL');
  t.match(ordersRow, 'order.*', 'the types');
  t.match(ordersRow, /active/, 'the state');
  await page.locator('main p.status', { hasText: '3 webhooks.' }).waitFor(WAIT);
  // The lag drains once the delivery is acknowledged (the list refreshes every 5 s).
  await page.locator('tr[data-webhook="orders"][data-lag="0"]').waitFor(WAIT);
  t.match(await row('orders').textContent(), '0 pending, 0 in flight', 'the lag');
  t.match(await row('orders').textContent(), `#${first.seq}`, 'the last delivered event');
  t.equal(await row('retired').getAttribute('data-state'), 'disabled', 'a webhook disabled by a 410');
  t.match(await row('retired').textContent(), /disabled.*410/, 'with the reason');
  t.equal(await row('retired').getByRole('button', { name: 'Resume webhook retired' }).count(), 1, 'and a button to resume it');
  await check('webhooks');

  // ---- one webhook's attempts: the delivered event with its status and latency
  await page.getByRole('link', { name: 'orders', exact: true }).click();
  t.equal(new URL(page.url()).hash, '#/webhooks/orders');
  const delivered = page.locator(`tr[data-event="${first.id}"][data-outcome="delivered"]`);
  await delivered.waitFor(WAIT);
  const cells = await delivered.locator('td').allTextContents();
  t.equal(cells[1], first.id, 'the event id');
  t.equal(cells[6], String(first.seq), 'its seq');
  t.equal(cells[2], '200', 'the status answered');
  t.match(cells[4], /^\d+ ms$/, 'the latency');
  t.equal(cells[3], 'delivered');
  // The definition renders on its own request: await it rather than read it once.
  await page.locator('.definition', { hasText: `${receiver.url}/orders` }).waitFor(WAIT);
  t.match(await page.locator('.definition').textContent(), `${receiver.url}/orders`, 'the definition');
  await check('webhook-attempts');

  // A failing receiver: its status and the error, each attempt counted.
  await page.getByRole('link', { name: 'broken', exact: true }).click();
  const retries = page.locator(`tr[data-event="${invoice.id}"][data-outcome="retry"]`);
  await retries.nth(1).waitFor(WAIT);
  const failure = await retries.first().locator('td').allTextContents();
  t.equal(failure[2], '500', 'the failing status');
  t.match(failure[7], /500/, 'and the error');
  t.same((await retries.locator('td:nth-child(6)').allTextContents()).sort(), ['1', '2'], 'attempts 1 and 2');
  await check('webhook-attempts-failing');

  // ---- pause from the page: the row and the API say paused; a new event waits in the lag
  await page.getByRole('link', { name: 'orders', exact: true }).click();
  await delivered.waitFor(WAIT);
  await page.getByRole('button', { name: 'Pause webhook orders' }).click();
  await page.locator('tr[data-webhook="orders"][data-state="paused"]').waitFor(WAIT);
  await page.locator('main p.status', { hasText: 'Webhook orders paused.' }).waitFor(WAIT);
  t.equal(await webhookState('orders'), 'paused', 'the API says paused');
  t.match(await row('orders').textContent(), /paused through the API/, 'with its reason');
  // The dispatcher applies the pause through its watch of the definitions: publish once it says so.
  await eventually(
    'the delivery of orders stopped',
    () => logs.lines.some((l) => l.msg === 'webhook delivery stopped' && l.webhook === 'orders'),
    Boolean,
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  const waiting = await publish(app, KEYS.a, { type: 'order.created', data: { order_id: 'ord_ui_wh_2' } });
  await page.locator('tr[data-webhook="orders"][data-lag="1"]').waitFor(WAIT);
  t.match(await row('orders').textContent(), '1 pending, 0 in flight', 'the event waits');
  t.notOk(receiver.deliveredIds().has(waiting.id), 'nothing sent while paused');
  await check('webhooks-paused');

  // ---- resume by keyboard: focus the button, press Enter; the waiting event is delivered
  await page.getByRole('button', { name: 'Resume webhook orders' }).focus();
  await page.keyboard.press('Enter');
  await page.locator('tr[data-webhook="orders"][data-state="active"]').waitFor(WAIT);
  t.equal(await webhookState('orders'), 'active', 'the API says active');
  t.equal(
    await page.evaluate("document.activeElement?.getAttribute('aria-label')"),
    'Pause webhook orders',
    'the focus stays on the (relabelled) button',
  );
  await eventually('the waiting event delivered', () => receiver.deliveredIds().has(waiting.id), Boolean, { timeoutMs: 30_000 });
  await page.locator(`tr[data-event="${waiting.id}"][data-outcome="delivered"]`).waitFor(WAIT);

  // ---- rotate the secret: shown once, and it signs the next delivery
  await page.getByRole('button', { name: 'Rotate secret…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Rotate the signing secret' });
  await dialog.waitFor(WAIT);
  await check('webhook-rotate-dialog');
  await dialog.getByRole('button', { name: 'Rotate' }).click();
  const secretBox = page.getByRole('region', { name: 'New signing secret' });
  await secretBox.waitFor(WAIT);
  const secret = await secretBox.getByLabel('Secret', { exact: true }).inputValue();
  t.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/, 'the new secret is shown');
  t.not(secret, orders.body.secret, 'a new one');
  await check('webhook-secret');
  // The dispatcher learns of the rotation through its watch: publish (at most 20 events) until a
  // delivery carries the second signature, then check it with the secret the page showed.
  let probes = 0;
  const got = await eventually(
    'a delivery signed since the rotation',
    async () => {
      const e = await publish(app, KEYS.a, { type: 'order.created', data: { order_id: `ord_ui_wh_sig_${probes++}` } });
      return eventually('its delivery', () => receiver.received.find((r) => r.id === e.id), Boolean, { timeoutMs: 30_000 });
    },
    (r) => String(r?.headers['webhook-signature']).split(' ').length === 2,
    { timeoutMs: 60_000, intervalMs: 200, maxTries: 20 },
  );
  if (!got) throw new Error('unreachable: eventually answered a delivery');
  t.match(String(got.headers['webhook-signature']).split(' '), [/^v1,/, /^v1,/], 'two signatures during the rotation window');
  t.match(verify(secret, got), { id: got.id }, 'the secret shown verifies the delivery');
  t.match(verify(orders.body.secret as string, got), { id: got.id }, 'and so does the previous one');
  await secretBox.getByRole('button', { name: 'Hide secret' }).click();
  t.equal(await secretBox.count(), 0, 'hidden');
  t.equal(await page.evaluate(`document.body.innerHTML.includes(${JSON.stringify(secret)})`), false, 'gone from the page');
  t.equal(await page.evaluate(`JSON.stringify(sessionStorage).includes(${JSON.stringify(secret)})`), false, 'never stored');

  // ---- phone width: the list and the attempts, without sideways scrolling of the page
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [hash, shot] of [
    ['#/webhooks', 'phone-webhooks'],
    ['#/webhooks/orders', 'phone-webhook-attempts'],
  ] as const) {
    await page.evaluate(`window.location.hash = '${hash}'`);
    await row('orders').waitFor(WAIT);
    if (hash.endsWith('orders')) await delivered.waitFor(WAIT);
    t.equal(
      await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1'),
      true,
      `${hash}: no sideways scrolling of the page at phone width`,
    );
    await check(shot);
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  // ---- a key without the subscribe scope is told why
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').fill(KEYS.aRead);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(/^Webhooks need a key with the subscribe scope/).waitFor(WAIT);
  await page.getByRole('button', { name: 'Sign out' }).click();

  writeFileSync(join(shots, 'axe-webhooks.json'), `${JSON.stringify({ axeFindings, problems }, null, 2)}\n`);
  t.same(axeFindings, Object.fromEntries(Object.keys(axeFindings).map((k) => [k, []])), 'axe: no serious or critical violations');
  t.same(await page.evaluate('window.cspViolations'), [], 'no CSP violations');
  t.same(problems, [], 'no page errors');
  t.same(
    failed.filter((f) => !['403 /v1/webhooks', '403 /v1/webhooks/orders/attempts'].includes(f)),
    [],
    'no failed request but those of the read-only key',
  );
  for (const [what, value] of [
    ['key', KEYS.a],
    ['new secret', secret],
  ] as const) {
    t.same(
      urls.filter((u) => u.includes(value)),
      [],
      `the ${what} is never in a URL`,
    );
    t.same(
      logs.raw.filter((l) => l.includes(value)),
      [],
      `nor in a log line`,
    );
  }
});
