// Community Brain field app: a field person's tasks, from the push of a new one to its verification.
// Plain script, no framework: the whole app is this file, its stylesheet and the texts from the catalogue.
// Every action carries its own id and goes through the outbox (IndexedDB): sent at once when online,
// kept and sent in order when the network returns; a repeat changes nothing on the server.
'use strict';

const API = '/api/v1/field';
const POSITION_EVERY_MS = 15000;
const POLL_MS = 30000; // with the push open: a safety net
const POLL_WITHOUT_PUSH_MS = 5000; // without it (a proxy that refuses WebSockets): often enough to hear of a task
// ?poll=N: no push, ask every N ms (a network that cannot keep a WebSocket; the push benchmark's baseline)
const FORCED_POLL_MS = Math.max(0, Number(new URLSearchParams(location.search).get('poll')) || 0);
const MAX_PHOTO_MB = 10;
const S = {
  lang: localStorage.getItem('brain.lang') || 'zh-CN',
  texts: {}, me: null, tasks: [], verify: [], view: 'tasks', open: null, pos: null, route: null,
  routeFrom: null, photos: {}, online: navigator.onLine, pending: 0, ws: null, wsDelay: 500,
  expect: {}, alerted: new Set(), listed: false, acked: new Set(), positionSent: 0, geoDenied: false, message: null,
};

// --- texts ----------------------------------------------------------------------------------------
function t(key, params) {
  let s = S.texts[key];
  if (s === undefined) return key;
  for (const [k, v] of Object.entries(params || {})) s = s.split('{' + k + '}').join(String(v));
  return s;
}

// What a person reads of a case: what the product wrote (a catalogue entry; a param "@key" is one too), then
// the words a person typed.
function caseWords(c) {
  const params = {};
  for (const [k, v] of Object.entries((c.text && c.text.params) || {})) {
    params[k] = typeof v === 'string' && v.startsWith('@') ? t(v.slice(1)) : v;
  }
  return [c.text ? t(c.text.key, params) : '', c.description || ''].filter(Boolean).join(' · ');
}

async function loadTexts() {
  const r = await fetch('/m/texts.json?lang=' + encodeURIComponent(S.lang));
  S.texts = await r.json();
  document.documentElement.lang = S.lang;
}

// --- small DOM helpers (text only: nothing a server or person wrote becomes markup) ----------------
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) {
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
const $ = (id) => document.getElementById(id);

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID().replace(/-/g, '');
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function say(text, kind) {
  const a = $('alert');
  a.textContent = text;
  a.className = kind || 'warn';
  a.hidden = !text;
  if (text) setTimeout(() => { if (a.textContent === text) a.hidden = true; }, 8000);
}

function refusal(body) {
  if (body && body.key && S.texts[body.key] !== undefined) {
    const p = Object.assign({}, body.params || {});
    if (p.state && S.texts['task.' + p.state]) p.state = t('task.' + p.state);
    else if (p.state && S.texts['status.' + p.state]) p.state = t('status.' + p.state);
    for (const k of ['current', 'target']) if (p[k] && S.texts['task.' + p[k]]) p[k] = t('task.' + p[k]);
    return t(body.key, p);
  }
  return (body && body.error) || '?';
}

// --- the outbox -----------------------------------------------------------------------------------
let dbp = null;
function db() {
  if (!dbp) {
    dbp = new Promise((resolve, reject) => {
      const q = indexedDB.open('brain-field', 1);
      q.onupgradeneeded = () => {
        q.result.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
        q.result.createObjectStore('kept');
      };
      q.onsuccess = () => resolve(q.result);
      q.onerror = () => reject(q.error);
    });
  }
  return dbp;
}
async function store(name, mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction(name, mode);
    const out = fn(tx.objectStore(name));
    tx.oncomplete = () => resolve(out && 'result' in out ? out.result : undefined);
    tx.onerror = () => reject(tx.error);
  });
}
const outboxAll = () => store('outbox', 'readonly', (s) => s.getAll());
const outboxDel = (seq) => store('outbox', 'readwrite', (s) => s.delete(seq));
const keep = (k, v) => store('kept', 'readwrite', (s) => s.put(v, k));
const kept = (k) => store('kept', 'readonly', (s) => s.get(k));

