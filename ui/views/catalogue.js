// Catalogue: every event type (GET /v1/event-types) with its `data` JSON Schema and an example made
// from it, and a form that publishes a test event (POST /v1/events) once its data passes that
// schema here in the browser (ui/schema-check.js); the gateway validates it again on publish.
import { api } from '../api.js';
import { announce, field, h, jsonBlock, statusLine } from '../dom.js';
import { exampleOf, validate } from '../schema-check.js';

export function renderCatalogue(root) {
  const status = statusLine('Loading the catalogue…');
  const list = h('div', { class: 'catalogue' });
  const typeSelect = h('select', { name: 'type', required: true });
  const source = h('input', { type: 'text', name: 'source', value: 'event-explorer', required: true, spellcheck: 'false' });
  const correlation = h('input', { type: 'text', name: 'correlation_id', spellcheck: 'false', autocomplete: 'off' });
  const data = h('textarea', { name: 'data', rows: '10', spellcheck: 'false', required: true });
  const errorsId = 'publish-errors';
  const errorList = h('ul', { id: errorsId, class: 'errors', 'aria-label': 'Problems with the data' });
  const publishStatus = statusLine();
  const form = h(
    'form',
    { class: 'card publish', 'aria-labelledby': 'publish-title', novalidate: true },
    h('h3', { id: 'publish-title' }, 'Publish a test event'),
    field('Event type', typeSelect),
    field('Source', source),
    field('Correlation id (optional)', correlation),
    field('Data (JSON)', data, "Checked against the type's schema before it is sent."),
    errorList,
    h('button', { type: 'submit' }, 'Validate and publish'),
    publishStatus.el,
  );
  data.setAttribute('aria-describedby', `${data.getAttribute('aria-describedby')} ${errorsId}`);
  root.append(h('h2', { id: 'catalogue-title' }, 'Catalogue'), status.el, list, form);

  const types = new Map();

  function fillExample(type) {
    const t = types.get(type);
    if (!t) return;
    typeSelect.value = type;
    data.value = JSON.stringify(exampleOf(t.schema), null, 2);
    errorList.replaceChildren();
  }

  typeSelect.addEventListener('change', () => fillExample(typeSelect.value));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errorList.replaceChildren();
    publishStatus.set('');
    const t = types.get(typeSelect.value);
    if (!t) return;
    let payload;
    try {
      payload = JSON.parse(data.value);
    } catch (err) {
      errorList.append(h('li', {}, `The data is not JSON: ${err.message}`));
      data.setAttribute('aria-invalid', 'true');
      data.focus();
      return;
    }
    const problems = validate(t.schema, payload);
    if (!source.value.trim()) problems.unshift({ pointer: 'source', message: 'is required' });
    if (problems.length) {
      for (const p of problems)
        errorList.append(h('li', {}, `${p.pointer === 'source' ? 'Source' : `data${p.pointer === '/' ? '' : p.pointer}`} ${p.message}`));
      data.setAttribute('aria-invalid', 'true');
      publishStatus.set(`Not sent: ${problems.length} problem${problems.length === 1 ? '' : 's'} with the data.`, 'error');
      data.focus();
      return;
    }
    data.removeAttribute('aria-invalid');
    const event = { type: t.type, version: t.version, source: source.value.trim(), data: payload };
    if (correlation.value.trim()) event.metadata = { correlation_id: correlation.value.trim() };
    try {
      const ack = await api('POST', '/v1/events', { body: event });
      publishStatus.set(`Published ${ack.id} (sequence ${ack.seq}).`, 'ok');
      announce(`Published ${ack.id}`);
    } catch (err) {
      for (const fe of err.problem?.errors ?? []) errorList.append(h('li', {}, `${fe.pointer ?? ''} ${fe.message ?? ''}`));
      publishStatus.set(`Not published: ${err.message}`, 'error');
    }
  });

  (async () => {
    try {
      const answer = await api('GET', '/v1/event-types');
      const all = [...answer.types].sort((a, b) => a.type.localeCompare(b.type));
      for (const t of all) types.set(t.type, t);
      typeSelect.replaceChildren(...all.map((t) => h('option', { value: t.type }, `${t.type} (v${t.version})`)));
      list.replaceChildren(
        ...all.map((t) =>
          h(
            'details',
            { class: 'type-entry', dataset: { type: t.type } },
            h(
              'summary',
              {},
              h('span', { class: 'type' }, t.type),
              h('span', { class: 'version' }, `v${t.version}`),
              h('span', { class: 'description' }, t.description),
            ),
            h(
              'div',
              { class: 'type-body' },
              h('div', {}, h('h4', {}, 'Schema of data'), jsonBlock(t.schema, `Schema of ${t.type}`)),
              h('div', {}, h('h4', {}, 'Example'), jsonBlock(exampleOf(t.schema), `Example of ${t.type}`)),
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'secondary use-example',
                onclick: () => {
                  fillExample(t.type);
                  data.focus();
                },
              },
              `Publish a test ${t.type}`,
            ),
          ),
        ),
      );
      status.set(`${all.length} event types.`, 'ok');
      if (all.length) fillExample(all[0].type);
    } catch (err) {
      status.set(err.message, 'error');
    }
  })();
}
