/* app.js: Plumb's web UI, one page that draws every view from the API
 * (docs/ui.md).
 *
 * Everything a user wrote (names, labels, commit messages, manifests) is
 * put on the page as text (textContent, never innerHTML), and the page
 * runs no script but this file (the server's Content-Security-Policy says
 * so), so such text can never run. The session is an HttpOnly cookie; each
 * request that changes something carries the session's CSRF token. Status
 * changes arrive as server-sent events from /api/v1/stream, each one
 * application's new summary, so an open page never polls the list. */
'use strict';

const state = {
  who: null,        // GET /api/v1/session
  apps: new Map(),  // name -> summary, as the list and the events give them
  seq: -1,          // the last event applied
  stream: null,     // the EventSource
  view: null,       // the view drawn now: {name, update(event)}
};

/* ---- small helpers ---------------------------------------------------------- */

// el('div', {class: 'x', onclick: f}, 'text', child...): an element whose
// strings become text nodes.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = {Accept: 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.who && state.who.csrf) headers['X-CSRF-Token'] = state.who.csrf;
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  if (res.status === 401 && path !== '/api/v1/session') {
    signedOut();
    throw new ApiError(401, 'signed out');
  }
  if (!res.ok) throw new ApiError(res.status, (data && data.error) || res.statusText);
  return data;
}

function toast(message, kind) {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.className = 'toast show ' + (kind || '');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = 'toast'; }, 4000);
}

function ago(iso) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return s + 's ago';
  if (s < 3600) return Math.floor(s / 60) + 'm ago';
  if (s < 86400) return Math.floor(s / 3600) + 'h ago';
  return Math.floor(s / 86400) + 'd ago';
}

const short = (commit) => (commit || '').slice(0, 7);

function badge(kind, value) {
  const v = value || 'Unknown';
  return el('span', {class: `badge ${kind} ${kind}-${v.toLowerCase()}`, title: `${kind}: ${v}`}, v);
}

function may(doc, action) {
  return Array.isArray(doc.actions) ? doc.actions.includes(action) : state.who.actions.includes(action);
}

/* A modal dialog of body's nodes; resolves to its form's data when
 * confirmed, null when not (Cancel, Escape). */
function dialog(title, body, okLabel, danger) {
  return new Promise((resolve) => {
    const ok = el('button', {type: 'submit', class: danger ? 'danger' : 'primary', value: 'ok', id: 'dialog-ok'}, okLabel);
    const form = el('form', {method: 'dialog'}, el('h2', {}, title), body,
      el('div', {class: 'row end'}, el('button', {type: 'submit', class: 'ghost', value: 'cancel'}, 'Cancel'), ok));
    const d = el('dialog', {class: 'confirm', 'aria-label': title}, form);
    d.addEventListener('close', () => { d.remove(); resolve(d.returnValue === 'ok' ? new FormData(form) : null); });
    document.body.append(d);
    d.showModal();
    ok.focus();
  });
}

async function confirmDialog(title, text, okLabel, danger) {
  return (await dialog(title, el('p', {}, text), okLabel, danger)) !== null;
}

/* Sends an action; says what became of it. */
async function act(method, path, body, done) {
  try {
    await api(method, path, body);
    toast(done);
    return true;
  } catch (err) {
    toast(err.message, 'bad');
    return false;
  }
}

async function syncDialog(doc, path) {
  const form = await dialog(`Sync ${doc.name}?`, [
    el('p', {}, `Applies commit ${short(doc.commit)} now, whatever the sync policy.`),
    el('label', {class: 'check'}, el('input', {type: 'checkbox', name: 'prune', id: 'sync-prune', checked: doc.prune}),
      ' Prune: delete what the application applied and git no longer has'),
    el('label', {class: 'check'}, el('input', {type: 'checkbox', name: 'dryRun', id: 'sync-dry-run'}),
      ' Dry run: compare only, change nothing'),
  ], 'Synchronize', false);
  if (!form) return;
  const body = {prune: form.has('prune'), dryRun: form.has('dryRun')};
  await act('POST', path + '/sync', body, body.dryRun ? `Dry run of ${doc.name} queued` : `Sync of ${doc.name} queued`);
}

/* ---- routing ---------------------------------------------------------------------- */

function go(path, replace) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  route();
}

