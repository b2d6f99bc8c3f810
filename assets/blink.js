/* Community Brain: the wall's alarm blink, two states a second.
 *
 * The takeover banner and the rings round unacknowledged critical alarms blink between two looks that
 * the stylesheet gives under html.blink-on. A CSS animation would ask for a new frame sixty times a
 * second for as long as an alarm waits: on a wall PC drawing in software that is a core of its own,
 * taken from the map and from the server beside it. Toggling a class costs two repaints a second.
 */
(function () {
  "use strict";
  var HALF_PERIOD_MS = 500;
  setInterval(function () {
    document.documentElement.classList.toggle("blink-on");
  }, HALF_PERIOD_MS);
})();
