// The residents' page: /r (find a pole by its number or by position), /r/{pole} (confirm it, say what is
// wrong, send), /r/t/{code} (the progress, the reply, the return visit's question). No framework, no
// third-party file: everything it loads comes from this host. Texts come from /r/texts.json.
'use strict';

const API = '/api/v1/public';
const MAX_PHOTOS = 3;
const state = { lang: 'zh-CN', texts: {}, topics: [], pole: null, topic: null, photos: [], code: null, timer: null };

// --- words --------------------------------------------------------------------------------------
function T(key, params) {
  let s = state.texts[key];
  if (s === undefined) return key;
  for (const [k, v] of Object.entries(params || {})) s = s.split('{' + k + '}').join(String(v));
  return s;
}

function applyTexts(root) {
  for (const el of (root || document).querySelectorAll('[data-t]')) el.textContent = T(el.dataset.t);
  document.documentElement.lang = state.lang;
  document.title = T('r.title');
  document.getElementById('lang').textContent = T('r.lang');
  document.getElementById('hotline').textContent = T('r.hotline', { phone: document.body.dataset.hotline || '12345' });
}

async function loadTexts() {
  const r = await fetch('/r/texts.json?lang=' + encodeURIComponent(state.lang));
  state.texts = await r.json();
  applyTexts();
}

const when = (iso) => new Intl.DateTimeFormat(state.lang, {
  timeZone: 'Asia/Shanghai', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false,
}).format(new Date(iso));

// --- talking to the server ----------------------------------------------------------------------
class Refused extends Error {
  constructor(body, status) { super(body.error || 'refused'); this.body = body; this.status = status; }
}

async function call(path, options) {
  let r;
  try {
    r = await fetch(path, options);
  } catch (e) {
    throw new Refused({ key: 'r.offline' }, 0);
  }
  const body = (r.headers.get('content-type') || '').includes('json') ? await r.json() : {};
  if (!r.ok) throw new Refused(body, r.status);
  return body;
}

function say(err) {
  const box = document.getElementById('notice');
  if (!err) { box.hidden = true; box.textContent = ''; return; }
  const body = err.body || {};
  let text = body.key && state.texts[body.key] ? T(body.key, body.params) : T('r.error');
  if (body.key === 'r.pole.not_found') text = T('r.pole.not_found', { number: document.getElementById('number').value });
  box.textContent = text;
  box.hidden = false;
}

function show(view) {
  for (const id of ['find', 'pole', 'done', 'track']) document.getElementById(id).hidden = id !== view;
  document.body.dataset.view = view;
  if (view !== 'track' && state.timer) { clearInterval(state.timer); state.timer = null; }
}