// An action: {op, url, body} (JSON) or {op, url, photo: Blob, fields} (an upload). Sent in order.
async function act(item, label) {
  item.op = item.op || newId();
  item.label = label || '';
  item.at = new Date().toISOString();
  await store('outbox', 'readwrite', (s) => s.add(item));
  await flush();
  if (S.pending && item.expect) render(); // kept for later: the screen goes on as if it was done
  return item.op;
}

// What the phone's waiting actions will have made of each task (task id -> state): the screen shows that,
// so a person without a network goes on working (accept, arrive, photos, handled) in order.
async function expected() {
  const out = {};
  for (const item of await outboxAll()) if (item.expect) out[item.expect.task] = item.expect.state;
  S.expect = out;
  return out;
}

let flushing = null;
function flush() {
  if (!flushing) flushing = doFlush().finally(() => { flushing = null; });
  return flushing;
}
async function doFlush() {
  // one at a time, reading the outbox again each time: an action added meanwhile waits its turn
  for (;;) {
    const [item] = await outboxAll();
    if (!item || !(await send(item))) break;
  }
  S.pending = (await outboxAll()).length;
  await expected();
  renderStatus();
  return S.pending;
}

// Send one action; true when it is settled (done, or refused and said), false when it must wait.
async function send(item) {
  const ids = (await kept('photoIds')) || {};
  let r;
  try {
    if (item.photo) {
      const f = new FormData();
      for (const [k, v] of Object.entries(item.fields)) if (v !== null && v !== undefined) f.append(k, v);
      f.append('file', item.photo, item.name || 'photo.jpg');
      r = await fetch(item.url, { method: 'POST', body: f, credentials: 'same-origin' });
    } else {
      const body = Object.assign({}, item.body, { op: item.op });
      if (body.photos) body.photos = body.photos.map((p) => ids[p] || p).filter((p) => !p.startsWith('local:'));
      r = await fetch(item.url, { method: 'POST', body: JSON.stringify(body), credentials: 'same-origin',
        headers: { 'content-type': 'application/json' } });
    }
  } catch (e) {
    setOnline(false);
    return false; // no network: this and the rest wait, in order
  }
  setOnline(true);
  if (r.status === 401) { location.href = '/login?next=/m/'; return false; }
  if (r.status >= 500 || r.status === 429) return false; // ours to fix, or busy: sent again later
  const body = await r.json().catch(() => ({}));
  await outboxDel(item.seq);
  if (r.ok && item.photo && item.local) {
    ids[item.local] = body.id;
    await keep('photoIds', ids);
    photoSent(item.local, body.id);
  }
  if (!r.ok && item.photo && item.local) photoRefused(item.local);
  if (!r.ok) say(t('m.conflict', { what: refusal(body) }) + (item.label ? ' · ' + item.label : ''), 'bad');
  else if (item.after) await afterAction(item.after, body);
  return true;
}

// A photo reached the server (now, or later from the outbox): its thumbnail says so wherever it is drawn.
function photoSent(local, id) {
  for (const shots of Object.values(S.photos)) {
    for (const shot of shots) if (shot.local === local) { shot.sent = true; shot.id = id; }
  }
  for (const img of document.querySelectorAll(`img[data-local="${local}"]`)) img.className = 'sent';
}

// A photo the server refused (not a picture, too large): it is no longer shown as one to hand in.
function photoRefused(local) {
  for (const shots of Object.values(S.photos)) {  // in place: a picker on screen holds the same list
    const at = shots.findIndex((shot) => shot.local === local);
    if (at >= 0) shots.splice(at, 1);
  }
  for (const img of document.querySelectorAll(`img[data-local="${local}"]`)) img.remove();
}

async function afterAction(what, body) {
  if (what === 'reload') await loadTasks();
  if (what === 'verify') await loadVerify();
  if (what === 'me') await loadMe();
  return body;
}

function setOnline(on) {
  if (S.online !== on) { S.online = on; renderStatus(); }
}

// --- reading ------------------------------------------------------------------------------------
async function get(url) {
  const r = await fetch(url, { credentials: 'same-origin' });
  if (r.status === 401) { location.href = '/login?next=/m/'; throw new Error('signed out'); }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { const e = new Error(refusal(body)); e.status = r.status; throw e; }
  return body;
}

