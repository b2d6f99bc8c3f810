/* Community Brain: a live update redraws only the map layers that changed.
 *
 * Plotly hands every trace of a map to MapLibre again on each redraw: its GeoJSON is rebuilt and set on
 * its sources, and MapLibre's worker cuts it into tiles once more. The wall's live update changes the
 * cases, alarms or staff, yet the district's static layers (boundary, committees, grid, roads, some two
 * thousand poles) went through all of that too, every time (bench/wall_updates.py measures the cost).
 *
 * Here a map trace's update is skipped when nothing it draws from has changed since its last one: the
 * same map style, visibility and place in the layer order, and the same value (the same array, for
 * data) under every attribute of the trace, at every depth of its attribute groups (marker,
 * marker.line, ...), leaving out what only the hover label and the legend show (NOT_DRAWN: a repeated
 * alarm's count changes its hover text, not its marker). Dash's patches give a changed array a new
 * value, and Plotly.restyle sets a new value on the member it changes, so a change is always seen;
 * anything unexpected falls back to Plotly's own update.
 *
 * And the map's view and size are set again only when they change. Plotly sets the centre, zoom,
 * bearing and pitch and resizes the map at every redraw; MapLibre answers each with a frame of the
 * whole map even when nothing moved (a resize clears its canvas), which made every live update cost a
 * WebGL frame although the live markers are drawn by the page (assets/overlay.js). Symbols do not
 * fade in, which spares the frames of a fade after the map moves.
 */
(function () {
  "use strict";

  // what only the hover label or the legend shows: Plotly reads it from the figure when it is needed,
  // so a change there (an alarm's count, a case's age) needs no new tiles
  var NOT_DRAWN = {customdata: 1, hovertemplate: 1, hovertext: 1, hoverinfo: 1, hoverlabel: 1, name: 1,
    legendgroup: 1, legendrank: 1, showlegend: 1, meta: 1};

  function signature(obj, calcTrace) {
    var trace = calcTrace[0].trace, input = trace._input || {};
    var sub = obj.subplot, parts = [sub.map && sub.map.style, trace.visible, sub.belowLookup &&
      sub.belowLookup["trace-" + trace.uid], trace.uid, trace.mode];
    // a layer whose markers the page draws (assets/overlay.js) gives MapLibre nothing to draw: its data
    // changes are the page's alone (MapLibre would still answer Plotly's unchanged settings with a frame)
    if (input.meta && input.meta.draw === "markers") { return parts; }
    Object.keys(input).forEach(function (key) {
      if (!NOT_DRAWN[key]) { add(parts, key, input[key], 0); }
    });
    return parts;
  }

  // a value, and inside a group (marker, marker.line, selected.marker, ...) every value in turn: a
  // restyle changes a group's member in place, so the group itself stays the same object
  function add(parts, path, value, depth) {
    parts.push(path, value);
    if (value && typeof value === "object" && !Array.isArray(value) && depth < 4) {
      Object.keys(value).forEach(function (inner) { add(parts, path + "." + inner, value[inner], depth + 1); });
    }
  }

  function same(a, b) {
    if (!a || !b || a.length !== b.length) { return false; }
    for (var i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) { return false; }
    }
    return true;
  }

  function wrap(proto) {
    if (proto.__brainUnchanged || typeof proto.update !== "function") { return; }
    var update = proto.update;
    proto.update = function (calcTrace) {
      var sig;
      if (window.brainMapEveryLayer) {  // diagnostics, and the baseline of bench/wall_updates.py
        this.__brainSignature = null;
        return update.call(this, calcTrace);
      }
      try {
        sig = signature(this, calcTrace);
      } catch (e) {
        sig = null;  // an unexpected shape: Plotly's own update
      }
      if (sig && same(sig, this.__brainSignature)) {
        calcTrace[0].trace._glTrace = this;  // what Plotly's update leaves behind for hover and selection
        window.brainMapSkipped = (window.brainMapSkipped || 0) + 1;
        return;
      }
      this.__brainSignature = sig;
      return update.call(this, calcTrace);
    };
    proto.__brainUnchanged = true;
  }

  function close(a, b) { return Math.abs(a - b) < 1e-9; }

  // the view setters Plotly calls, each skipped when the map already shows that value
  var SAME = {
    setCenter: function (map, c) {
      var now = map.getCenter(), lon = Array.isArray(c) ? c[0] : (c.lng !== undefined ? c.lng : c.lon);
      var lat = Array.isArray(c) ? c[1] : c.lat;
      return close(now.lng, +lon) && close(now.lat, +lat);
    },
    setZoom: function (map, z) { return close(map.getZoom(), +z); },
    setBearing: function (map, b) { return close(map.getBearing(), +b); },
    setPitch: function (map, p) { return close(map.getPitch(), +p); }
  };

  // Plotly counts a redraw as done at MapLibre's next frame. When nothing changed for MapLibre, no frame
  // comes, and Plotly would hold every later redraw of the page behind that one: it is done at once.
  function settle(sub) {
    var resolveOnRender = sub.resolveOnRender;
    sub.resolveOnRender = function (resolve) {
      var map = this.map;
      if (!window.brainMapEveryLayer && map && map.loaded() && !map.isMoving()) {
        setTimeout(resolve, 0);
        return;
      }
      return resolveOnRender.call(this, resolve);
    };
  }

  function quiet(sub) {
    var map = sub.map;
    if (!map || map.__brainQuiet) { return; }
    map.__brainQuiet = true;
    // no fade-in of symbols: MapLibre kept drawing frames for 300 ms after each change of placement (the
    // wall's flight to an alarm took six frames, three without it). The map shows no text of its own
    // (labels are page text, assets/overlay.js); Plotly offers no option for it, so MapLibre's field is set.
    map._fadeDuration = 0;
    settle(sub);
    Object.keys(SAME).forEach(function (name) {
      var original = map[name];
      map[name] = function (value) {
        try {
          if (!window.brainMapEveryLayer && value !== undefined && value !== null && SAME[name](this, value)) {
            return this;
          }
        } catch (e) { /* an unexpected value: MapLibre's own */ }
        return original.apply(this, arguments);
      };
    });
    var resize = map.resize;
    map.resize = function () {
      var box = this.getContainer(), size = [box.clientWidth, box.clientHeight, window.devicePixelRatio];
      if (!window.brainMapEveryLayer && same(size, this.__brainSize)) { return this; }
      this.__brainSize = size;
      return resize.apply(this, arguments);
    };
  }

  function attach() {
    var plots = document.querySelectorAll(".js-plotly-plot");
    for (var k = 0; k < plots.length; k++) {
      var layout = plots[k]._fullLayout, sub = layout && layout.map && layout.map._subplot;
      if (!sub || !sub.traceHash) { continue; }
      quiet(sub);
      var uids = Object.keys(sub.traceHash);
      for (var i = 0; i < uids.length; i++) { wrap(Object.getPrototypeOf(sub.traceHash[uids[i]])); }
    }
  }

  // the map traces' shared prototype is reachable once a map is drawn; pages are drawn after this runs
  setInterval(attach, 500);
})();
