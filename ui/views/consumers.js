// Consumers and dead letters. Consumers: the list of GET /v1/consumers where the gateway has it,
// else looked up by name (GET /v1/consumers/{name}), starting with the names the dead letters
// mention. Dead letters: paged, with their failure reason; redrive one, a selection or all, the
// last two after a dry-run count (POST /v1/dead-letters/redrive with dry_run) and a confirmation.
import { api } from '../api.js';
import { announce, field, formatTime, h, jsonBlock, resultsTable, statusLine } from '../dom.js';

const REMEMBERED = 'platforma.gateway.consumerNames';
const CONSUMER_COLUMNS = ['Name', 'Types', 'Pending', 'Ack pending', 'Redeliveries', 'Last delivered', 'Ack floor'];

export function renderConsumers(root) {
  // ---- consumers
  const consumerStatus = statusLine();
  const consumerBody = h('tbody');
  const consumerTable = resultsTable('Consumers', CONSUMER_COLUMNS, consumerBody);
  const nameInput = h('input', {
    type: 'text',
    name: 'consumer',
    pattern: '[A-Za-z0-9_\\-]{1,64}',
    spellcheck: 'false',
    autocomplete: 'off',
  });
  const lookup = h(
    'form',
    { class: 'card filters inline', hidden: true },
    field('Consumer name', nameInput),
    h('button', { type: 'submit' }, 'Look up'),
  );
  const shown = new Map();

  function consumerRow(c) {
    return h(
      'tr',
      { dataset: { consumer: c.name } },
      h('th', { scope: 'row' }, c.name),
      h('td', {}, (c.types ?? []).join(', ')),
      h('td', {}, String(c.pending ?? '')),
      h('td', {}, String(c.unacked ?? '')),
      h('td', {}, String(c.redelivered ?? '')),
      h('td', {}, String(c.last_delivered_seq ?? '')),
      h('td', {}, String(c.ack_floor_seq ?? '')),
    );
  }

  function showConsumer(c) {
    const row = consumerRow(c);
    const old = shown.get(c.name);
    if (old) old.replaceWith(row);
    else consumerBody.append(row);
    shown.set(c.name, row);
  }

  // Names looked up in this tab are looked up again on the next visit (names only, no data).
  const remembered = () => JSON.parse(sessionStorage.getItem(REMEMBERED) ?? '[]');
  async function lookUp(name) {
    try {
      showConsumer(await api('GET', `/v1/consumers/${encodeURIComponent(name)}`));
      if (!remembered().includes(name)) sessionStorage.setItem(REMEMBERED, JSON.stringify([...remembered(), name].slice(-50)));
      return true;
    } catch (err) {
      if (err.status === 404) sessionStorage.setItem(REMEMBERED, JSON.stringify(remembered().filter((n) => n !== name)));
      consumerStatus.set(err.status === 404 ? `No consumer named ${name}.` : err.message, 'error');
      return false;
    }
  }

  let listed = false;
  async function loadConsumers() {
    consumerStatus.set('Loading consumers…');
    try {
      const answer = await api('GET', '/v1/consumers');
      const consumers = Array.isArray(answer) ? answer : (answer?.consumers ?? []);
      listed = true;
      consumerBody.replaceChildren();
      shown.clear();
      for (const c of consumers) showConsumer(c);
      consumerStatus.set(`${consumers.length} consumer${consumers.length === 1 ? '' : 's'}.`, 'ok');
    } catch {
      // No list endpoint on this gateway: look consumers up by name.
      lookup.hidden = false;
      consumerStatus.set('Look a consumer up by name; the consumers of the dead letters below are shown.', 'info');
      for (const name of remembered()) await lookUp(name);
    }
  }

  lookup.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = nameInput.value.trim();
    if (name && (await lookUp(name))) consumerStatus.set(`Consumer ${name} shown.`, 'ok');
  });

  // ---- dead letters
  const dlqStatus = statusLine();
  const dlqConsumer = h('input', { type: 'text', name: 'dlq-consumer', spellcheck: 'false', autocomplete: 'off' });
  const dlqBody = h('tbody');
  const selectAll = h('input', { type: 'checkbox', 'aria-label': 'Select every dead letter shown' });
  const dlqTable = resultsTable(
    'Dead letters, oldest first',
    [selectAll, 'Seq', 'Consumer', 'Reason', 'Deliveries', 'Type', 'Dead-lettered', 'Event', 'Action'],
    dlqBody,
  );
  const moreBtn = h('button', { type: 'button', class: 'secondary', hidden: true }, 'More dead letters');
  const redriveSelected = h('button', { type: 'button', disabled: true }, 'Redrive selected');
  const redriveAll = h('button', { type: 'button' }, 'Redrive all…');
  const dlqForm = h(
    'form',
    { class: 'card filters inline' },
    field('Only consumer', dlqConsumer, 'Empty: every consumer.'),
    h('button', { type: 'submit' }, 'Show dead letters'),
  );

  const dialogText = h('p', { id: 'redrive-dialog-text' });
  const confirmBtn = h('button', { type: 'button', value: 'confirm' }, 'Redrive');
  const cancelBtn = h('button', { type: 'button', class: 'secondary', value: 'cancel' }, 'Cancel');
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'redrive-dialog-title', 'aria-describedby': 'redrive-dialog-text' },
    h('h3', { id: 'redrive-dialog-title' }, 'Redrive dead letters'),
    dialogText,
    h('div', { class: 'toolbar' }, confirmBtn, cancelBtn),
  );

  let after = 0;
  let nextAfter;

  function selectedSeqs() {
    return [...dlqBody.querySelectorAll('input[type=checkbox]:checked')].map((c) => Number(c.value));
  }
  function updateSelection() {
    const n = selectedSeqs().length;
    redriveSelected.disabled = n === 0;
    redriveSelected.textContent = n ? `Redrive selected (${n})…` : 'Redrive selected';
  }

  function dlqRow(d) {
    const box = h('input', {
      type: 'checkbox',
      value: String(d.seq),
      'aria-label': `Select dead letter ${d.seq}`,
      onchange: updateSelection,
    });
    return h(
      'tr',
      { dataset: { seq: d.seq } },
      h('td', {}, box),
      h('td', {}, String(d.seq)),
      h('td', {}, d.consumer),
      h('td', {}, d.reason),
      h('td', {}, String(d.delivery_count)),
      h('td', {}, d.event?.type ?? '(not an event)'),
      h('td', {}, h('time', { datetime: d.dead_lettered_at }, formatTime(d.dead_lettered_at))),
      h('td', {}, d.event ? h('details', {}, h('summary', {}, d.event.id), jsonBlock(d.event)) : ''),
      h(
        'td',
        {},
        h(
          'button',
          { type: 'button', class: 'secondary', 'aria-label': `Redrive dead letter ${d.seq}`, onclick: () => redrive({ seqs: [d.seq] }) },
          'Redrive',
        ),
      ),
    );
  }

  async function loadDeadLetters(reset) {
    if (reset) {
      after = 0;
      dlqBody.replaceChildren();
      selectAll.checked = false;
    }
    dlqStatus.set('Loading dead letters…');
    try {
      const page = await api('GET', '/v1/dead-letters', {
        query: { consumer: dlqConsumer.value.trim(), after_seq: after || undefined, limit: 100 },
      });
      for (const d of page.dead_letters) dlqBody.append(dlqRow(d));
      nextAfter = page.next_after_seq;
      moreBtn.hidden = nextAfter === undefined || page.dead_letters.length === 0;
      const n = dlqBody.children.length;
      dlqStatus.set(n ? `${n} dead letter${n === 1 ? '' : 's'} shown.` : 'No dead letters.', 'ok');
      updateSelection();
      if (!listed) {
        const names = new Set(page.dead_letters.map((d) => d.consumer));
        for (const name of names) if (!shown.has(name)) await lookUp(name);
      }
    } catch (err) {
      dlqStatus.set(err.message, 'error');
    }
  }

  function confirmWith(text) {
    dialogText.textContent = text;
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

  /** Redrives `what`; a selection or "all" first asks the gateway how many would go (dry run). */
  async function redrive(what, { ask = false } = {}) {
    try {
      if (ask) {
        const dry = await api('POST', '/v1/dead-letters/redrive', { body: { ...what, dry_run: true } });
        const failing = dry.results.filter((r) => r.status === 'failed').length;
        const missing = dry.results.filter((r) => r.status === 'not_found').length;
        if (dry.would_redrive === 0) {
          dlqStatus.set('Nothing to redrive.', 'info');
          return;
        }
        const extra = [failing ? `${failing} cannot be (their consumer is gone)` : '', missing ? `${missing} no longer exist` : '']
          .filter(Boolean)
          .join('; ');
        const ok = await confirmWith(
          `${dry.would_redrive} dead letter${dry.would_redrive === 1 ? '' : 's'} would be redriven to their consumer${extra ? `; ${extra}` : ''}. Redrive now?`,
        );
        if (!ok) {
          dlqStatus.set('Redrive cancelled.', 'info');
          return;
        }
      }
      const result = await api('POST', '/v1/dead-letters/redrive', { body: what });
      const failed = result.results.filter((r) => r.status === 'failed');
      const message = `${result.redriven} redriven${failed.length ? `, ${failed.length} failed (${failed[0].error.message})` : ''}.`;
      await loadDeadLetters(true);
      const left = dlqBody.children.length;
      dlqStatus.set(
        `${message} ${left ? `${left} dead letter${left === 1 ? '' : 's'}${moreBtn.hidden ? '' : ' (or more)'} left.` : 'No dead letters left.'}`,
        failed.length ? 'warn' : 'ok',
      );
      announce(message);
      for (const name of [...shown.keys()]) if (!listed) await lookUp(name);
      if (listed) await loadConsumers();
    } catch (err) {
      dlqStatus.set(err.message, 'error');
    }
  }

  selectAll.addEventListener('change', () => {
    for (const box of dlqBody.querySelectorAll('input[type=checkbox]')) box.checked = selectAll.checked;
    updateSelection();
  });
  redriveSelected.addEventListener('click', () => redrive({ seqs: selectedSeqs() }, { ask: true }));
  redriveAll.addEventListener('click', () => {
    const consumer = dlqConsumer.value.trim();
    redrive({ filter: consumer ? { consumer } : {} }, { ask: true });
  });
  moreBtn.addEventListener('click', () => {
    if (nextAfter !== undefined) {
      after = nextAfter;
      loadDeadLetters(false);
    }
  });
  dlqForm.addEventListener('submit', (e) => {
    e.preventDefault();
    loadDeadLetters(true);
  });

  root.append(
    h('h2', { id: 'consumers-title' }, 'Consumers & dead letters'),
    h('h3', {}, 'Consumers'),
    lookup,
    consumerStatus.el,
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Consumers' }, consumerTable),
    h('h3', {}, 'Dead letters'),
    dlqForm,
    h('div', { class: 'toolbar' }, redriveSelected, redriveAll),
    dlqStatus.el,
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Dead letters' }, dlqTable),
    moreBtn,
    dialog,
  );
  loadConsumers().then(() => loadDeadLetters(true));
}