async function loadMe() {
  S.me = await get(API + '/me');
  renderTabs();
}

// What the open task shows: re-drawn only when this changes (a person typing a note keeps it).
function openKey() {
  const item = S.tasks.find((x) => x.task.id === S.open);
  return item ? item.task.state + '|' + item.case.status + '|' + item.case.version + '|' + (S.expect[S.open] || '')
    : 'gone';
}

async function loadTasks() {
  try {
    const out = await get(API + '/tasks');
    S.tasks = out.tasks;
    setOnline(true);
    await keep('tasks', S.tasks);
  } catch (e) {
    if (e.status) throw e;
    setOnline(false);
    S.tasks = (await kept('tasks')) || S.tasks; // offline: the last list this phone had
  }
  for (const { task, case: c } of S.tasks) {
    if (task.state === 'assigned' && !task.stamps.read && !S.alerted.has(task.id)) {
      S.alerted.add(task.id); // heard by asking, not by the push (no push, or it was away): alert all the same
      if (S.listed) alertNew({ task_id: task.id, case_id: c.id, pole: c.pole });
    }
    if (!task.stamps.delivered && !S.acked.has('d' + task.id)) {
      S.acked.add('d' + task.id);
      act({ url: `${API}/tasks/${task.id}/delivered`, body: {} });
    }
  }
  S.listed = true;
  if (S.view === 'tasks' || (S.view === 'task' && openKey() !== S.shownKey)) render();
  else renderStatus();
}

async function loadVerify() {
  if (!S.me || !S.me.can_verify) return;
  const q = S.pos ? `?lon=${S.pos.lon}&lat=${S.pos.lat}` : '';
  const had = S.verify.some((x) => x.case.id === S.open);
  try { S.verify = (await get(API + '/verify' + q)).cases; } catch (e) { if (e.status) throw e; }
  if (S.view === 'verify' || (S.view === 'check' && had !== S.verify.some((x) => x.case.id === S.open))) render();
}

// --- push: a new task shows at once, with sound, vibration and (in the background) a notification --
function connect() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + API + '/ws');
  S.ws = ws;
  ws.onopen = () => { S.wsDelay = 500; document.body.dataset.push = 'open'; setOnline(true); flush(); loadTasks(); };
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === 'task') {
      if (msg.step === 'assigned' && !S.alerted.has(msg.task_id)) {
        S.alerted.add(msg.task_id);
        S.acked.add('d' + msg.task_id);
        act({ url: `${API}/tasks/${msg.task_id}/delivered`, body: {} });
        alertNew(msg);
      }
      loadTasks();
      loadMe().then(() => { renderStatus(); renderTabs(); }).catch(() => {}); // the duty status moves with the task
      if (msg.step === 'handled' || msg.step === 'verified') loadVerify();
    } else if (msg.type === 'reload') {
      loadTasks();
    }
  };
  ws.onclose = () => {
    S.ws = null;
    document.body.dataset.push = 'closed';
    setTimeout(connect, S.wsDelay);
    S.wsDelay = Math.min(S.wsDelay * 2, 15000);
  };
}

function alertNew(msg) {
  document.body.dataset.newTask = String(msg.task_id);
  say(t('m.new_task') + ' · ' + t('m.case_no', { id: msg.case_id }), 'new');
  if (navigator.vibrate) navigator.vibrate([300, 120, 300]);
  beep();
  if (document.hidden && 'Notification' in window && Notification.permission === 'granted' &&
      navigator.serviceWorker && navigator.serviceWorker.controller) {
    navigator.serviceWorker.ready.then((reg) => reg.showNotification(t('m.new_task'), {
      body: t('m.case_no', { id: msg.case_id }) + (msg.pole ? ' · ' + t('m.pole', { pole: msg.pole }) : ''),
      tag: 'task-' + msg.task_id, icon: '/m/icon-192.png', vibrate: [300, 120, 300], renotify: true,
    }));
  }
}

let audio = null;
function beep() {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    for (const [at, f] of [[0, 880], [0.25, 660], [0.5, 880]]) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.25, audio.currentTime + at);
      g.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + at + 0.2);
      o.connect(g).connect(audio.destination);
      o.start(audio.currentTime + at);
      o.stop(audio.currentTime + at + 0.22);
    }
  } catch (e) { /* no sound on this phone: vibration and the banner remain */ }
}