function route() {
  const path = location.pathname;
  if (!state.who && path !== '/login') return go('/login?next=' + encodeURIComponent(path + location.search), true);
  const main = document.getElementById('main');
  main.replaceChildren();
  stopLogs();
  state.view = null;
  if (path === '/login') return drawLogin(main);
  if (path === '/new') return drawForm(main, null);
  if (path.startsWith('/apps/') && path.endsWith('/edit')) return drawForm(main, decodeURIComponent(path.slice(6, -5)));
  if (path.startsWith('/apps/')) return drawApp(main, decodeURIComponent(path.slice(6)));
  return drawList(main);
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-nav]');
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  go(a.getAttribute('href'));
});
window.addEventListener('popstate', route);

/* ---- session ---------------------------------------------------------------------- */

function signedIn(who) {
  state.who = who;
  document.getElementById('who').textContent = who.user;
  document.getElementById('logout').hidden = false;
  document.getElementById('top-nav').hidden = false;
}

function signedOut() {
  state.who = null;
  state.apps.clear();
  if (state.stream) state.stream.close();
  state.stream = null;
  document.getElementById('who').textContent = '';
  document.getElementById('logout').hidden = true;
  document.getElementById('top-nav').hidden = true;
  if (location.pathname !== '/login') go('/login', true);
}

function drawLogin(main) {
  const user = el('input', {id: 'username', name: 'username', autocomplete: 'username', required: true, autofocus: true});
  const pass = el('input', {id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true});
  const error = el('p', {class: 'error', role: 'alert'}, new URLSearchParams(location.search).get('error') || '');
  const sso = el('div', {class: 'sso'});
  api('GET', '/api/v1/settings').then((s) => {
    if (s.sso) sso.replaceChildren(el('div', {class: 'or'}, 'or'),
      el('a', {class: 'button', id: 'sign-in-sso', href: '/auth/login'}, 'Sign in with ' + s.sso.name));
  }).catch(() => {});
  const form = el('form', {class: 'card login', onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    try {
      const who = await api('POST', '/api/v1/session', {username: user.value, password: pass.value});
      signedIn(who);
      const next = new URLSearchParams(location.search).get('next');
      go(next && next.startsWith('/') && !next.startsWith('//') ? next : '/apps', true);
    } catch (err) {
      error.textContent = err.message;
      pass.select();
    }
  }},
  el('h1', {}, 'Sign in to Plumb'),
  el('label', {for: 'username'}, 'User name'), user,
  el('label', {for: 'password'}, 'Password'), pass,
  error,
  el('button', {type: 'submit', class: 'primary', id: 'sign-in'}, 'Sign in'), sso);
  main.append(form);
  user.focus();
}

document.getElementById('logout').addEventListener('click', async () => {
  try { await api('DELETE', '/api/v1/session'); } catch (_) { /* signed out either way */ }
  signedOut();
});

/* ---- live updates ------------------------------------------------------------------- */

function listen() {
  if (state.stream) state.stream.close();
  const s = new EventSource('/api/v1/stream?since=' + state.seq);
  state.stream = s;
  s.addEventListener('app', (m) => {
    const e = JSON.parse(m.data);
    state.seq = Number(m.lastEventId);
    state.apps.set(e.app.name, e.app);
    if (state.view) state.view.update(e.app.name);
  });
  s.addEventListener('removed', (m) => {
    const e = JSON.parse(m.data);
    state.seq = Number(m.lastEventId);
    state.apps.delete(e.name);
    if (state.view) state.view.update(e.name);
  });
  s.addEventListener('reset', async () => {
    await loadApps();
    if (state.view) state.view.update(null);
  });
}

async function loadApps() {
  const list = await api('GET', '/api/v1/apps');
  state.apps = new Map(list.apps.map((a) => [a.name, a]));
  state.seq = list.seq;
  listen();
}

/* ---- the applications page -------------------------------------------------------- */

const FILTERS = ['project', 'sync', 'health', 'cluster', 'namespace'];

function card(app) {
  const href = '/apps/' + encodeURIComponent(app.name);
  return el('a', {class: 'card app', href, 'data-nav': true, 'data-app': app.name},
    el('div', {class: 'row spread'}, el('h3', {class: 'name'}, app.name), el('span', {class: 'project'}, app.project)),
    el('div', {class: 'row'}, badge('sync', app.sync), badge('health', app.health),
      app.autoSync ? el('span', {class: 'tag'}, 'auto') : null),
    el('dl', {class: 'facts'},
      el('dt', {}, 'Commit'), el('dd', {title: app.commitMessage || ''},
        el('span', {class: 'mono'}, short(app.commit) || '—'), ' ', app.commitMessage || ''),
      el('dt', {}, 'Last sync'), el('dd', {title: app.lastSync || ''}, ago(app.lastSync)),
      el('dt', {}, 'Destination'), el('dd', {}, (app.cluster || 'in-cluster') + (app.namespace ? ' / ' + app.namespace : ''))),
    app.message ? el('p', {class: 'message', title: app.message}, app.message.split('\n')[0]) : null);
}

