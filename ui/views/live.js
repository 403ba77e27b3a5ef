// Live tail: a WebSocket subscription (ticket-authorised) to type patterns with an optional content
// filter; newest event first, each expandable as formatted JSON with a copy-as-curl; pause keeps
// receiving into a bounded buffer; events per second over the last five seconds. A dropped
// connection reconnects with a new ticket and resumes after the last event shown.
import { curlFor, openSocket } from '../api.js';
import { announce, field, formatTime, h, jsonBlock, statusLine } from '../dom.js';

const MAX_ROWS = 200;
const MAX_BUFFER = 1000;
const RATE_WINDOW_MS = 5000;

export function renderLive(root, { navigate }) {
  const patterns = h('input', { type: 'text', name: 'types', value: '*', spellcheck: 'false', autocomplete: 'off' });
  const filter = h('textarea', {
    name: 'filter',
    rows: '2',
    spellcheck: 'false',
    placeholder: '{"data": {"amount": [{"numeric": [">", 100]}]}}',
  });
  const status = statusLine('Connecting…');
  const rate = h('output', { class: 'rate', 'aria-label': 'Events per second' }, '0.0');
  const pauseBtn = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Pause');
  const buffered = h('span', { class: 'buffered' });
  const list = h('ol', { class: 'events', 'aria-label': 'Live events, newest first', reversed: true });

  const form = h(
    'form',
    { class: 'card filters' },
    field('Type patterns', patterns, 'Comma-separated: order.created, order.*, or * for every type.'),
    field('Content filter (JSON, optional)', filter, 'Evaluated by the gateway; see docs/content-filter.md.'),
    h('button', { type: 'submit' }, 'Apply'),
  );
  const controls = h(
    'div',
    { class: 'toolbar' },
    pauseBtn,
    h('button', { type: 'button', class: 'secondary', onclick: () => list.replaceChildren() }, 'Clear'),
    h('span', {}, rate, ' events/s'),
    buffered,
  );
  root.append(h('h2', { id: 'live-title' }, 'Live tail'), form, controls, status.el, list);

  let ws = null;
  let stopped = false;
  let paused = false;
  let lastSeq = 0;
  let subCount = 0;
  let currentSub = null;
  let retryMs = 500;
  let retryTimer = null;
  let spec = { types: ['*'], filter: undefined };
  const arrivals = [];
  const buffer = [];
  let dropped = 0;

  function subscribe() {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (currentSub) ws.send(JSON.stringify({ op: 'unsubscribe', sub: currentSub }));
    currentSub = `tail${++subCount}`;
    const frame = { op: 'subscribe', sub: currentSub, types: spec.types, from: lastSeq > 0 ? { seq: lastSeq + 1 } : 'new' };
    if (spec.filter) frame.filter = spec.filter;
    ws.send(JSON.stringify(frame));
  }

  async function connect() {
    if (stopped) return;
    status.set('Connecting…');
    let socket;
    try {
      socket = await openSocket();
    } catch (err) {
      status.set(`Cannot connect: ${err.message}`, 'error');
      // A key without the subscribe scope (or no longer valid) will not get better by retrying.
      if (err.status !== 401 && err.status !== 403) scheduleReconnect();
      return;
    }
    if (stopped) {
      socket.close();
      return;
    }
    ws = socket;
    currentSub = null;
    ws.onopen = () => subscribe();
    ws.onmessage = (msg) => onFrame(JSON.parse(msg.data));
    ws.onclose = (e) => {
      if (ws !== socket) return;
      ws = null;
      if (stopped) return;
      status.set(`Disconnected (${e.code}); reconnecting…`, 'warn');
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (stopped) return;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  }

  function onFrame(frame) {
    if (frame.sub && frame.sub !== currentSub) return;
    switch (frame.op) {
      case 'subscribed':
        retryMs = 500;
        status.set(`Live: ${spec.types.join(', ')}${spec.filter ? ' (filtered)' : ''}`, 'ok');
        root.dataset.state = 'live';
        break;
      case 'event':
        lastSeq = Math.max(lastSeq, frame.seq);
        arrivals.push(Date.now());
        if (paused) {
          buffer.push(frame);
          if (buffer.length > MAX_BUFFER) {
            buffer.shift();
            dropped++;
          }
          buffered.textContent = `${buffer.length} buffered${dropped ? `, ${dropped} dropped` : ''}`;
        } else show(frame);
        break;
      case 'error':
        status.set(`${frame.code}: ${frame.message}`, 'error');
        if (frame.resume_from) lastSeq = frame.resume_from - 1;
        break;
    }
  }

  function show(frame) {
    const e = frame.event;
    const curl = h('pre', { class: 'curl', tabindex: '0', 'aria-label': 'curl command', hidden: true });
    const copyBtn = h('button', { type: 'button', class: 'secondary' }, 'Copy as curl');
    copyBtn.addEventListener('click', async () => {
      curl.textContent = curlFor(e);
      curl.hidden = false;
      try {
        await navigator.clipboard.writeText(curl.textContent);
        announce('curl command copied');
      } catch {
        announce('curl command shown; select it to copy');
      }
    });
    const correlation = e.metadata?.correlation_id;
    const item = h(
      'li',
      { dataset: { seq: frame.seq, id: e.id } },
      h(
        'details',
        {},
        h(
          'summary',
          {},
          h('span', { class: 'seq' }, `#${frame.seq}`),
          h('span', { class: 'type' }, e.type),
          h('span', { class: 'source' }, e.source),
          h('time', { datetime: e.timestamp }, formatTime(e.timestamp)),
          h('span', { class: 'id' }, e.id),
        ),
        jsonBlock(e),
        h(
          'div',
          { class: 'toolbar' },
          copyBtn,
          correlation
            ? h(
                'button',
                { type: 'button', class: 'secondary', onclick: () => navigate(`#/saga/${encodeURIComponent(correlation)}`) },
                'Open saga',
              )
            : null,
        ),
        curl,
      ),
    );
    list.prepend(item);
    while (list.children.length > MAX_ROWS) list.lastElementChild.remove();
  }

  pauseBtn.addEventListener('click', () => {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.setAttribute('aria-pressed', String(paused));
    if (!paused) {
      for (const f of buffer.splice(0)) show(f);
      dropped = 0;
      buffered.textContent = '';
    }
    announce(paused ? 'Paused' : 'Resumed');
  });

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const types = patterns.value
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    let parsed;
    if (filter.value.trim()) {
      try {
        parsed = JSON.parse(filter.value);
      } catch (err) {
        status.set(`The content filter is not JSON: ${err.message}`, 'error');
        filter.focus();
        return;
      }
    }
    spec = { types: types.length ? types : ['*'], filter: parsed };
    // A new query starts from now, not from where the last one was.
    lastSeq = 0;
    list.replaceChildren();
    subscribe();
  });

  const rateTimer = setInterval(() => {
    const since = Date.now() - RATE_WINDOW_MS;
    while (arrivals.length && arrivals[0] < since) arrivals.shift();
    rate.textContent = (arrivals.length / (RATE_WINDOW_MS / 1000)).toFixed(1);
  }, 1000);

  connect();
  return () => {
    stopped = true;
    clearInterval(rateTimer);
    clearTimeout(retryTimer);
    ws?.close(1000, 'view closed');
  };
}