// --- position: the browser's fix goes into the same ingest pipeline as OsmAnd's ----------------------
function watchPosition() {
  if (!navigator.geolocation) return;
  navigator.geolocation.watchPosition((p) => {
    S.pos = { lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy,
      speed: p.coords.speed, at: new Date(p.timestamp).toISOString() };
    S.geoDenied = false;
    sendPosition();
    if (S.view === 'task' && S.open) refreshRoute();
  }, (err) => {
    S.geoDenied = err.code === 1;
    renderStatus();
  }, { enableHighAccuracy: true, maximumAge: 5000, timeout: 20000 });
}

async function sendPosition(force) {
  const p = S.pos;
  const onDuty = S.me && S.me.staff && S.me.staff.status !== 'off_duty';
  if (!p || !onDuty || (!force && Date.now() - S.positionSent < POSITION_EVERY_MS)) return;
  S.positionSent = Date.now();
  try {
    await fetch(API + '/position', { method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lon: p.lon, lat: p.lat, accuracy: p.accuracy,
        speed: p.speed === null || p.speed < 0 ? null : Math.min(p.speed, 200), at: p.at }) });
    setOnline(true);
  } catch (e) { setOnline(false); } // a position is current or useless: not kept for later
}

// --- route along the district's roads --------------------------------------------------------------
function metres(a, b) {
  const k = Math.PI / 180;
  const x = (b.lon - a.lon) * k * Math.cos(((a.lat + b.lat) / 2) * k);
  const y = (b.lat - a.lat) * k;
  return Math.sqrt(x * x + y * y) * 6371000;
}

async function refreshRoute() {
  const item = S.tasks.find((x) => x.task.id === S.open);
  if (!item || !S.pos || !S.online) return;
  if (S.routeFrom && S.route && metres(S.routeFrom, S.pos) < 20) return;
  S.routeFrom = { lon: S.pos.lon, lat: S.pos.lat };
  try {
    S.route = await get(`${API}/tasks/${item.task.id}/route?lon=${S.pos.lon}&lat=${S.pos.lat}`);
  } catch (e) { S.route = null; }
  if (S.view === 'task') renderMap(item.case);
}

// --- screens ------------------------------------------------------------------------------------
function clock(c) {
  if (!c.stage_due_at) return el('span', { class: 'clock' }, t('m.no_clock'));
  const min = Math.round((Date.parse(c.stage_due_at) - Date.now()) / 60000);
  if (min < 0) return el('span', { class: 'clock overdue' }, t('m.overdue', { min: -min }));
  if (min >= 120 && !c.at_risk) return el('span', { class: 'clock' }, t('m.left_h', { h: Math.floor(min / 60), min: min % 60 }));
  return el('span', { class: 'clock' + (c.at_risk ? ' risk' : '') }, t(c.at_risk ? 'm.at_risk' : 'm.left', { min }));
}

function cat(code) { return S.texts['cat.' + code] || code; }
function place(c) {
  return [c.committee, c.road, c.pole ? t('m.pole', { pole: c.pole }) : null].filter(Boolean).join(' · ');
}

// the duty button: off duty -> on duty; back from a case (returning) -> available again; else -> off duty
function dutyButton() {
  const status = S.me && S.me.staff ? S.me.staff.status : null;
  if (status === 'off_duty') return { on: true, label: t('m.go_on_duty') };
  if (status === 'returning') return { on: true, label: t('m.back_in_service') };
  return { on: false, label: t('m.go_off_duty') };
}

function renderTabs() {
  const tabs = $('tabs');
  tabs.hidden = false;
  const [mine, ver] = tabs.querySelectorAll('[data-tab]');
  mine.textContent = t('m.tasks');
  ver.textContent = t('m.verify');
  ver.hidden = !(S.me && S.me.can_verify);
  mine.classList.toggle('on', S.view === 'tasks' || S.view === 'task');
  ver.classList.toggle('on', S.view === 'verify' || S.view === 'check');
  const d = dutyButton();
  $('duty').textContent = d.label;
  $('duty').classList.toggle('off', d.on);
  $('lang').textContent = t('m.lang');
}

