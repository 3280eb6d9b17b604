// Klaxon's console works without this file; with it, pages that ask
// (data-refresh) refresh their content in place while shown, and times
// are shown on the reader's own clock.
(function () {
  "use strict";
  function localTimes(root) {
    var f = new Intl.DateTimeFormat(undefined, { weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) { t.title = t.textContent; t.textContent = f.format(d); }
    });
  }
  function busy() {
    var a = document.activeElement;
    return a && (a.tagName === "SELECT" || a.tagName === "INPUT" || a.tagName === "TEXTAREA");
  }
  function refresh() {
    if (document.visibilityState !== "visible" || busy()) { return; }
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
      if (!r.ok || r.redirected) { return null; }
      return r.text();
    }).then(function (html) {
      if (!html) { return; }
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("main"), main = document.getElementById("main");
      if (fresh && main) { main.replaceWith(fresh); localTimes(fresh); }
    }).catch(function () {});
  }
  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    var every = parseInt(document.body.getAttribute("data-refresh"), 10);
    if (every > 0) { setInterval(refresh, every * 1000); }
  });
})();
