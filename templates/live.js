/* finops live report: keeps an open report or statement page current while
 * `finops serve` rebuilds. Same contract as the viewer (viewer.js): poll
 * manifest.json (no-store) every poll_seconds; when generated_at changes,
 * fetch this same URL again (its query keeps the filters), parse it with
 * DOMParser and swap <main> and the footer in place, so the scroll position
 * and the filter bar's URL stay. A failed build or fetch leaves the page as
 * it is and says so. No innerHTML: markup only comes from our own page. */
(function () {
  "use strict";
  if (!/^https?:$/.test(window.location.protocol) || !window.fetch || !window.DOMParser) { return; }

  var built = document.body.getAttribute("data-generated-at") || null;
  var pollMs = 15000, timer = null, busy = false, failures = 0;

  function status(text, state) {
    var node = document.getElementById("live-status");
    if (!node) { return; }
    node.textContent = text || "";
    node.hidden = !text;
    node.setAttribute("data-state", state || "");
  }

  function get(url) {
    return fetch(url, {cache: "no-store", credentials: "same-origin", redirect: "error"})
      .then(function (r) { if (!r.ok) { throw new Error(url + ": HTTP " + r.status); } return r; });
  }

  function swap(doc) {
    var fresh = doc.querySelector("main"), here = document.querySelector("main");
    if (!fresh || !here) { throw new Error("no <main> in the new page"); }
    var x = window.scrollX, y = window.scrollY;
    here.replaceWith(document.importNode(fresh, true));
    var footer = doc.querySelector("footer"), oldFooter = document.querySelector("footer");
    if (footer && oldFooter) { oldFooter.replaceWith(document.importNode(footer, true)); }
    var stamp = doc.body.getAttribute("data-generated-at");
    if (stamp) { document.body.setAttribute("data-generated-at", stamp); }
    if (window.finopsReport) { window.finopsReport.start(); }
    window.scrollTo(x, y);
  }

  function refresh(m) {
    status("Updating\u2026", "updating");
    return get(window.location.href).then(function (r) { return r.text(); }).then(function (html) {
      swap(new DOMParser().parseFromString(html, "text/html"));
      built = m.generated_at;
      status("Updated", "ok");
      setTimeout(function () { status(""); }, 3000);
      document.dispatchEvent(new CustomEvent("finops:updated", {detail: {generated_at: m.generated_at}}));
    });
  }

  function poll() {
    if (busy) { return; }
    busy = true;
    var root = document.body.getAttribute("data-root") || "";
    get(root + "manifest.json").then(function (r) { return r.json(); }).then(function (m) {
      if (!m || typeof m !== "object") { return; }
      if (m.poll_seconds) { pollMs = Math.max(1000, 1000 * Number(m.poll_seconds)); }
      if (m.status === "error") {
        status("Update failed, showing the last good report", "failed");
        return;
      }
      if (m.generated_at && m.generated_at !== built) { return refresh(m); }
    }).then(function () {
      failures = 0; busy = false; schedule(pollMs);
    }, function () {
      failures += 1; busy = false;
      status("Update failed, showing the last good report (retrying)", "failed");
      schedule(Math.min(pollMs, 1000 * Math.pow(2, failures - 1)));
    });
  }

  function schedule(ms) { if (timer) { clearTimeout(timer); } timer = setTimeout(poll, ms); }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { schedule(0); }
  });
  schedule(1000);
}());