function renderStatus() {
  const parts = [];
  if (S.me && S.me.staff) {
    parts.push(el('b', {}, S.me.staff.name), ' · ', t('duty.' + S.me.staff.status));
  }
  if (!S.online) parts.push(el('span', { class: 'offline' }, ' · ' + t('m.offline')));
  if (S.pending) parts.push(el('span', { class: 'pending', dataset: { pending: S.pending } }, ' · ' + t('m.pending', { n: S.pending })));
  if (S.geoDenied) parts.push(el('span', { class: 'offline' }, ' · ' + t('m.position_denied')));
  else if (!S.pos) parts.push(el('span', { class: 'muted' }, ' · ' + t('m.no_position')));
  $('status').replaceChildren(...parts);
  document.body.dataset.pending = String(S.pending);
  document.body.dataset.online = String(S.online);
}

function render() {
  renderTabs();
  renderStatus();
  $('back').hidden = !(S.view === 'task' || S.view === 'check');
  const v = $('view');
  if (S.view === 'tasks') v.replaceChildren(taskList());
  else if (S.view === 'task') { v.replaceChildren(taskPage()); S.shownKey = openKey(); }
  else if (S.view === 'verify') v.replaceChildren(verifyList());
  else if (S.view === 'check') v.replaceChildren(checkPage());
  if (S.view === 'task') {
    const item = S.tasks.find((x) => x.task.id === S.open);
    if (item) renderMap(item.case);
  }
}

function taskList() {
  if (!S.tasks.length) return el('p', { class: 'empty' }, t('m.none'));
  return el('ul', { class: 'cards' }, S.tasks.map(({ task, case: c }) => el('li', {
    class: 'card prio-' + c.priority + (task.stamps.read ? '' : ' unread'), dataset: { taskId: task.id, caseId: c.id },
    onclick: () => openTask(task.id), role: 'button', tabindex: '0',
  },
  el('div', { class: 'row' }, el('span', { class: 'cat' }, cat(c.category)),
    el('span', { class: 'badge p-' + c.priority }, t('priority.' + c.priority))),
  el('div', { class: 'row' }, el('span', { class: 'state s-' + (S.expect[task.id] || task.state) },
    t('task.' + (S.expect[task.id] || task.state))),
  S.expect[task.id] ? el('span', { class: 'badge waiting' }, t('m.not_sent'))
    : task.stamps.read ? null : el('span', { class: 'badge new' }, t('m.unread')), clock(c)),
  el('div', { class: 'place' }, place(c)),
  el('div', { class: 'muted' }, t('m.case_no', { id: c.id }) + (c.rework_count ? ' · ' + t('m.rework_count', { n: c.rework_count }) : '')))));
}

function openTask(id) {
  S.view = 'task';
  S.open = id;
  S.route = null;
  S.routeFrom = null;
  if (!S.acked.has('r' + id)) {
    S.acked.add('r' + id);
    const item = S.tasks.find((x) => x.task.id === id);
    if (item && !item.task.stamps.read) act({ url: `${API}/tasks/${id}/read`, body: {}, after: 'reload' });
  }
  render();
  refreshRoute();
  window.scrollTo(0, 0);
}

function photoPicker(caseId, kind, label) {
  const key = caseId + ':' + kind;
  const shots = S.photos[key] = S.photos[key] || [];
  const input = el('input', { type: 'file', accept: 'image/jpeg,image/png,image/webp,image/heic,image/heif,.heic',
    capture: 'environment', class: 'file', 'data-kind': kind, multiple: true });
  const strip = el('div', { class: 'thumbs', 'data-kind': kind },
    shots.map((s) => el('img', { src: s.url, alt: label, class: s.sent ? 'sent' : 'waiting', 'data-local': s.local })));
  input.addEventListener('change', async () => {
    for (const file of input.files) {
      if (file.size > MAX_PHOTO_MB * 1024 * 1024) { say(t('refused.photo.too_large', { mb: MAX_PHOTO_MB }), 'bad'); continue; }
      const local = 'local:' + newId();
      const shot = { local, url: URL.createObjectURL(file), sent: false };
      shots.push(shot);
      strip.append(el('img', { src: shot.url, alt: label, class: 'waiting', 'data-local': local }));
      const p = S.pos;
      await act({ url: API + '/photos', photo: file, name: file.name, local, fields: {
        case_id: caseId, kind, taken_at: new Date(file.lastModified || Date.now()).toISOString(),
        lon: p ? p.lon : null, lat: p ? p.lat : null } }, label);
    }
    input.value = '';
  });
  return el('label', { class: 'photo' }, el('span', {}, label), el('span', { class: 'btn ghost' }, t('m.take_photo')),
    input, strip);
}

