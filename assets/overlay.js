/* Community Brain: what the map draws over itself without any glyph server (nothing is fetched).
 *
 * - Pole numbers: from the street zoom the map frame names (data-label-zoom), every pole in view shows
 *   its number as page text (system CJK fonts), placed with the map's own projection. A resident
 *   reads the number off the pole; the operator finds it on the map.
 * - Unacknowledged critical alarms: a pulsing ring around each in view, until someone acknowledges it;
 *   in a storm only the MAX_RINGS that became live first (the layer's order): thousands of animated
 *   rings would stall the page, and the wall's banner already names the oldest.
 *
 * - The live layers' markers (cases, alarms, staff: the traces whose meta.draw is "markers", which
 *   MapLibre is not given): drawn here on a 2D canvas under the labels and rings, in trace order, each
 *   point a disc of its marker's colour, size and opacity, as Plotly would draw it. A live update thus
 *   costs one canvas drawing, not a WebGL frame of the whole map; Plotly keeps hover, clicks and the
 *   legend from the same traces. `painted` holds the traces of the last drawing (what is on screen).
 *
 * It reads the figure the page already holds (the pole and alarm traces named by data-pole-trace and
 * data-alarm-trace on .map-wrap) and follows the map's moves and every redraw.
 */
(function () {
  "use strict";
  var MAX_LABELS = 800;  // beyond this many poles in view the numbers would overlap into noise
  var MAX_RINGS = 60;  // pulsing rings at a time

  function mapOf(gd) {
    var sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    return sub && sub.map;
  }

  function Overlay(wrap, gd, map) {
    this.wrap = wrap;
    this.gd = gd;
    this.map = map;
    this.poleTrace = parseInt(wrap.dataset.poleTrace, 10);
    this.alarmTrace = parseInt(wrap.dataset.alarmTrace, 10);
    this.labelZoom = parseFloat(wrap.dataset.labelZoom);
    this.canvas = document.createElement("canvas");
    this.canvas.className = "map-markers";
    this.layer = document.createElement("div");
    this.layer.className = "map-overlay";
    map.getCanvasContainer().parentNode.appendChild(this.canvas);
    map.getCanvasContainer().parentNode.appendChild(this.layer);
    this.painted = {};
    this.pending = false;
    var self = this;
    var later = function () { self.schedule(); };
    map.on("move", later);
    map.on("resize", later);
    gd.on("plotly_afterplot", later);
    this.schedule();
  }

  Overlay.prototype.schedule = function () {
    if (this.pending) { return; }
    this.pending = true;
    var self = this;
    requestAnimationFrame(function () { self.pending = false; self.draw(); });
  };

  function at(value, i, fallback) {
    var v = Array.isArray(value) ? value[i] : value;
    return v === undefined || v === null ? fallback : v;
  }

  Overlay.prototype.markers = function (data) {
    var map = this.map, canvas = this.canvas, box = map.getCanvas();
    var ratio = window.devicePixelRatio || 1;
    var w = box.clientWidth, h = box.clientHeight;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
      canvas.style.width = w + "px";
      canvas.style.height = h + "px";
    }
    var ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    var painted = {};
    for (var t = 0; t < data.length; t++) {
      var trace = data[t];
      if (!trace || !trace.meta || trace.meta.draw !== "markers") { continue; }
      painted[t] = trace;
      if (trace.visible === "legendonly" || trace.visible === false || !trace.lon) { continue; }
      var marker = trace.marker || {};
      for (var i = 0; i < trace.lon.length; i++) {
        var lon = trace.lon[i], lat = trace.lat[i];
        if (typeof lon !== "number" || typeof lat !== "number") { continue; }
        var p = map.project([lon, lat]);
        var r = at(marker.size, i, 6) / 2;
        if (p.x < -r || p.y < -r || p.x > w + r || p.y > h + r) { continue; }
        ctx.globalAlpha = at(marker.opacity, i, 1);
        ctx.fillStyle = at(marker.color, i, "#8da2c0");
        ctx.beginPath();
        ctx.arc(p.x, p.y, r, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    ctx.globalAlpha = 1;
    this.painted = painted;
  };

  Overlay.prototype.draw = function () {
    var map = this.map, data = this.gd.data || [];
    this.markers(data);
    var html = [];
    var poles = data[this.poleTrace];
    var zoom = map.getZoom();
    this.wrap.dataset.zoom = zoom.toFixed(2);
    var labels = 0;
    if (poles && poles.lon && zoom >= this.labelZoom && poles.visible !== "legendonly" && poles.visible !== false) {
      var b = map.getBounds(), w = b.getWest(), e = b.getEast(), s = b.getSouth(), n = b.getNorth();
      for (var i = 0; i < poles.lon.length && labels < MAX_LABELS; i++) {
        var lon = poles.lon[i], lat = poles.lat[i];
        if (lon < w || lon > e || lat < s || lat > n) { continue; }
        var p = map.project([lon, lat]);
        html.push('<span class="pole-label" style="left:' + p.x.toFixed(1) + "px;top:" + p.y.toFixed(1) + 'px">' +
          String(poles.customdata[i][0]).replace(/[^0-9A-Za-z-]/g, "") + "</span>");
        labels++;
      }
    }
    var alarms = data[this.alarmTrace];
    var rings = 0;
    if (alarms && alarms.customdata && alarms.visible !== "legendonly" && alarms.visible !== false) {
      var v = map.getBounds(), vw = v.getWest(), ve = v.getEast(), vs = v.getSouth(), vn = v.getNorth();
      for (var j = 0; j < alarms.customdata.length && rings < MAX_RINGS; j++) {
        var row = alarms.customdata[j];
        if (!row || row[5] !== "active" || row[6] !== "critical") { continue; }
        var alon = alarms.lon[j], alat = alarms.lat[j];
        if (alon < vw || alon > ve || alat < vs || alat > vn) { continue; }
        var q = map.project([alon, alat]);
        html.push('<span class="alarm-pulse" style="left:' + q.x.toFixed(1) + "px;top:" + q.y.toFixed(1) +
          'px"></span>');
        rings++;
      }
    }
    this.layer.innerHTML = html.join("");
    this.wrap.dataset.poleLabels = String(labels);
    this.wrap.dataset.alarmRings = String(rings);
  };

  function attach() {
    var wraps = document.querySelectorAll(".map-wrap[data-pole-trace]");
    for (var k = 0; k < wraps.length; k++) {
      var wrap = wraps[k];
      var gd = wrap.querySelector(".js-plotly-plot");
      var map = mapOf(gd);
      if (!map || (wrap.__overlay && wrap.__overlay.map === map)) { continue; }
      wrap.__overlay = new Overlay(wrap, gd, map);
    }
  }

  // pages are drawn by Dash after this script runs, and again on every navigation
  setInterval(attach, 500);
})();
