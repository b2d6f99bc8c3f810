// The alarm sound of /wall and /dispatch.
//
// Contract: while the takeover banner (#takeover-banner) has the class `takeover` (a critical alarm nobody
// has acknowledged), the page sounds a two-tone signal every 4 seconds, made with the Web Audio API (no
// file, nothing fetched), and speaks the banner's `title` (the alarm's kind and place, from the catalogue)
// with the browser's speech synthesis where it has a voice for the page's language, once per new text.
// It stops when the banner goes back to calm.
//
// Browsers let a page make sound only after a person's click on it. Until then the button #alarm-sound-arm
// shows ("click to turn the alarm sound on"); one click arms the page and the button hides. A wall left
// unattended arms itself when its browser allows sound without a click (Chromium's kiosk flag
// --autoplay-policy=no-user-gesture-required): the audio context starts running and the button never shows.
// #alarm-sound-mute mutes this screen (kept in this browser's localStorage), and unmutes it.
//
// window.alarmSound.state() says {armed, muted, ringing, rings, said} (the tests read it).
(function () {
  'use strict';
  const MUTE_KEY = 'brain.alarm.muted';
  const s = { armed: false, muted: localStorage.getItem(MUTE_KEY) === '1', ringing: false, rings: 0, said: '',
    ctx: null, timer: null };

  function context() {
    if (!s.ctx) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      s.ctx = new Ctx();
    }
    return s.ctx;
  }

  function tone(freq, start, length) {
    const ctx = s.ctx;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'square';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start);
    osc.stop(start + length + 0.02);
  }

  function ring() {
    if (!s.armed || s.muted || !s.ctx || s.ctx.state !== 'running') return;
    const t = s.ctx.currentTime;
    tone(880, t, 0.22);
    tone(660, t + 0.26, 0.22);
    tone(880, t + 0.52, 0.22);
    s.rings += 1;
  }

  function speak(text) {
    if (!text || text === s.said || s.muted || !s.armed || !('speechSynthesis' in window)) return;
    s.said = text;
    const lang = document.documentElement.lang || 'zh-CN';
    const voice = window.speechSynthesis.getVoices().find((v) => v.lang && v.lang.startsWith(lang.slice(0, 2)));
    if (!voice) return; // no voice for this language here: the tone alone
    const u = new SpeechSynthesisUtterance(text);
    u.voice = voice;
    u.lang = voice.lang;
    window.speechSynthesis.speak(u);
  }

  function showButtons() {
    const arm = document.getElementById('alarm-sound-arm');
    if (arm) arm.hidden = s.armed;
    const mute = document.getElementById('alarm-sound-mute');
    if (mute) {
      mute.textContent = s.muted ? mute.dataset.on : mute.dataset.off;
      mute.setAttribute('aria-pressed', String(s.muted));
    }
  }

  function check() {
    const banner = document.getElementById('takeover-banner');
    const waiting = !!banner && banner.classList.contains('takeover');
    if (!s.armed && s.ctx === null) {
      // a browser that allows sound without a click: armed at once
      const ctx = context();
      if (ctx && ctx.state === 'running') s.armed = true;
    }
    showButtons();
    if (waiting && !s.ringing) {
      s.ringing = true;
      ring();
      s.timer = setInterval(ring, 4000);
    } else if (!waiting && s.ringing) {
      s.ringing = false;
      clearInterval(s.timer);
      s.timer = null;
      s.said = '';
      if ('speechSynthesis' in window) window.speechSynthesis.cancel();
    }
    if (waiting) speak(banner.title);
  }

  document.addEventListener('click', (ev) => {
    const target = ev.target instanceof Element ? ev.target : null;
    if (!target) return;
    if (target.closest('#alarm-sound-arm')) {
      const ctx = context();
      if (ctx) ctx.resume().then(() => { s.armed = ctx.state === 'running'; check(); if (s.ringing) ring(); });
    } else if (target.closest('#alarm-sound-mute')) {
      s.muted = !s.muted;
      localStorage.setItem(MUTE_KEY, s.muted ? '1' : '0');
      if (s.muted && 'speechSynthesis' in window) window.speechSynthesis.cancel();
      check();
    }
  });

  setInterval(check, 1000);
  window.alarmSound = {
    state: () => ({ armed: s.armed, muted: s.muted, ringing: s.ringing, rings: s.rings, said: s.said }),
  };
})();