function taskPage() {
  const item = S.tasks.find((x) => x.task.id === S.open);
  if (!item) { S.view = 'tasks'; return taskList(); }
  const { task, case: c } = item;
  const state = S.expect[task.id] || task.state; // as the waiting actions will leave it
  const waiting = state !== task.state;
  const box = el('section', { class: 'task', dataset: { taskId: task.id, state, sent: String(!waiting) } },
    el('h2', {}, cat(c.category), ' ', el('span', { class: 'badge p-' + c.priority }, t('priority.' + c.priority))),
    el('div', { class: 'row' }, el('span', { class: 'state s-' + state }, t('task.' + state)),
      waiting ? el('span', { class: 'badge waiting' }, t('m.not_sent')) : null, clock(c)),
    el('div', { class: 'place' }, place(c)),
    el('div', { class: 'muted' }, t('m.case_no', { id: c.id })),
    caseWords(c) ? el('p', { class: 'desc' }, el('b', {}, t('m.description') + '：'), caseWords(c)) : null,
    el('div', { id: 'map', class: 'map' }),
    el('div', { id: 'routeinfo', class: 'muted' }));
  const acts = el('div', { class: 'actions' });
  const shots = (kind) => (S.photos[c.id + ':' + kind] || []).map((s) => s.id || s.local);
  if (state === 'assigned' || state === 'accepted') {
    acts.append(arriveBox(task, c, state === 'accepted'));
  }
  if (state === 'assigned') {
    const reason = el('textarea', { id: 'decline-reason', placeholder: t('m.decline_reason'), maxlength: 2000, rows: 2 });
    acts.prepend(el('button', { class: 'btn primary', id: 'accept', onclick: () => act({ url: `${API}/tasks/${task.id}/accept`, body: {}, after: 'reload', expect: { task: task.id, state: 'accepted' } }, t('m.accept')) }, t('m.accept')));
    acts.append(
      reason,
      el('button', { class: 'btn ghost', id: 'decline', onclick: () => {
        if (!reason.value.trim()) { say(t('refused.field.decline_reason')); reason.focus(); return; }
        act({ url: `${API}/tasks/${task.id}/decline`, body: { reason: reason.value.trim() }, after: 'reload', expect: { task: task.id, state: 'declined' } }, t('m.decline'));
        S.view = 'tasks';
        render();
      } }, t('m.decline')));
  }
  if (state === 'arrived') {
    const note = el('textarea', { id: 'note', placeholder: t('m.note'), maxlength: 2000, rows: 3 });
    acts.append(photoPicker(c.id, 'before', t('m.before')), photoPicker(c.id, 'after', t('m.after')), note,
      el('button', { class: 'btn primary', id: 'handled', onclick: () => {
        if (!note.value.trim()) { say(t('refused.field.note')); note.focus(); return; }
        if (!shots('after').length) { say(t('refused.field.after_photo')); return; }
        act({ url: `${API}/tasks/${task.id}/handled`, body: { note: note.value.trim(), photos: [...shots('before'), ...shots('after')] }, after: 'reload', expect: { task: task.id, state: 'handled' } }, t('m.handled'));
        S.view = 'tasks';
        render();
      } }, t('m.handled')));
  }
  box.append(acts);
  return box;
}

