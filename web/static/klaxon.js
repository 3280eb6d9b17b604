// Klaxon's console works without this file; with it, pages that ask
// (data-refresh) refresh their content in place while shown, and times
// are shown on the reader's own clock.
(function () {
  "use strict";
  // localTimes writes the times of root on the reader's clock, naming
  // its zone, to the second where the page wrote seconds (the timeline).
  function localTimes(root) {
    var o = { weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" };
    var minutes = new Intl.DateTimeFormat(undefined, o);
    o.second = "2-digit";
    var seconds = new Intl.DateTimeFormat(undefined, o);
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) {
        var f = /\d:\d\d:\d\d/.test(t.textContent) ? seconds : minutes;
        t.title = t.textContent; t.textContent = f.format(d);
      }
    });
  }
  var FIELDS = "input, select, textarea";
  // edited reports whether field f holds what the reader put there.
  function edited(f) {
    if (f.tagName === "SELECT") {
      // A select shows its first option when none is marked selected.
      var first = Array.prototype.findIndex.call(f.options, function (o) { return o.defaultSelected; });
      return f.options.length > 0 && f.selectedIndex !== Math.max(first, 0);
    }
    if (f.type === "checkbox" || f.type === "radio") { return f.checked !== f.defaultChecked; }
    return f.value !== f.defaultValue;
  }
  // filter reports whether field f is in a form that only asks (method
  // get: the incidents' filters): not yet applied, it is no work to lose.
  function filter(f) { return !!f.form && f.form.method === "get"; }
  // changed reports whether a field of root holds what the reader put
  // there to act on: a note half written, a duration chosen.
  function changed(root) {
    return Array.prototype.some.call(root.querySelectorAll(FIELDS), function (f) {
      return !filter(f) && edited(f);
    });
  }
  // keepFilters sets the filters of fresh as the reader left them in old,
  // applied or not.
  function keepFilters(old, fresh) {
    var key = function (f) { return (f.form.getAttribute("action") || "") + " " + f.name + (f.type === "checkbox" || f.type === "radio" ? "=" + f.value : ""); };
    var kept = Object.create(null);
    old.querySelectorAll(FIELDS).forEach(function (f) {
      if (f.name && filter(f) && edited(f)) { kept[key(f)] = f; }
    });
    fresh.querySelectorAll(FIELDS).forEach(function (f) {
      var o = f.name && filter(f) ? kept[key(f)] : undefined;
      if (!o) { return; }
      if (f.type === "checkbox" || f.type === "radio") { f.checked = o.checked; } else { f.value = o.value; }
    });
  }
  // busy: the reader is in a field, or left one filled in; a refresh
  // would take it from them. One left filled in holds the page for as
  // long as it stays: the page says so.
  function busy() {
    var a = document.activeElement, main = document.getElementById("main");
    if (a && (a.tagName === "SELECT" || a.tagName === "INPUT" || a.tagName === "TEXTAREA")) { return true; }
    if (main && changed(main)) {
      stale("not refreshed while a form holds what you put in it; send it or clear it.");
      return true;
    }
    return false;
  }
  // keepOpen opens the sections of fresh (details with data-key) that
  // the reader had open in old: a refresh does not fold them shut.
  function keepOpen(old, fresh) {
    var open = {};
    old.querySelectorAll("details[data-key]").forEach(function (d) { if (d.open) { open[d.getAttribute("data-key")] = true; } });
    fresh.querySelectorAll("details[data-key]").forEach(function (d) { if (open[d.getAttribute("data-key")]) { d.open = true; } });
  }
  var updated = new Date();
  // stale says, above the page, that it is no longer up to date and why;
  // stale(null) takes that back. A page that refreshes itself looks
  // live: one that silently stopped would show a storm as calm.
  function stale(why) {
    var n = document.getElementById("stale"), main = document.getElementById("main");
    if (!why) { if (n) { n.remove(); } return; }
    if (!n && main) {
      n = document.createElement("p");
      n.id = "stale"; n.className = "error stale"; n.setAttribute("role", "alert");
      main.parentNode.insertBefore(n, main);
    }
    if (n) { n.textContent = "Not up to date since " + updated.toLocaleTimeString() + ": " + why; }
  }
  // pending is the refresh under way, to abort: a request that gets no
  // answer (packets dropped on the way to Klaxon) would wait for many
  // minutes, and say nothing.
  var pending = null;
  function refresh() {
    if (document.visibilityState !== "visible" || busy()) { return; }
    if (pending) {
      // The last refresh has had no answer in a whole interval.
      pending.abort();
      stale("Klaxon has not answered; it tries again.");
    }
    var ctl = new AbortController();
    pending = ctl;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" }, signal: ctl.signal }).then(function (r) {
      if (r.redirected) { stale("signed out; reload the page to sign in again."); return null; }
      if (!r.ok) { stale("Klaxon answered " + r.status + "; it tries again."); return null; }
      return r.text();
    }).then(function (html) {
      if (!html) { return; }
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("main"), main = document.getElementById("main");
      if (fresh && main && !busy()) {
        keepOpen(main, fresh); keepFilters(main, fresh); main.replaceWith(fresh); localTimes(fresh);
        updated = new Date();
        stale(null);
      }
    }).catch(function () {
      if (!ctl.signal.aborted) { stale("Klaxon cannot be reached; it tries again."); }
    }).finally(function () {
      if (pending === ctl) { pending = null; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    var every = parseInt(document.body.getAttribute("data-refresh"), 10);
    if (every > 0) { setInterval(refresh, every * 1000); }
  });
})();
