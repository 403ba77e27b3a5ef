// History search: GET /v1/events by types, time range, source and correlation id, a page at a time
// (following the opaque `next` cursor); each row expands to its JSON and links to its saga.
import { api } from '../api.js';
import { field, formatTime, h, jsonBlock, resultsTable, statusLine } from '../dom.js';

/** A datetime-local value (the user's local time) as RFC 3339, or undefined. */
function rfc3339(local) {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function renderHistory(root, { navigate }) {
  const types = h('input', { type: 'text', name: 'types', spellcheck: 'false', autocomplete: 'off' });
  const since = h('input', { type: 'datetime-local', name: 'since', step: '1' });
  const until = h('input', { type: 'datetime-local', name: 'until', step: '1' });
  const source = h('input', { type: 'text', name: 'source', spellcheck: 'false', autocomplete: 'off' });
  const correlation = h('input', { type: 'text', name: 'correlation_id', spellcheck: 'false', autocomplete: 'off' });
  const limit = h(
    'select',
    { name: 'limit' },
    ['25', '50', '100'].map((n) => h('option', { value: n, selected: n === '50' }, n)),
  );
  const status = statusLine();
  const tbody = h('tbody');
  const table = resultsTable('Events found, oldest first', ['Seq', 'Time', 'Type', 'Source', 'Correlation', 'Event'], tbody);
  const more = h('button', { type: 'button', hidden: true }, 'Next page');
  const form = h(
    'form',
    { class: 'card filters grid' },
    field('Types', types, 'Comma-separated patterns (order.*); empty for all.'),
    field('Since', since),
    field('Until', until),
    field('Source', source),
    field('Correlation id', correlation),
    field('Page size', limit),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Search')),
  );
  root.append(
    h('h2', { id: 'history-title' }, 'History'),
    form,
    status.el,
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Events found' }, table),
    more,
  );

  let next = null;
  let found = 0;

  async function load(query) {
    status.set('Searching…');
    more.disabled = true;
    try {
      const page = await api('GET', '/v1/events', { query });
      for (const item of page.events) tbody.append(row(item));
      found += page.events.length;
      next = page.next ?? null;
      more.hidden = !next;
      status.set(`${found} event${found === 1 ? '' : 's'} found${next ? '; more on the next page' : ''}.`, 'ok');
    } catch (err) {
      status.set(err.message, 'error');
    } finally {
      more.disabled = false;
    }
  }

  function row({ seq, event }) {
    const cid = event.metadata?.correlation_id;
    const details = h('details', {}, h('summary', {}, event.id), jsonBlock(event));
    return h(
      'tr',
      { dataset: { seq, id: event.id } },
      h('td', {}, String(seq)),
      h('td', {}, h('time', { datetime: event.timestamp }, formatTime(event.timestamp))),
      h('td', {}, event.type),
      h('td', {}, event.source),
      h('td', {}, cid ? h('a', { href: `#/saga/${encodeURIComponent(cid)}`, 'aria-label': `Saga of correlation ${cid}` }, cid) : ''),
      h('td', {}, details),
    );
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    tbody.replaceChildren();
    found = 0;
    const patterns = types.value
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    load({
      types: patterns.length ? patterns.join(',') : undefined,
      since: rfc3339(since.value),
      until: rfc3339(until.value),
      source: source.value.trim(),
      correlation_id: correlation.value.trim(),
      limit: limit.value,
    });
  });
  more.addEventListener('click', () => {
    if (next) load({ cursor: next, limit: limit.value });
  });
  void navigate;
}
