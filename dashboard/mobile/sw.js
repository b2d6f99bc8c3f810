// The field app's service worker: the app's own files are kept on the phone so that it opens without a
// network (the newest version is fetched when there is one); the data is never cached here (the app keeps
// its last task list and its outbox itself). It also shows the notification of a new task.
'use strict';
const VERSION = '__VERSION__';
const SHELL = ['/m/', '/m/app.js', '/m/app.css', '/m/manifest.webmanifest', '/m/icon-192.png',
  '/m/texts.json?lang=zh-CN', '/m/texts.json?lang=en'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open('field-' + VERSION).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== 'field-' + VERSION)
    .map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== location.origin || !url.pathname.startsWith('/m/')) return;
  // the network first (a new version arrives at once), the phone's copy without one
  e.respondWith(fetch(e.request).then((r) => {
    if (r.ok) {
      const copy = r.clone();
      caches.open('field-' + VERSION).then((c) => c.put(e.request, copy));
    }
    return r;
  }).catch(() => caches.match(e.request, { ignoreSearch: false }).then((r) => r || caches.match('/m/'))));
});

self.addEventListener('notificationclick', (e) => {
  e.notification.close();
  e.waitUntil(self.clients.matchAll({ type: 'window' }).then((list) => {
    for (const c of list) if (c.url.includes('/m/')) return c.focus();
    return self.clients.openWindow('/m/');
  }));
});
