/* Community Brain: a live update redraws only the map layers that changed.
 *
 * Plotly hands every trace of a map to MapLibre again on each redraw: its GeoJSON is rebuilt and set on
 * its sources, and MapLibre's worker cuts it into tiles once more. The wall's live update changes the
 * cases, alarms or staff, and the district's static layers (boundary, committees, grid, roads, some two
 * thousand poles) went through all of that too, every time: on a wall PC drawing in software, most of
 * what a live update cost the browser, and in a storm the time before the next update could be drawn.
 *
 * Here the map trace's update is skipped when nothing it draws from has changed since its last one:
 * the same map style, the same visibility and place in the layer order, and the same value (the same
 * array, for data) under every attribute of the trace and of its nested attribute groups (marker,
 * line, ...) but those only the hover label and the legend show (NOT_DRAWN: a repeated alarm's count
 * changes its hover text, not its marker). Dash's patches and Plotly.restyle give a changed array or
 * group a new value, so a change is always seen; anything unseen here falls back to Plotly's own update.
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
      sub.belowLookup["trace-" + trace.uid], trace.uid];
    Object.keys(input).forEach(function (key) {
      if (NOT_DRAWN[key]) { return; }
      var value = input[key];
      parts.push(key, value);
      if (value && typeof value === "object" && !Array.isArray(value)) {  // a group: marker, line, ...
        Object.keys(value).forEach(function (inner) { parts.push(key + "." + inner, value[inner]); });
      }
    });
    return parts;
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

  function attach() {
    var plots = document.querySelectorAll(".js-plotly-plot");
    for (var k = 0; k < plots.length; k++) {
      var layout = plots[k]._fullLayout, sub = layout && layout.map && layout.map._subplot;
      if (!sub || !sub.traceHash) { continue; }
      var uids = Object.keys(sub.traceHash);
      for (var i = 0; i < uids.length; i++) { wrap(Object.getPrototypeOf(sub.traceHash[uids[i]])); }
    }
  }

  // the map traces' shared prototype is reachable once a map is drawn; pages are drawn after this runs
  setInterval(attach, 500);
})();
