/* Community Brain: one request for the map's live differences in flight at a time.
 *
 * The server pushes a change counter (live-push); a clientside callback passes it on as live-pull,
 * which asks the server for the differences. Here: while such a request is out, a new push is only
 * remembered, and asked for once the request has landed, carrying everything that changed meanwhile.
 * (In a storm, each push would otherwise start a request that a newer one made stale before it was
 * drawn.) The requests are recognised by the output they ask for: the district map's figure.
 */
(function () {
  "use strict";
  var inFlight = 0, waiting = null;
  var isLive = function (init) {
    return init && typeof init.body === "string" && init.body.indexOf("district-map.figure") !== -1;
  };
  var original = window.fetch.bind(window);
  window.fetch = function (input, init) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    if (url.indexOf("_dash-update-component") === -1 || !isLive(init)) { return original(input, init); }
    inFlight++;
    var released = false;
    var release = function () {
      if (released) { return; }
      released = true;
      inFlight = Math.max(0, inFlight - 1);
      if (inFlight === 0 && waiting !== null && window.dash_clientside && window.dash_clientside.set_props) {
        var value = waiting;
        waiting = null;
        // after this response is applied (its figure, its token), not before
        setTimeout(function () { window.dash_clientside.set_props("live-pull", {data: value}); }, 0);
      }
    };
    // The gate opens once the answer's body has been read, not when its headers arrive: a request sent
    // between the two made the answer stale, and Dash would drop it (in a storm: every answer).
    return original(input, init).then(function (res) {
      if (res.status === 204 || res.status === 205 || res.status === 304) {  // no body (nothing to update)
        setTimeout(release, 0);
        return res;
      }
      return res.text().then(function (body) {
        setTimeout(release, 0);  // Dash reads the copy below (a microtask) before this runs
        return new Response(body, {status: res.status, statusText: res.statusText, headers: res.headers});
      });
    }).catch(function (err) { release(); throw err; });
  };
  window.brainLiveGate = {
    push: function (pushed) {
      if (inFlight > 0) { waiting = pushed; return window.dash_clientside.no_update; }
      return pushed;
    },
    state: function () { return {inFlight: inFlight, waiting: waiting}; }
  };
})();