function go(path) {
  history.pushState(null, '', path);
  route();
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

// --- finding the pole ---------------------------------------------------------------------------
function poleButton(p) {
  const right = p.distance_m !== undefined ? T('r.pole.distance', { m: p.distance_m }) : (p.road || '');
  return el('li', {}, el('button', { type: 'button', class: 'pole-choice', on: { click: () => go('/r/' + encodeURIComponent(p.number)) } },
    el('b', { text: p.number + (p.road && p.distance_m !== undefined ? ' · ' + p.road : '') }), el('span', { text: right })));
}

async function findNumber(ev) {
  ev.preventDefault();
  say(null);
  const number = document.getElementById('number').value.trim();
  if (!number) return;
  try {
    const p = await call(API + '/poles/' + encodeURIComponent(number));
    go('/r/' + encodeURIComponent(p.number));
  } catch (e) {
    const box = document.getElementById('find-result');
    box.replaceChildren();
    if (e.status === 404) {
      box.append(el('p', { class: 'notice', text: T('r.pole.not_found', { number }) }));
      const s = e.body.suggestions || [];
      if (s.length) {
        box.append(el('p', { text: T('r.pole.did_you_mean') }));
        box.append(el('ul', { class: 'list' }, ...s.map((n) => poleButton({ number: n }))));
      }
    } else say(e);
  }
}

function locate() {
  say(null);
  const box = document.getElementById('find-result');
  if (!navigator.geolocation) { box.replaceChildren(el('p', { class: 'notice', text: T('r.pole.no_position') })); return; }
  box.replaceChildren(el('p', { class: 'hint', text: T('r.pole.locating') }));
  navigator.geolocation.getCurrentPosition(async (pos) => {
    try {
      const q = `lon=${pos.coords.longitude}&lat=${pos.coords.latitude}`;
      const poles = await call(API + '/poles?' + q);
      if (!poles.length) { box.replaceChildren(el('p', { class: 'notice', text: T('r.pole.none_near') })); return; }
      box.replaceChildren(el('h3', { text: T('r.pole.nearby') }), el('ul', { class: 'list', id: 'near-list' }, ...poles.map(poleButton)));
    } catch (e) { say(e); }
  }, () => box.replaceChildren(el('p', { class: 'notice', text: T('r.pole.no_position') })), { timeout: 15000, maximumAge: 60000 });
}

// The small map: the roads and poles within 150 m, the pole in red, drawn from the district's own data.
function drawMap(p) {
  const W = 400, H = 300, ns = 'http://www.w3.org/2000/svg';
  const k = Math.cos(p.lat * Math.PI / 180) * 111320, scale = (H / 2) / p.map.radius_m;
  const xy = ([lon, lat]) => [W / 2 + (lon - p.lon) * k * scale, H / 2 - (lat - p.lat) * 110540 * scale];
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', T('r.map'));
  const add = (name, attrs, text) => {
    const e = document.createElementNS(ns, name);
    for (const [a, v] of Object.entries(attrs)) e.setAttribute(a, v);
    if (text) e.textContent = text;
    svg.append(e);
  };
  for (const line of p.map.roads) add('polyline', { class: 'road', points: line.map((c) => xy(c).map((v) => v.toFixed(1)).join(',')).join(' ') });
  for (const q of p.map.poles) {
    const [x, y] = xy([q.lon, q.lat]);
    add('circle', { class: 'other', cx: x.toFixed(1), cy: y.toFixed(1), r: 4 });
  }
  add('circle', { class: 'here', cx: W / 2, cy: H / 2, r: 10 });
  add('text', { x: W / 2 + 14, y: H / 2 + 5 }, p.number);
  document.getElementById('pole-map').replaceChildren(svg);
}

// --- the report ---------------------------------------------------------------------------------
function drawTopics() {
  const box = document.getElementById('topics');
  box.replaceChildren(...state.topics.map((t) => {
    const b = el('button', { type: 'button', class: 'topic', role: 'radio', 'aria-checked': String(state.topic === t.topic), 'data-topic': t.topic,
      on: { click: () => pickTopic(t.topic) } });
    b.innerHTML = `<svg aria-hidden="true"><use href="#${t.icon}"></use></svg>`;
    b.append(el('span', { text: T('r.topic.' + t.topic) }));
    return b;
  }));
}

async function pickTopic(topic) {
  state.topic = topic;
  drawTopics();
  say(null);
  const dups = document.getElementById('dups');
  dups.hidden = true;
  try {
    const found = await call(`${API}/nearby?topic=${encodeURIComponent(topic)}&pole=${encodeURIComponent(state.pole.number)}`);
    if (!found.length) return;
    document.getElementById('dup-list').replaceChildren(...found.slice(0, 3).map((d) => el('li', {},
      el('span', { text: T('r.dup.item', { id: d.case_id, step: T('r.step.' + d.step, { agency: '' }).trim(), m: d.distance_m, when: when(d.reported_at) }) }),
      el('button', { type: 'button', class: 'primary follow', 'data-case': d.case_id, on: { click: () => send(d.case_id) } }, T('r.dup.follow')))));
    dups.hidden = false;
  } catch (e) { /* no duplicates shown: the report goes on as new */ }
}

function drawPhotos() {
  const box = document.getElementById('photo-list');
  box.replaceChildren(...state.photos.map((f, i) => {
    const img = el('img', { alt: f.name, src: URL.createObjectURL(f) });
    return el('figure', {}, img, el('button', { type: 'button', on: { click: () => { state.photos.splice(i, 1); drawPhotos(); } } }, T('r.photos.remove')));
  }));
  document.getElementById('photo-input').disabled = state.photos.length >= MAX_PHOTOS;
}

function addPhotos(ev) {
  for (const f of ev.target.files) if (state.photos.length < MAX_PHOTOS) state.photos.push(f);
  ev.target.value = '';
  drawPhotos();
}

async function send(follow) {
  say(null);
  if (!state.topic) { say(new Refused({ key: 'refused.r.topic' }, 422)); return; }
  const button = document.getElementById('send');
  button.disabled = true;
  button.textContent = T('r.sending');
  const form = new FormData();
  form.append('topic', state.topic);
  form.append('pole', state.pole.number);
  form.append('description', document.getElementById('words').value);
  const phone = document.getElementById('phone').value.trim();
  if (phone) form.append('phone', phone);
  form.append('lang', state.lang);
  form.append('website', document.getElementById('website').value);
  if (follow) form.append('follow', String(follow));
  for (const f of state.photos) form.append('photos', f, f.name);
  try {
    const out = await call(API + '/reports', { method: 'POST', body: form });
    state.photos = [];
    document.getElementById('done-code').textContent = out.code;
    const followed = document.getElementById('done-followed');
    followed.hidden = !out.follows;
    followed.textContent = out.follows ? T('r.done.followed', { id: out.case_id }) : '';
    document.getElementById('done-track').setAttribute('href', out.url);
    history.pushState(null, '', '/r/' + encodeURIComponent(state.pole.number) + '#done');
    show('done');
  } catch (e) {
    say(e);
  } finally {
    button.disabled = false;
    button.textContent = T('r.send');
  }
}

async function openPole(number) {
  say(null);
  try {
    // the shell brought the pole it was asked for; any other is asked for
    const p = state.boot && state.boot.pole && state.boot.pole.number === number ? state.boot.pole
      : await call(API + '/poles/' + encodeURIComponent(number));
    state.pole = p;
    state.topic = null;
    document.getElementById('pole-no').textContent = p.number;
    document.getElementById('pole-road').textContent = p.road || '—';
    document.getElementById('pole-committee').textContent = p.committee || '—';
    drawMap(p);
    drawTopics();
    drawPhotos();
    document.getElementById('dups').hidden = true;
    show('pole');
  } catch (e) {
    show('find');
    document.getElementById('number').value = number;
    if (e.status === 404) {
      const box = document.getElementById('find-result');
      box.replaceChildren(el('p', { class: 'notice', text: T('r.pole.not_found', { number }) }));
      const s = (e.body && e.body.suggestions) || [];
      if (s.length) box.append(el('p', { text: T('r.pole.did_you_mean') }), el('ul', { class: 'list' }, ...s.map((n) => poleButton({ number: n }))));
    } else say(e);
  }
}

// --- progress -----------------------------------------------------------------------------------
function photoLink(code, p) {
  const base = `${API}/track/${encodeURIComponent(code)}/photos/${p.id}`;
  return el('figure', {}, el('a', { href: base, target: '_blank', rel: 'noopener' }, el('img', { src: base + '?thumb=1', alt: '' })));
}

async function openTrack(code) {
  say(null);
  state.code = code;
  show('track');
  try {
    const t = await call(`${API}/track/${encodeURIComponent(code)}`);
    const what = t.topic ? T('r.topic.' + t.topic) : T('cat.' + t.category);
    document.getElementById('track-case').textContent = T('r.track.case', { id: t.case_id, what });
    const steps = t.steps.map((s, i) => {
      const agency = s.agency || (s.department ? T('department.' + s.department) : '');
      return el('li', { class: i === t.steps.length - 1 ? 'last' : '', 'data-step': s.step },
        el('span', { text: T('r.step.' + s.step, { agency }) }), el('time', { datetime: s.at, text: when(s.at) }));
    });
    document.getElementById('steps').replaceChildren(...steps);
    document.getElementById('reply').hidden = !t.reply;
    document.getElementById('reply-text').textContent = t.reply || '';
    const after = t.photos.filter((p) => p.kind === 'after'), yours = t.photos.filter((p) => p.kind === 'resident');
    document.getElementById('after').hidden = !after.length;
    document.getElementById('after-photos').replaceChildren(...after.map((p) => photoLink(code, p)));
    document.getElementById('yours').hidden = !yours.length;
    document.getElementById('your-photos').replaceChildren(...yours.map((p) => photoLink(code, p)));
    document.getElementById('question').hidden = !t.may_answer;
    for (const b of document.querySelectorAll('[data-answer]')) b.setAttribute('aria-pressed', String(b.dataset.answer === t.satisfaction));
    const answered = document.getElementById('answered');
    answered.hidden = !t.satisfaction;
    answered.textContent = t.satisfaction ? T('r.track.answered', { answer: T('r.sat.' + t.satisfaction) }) : '';
    document.body.dataset.status = t.status;
    if (!state.timer && t.open) state.timer = setInterval(() => { if (!document.hidden) openTrack(state.code); }, 60000);
  } catch (e) {
    show('find');
    document.getElementById('code-input').value = code;
    say(e);
  }
}

async function answer(ev) {
  const value = ev.currentTarget.dataset.answer;
  try {
    await call(`${API}/track/${encodeURIComponent(state.code)}/answer`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ satisfaction: value }) });
    await openTrack(state.code);
    document.getElementById('answered').textContent = T('r.track.thanks') + ' · ' + T('r.track.answered', { answer: T('r.sat.' + value) });
  } catch (e) { say(e); }
}