function arriveBox(task, c, main) {
  const wrap = el('div', { class: 'arrive' });
  const go = el('button', { class: 'btn ' + (main ? 'primary' : 'ghost'), id: 'arrive' }, t('m.arrive'));
  go.addEventListener('click', () => {
    if (!S.pos) { say(S.geoDenied ? t('m.position_denied') : t('m.no_position')); return; }
    const d = Math.round(metres(S.pos, c));
    const radius = Math.round(S.me.arrive_radius_m);
    const send = (reason) => act({ url: `${API}/tasks/${task.id}/arrive`, after: 'reload', expect: { task: task.id, state: 'arrived' }, body: {
      lon: S.pos.lon, lat: S.pos.lat, accuracy: S.pos.accuracy, at: S.pos.at, reason: reason || null } }, t('m.arrive'));
    if (d <= radius) { send(null); return; }
    const why = el('textarea', { id: 'far-reason', placeholder: t('m.far_reason'), maxlength: 2000, rows: 2 });
    wrap.replaceChildren(el('p', { class: 'far' }, t('m.far', { distance: d, radius })), why,
      el('button', { class: 'btn primary', id: 'arrive-anyway', onclick: () => {
        if (!why.value.trim()) { why.focus(); return; }
        send(why.value.trim());
      } }, t('m.confirm')),
      el('button', { class: 'btn ghost', onclick: () => render() }, t('m.cancel')));
  });
  wrap.append(go);
  return wrap;
}

function verifyList() {
  if (!S.verify.length) return el('p', { class: 'empty' }, t('m.verify_none'));
  return el('ul', { class: 'cards' }, S.verify.map(({ case: c, task }) => el('li', {
    class: 'card', dataset: { caseId: c.id }, role: 'button', tabindex: '0',
    onclick: () => { S.view = 'check'; S.open = c.id; render(); },
  }, el('div', { class: 'row' }, el('span', { class: 'cat' }, cat(c.category)), clock(c)),
  el('div', { class: 'place' }, place(c)),
  el('div', { class: 'muted' }, t('m.case_no', { id: c.id }) + (task ? ' · ' + t('task.' + task.state) : '')))));
}

function checkPage() {
  const item = S.verify.find((x) => x.case.id === S.open);
  if (!item) { S.view = 'verify'; return verifyList(); }
  const c = item.case;
  const reason = el('textarea', { id: 'rework-reason', placeholder: t('m.rework_reason'), maxlength: 2000, rows: 2 });
  const mine = () => (S.photos[c.id + ':verify'] || []).map((s) => s.id || s.local);
  const send = (passed) => {
    if (!passed && !reason.value.trim()) { say(t('refused.field.rework_reason')); reason.focus(); return; }
    if (passed && !mine().length) { say(t('refused.field.verify_photo')); return; }
    act({ url: `${API}/verify/${c.id}`, after: 'verify', body: { passed, reason: reason.value.trim() || null,
      photos: mine(), version: c.version } }, passed ? t('m.pass') : t('m.rework'));
    S.view = 'verify';
    render();
  };
  return el('section', { class: 'task', dataset: { caseId: c.id } },
    el('h2', {}, cat(c.category)),
    el('div', { class: 'place' }, place(c)),
    el('div', { class: 'muted' }, t('m.case_no', { id: c.id })),
    caseWords(c) ? el('p', { class: 'desc' }, caseWords(c)) : null,
    el('h3', {}, t('m.handler_photos')),
    el('div', { class: 'thumbs' }, item.photos.map((p) => el('img', { src: `/api/v1/photos/${p.id}?thumb=1`, alt: t('m.' + p.kind) }))),
    el('div', { class: 'actions' }, photoPicker(c.id, 'verify', t('m.verify_photo')),
      el('button', { class: 'btn primary', id: 'pass', onclick: () => send(true) }, t('m.pass')), reason,
      el('button', { class: 'btn ghost', id: 'rework', onclick: () => send(false) }, t('m.rework'))));
}