function matches(app, f) {
  if (f.name && !app.name.toLowerCase().includes(f.name.toLowerCase())) return false;
  return FILTERS.every((k) => !f[k] || (app[k] || '') === f[k]);
}

async function drawList(main) {
  const params = new URLSearchParams(location.search);
  const f = {name: params.get('name') || ''};
  for (const k of FILTERS) f[k] = params.get(k) || '';
  const grid = el('div', {class: 'grid', id: 'apps'});
  const count = el('span', {class: 'count', id: 'count'});
  const selects = {};
  const saveFilter = () => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
    history.replaceState(null, '', '/apps' + (q.toString() ? '?' + q : ''));
    refilter();
  };
  const search = el('input', {type: 'search', id: 'filter-name', placeholder: 'Filter by name', value: f.name,
    'aria-label': 'Filter by name', oninput: () => { f.name = search.value; saveFilter(); }});
  for (const k of FILTERS) {
    selects[k] = el('select', {id: 'filter-' + k, 'aria-label': 'Filter by ' + k,
      onchange: () => { f[k] = selects[k].value; saveFilter(); }});
  }
  const fillSelects = () => {
    for (const k of FILTERS) {
      const values = [...new Set([...state.apps.values()].map((a) => a[k] || '').filter(Boolean))].sort();
      if (f[k] && !values.includes(f[k])) values.push(f[k]);
      selects[k].replaceChildren(el('option', {value: ''}, 'Any ' + k),
        ...values.map((v) => el('option', {value: v, selected: v === f[k]}, v)));
    }
  };
  const cards = new Map();
  const refilter = () => {
    let shown = 0;
    for (const [name, c] of cards) {
      const show = matches(state.apps.get(name), f);
      c.hidden = !show;
      shown += show;
    }
    count.textContent = `${shown} of ${state.apps.size} applications`;
  };
  const drawAll = () => {
    cards.clear();
    const frag = document.createDocumentFragment();
    for (const app of [...state.apps.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const c = card(app);
      cards.set(app.name, c);
      frag.append(c);
    }
    grid.replaceChildren(frag);
    fillSelects();
    refilter();
  };
  main.append(el('section', {class: 'toolbar'},
    el('h1', {}, 'Applications'), count,
    state.who.actions.includes('create') ? el('a', {class: 'button inline primary', href: '/new', id: 'new-app', 'data-nav': true}, 'New app') : null,
    el('div', {class: 'filters'}, search, ...FILTERS.map((k) => selects[k]))), grid);
  state.view = {
    name: 'list',
    update(name) {
      if (name === null || !cards.has(name) !== !state.apps.has(name)) return drawAll();
      const app = state.apps.get(name);
      const c = card(app);
      cards.get(name).replaceWith(c);
      cards.set(name, c);
      fillSelects();
      refilter();
    },
  };
  try {
    if (!state.stream) await loadApps();
    drawAll();
  } catch (err) {
    if (err.status !== 401) grid.replaceChildren(el('p', {class: 'error'}, err.message));
  }
}

/* ---- one application ---------------------------------------------------------------- */

const TABS = ['tree', 'resources', 'history', 'diff'];

/* YAML for people to read (the page shows manifests; nothing parses it). */
function yaml(v, indent = '') {
  const scalar = (x) => (typeof x === 'string' ? (/^[\w./-][\w ./:@-]*$/.test(x) && !/^(true|false|null|yes|no|[\d.]+)$/i.test(x) ? x : JSON.stringify(x)) : String(x));
  if (Array.isArray(v)) {
    if (!v.length) return ' []';
    return v.map((x) => `\n${indent}- ` + (x && typeof x === 'object' ? yaml(x, indent + '  ').trimStart() : scalar(x))).join('');
  }
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (!keys.length) return ' {}';
    return keys.map((k) => `\n${indent}${k}:` + (v[k] && typeof v[k] === 'object' ? yaml(v[k], indent + '  ') : ' ' + scalar(v[k]))).join('');
  }
  return ' ' + scalar(v);
}

/* The part of an application's diff about one object (diff.c names each
 * object as group.version.Kind.namespace.name). */
function diffOf(diff, node) {
  const name = `${node.apiVersion.replace('/', '.')}.${node.kind}.${node.namespace ? node.namespace + '.' : ''}${node.name}`;
  const parts = (diff || '').split(/^(?=diff -u -N )/m);
  return parts.find((p) => p.startsWith(`diff -u -N live/${name} `)) || '';
}

/* ---- a Pod's log ---------------------------------------------------------------------- */