// --- routes -------------------------------------------------------------------------------------
function route() {
  const parts = location.pathname.replace(/^\/r\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 't' && parts[1]) return openTrack(parts[1]);
  if (parts[0] === 't') { show('find'); return undefined; }
  if (parts[0]) {
    if (location.hash === '#done' && document.body.dataset.view === 'done') return undefined;
    return openPole(parts[0]);
  }
  show('find');
  return undefined;
}

async function start() {
  // what the first screen needs came with the page (texts, kinds of problem, the pole asked for)
  const boot = JSON.parse(document.getElementById('boot').textContent);
  state.boot = boot;
  const wanted = new URLSearchParams(location.search).get('lang') || localStorage.getItem('r.lang') || boot.lang;
  state.lang = wanted === 'en' ? 'en' : 'zh-CN';
  state.topics = boot.topics;
  if (boot.lang === state.lang) {
    state.texts = boot.texts;
    applyTexts();
  } else await loadTexts();
  document.getElementById('find-form').addEventListener('submit', findNumber);
  document.getElementById('locate').addEventListener('click', locate);
  document.getElementById('code-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const code = document.getElementById('code-input').value.trim();
    if (code) go('/r/t/' + encodeURIComponent(code));
  });
  document.getElementById('other-pole').addEventListener('click', () => go('/r/'));
  document.getElementById('photo-input').addEventListener('change', addPhotos);
  document.getElementById('report-form').addEventListener('submit', (ev) => { ev.preventDefault(); send(null); });
  document.getElementById('dup-new').addEventListener('click', () => { document.getElementById('dups').hidden = true; });
  document.getElementById('refresh').addEventListener('click', () => openTrack(state.code));
  for (const b of document.querySelectorAll('[data-answer]')) b.addEventListener('click', answer);
  document.getElementById('lang').addEventListener('click', async () => {
    state.lang = state.lang === 'en' ? 'zh-CN' : 'en';
    localStorage.setItem('r.lang', state.lang);
    await loadTexts();
    route();
  });
  window.addEventListener('popstate', route);
  await route();
  document.body.dataset.ready = '1';
}

document.addEventListener('DOMContentLoaded', start);
