// Saga timeline: the events of one correlation id (GET /v1/correlations/{id}) drawn in SVG, one
// lane per source service in order of first appearance, one column per step in sequence order;
// each mark shows its type, time and the time since the previous step. Steps the gateway's summary
// counts as failed, and the compensations after them, have their own colours (and a text label, so
// colour is never the only cue). The same steps follow as an ordered list for screen readers.
import { api } from '../api.js';
import { field, formatTime, h, jsonBlock, s, statusLine } from '../dom.js';

const LANE_H = 72;
const COL_W = 170;
const LABEL_W = 170;
const TOP = 34;

export function formatGap(ms) {
  if (!Number.isFinite(ms)) return '';
  const sign = ms < 0 ? '−' : '+';
  const a = Math.abs(ms);
  if (a < 1000) return `${sign}${Math.round(a)} ms`;
  if (a < 60_000) return `${sign}${(a / 1000).toFixed(1)} s`;
  if (a < 3_600_000) return `${sign}${(a / 60_000).toFixed(1)} min`;
  return `${sign}${(a / 3_600_000).toFixed(1)} h`;
}

function timeOf(item) {
  const t = Date.parse(item.event.timestamp);
  return Number.isNaN(t) ? Date.parse(item.stored_at) : t;
}

function short(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function renderSaga(root, { param, navigate }) {
  const input = h('input', {
    type: 'text',
    name: 'correlation_id',
    required: true,
    spellcheck: 'false',
    autocomplete: 'off',
    value: param ?? '',
  });
  const status = statusLine();
  const out = h('div', { class: 'saga' });
  const form = h(
    'form',
    { class: 'card filters inline' },
    field('Correlation id', input),
    h('button', { type: 'submit' }, 'Show timeline'),
  );
  root.append(h('h2', { id: 'saga-title' }, 'Saga timeline'), form, status.el, out);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const id = input.value.trim();
    if (id) navigate(`#/saga/${encodeURIComponent(id)}`);
  });

  if (param) load(param);

  async function load(id) {
    status.set('Loading…');
    try {
      const saga = await api('GET', `/v1/correlations/${encodeURIComponent(id)}`);
      draw(saga);
    } catch (err) {
      status.set(err.status === 404 ? `No events with correlation id ${id}.` : err.message, 'error');
    }
  }

  function draw(saga) {
    const events = saga.events;
    const failed = new Set((saga.summary?.failures ?? []).map((f) => f.seq));
    const compensating = new Set((saga.summary?.compensations ?? []).map((c) => c.seq));
    const kindOf = (seq) => (failed.has(seq) ? 'failed' : compensating.has(seq) ? 'compensation' : 'ok');
    const lanes = [...new Set(events.map((e) => e.event.source))];
    const width = LABEL_W + Math.max(1, events.length) * COL_W + 20;
    const height = TOP + lanes.length * LANE_H + 10;
    const summary = `${events.length} events across ${lanes.length} services${saga.summary?.failed ? ', with failures' : ''}${saga.truncated ? ' (truncated)' : ''}.`;
    status.set(`Correlation ${saga.correlation_id}: ${summary}`, saga.summary?.failed ? 'warn' : 'ok');

    const svg = s('svg', {
      class: 'timeline',
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-labelledby': 'saga-svg-title',
    });
    svg.append(s('title', { id: 'saga-svg-title' }, `Timeline of ${saga.correlation_id}: ${summary}`));
    lanes.forEach((lane, i) => {
      const y = TOP + i * LANE_H;
      svg.append(
        s('rect', { class: `lane lane-${i % 2}`, x: 0, y, width, height: LANE_H }),
        s('text', { class: 'lane-label', x: 10, y: y + LANE_H / 2 + 4 }, short(lane, 22)),
      );
    });
    let prev;
    const points = [];
    events.forEach((item, i) => {
      const x = LABEL_W + i * COL_W + COL_W / 2;
      const y = TOP + lanes.indexOf(item.event.source) * LANE_H + LANE_H / 2 - 8;
      const t = timeOf(item);
      const gap = prev === undefined ? 'start' : formatGap(t - prev);
      prev = t;
      points.push([x, y]);
      const kind = kindOf(item.seq);
      svg.append(
        s('text', { class: 'step-no', x, y: 20, 'text-anchor': 'middle' }, `${i + 1} · ${gap}`),
        s(
          'g',
          { class: `mark ${kind}`, dataset: { seq: item.seq, type: item.event.type } },
          s(
            'title',
            {},
            `${i + 1}. ${item.event.type} from ${item.event.source} at ${formatTime(item.event.timestamp)} (${gap})${kind === 'ok' ? '' : `, ${kind}`}`,
          ),
          s('circle', { cx: x, cy: y, r: 8 }),
          s('text', { class: 'mark-type', x, y: y + 24, 'text-anchor': 'middle' }, short(item.event.type, 24)),
          s('text', { class: 'mark-time', x, y: y + 38, 'text-anchor': 'middle' }, new Date(t).toISOString().slice(11, 23)),
        ),
      );
    });
    if (points.length > 1) {
      svg.insertBefore(s('polyline', { class: 'path', points: points.map((p) => p.join(',')).join(' ') }), svg.querySelector('g.mark'));
    }

    const legend = h(
      'ul',
      { class: 'legend', 'aria-label': 'Legend' },
      h('li', { class: 'ok' }, 'step'),
      h('li', { class: 'failed' }, 'failed step'),
      h('li', { class: 'compensation' }, 'after a failure (compensation)'),
    );
    let prevT;
    const steps = h(
      'ol',
      { class: 'steps', 'aria-label': 'Steps in order' },
      events.map((item) => {
        const t = timeOf(item);
        const gap = prevT === undefined ? 'start' : formatGap(t - prevT);
        prevT = t;
        const kind = kindOf(item.seq);
        return h(
          'li',
          { class: kind, dataset: { seq: item.seq, type: item.event.type } },
          h(
            'details',
            {},
            h(
              'summary',
              {},
              h('span', { class: 'type' }, item.event.type),
              h('span', { class: 'source' }, item.event.source),
              h('time', { datetime: item.event.timestamp }, formatTime(item.event.timestamp)),
              h('span', { class: 'gap' }, gap),
              kind === 'ok' ? null : h('span', { class: `badge ${kind}` }, kind),
            ),
            jsonBlock(item.event),
          ),
        );
      }),
    );
    out.replaceChildren(
      legend,
      h('div', { class: 'timeline-wrap', tabindex: '0', role: 'region', 'aria-label': 'Timeline (scrolls sideways)' }, svg),
      h('h3', {}, 'Steps'),
      steps,
    );
  }
}
