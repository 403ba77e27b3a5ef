// Webhooks: the tenant's webhooks with their state and lag (GET /v1/webhooks), pause / resume
// (POST .../pause, .../resume), and one webhook's recent delivery attempts (#/webhooks/<name>:
// GET .../attempts) with its definition and a secret rotation (POST .../rotate-secret, the new
// secret shown once on the page, never stored or logged). Both lists refresh every 5 s while the
// box is ticked; rows are updated in place, so a focused button keeps its focus.
import { api } from '../api.js';
import { announce, field, formatTime, h, resultsTable, statusLine } from '../dom.js';

const REFRESH_MS = 5000;
const ATTEMPTS_LIMIT = 50;
// State, lag and the action first: what fits a phone's width before the table scrolls sideways.
const LIST_COLUMNS = ['Name', 'State', 'Lag', 'Action', 'URL', 'Types', 'Last delivered'];
const ATTEMPT_COLUMNS = ['Sent', 'Event', 'Status', 'Outcome', 'Latency', 'Attempt', 'Seq', 'Error'];

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The state as a badge with its word (colour is never the only cue) and the reason as text. */
function stateCell(w) {
  return [
    h('span', { class: `badge state-${w.state}` }, w.state),
    w.state_reason ? h('small', { class: 'hint reason' }, w.state_reason) : null,
  ];
}