const LOG_LINES = 5000; // kept on the page; older lines go
let stopLogs = () => {};
let followLogs = true; // as last chosen, kept when a redraw opens the log again

/* Streams the log of one container into pre (text, never markup) until
 * stopped or the page leaves it; follow keeps reading as lines come. */
async function streamLog(path, pre, follow) {
  stopLogs();
  const ctl = new AbortController();
  const stop = () => ctl.abort();
  stopLogs = stop;
  pre.textContent = '';
  pre.dataset.state = 'reading'; // 'ended' once the answer is over
  let shown = [];
  const show = (text) => {
    shown = shown.concat(text.split(/(?<=\n)/));
    if (shown.length > LOG_LINES) shown = shown.slice(shown.length - LOG_LINES);
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = shown.join('');
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  };
  try {
    const res = await fetch(path + `&follow=${follow}`, {credentials: 'same-origin', signal: ctl.signal});
    if (!res.ok) {
      const data = await res.json().catch(() => null);
      throw new Error((data && data.error) || res.statusText);
    }
    const reader = res.body.getReader();
    const text = new TextDecoder();
    for (;;) {
      const {value, done} = await reader.read();
      if (done || !pre.isConnected) break;
      show(text.decode(value, {stream: true}));
    }
    if (pre.isConnected && !shown.length) pre.textContent = 'No log lines.';
  } catch (err) {
    if (err.name !== 'AbortError' && pre.isConnected) show(`\n${err.message}\n`);
  } finally {
    ctl.abort();
    if (stopLogs === stop) pre.dataset.state = 'ended'; // not a read another has replaced
  }
}

function drawLogs(doc, n, live) {
  const spec = (live && live.spec) || {};
  const names = [...(spec.containers || []), ...(spec.initContainers || [])].map((c) => c.name);
  const pre = el('pre', {class: 'logs', id: 'pod-logs', 'aria-live': 'polite'});
  const container = el('select', {id: 'log-container', 'aria-label': 'Container'}, names.map((c) => el('option', {value: c}, c)));
  const follow = el('input', {type: 'checkbox', id: 'log-follow', checked: followLogs});
  const start = () => {
    const q = new URLSearchParams({namespace: n.namespace || '', name: n.name, container: container.value});
    streamLog(`/api/v1/apps/${encodeURIComponent(doc.name)}/logs?${q}`, pre, follow.checked);
  };
  container.addEventListener('change', start);
  follow.addEventListener('change', () => {
    followLogs = follow.checked;
    start();
  });
  if (!may(doc, 'logs')) return el('p', {class: 'empty'}, 'Your role may not read logs.');
  if (!names.length) return el('p', {class: 'empty'}, 'Not in the cluster.');
  setTimeout(start);
  return el('div', {class: 'log-view'},
    el('div', {class: 'row'}, names.length > 1 ? container : el('span', {class: 'muted'}, names[0]),
      el('label', {class: 'row'}, follow, 'Follow')),
    pre);
}

let nodeView = 'live'; // the view of an object a redraw opens again

