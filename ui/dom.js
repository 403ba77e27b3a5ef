// Tiny DOM helpers: elements built with properties and children (never innerHTML, so event data
// can never become markup), SVG elements, and a polite screen-reader announcement.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') el.textContent = String(value);
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: h('button', { type: 'button', onclick }, 'Label'). */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** A labelled form field: the label, the control, and an optional hint tied by aria-describedby. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const parts = [h('label', { for: id }, label), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute('aria-describedby', hintId);
    parts.push(h('small', { id: hintId, class: 'hint' }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

/**
 * A results table: a caption for screen readers, one header row of column headers (text, or an
 * element such as a select-all checkbox), and `body` (the tbody the view fills).
 */
export function resultsTable(caption, columns, body) {
  return h(
    'table',
    { class: 'results' },
    h('caption', { class: 'visually-hidden' }, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        columns.map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    body,
  );
}

/** Says something to screen readers (and keeps it visible nowhere else). */
export function announce(message) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  // A fresh text node so repeated messages are read again.
  setTimeout(() => {
    region.textContent = message;
  }, 50);
}

/** A status line (role=status) whose text and tone can be set. */
export function statusLine(initial = '') {
  const el = h('p', { class: 'status', role: 'status' }, initial);
  return {
    el,
    set(text, tone = 'info') {
      el.textContent = text;
      el.dataset.tone = tone;
    },
  };
}

export function formatTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace('T', ' ').replace('Z', ' UTC');
}

/** Pretty JSON in a <pre> that keyboard users can scroll (tabindex) with an accessible name. */
export function jsonBlock(value, label = 'Event JSON') {
  return h('pre', { class: 'json', tabindex: '0', 'aria-label': label }, JSON.stringify(value, null, 2));
}