// The small map: the roads around the route, the route, the case's pole and me, drawn as SVG from the
// route's own coordinates (no tiles, nothing from any other host).
function renderMap(c) {
  const box = $('map');
  if (!box) return;
  const r = S.route;
  const pts = [[c.lon, c.lat]];
  if (S.pos) pts.push([S.pos.lon, S.pos.lat]);
  if (r) for (const p of r.path) pts.push(p);
  const lons = pts.map((p) => p[0]);
  const lats = pts.map((p) => p[1]);
  const lat0 = (Math.min(...lats) + Math.max(...lats)) / 2;
  const kx = Math.cos((lat0 * Math.PI) / 180);
  let x0 = Math.min(...lons) * kx; let x1 = Math.max(...lons) * kx;
  let y0 = Math.min(...lats); let y1 = Math.max(...lats);
  const pad = Math.max(x1 - x0, y1 - y0, 0.0008) * 0.15 + 0.0002;
  x0 -= pad; x1 += pad; y0 -= pad; y1 += pad;
  const W = 360; const H = 240;
  const s = Math.min(W / (x1 - x0), H / (y1 - y0));
  const X = (lon) => ((lon * kx - x0) * s + (W - (x1 - x0) * s) / 2).toFixed(1);
  const Y = (lat) => ((y1 - lat) * s + (H - (y1 - y0) * s) / 2).toFixed(1);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  const add = (tag, attrs) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    svg.append(e);
    return e;
  };
  const line = (coords) => coords.map((p) => X(p[0]) + ',' + Y(p[1])).join(' ');
  if (r) for (const road of r.roads) add('polyline', { points: line(road), class: 'road' });
  if (r) add('polyline', { points: line(r.path), class: 'route' });
  add('circle', { cx: X(c.lon), cy: Y(c.lat), r: 9, class: 'target' });
  if (c.pole) add('text', { x: +X(c.lon) + 12, y: +Y(c.lat) + 5, class: 'label' }).textContent = c.pole;
  if (S.pos) {
    add('circle', { cx: X(S.pos.lon), cy: Y(S.pos.lat), r: 7, class: 'me' });
    const right = +X(S.pos.lon) > W - 90; // a label near the right edge goes on the left of its point
    add('text', { x: +X(S.pos.lon) + (right ? -10 : 10), y: +Y(S.pos.lat) - 8, class: 'label me-label',
      'text-anchor': right ? 'end' : 'start' }).textContent = t('m.me');
  }
  box.replaceChildren(svg);
  const info = $('routeinfo');
  if (info) {
    info.textContent = r && r.distance_m !== null
      ? t('m.distance', { distance: Math.round(r.distance_m), eta: Math.max(1, Math.round(r.eta_s / 60)) })
      : (S.pos ? '' : t('m.no_position'));
    info.dataset.distance = r && r.distance_m !== null ? String(Math.round(r.distance_m)) : '';
  }
}

// --- start ----------------------------------------------------------------------------------------
async function start() {
  await loadTexts();
  document.title = t('m.app');
  $('title').textContent = t('m.app');
  try {
    await loadMe();
  } catch (e) {
    $('view').replaceChildren(el('p', { class: 'empty' }, e.status === 403 ? t('m.not_field') : String(e.message)));
    return;
  }
  $('back').addEventListener('click', () => { S.view = S.view === 'check' ? 'verify' : 'tasks'; S.open = null; render(); });
  $('lang').addEventListener('click', async () => {
    S.lang = S.lang === 'zh-CN' ? 'en' : 'zh-CN';
    localStorage.setItem('brain.lang', S.lang);
    await loadTexts();
    render();
  });
  for (const b of $('tabs').querySelectorAll('[data-tab]')) {
    b.addEventListener('click', () => {
      S.view = b.dataset.tab; S.open = null;
      if (S.view === 'verify') loadVerify();
      render();
    });
  }
  $('duty').addEventListener('click', async () => {
    const d = dutyButton();
    await act({ url: API + '/duty', body: { on: d.on }, after: 'me' }, d.label);
    render();
  });
  document.addEventListener('click', () => {
    // a phone lets a page sound and notify only after a touch: ask once, on the first one
    if (audio === null) { try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = false; } }
    if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission();
  }, { once: true });
  window.addEventListener('online', () => { setOnline(true); flush(); loadTasks(); });
  window.addEventListener('offline', () => setOnline(false));
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/m/sw.js', { scope: '/m/' }).catch(() => {});
  S.pending = (await outboxAll()).length;
  await loadTasks();
  loadVerify();
  if (!FORCED_POLL_MS) connect();
  watchPosition();
  let asked = Date.now();
  setInterval(() => {
    const every = FORCED_POLL_MS || (document.body.dataset.push === 'open' ? POLL_MS : POLL_WITHOUT_PUSH_MS);
    if (Date.now() - asked < every) return;
    asked = Date.now();
    flush(); loadTasks(); loadVerify();
  }, FORCED_POLL_MS ? Math.max(50, FORCED_POLL_MS / 4) : 1000);
  setInterval(() => { if (S.view === 'tasks') render(); }, 60000); // the clocks
}

start();