function drawTree(doc, tree, diff) {
  const panel = el('section', {class: 'node-panel', id: 'node-panel', hidden: true});
  const byParent = new Map();
  for (const n of tree.nodes) {
    const key = n.parent || '';
    if (!byParent.has(key)) byParent.set(key, []);
    byParent.get(key).push(n);
  }
  const open = async (n, row) => {
    stopLogs();
    for (const r of document.querySelectorAll('.tree .node.selected')) r.classList.remove('selected');
    row.classList.add('selected');
    panel.hidden = false;
    panel.replaceChildren(el('h2', {}, `${n.kind} ${n.name}`), el('p', {class: 'muted'}, 'Loading...'));
    const q = new URLSearchParams({kind: n.kind, name: n.name});
    if (n.namespace) q.set('namespace', n.namespace);
    let obj;
    try {
      obj = await api('GET', `/api/v1/apps/${encodeURIComponent(doc.name)}/object?${q}`);
    } catch (err) {
      panel.replaceChildren(el('h2', {}, `${n.kind} ${n.name}`), el('p', {class: 'error'}, err.message));
      return;
    }
    const part = diffOf(diff, n);
    const views = {
      live: () => el('pre', {class: 'manifest', id: 'live-manifest'}, obj.live ? yaml(obj.live).trimStart() : 'Not in the cluster.'),
      desired: () => (obj.desired ? el('pre', {class: 'manifest', id: 'desired-manifest'}, yaml(obj.desired).trimStart()) :
        el('p', {class: 'empty'}, 'Not applied from git: made by a controller.')),
      diff: () => (part ? drawDiff({diff: part}) : el('p', {class: 'empty'}, n.managed ? 'No difference with git.' : 'Not applied from git: made by a controller.')),
      events: () => (obj.events.length ? el('table', {class: 'events'},
        el('thead', {}, el('tr', {}, ...['Type', 'Reason', 'Message', 'Count', 'Last seen'].map((h) => el('th', {}, h)))),
        el('tbody', {}, obj.events.map((e) => el('tr', {}, el('td', {}, e.type || ''), el('td', {}, e.reason || ''),
          el('td', {}, e.message || ''), el('td', {}, String(e.count || 1)), el('td', {}, ago(e.lastTimestamp)))))) :
        el('p', {class: 'empty'}, 'No events.')),
    };
    if (n.kind === 'Pod') views.logs = () => drawLogs(doc, n, obj.live);
    const body = el('div', {class: 'node-body'});
    const buttons = Object.keys(views).map((v) => el('button', {type: 'button', class: 'ghost', 'data-view': v,
      onclick: (e) => {
        stopLogs();
        nodeView = v;
        body.replaceChildren(views[v]());
        for (const b of buttons) b.classList.toggle('active', b === e.currentTarget);
      }},
      v[0].toUpperCase() + v.slice(1)));
    const canDelete = may(doc, 'delete');
    const remove = el('button', {type: 'button', class: 'ghost danger-text', id: 'delete-object', disabled: !canDelete,
      title: canDelete ? 'Delete it from the cluster' : 'Your role may not delete', onclick: async () => {
        const yes = await confirmDialog(`Delete ${n.kind} ${n.name}?`, n.managed
          ? 'It is deleted from the cluster now; the application applies it again at its next sync.'
          : 'It is deleted from the cluster now; its owner makes it anew if it should exist.', 'Delete', true);
        if (yes) await act('DELETE', `/api/v1/apps/${encodeURIComponent(doc.name)}/object?${q}`, undefined, `${n.kind} ${n.name} deleted`);
      }}, 'Delete');
    panel.replaceChildren(...[
      el('div', {class: 'row spread'}, el('h2', {}, `${n.kind} ${n.name}`),
        el('div', {class: 'row'}, badge('health', n.health), n.managed ? badge('sync', n.sync) : el('span', {class: 'tag'}, 'made by a controller'), remove)),
      n.message ? el('p', {class: 'muted'}, n.message) : null,
      el('div', {class: 'row views'}, buttons), body].filter(Boolean)); // replaceChildren would write null as text
    const first = views[nodeView] ? nodeView : 'live';
    buttons.find((b) => b.dataset.view === first).classList.add('active');
    body.replaceChildren(views[first]());
  };
  const branch = (parent) => el('ul', {}, (byParent.get(parent) || []).map((n) => {
    const row = el('button', {type: 'button', class: 'node' + (n.managed ? ' managed' : ''), 'data-kind': n.kind, 'data-name': n.name},
      el('span', {class: 'kind'}, n.kind), el('span', {class: 'mono'}, n.name),
      badge('health', n.health), n.managed ? badge('sync', n.sync) : null);
    // An application the build declares opens its own page.
    row.addEventListener('click', () => (n.kind === 'Application' ? go('/apps/' + encodeURIComponent(n.name)) : open(n, row)));
    return el('li', {}, row, byParent.has(n.id) ? branch(n.id) : null);
  }));
  const ids = new Set(tree.nodes.map((n) => n.id));
  // Roots: the nodes whose parent is not in the tree (the objects applied).
  for (const n of tree.nodes) if (n.parent && !ids.has(n.parent)) n.parent = '';
  if (!tree.nodes.length) return el('p', {class: 'empty'}, 'No objects yet.');
  return el('div', {class: 'tree-view'}, el('div', {class: 'tree'}, branch('')), panel);
}

function drawResources(doc) {
  const rows = (doc.resources || []).map((r) => el('tr', {},
    el('td', {}, r.kind), el('td', {class: 'mono'}, r.name), el('td', {}, r.namespace || ''),
    el('td', {}, badge('sync', r.sync)), el('td', {}, badge('health', r.health)),
    el('td', {class: 'message'}, r.message || '')));
  if (!rows.length) return el('p', {class: 'empty'}, 'No objects yet.');
  return el('table', {class: 'objects'},
    el('thead', {}, el('tr', {}, ...['Kind', 'Name', 'Namespace', 'Sync', 'Health', 'Message'].map((h) => el('th', {}, h)))),
    el('tbody', {}, rows));
}