export function renderWebhooks(root, { param }) {
  const selected = param;
  let gone = false;

  // ---- the list
  const listStatus = statusLine();
  // What the last pause / resume did (its own line: the list's refreshes do not overwrite it).
  const actionStatus = statusLine();
  const listBody = h('tbody');
  const rows = new Map();
  const refreshBtn = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  const auto = h('input', { type: 'checkbox', id: 'webhooks-auto', checked: true });
  const toolbar = h(
    'div',
    { class: 'toolbar' },
    refreshBtn,
    h('span', { class: 'check' }, auto, h('label', { for: 'webhooks-auto' }, 'Refresh every 5 s')),
  );

  function rowOf(w) {
    const actionBtn = h('button', { type: 'button', class: 'secondary' });
    actionBtn.addEventListener('click', () => setState(w.name, actionBtn));
    const cells = {
      url: h('td', { class: 'url' }),
      types: h('td'),
      state: h('td'),
      lag: h('td'),
      last: h('td'),
    };
    const link = h('a', { href: `#/webhooks/${encodeURIComponent(w.name)}` }, w.name);
    if (w.name === selected) link.setAttribute('aria-current', 'true');
    const tr = h(
      'tr',
      { dataset: { webhook: w.name } },
      h('th', { scope: 'row' }, link),
      cells.state,
      cells.lag,
      h('td', {}, actionBtn),
      cells.url,
      cells.types,
      cells.last,
    );
    return { tr, cells, actionBtn };
  }

  function show(w) {
    let row = rows.get(w.name);
    if (!row) {
      row = rowOf(w);
      rows.set(w.name, row);
      listBody.append(row.tr);
    }
    row.tr.dataset.state = w.state;
    row.cells.url.textContent = w.url;
    row.cells.types.textContent = w.types.join(', ');
    row.cells.state.replaceChildren(...stateCell(w).filter(Boolean));
    row.tr.dataset.lag = String(w.lag);
    row.cells.lag.replaceChildren(
      h('strong', {}, String(w.lag)),
      h('small', { class: 'hint reason' }, `${w.pending} pending, ${w.in_flight} in flight`),
    );
    row.cells.last.textContent = w.last_delivered_seq ? `#${w.last_delivered_seq}` : 'none yet';
    const pause = w.state === 'active';
    row.actionBtn.textContent = pause ? 'Pause' : 'Resume';
    row.actionBtn.setAttribute('aria-label', `${pause ? 'Pause' : 'Resume'} webhook ${w.name}`);
    row.actionBtn.dataset.action = pause ? 'pause' : 'resume';
    if (w.name === selected) showDefinition(w);
  }

  const setText = (line, text, tone) => {
    if (line.el.textContent !== text || line.el.dataset.tone !== tone) line.set(text, tone);
  };

  let listing = null;
  // Counts pauses and resumes: a list asked for before one of them is stale and not shown.
  let changes = 0;
  async function loadList() {
    if (listing) return listing;
    listing = (async () => {
      try {
        const asked = changes;
        const { webhooks } = await api('GET', '/v1/webhooks');
        if (gone || asked !== changes) return;
        const names = new Set(webhooks.map((w) => w.name));
        for (const [name, row] of rows) {
          if (!names.has(name)) {
            row.tr.remove();
            rows.delete(name);
          }
        }
        for (const w of webhooks) show(w);
        setText(
          listStatus,
          webhooks.length ? `${plural(webhooks.length, 'webhook')}.` : 'No webhooks yet (PUT /v1/webhooks/{name} creates one).',
          'ok',
        );
      } catch (err) {
        if (!gone)
          setText(listStatus, err.status === 403 ? `Webhooks need a key with the subscribe scope (${err.message}).` : err.message, 'error');
      } finally {
        listing = null;
      }
    })();
    return listing;
  }

  async function setState(name, button) {
    // aria-disabled, not disabled: a disabled button drops the keyboard focus.
    if (button.getAttribute('aria-disabled') === 'true') return;
    const action = button.dataset.action;
    button.setAttribute('aria-disabled', 'true');
    try {
      const w = await api('POST', `/v1/webhooks/${encodeURIComponent(name)}/${action}`);
      changes++;
      show(w);
      const message = `Webhook ${name} ${action === 'pause' ? 'paused' : 'resumed'}.`;
      actionStatus.set(message, 'ok');
      announce(message);
    } catch (err) {
      actionStatus.set(`${action === 'pause' ? 'Pause' : 'Resume'} of ${name} failed: ${err.message}`, 'error');
    } finally {
      button.removeAttribute('aria-disabled');
    }
  }

  // ---- one webhook: its definition, recent attempts, secret rotation
  const detail = h('section', { class: 'webhook-detail', 'aria-labelledby': 'webhook-detail-title' });
  const definition = h('dl', { class: 'definition' });
  const attemptsStatus = statusLine();
  const attemptsBody = h('tbody');
  const refreshAttempts = h('button', { type: 'button', class: 'secondary' }, 'Refresh attempts');
  const rotateBtn = h('button', { type: 'button', class: 'secondary' }, 'Rotate secret…');
  const secretOut = h('div', { class: 'secret-out' });

  function showDefinition(w) {
    const entries = [
      ['URL', w.url],
      ['Types', w.types.join(', ')],
      ['State', `${w.state}${w.state_reason ? ` (${w.state_reason})` : ''} since ${formatTime(w.state_changed_at)}`],
      ['In flight at most', String(w.max_in_flight)],
      ['Retries', `${w.retry.max_attempts} attempts, backoff ${w.retry.initial_backoff} ms to ${w.retry.max_backoff} ms`],
      ['Content filter', w.filter ? JSON.stringify(w.filter) : 'none'],
      ['Previous secret signs until', w.previous_secret_expires_at ? formatTime(w.previous_secret_expires_at) : null],
      ['Updated', formatTime(w.updated)],
    ];
    definition.replaceChildren(...entries.filter(([, v]) => v !== null).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  }

  function attemptRow(a) {
    return h(
      'tr',
      { dataset: { event: a.event_id, outcome: a.outcome } },
      h('td', { class: 'nowrap' }, h('time', { datetime: a.at }, formatTime(a.at))),
      h('td', { class: 'id' }, a.event_id),
      h('td', {}, a.status === null ? 'no answer' : String(a.status)),
      h('td', {}, h('span', { class: `badge outcome-${a.outcome}` }, a.outcome)),
      h('td', { class: 'nowrap' }, `${a.latency_ms} ms`),
      h('td', {}, String(a.attempt)),
      h('td', {}, String(a.seq)),
      h('td', { class: 'error' }, a.error ?? ''),
    );
  }

  let attempting = null;
  async function loadAttempts() {
    if (!selected) return;
    if (attempting) return attempting;
    attempting = (async () => {
      try {
        const { attempts } = await api('GET', `/v1/webhooks/${encodeURIComponent(selected)}/attempts`, {
          query: { limit: ATTEMPTS_LIMIT },
        });
        if (gone) return;
        attemptsBody.replaceChildren(...attempts.map(attemptRow));
        setText(attemptsStatus, attempts.length ? `${plural(attempts.length, 'recent attempt')}, newest first.` : 'No attempts yet.', 'ok');
      } catch (err) {
        if (!gone) setText(attemptsStatus, err.status === 404 ? `No webhook named ${selected}.` : err.message, 'error');
      } finally {
        attempting = null;
      }
    })();
    return attempting;
  }

  const dialogText = h('p', { id: 'rotate-dialog-text' });
  const confirmBtn = h('button', { type: 'button' }, 'Rotate');
  const cancelBtn = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'rotate-dialog-title', 'aria-describedby': 'rotate-dialog-text' },
    h('h3', { id: 'rotate-dialog-title' }, 'Rotate the signing secret'),
    dialogText,
    h('div', { class: 'toolbar' }, confirmBtn, cancelBtn),
  );

  function confirmRotation() {
    dialogText.textContent = `Webhook ${selected} gets a new signing secret, shown once. The current one keeps signing during the rotation window, so deploy the new one to your receiver before it ends.`;
    return new Promise((resolve) => {
      const done = (answer) => {
        confirmBtn.onclick = null;
        cancelBtn.onclick = null;
        dialog.onclose = null;
        if (dialog.open) dialog.close();
        resolve(answer);
      };
      confirmBtn.onclick = () => done(true);
      cancelBtn.onclick = () => done(false);
      dialog.onclose = () => done(false);
      dialog.showModal();
      cancelBtn.focus();
    });
  }

  /** Shows the new secret once, in the page only: hiding it (or leaving the view) drops it. */
  function showSecret(answer) {
    // A read-only field: labelled, focusable, and selectable to copy by hand.
    const value = h('input', { type: 'text', readonly: true, class: 'secret-value', spellcheck: 'false', autocomplete: 'off' });
    value.value = answer.secret;
    const copy = h('button', { type: 'button', class: 'secondary' }, 'Copy secret');
    const hide = h('button', { type: 'button', class: 'secondary' }, 'Hide secret');
    const box = h(
      'div',
      { class: 'card secret', role: 'region', 'aria-labelledby': 'secret-title' },
      h('h4', { id: 'secret-title' }, 'New signing secret'),
      h(
        'p',
        {},
        'Shown only now: keep it. The previous secret keeps signing until ',
        h('time', { datetime: answer.previous_secret_expires_at }, formatTime(answer.previous_secret_expires_at)),
        '.',
      ),
      field('Secret', value),
      h('div', { class: 'toolbar' }, copy, hide),
    );
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(answer.secret);
        announce('Secret copied');
      } catch {
        announce('Copying is not allowed here: select the secret and copy it');
      }
    });
    hide.addEventListener('click', () => {
      secretOut.replaceChildren();
      rotateBtn.focus();
    });
    secretOut.replaceChildren(box);
    value.focus();
    value.select();
  }

  rotateBtn.addEventListener('click', async () => {
    if (!(await confirmRotation())) {
      attemptsStatus.set('Rotation cancelled.', 'info');
      return;
    }
    try {
      showSecret(await api('POST', `/v1/webhooks/${encodeURIComponent(selected)}/rotate-secret`));
      announce(`New secret of ${selected} shown`);
      await loadList();
    } catch (err) {
      attemptsStatus.set(`Rotation failed: ${err.message}`, 'error');
    }
  });

  detail.append(
    h('h3', { id: 'webhook-detail-title' }, `Webhook ${selected ?? ''}`),
    h('div', { class: 'card' }, definition),
    h('div', { class: 'toolbar' }, refreshAttempts, rotateBtn),
    secretOut,
    h('h4', {}, 'Recent attempts'),
    attemptsStatus.el,
    h(
      'div',
      { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': `Recent attempts of ${selected ?? ''}` },
      resultsTable('Recent delivery attempts, newest first', ATTEMPT_COLUMNS, attemptsBody),
    ),
    dialog,
  );

  root.append(
    h('h2', { id: 'webhooks-title' }, 'Webhooks'),
    toolbar,
    listStatus.el,
    actionStatus.el,
    h(
      'div',
      { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Webhooks' },
      resultsTable('Webhooks', LIST_COLUMNS, listBody),
    ),
    selected ? detail : h('p', { class: 'hint' }, 'Choose a webhook by name to see its recent delivery attempts.'),
  );

  const refresh = () => Promise.all([loadList(), loadAttempts()]);
  refreshBtn.addEventListener('click', () => refresh().then(() => announce('Webhooks refreshed')));
  refreshAttempts.addEventListener('click', () => loadAttempts().then(() => announce('Attempts refreshed')));
  listStatus.set('Loading webhooks…');
  if (selected) attemptsStatus.set('Loading attempts…');
  refresh();
  const timer = setInterval(() => {
    if (auto.checked && !document.hidden) refresh();
  }, REFRESH_MS);
  return () => {
    gone = true;
    clearInterval(timer);
    if (dialog.open) dialog.close();
  };
}
