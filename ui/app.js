// The event explorer's shell: sign in with an API key (kept in this tab's sessionStorage only),
// then one view at a time chosen by the URL hash (#/live, #/history, #/saga/<id>, #/consumers,
// #/catalogue, #/webhooks, #/webhooks/<name>). Each view module exports render(root, params) and
// may return a cleanup function.
import { api, session } from './api.js';
import { announce, field, h, statusLine } from './dom.js';
import { renderCatalogue } from './views/catalogue.js';
import { renderConsumers } from './views/consumers.js';
import { renderHistory } from './views/history.js';
import { renderLive } from './views/live.js';
import { renderSaga } from './views/saga.js';
import { renderWebhooks } from './views/webhooks.js';

const VIEWS = {
  live: { title: 'Live tail', render: renderLive },
  history: { title: 'History', render: renderHistory },
  saga: { title: 'Saga', render: renderSaga },
  consumers: { title: 'Consumers & dead letters', render: renderConsumers },
  catalogue: { title: 'Catalogue', render: renderCatalogue },
  webhooks: { title: 'Webhooks', render: renderWebhooks },
};

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let cleanup = null;

function parseHash() {
  const [view, ...rest] = window.location.hash.replace(/^#\/?/, '').split('/');
  return { view: VIEWS[view] ? view : 'live', param: rest.length ? decodeURIComponent(rest.join('/')) : undefined };
}

function renderSignIn() {
  nav.hidden = true;
  const key = h('input', { type: 'password', name: 'api-key', autocomplete: 'off', required: true, spellcheck: 'false' });
  const status = statusLine();
  const form = h(
    'form',
    { class: 'card sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h2', { id: 'sign-in-title' }, 'Sign in'),
    h('p', {}, 'Use an API key of your tenant. It is kept in this browser tab only (sessionStorage) and sent as a header, never in a URL.'),
    field('API key', key),
    h('button', { type: 'submit' }, 'Sign in'),
    status.el,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    session.signIn(key.value.trim());
    status.set('Checking the key…');
    try {
      // Any valid key may read the catalogue: a cheap check that the key is known.
      await api('GET', '/v1/event-types');
      key.value = '';
      announce('Signed in');
      if (!window.location.hash || window.location.hash === '#/') window.location.hash = '#/live';
      route();
    } catch (err) {
      session.signOut();
      status.set(err.status === 401 ? 'This key is not valid.' : `Sign in failed: ${err.message}`, 'error');
      key.focus();
    }
  });
  main.replaceChildren(form);
  key.focus();
}

function route() {
  cleanup?.();
  cleanup = null;
  if (!session.key) {
    renderSignIn();
    return;
  }
  nav.hidden = false;
  const { view, param } = parseHash();
  for (const a of nav.querySelectorAll('a[data-view]')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${VIEWS[view].title} · Event explorer`;
  const root = h('section', { class: 'view', 'aria-labelledby': `${view}-title`, dataset: { view } });
  main.replaceChildren(root);
  cleanup = VIEWS[view].render(root, { param, navigate }) ?? null;
}

/** Goes to a view (and lets the hashchange listener render it). */
export function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

document.getElementById('sign-out').addEventListener('click', () => {
  session.signOut();
  announce('Signed out');
  route();
});
window.addEventListener('hashchange', () => {
  route();
  main.focus({ preventScroll: true });
});
route();