async function rollback(doc, entry) {
  const yes = await confirmDialog('Roll back?',
    `${doc.name} goes back to commit ${short(entry.revision)} (sync #${entry.id}), and automated sync pauses until the next commit.`,
    'Roll back', true);
  if (!yes) return;
  try {
    await api('POST', `/api/v1/apps/${encodeURIComponent(doc.name)}/rollback`, {id: entry.id});
    toast(`Rolling ${doc.name} back to ${short(entry.revision)}`);
  } catch (err) {
    toast(err.message, 'bad');
  }
}

function drawHistory(doc, hist) {
  const entries = (hist.history || []).slice().reverse();
  if (!entries.length) return el('p', {class: 'empty'}, 'No syncs yet.');
  const allowed = may(doc, 'rollback');
  return el('table', {class: 'history'},
    el('thead', {}, el('tr', {}, ...['#', 'Commit', 'Message', 'Author', 'By', 'Time', 'Result', 'Objects', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, entries.map((e) => el('tr', {'data-id': e.id},
      el('td', {}, String(e.id)), el('td', {class: 'mono', title: e.revision}, short(e.revision)),
      el('td', {class: 'subject'}, e.message || ''), el('td', {}, e.author || ''),
      el('td', {class: 'trigger'}, e.trigger || ''),
      el('td', {title: e.time}, ago(e.time)), el('td', {}, badge('sync', e.result)),
      el('td', {}, el('details', {}, el('summary', {}, `${(e.objects || []).length} objects`),
        el('ul', {}, (e.objects || []).map((o) => el('li', {class: 'mono'},
          `${o.object}${o.namespace ? ' (' + o.namespace + ')' : ''}: ${o.result || o.error}`))))),
      el('td', {}, e.revision === hist.applied ? el('span', {class: 'tag'}, 'applied') :
        el('button', {type: 'button', class: 'ghost rollback', disabled: !allowed,
          title: allowed ? 'Apply this sync again' : 'Your role may not roll back',
          onclick: () => rollback(doc, e)}, 'Roll back'))))));
}

function drawDiff(diff) {
  if (!diff.diff) return el('p', {class: 'empty'}, 'No difference between git and the cluster.');
  return el('pre', {class: 'diff'}, diff.diff.split('\n').map((line) => el('span', {
    class: line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('@@') ? 'hunk' : '',
  }, line + '\n')));
}

async function drawApp(main, name) {
  const tab = new URLSearchParams(location.search).get('tab') || 'tree';
  const path = '/api/v1/apps/' + encodeURIComponent(name);
  const head = el('section', {class: 'app-head'});
  const body = el('section', {class: 'app-body'});
  main.append(el('nav', {class: 'crumbs'}, el('a', {href: '/apps', 'data-nav': true}, 'Applications'), ' / ', name), head, body);

  const draw = async () => {
    let doc;
    try {
      doc = await api('GET', path);
    } catch (err) {
      if (err.status !== 401) head.replaceChildren(el('p', {class: 'error'}, err.status === 404 ? `No application ${name}.` : err.message));
      return;
    }
    const canSync = may(doc, 'sync');
    head.replaceChildren(...[
      el('div', {class: 'row spread'},
        el('div', {},
          el('h1', {}, doc.name),
          el('div', {class: 'row'}, badge('sync', doc.sync), badge('health', doc.health),
            doc.suspended ? el('span', {class: 'tag warn', id: 'suspended'}, 'auto-sync suspended')
              : doc.autoSync ? el('span', {class: 'tag'}, 'auto-sync') : el('span', {class: 'tag'}, 'manual'),
            doc.rollback ? el('span', {class: 'tag warn'}, 'rolled back to ' + short(doc.rollback)) : null)),
        el('div', {class: 'row'},
          el('button', {type: 'button', class: 'ghost', id: 'refresh', title: 'Fetch the repository and compare now',
            onclick: () => act('POST', path + '/refresh', undefined, `Refresh of ${doc.name} queued`)}, 'Refresh'),
          doc.automated ? el('button', {type: 'button', class: 'ghost', id: doc.suspended ? 'resume' : 'suspend',
            disabled: !may(doc, 'update'),
            title: may(doc, 'update') ? (doc.suspended ? 'Sync by itself again' : 'Stop syncing by itself until resumed') : 'Your role may not change the application',
            onclick: () => act('POST', path + (doc.suspended ? '/resume' : '/suspend'), undefined,
              `${doc.suspended ? 'Resuming' : 'Suspending'} auto-sync of ${doc.name}`)},
          doc.suspended ? 'Resume auto-sync' : 'Suspend auto-sync') : null,
          doc.object && may(doc, 'update') ? el('a', {class: 'button inline', id: 'edit-app', href: `/apps/${encodeURIComponent(doc.name)}/edit`, 'data-nav': true}, 'Edit') : null,
          doc.object && may(doc, 'delete') ? el('button', {type: 'button', class: 'ghost danger-text', id: 'delete-app', onclick: () => deleteApp(doc)}, 'Delete') : null,
          el('button', {type: 'button', class: 'primary', id: 'sync', disabled: !canSync,
            title: canSync ? 'Apply the commit now' : 'Your role may not sync',
            onclick: () => syncDialog(doc, path)}, 'Sync'))),
      el('dl', {class: 'facts wide'},
        el('dt', {}, 'Project'), el('dd', {}, doc.project),
        el('dt', {}, 'Repository'), el('dd', {class: 'mono'}, doc.repo),
        el('dt', {}, 'Revision'), el('dd', {class: 'mono'}, `${doc.revision} ${doc.path ? '· ' + doc.path : ''}`),
        el('dt', {}, 'Commit'), el('dd', {id: 'commit', title: doc.commitMessage || ''},
          el('span', {class: 'mono'}, short(doc.commit) || '—'), ' ', doc.commitMessage || '',
          doc.commitAuthor ? el('span', {class: 'muted'}, ' · ' + doc.commitAuthor) : null),
        el('dt', {}, 'Destination'), el('dd', {}, (doc.cluster || 'in-cluster') + (doc.namespace ? ' / ' + doc.namespace : '')),
        el('dt', {}, 'Last sync'), el('dd', {title: doc.lastSync || ''}, ago(doc.lastSync))),
      doc.message ? el('pre', {class: 'message block'}, doc.message) : null,
      doc.warnings ? el('pre', {class: 'message block warning', id: 'warnings'}, doc.warnings) : null,
      el('div', {class: 'tabs', role: 'tablist'}, TABS.map((t) => el('a', {
        role: 'tab', href: `/apps/${encodeURIComponent(name)}?tab=${t}`, 'data-nav': true,
        'aria-selected': String(t === tab), class: t === tab ? 'active' : '',
      }, t[0].toUpperCase() + t.slice(1))))].filter(Boolean));
    try {
      if (tab === 'history') body.replaceChildren(drawHistory(doc, await api('GET', path + '/history')));
      else if (tab === 'diff') body.replaceChildren(drawDiff(await api('GET', path + '/diff')));
      else if (tab === 'tree') {
        const [tree, diff] = await Promise.all([api('GET', path + '/tree'), api('GET', path + '/diff')]);
        const selected = document.querySelector('.tree .node.selected');
        const panel = document.getElementById('node-panel');
        body.replaceChildren(drawTree(doc, tree, diff.diff));
        // A redraw (a status change) keeps the node that was open: a log
        // being read as it was, the other views read anew.
        const again = selected && body.querySelector(`.tree .node[data-kind="${CSS.escape(selected.dataset.kind)}"][data-name="${CSS.escape(selected.dataset.name)}"]`);
        if (again && panel && nodeView === 'logs') {
          again.classList.add('selected');
          document.getElementById('node-panel').replaceWith(panel);
        } else if (again) again.click();
      }
      else body.replaceChildren(drawResources(doc));
    } catch (err) {
      if (err.status !== 401) body.replaceChildren(el('p', {class: 'error'}, err.message));
    }
  };
  let pending = null;
  state.view = {
    name: 'app',
    update(changed) {
      if (changed !== null && changed !== name) return;
      clearTimeout(pending);
      pending = setTimeout(draw, 50); // one redraw for a burst of events
    },
  };
  if (!state.stream) loadApps().catch(() => {});
  await draw();
}

/* ---- new application, edit, delete --------------------------------------------------- */

// The fields of std/gitops's application, as the form shows them, and
// where each goes in an Application object's spec.
const FIELDS = [
  {name: 'name', label: 'Name', required: true, hint: 'lower case letters, digits and -'},
  {name: 'project', label: 'Project', value: 'default', at: ['project']},
  {name: 'repo', label: 'Repository', required: true, hint: 'https://, ssh:// or file:// URL', at: ['source', 'repo']},
  {name: 'revision', label: 'Revision', value: 'HEAD', hint: 'a branch, a tag or a commit', at: ['source', 'revision']},
  {name: 'path', label: 'Path', value: '.', hint: 'inside the repository, as plumb build takes it', at: ['source', 'path']},
  {name: 'env', label: 'Env', value: '', hint: 'when the path declares several', at: ['source', 'env']},
  {name: 'cluster', label: 'Cluster', value: 'in-cluster', at: ['destination', 'cluster']},
  {name: 'namespace', label: 'Namespace', value: '', hint: 'for objects that name none', at: ['destination', 'namespace']},
  {name: 'automated', label: 'Sync automatically', type: 'checkbox', at: ['sync', 'automated']},
  {name: 'prune', label: 'Prune what leaves git', type: 'checkbox', at: ['sync', 'prune']},
  {name: 'self_heal', label: 'Undo changes made in the cluster (self-heal)', type: 'checkbox', at: ['sync', 'selfHeal']},
  // A path of plain YAML manifests only, as Argo CD's directory source;
  // sent only when set, as the runtime's mirrors write them.
  {name: 'recurse', label: 'Plain YAML: read subdirectories too', type: 'checkbox', at: ['source', 'directory', 'recurse'], optional: true},
  {name: 'include', label: 'Plain YAML: include', hint: 'a glob such as *.yaml or {a.yaml,b/*}', at: ['source', 'directory', 'include'], optional: true},
  {name: 'exclude', label: 'Plain YAML: exclude', hint: 'a glob', at: ['source', 'directory', 'exclude'], optional: true},
];

function specOf(form) {
  const spec = {};
  for (const f of FIELDS.filter((f) => f.at)) {
    const v = f.type === 'checkbox' ? form.elements[f.name].checked : form.elements[f.name].value.trim();
    if (f.optional && !v) continue;
    const last = f.at.length - 1;
    let o = spec;
    for (const k of f.at.slice(0, last)) o = o[k] = o[k] || {};
    o[f.at[last]] = v;
  }
  return spec;
}

/* The form of a new application (name null), or of one declared as an
 * object in the cluster; git's are changed in git. */
async function drawForm(main, name) {
  let doc = null;
  if (name) {
    try { doc = await api('GET', '/api/v1/apps/' + encodeURIComponent(name)); } catch (err) {
      main.append(el('p', {class: 'error'}, err.message));
      return;
    }
  }
  const value = (f) => (!doc ? f.value : f.optional ? (doc.directory || {})[f.name] : doc[f.name]);
  const error = el('p', {class: 'error', role: 'alert', id: 'form-error'});
  const inputs = FIELDS.map((f) => f.type === 'checkbox'
    ? el('label', {class: 'check'}, el('input', {type: 'checkbox', name: f.name, id: 'app-' + f.name, checked: !!value(f)}), ' ' + f.label)
    : [el('label', {for: 'app-' + f.name}, f.label), el('input', {name: f.name, id: 'app-' + f.name, required: f.required,
      value: value(f) ?? '', readonly: f.name === 'name' && !!doc, placeholder: f.hint || ''})]);
  const form = el('form', {class: 'card app-form', onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    const app = form.elements.name.value.trim();
    try {
      if (doc) await api('PUT', '/api/v1/apps/' + encodeURIComponent(app), {spec: specOf(form)});
      else await api('POST', '/api/v1/apps', {name: app, spec: specOf(form)});
      toast(doc ? `${app} saved` : `${app} created`);
      go('/apps/' + encodeURIComponent(app));
    } catch (err) {
      error.textContent = err.message;
    }
  }},
  el('h1', {}, doc ? `Edit ${doc.name}` : 'New application'),
  el('p', {class: 'muted'}, 'An Application object in the cluster, as kubectl apply would make it; the runtime syncs it like those of the config repository.'),
  inputs, error,
  el('div', {class: 'row end'},
    el('a', {class: 'button inline', href: doc ? '/apps/' + encodeURIComponent(doc.name) : '/apps', 'data-nav': true}, 'Cancel'),
    el('button', {type: 'submit', class: 'primary', id: 'app-save'}, doc ? 'Save' : 'Create')));
  main.append(form);
  form.elements[doc ? 'repo' : 'name'].focus();
}

async function deleteApp(doc) {
  const yes = await confirmDialog(`Delete ${doc.name}?`,
    'The Application object is deleted: the runtime stops managing it. Its objects stay in their cluster.', 'Delete', true);
  if (yes && await act('DELETE', '/api/v1/apps/' + encodeURIComponent(doc.name), undefined, `${doc.name} deleted`)) go('/apps');
}

/* ---- theme and start ---------------------------------------------------------------- */

function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  try { localStorage.setItem('plumb-theme', theme); } catch (_) { /* private mode */ }
}

document.getElementById('theme').addEventListener('click', () =>
  setTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark'));

(async function start() {
  let theme = null;
  try { theme = localStorage.getItem('plumb-theme'); } catch (_) { theme = null; }
  setTheme(theme || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
  try {
    signedIn(await api('GET', '/api/v1/session'));
  } catch (_) {
    state.who = null;
  }
  route();
})();
