/*
 * finops live viewer: keeps an open index.html current while `finops serve` rebuilds.
 *
 * Served over http(s) only (from file:// it does nothing). It polls
 * manifest.json (no-store) every poll_seconds; when generated_at changes it
 * fetches index.html again and swaps the server-rendered parts in place.
 * No dependencies, no network beyond these two same-origin files, and no
 * innerHTML: manifest strings only ever reach the page through textContent,
 * and markup only comes from our own index.html, parsed by DOMParser.
 */
(function () {
  "use strict";

  if (!/^https?:$/.test(window.location.protocol) || !window.fetch || !window.DOMParser) {
    return;
  }

  var SWAPPED = ["report-cards", "dataset-summary", "no-data"];
  var MORPHED = ["progress-bar", "progress-label"];
  var TOAST_MS = 4000;
  var CLOCK_MS = 5000;

  function byId(id) { return document.getElementById(id); }

  function readEmbeddedManifest() {
    var node = byId("manifest-data");
    if (!node) { return {}; }
    try { return JSON.parse(node.textContent || "{}") || {}; } catch (e) { return {}; }
  }

  var manifest = readEmbeddedManifest();
  var pollMs = Math.max(1000, 1000 * (Number(manifest.poll_seconds) || 15));
  var lastGenerated = manifest.generated_at || null;
  var failures = 0;
  var timer = null;
  var toastTimer = null;
  var busy = false;

  // --- "last updated N minutes ago" ------------------------------------
  function relativeTime(iso) {
    var then = Date.parse(iso);
    if (isNaN(then)) { return null; }
    var seconds = Math.max(0, Math.round((Date.now() - then) / 1000));
    if (seconds < 45) { return "just now"; }
    var minutes = Math.round(seconds / 60);
    if (minutes < 60) { return minutes === 1 ? "1 minute ago" : minutes + " minutes ago"; }
    var hours = Math.round(minutes / 60);
    if (hours < 24) { return hours === 1 ? "1 hour ago" : hours + " hours ago"; }
    var days = Math.round(hours / 24);
    return days === 1 ? "1 day ago" : days + " days ago";
  }

  function updateClock() {
    var node = byId("last-updated");
    if (!node) { return; }
    var iso = node.getAttribute("data-generated-at") || lastGenerated;
    var rel = iso && relativeTime(iso);
    if (!rel) { return; }
    var time = document.createElement("time");
    time.setAttribute("datetime", iso);
    time.setAttribute("title", iso);
    time.textContent = rel;
    var current = node.querySelector("time");
    if (current && current.textContent === rel) { return; }
    node.replaceChildren(document.createTextNode("Last updated "), time);
  }

  // --- DOM updates from our own index.html -------------------------------
  // Bring `target` to look like `source` while keeping the element, so CSS
  // transitions (the progress bar's width) animate instead of jumping.
  function morph(target, source) {
    var i, attr;
    for (i = target.attributes.length - 1; i >= 0; i--) {
      attr = target.attributes[i].name;
      if (!source.hasAttribute(attr)) { target.removeAttribute(attr); }
    }
    for (i = 0; i < source.attributes.length; i++) {
      attr = source.attributes[i];
      if (target.getAttribute(attr.name) !== attr.value) { target.setAttribute(attr.name, attr.value); }
    }
    var a = target.children, b = source.children;
    var same = a.length === b.length;
    for (i = 0; same && i < a.length; i++) { same = a[i].tagName === b[i].tagName; }
    if (same && a.length) {
      for (i = 0; i < a.length; i++) { morph(a[i], b[i]); }
    } else if (!a.length && !b.length) {
      if (target.textContent !== source.textContent) { target.textContent = source.textContent; }
    } else {
      target.replaceChildren.apply(target, Array.prototype.map.call(source.childNodes, function (n) {
        return document.importNode(n, true);
      }));
    }
  }

  function applyIndex(doc) {
    var missing = false;
    SWAPPED.forEach(function (id) {
      var fresh = doc.getElementById(id), current = byId(id);
      if (fresh && current) {
        current.replaceWith(document.importNode(fresh, true));
      } else if (fresh && !current) {
        missing = true;
      } else if (!fresh && current) {
        current.hidden = true;
      }
    });
    MORPHED.forEach(function (id) {
      var fresh = doc.getElementById(id), current = byId(id);
      if (fresh && current) { morph(current, fresh); }
    });
    // The failed-build banner comes and goes with the build status.
    var banner = doc.getElementById("error-banner"), shown = byId("error-banner");
    var summary = byId("dataset-summary");
    if (banner && shown) {
      shown.replaceWith(document.importNode(banner, true));
    } else if (banner && summary) {
      summary.before(document.importNode(banner, true));
    } else if (shown) {
      shown.remove();
    }
    var stamp = doc.getElementById("last-updated"), here = byId("last-updated");
    if (stamp && here) {
      here.setAttribute("data-generated-at", stamp.getAttribute("data-generated-at") || "");
    }
    var data = doc.getElementById("manifest-data"), embedded = byId("manifest-data");
    if (data && embedded) { embedded.textContent = data.textContent; }
    return !missing;
  }

  function setProgress(m) {
    var bar = byId("progress-bar");
    var pct = Number(m.progress_pct);
    if (!bar || !isFinite(pct)) { return; }
    pct = Math.max(0, Math.min(100, pct));
    bar.setAttribute("aria-valuenow", String(Math.round(pct * 10) / 10));
    bar.style.setProperty("--progress", pct + "%");
  }

  function showToast(text, kind) {
    var toast = byId("toast");
    if (!toast) { return; }
    toast.textContent = text;
    toast.setAttribute("data-kind", kind || "info");
    toast.hidden = false;
    toast.classList.add("show", "visible");
    if (toastTimer) { clearTimeout(toastTimer); }
    toastTimer = setTimeout(function () {
      toast.classList.remove("show", "visible");
      toast.textContent = "";  // the stylesheet shows the toast only while it has text
    }, TOAST_MS);
  }

  function blinkBadge() {
    var badge = byId("auto-reload-badge");
    if (!badge) { return; }
    badge.hidden = false;
    badge.classList.add("blink");
    if (badge.animate) {
      badge.animate([{ opacity: 1 }, { opacity: 0.25 }, { opacity: 1 }],
                    { duration: 500, iterations: 3 });
    }
    setTimeout(function () { badge.classList.remove("blink"); }, 1600);
  }

  function setConnection(ok) {
    var node = byId("connection-status");
    if (!node) { return; }
    if (ok) {
      if (node.getAttribute("data-state") !== "live") {
        node.textContent = "Live";
        node.setAttribute("data-state", "live");
      }
    } else {
      node.textContent = "reconnecting\u2026";
      node.setAttribute("data-state", "reconnecting");
      node.hidden = false;
    }
  }

  function fetchNoStore(url) {
    return fetch(url, { cache: "no-store", credentials: "same-origin", redirect: "error" })
      .then(function (response) {
        if (!response.ok) { throw new Error(url + ": HTTP " + response.status); }
        return response;
      });
  }

  function refresh(m) {
    return fetchNoStore("index.html").then(function (r) { return r.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      if (!applyIndex(doc)) {
        // The page's layout changed (e.g. first data after the no-data page): load it anew.
        window.location.reload();
        return;
      }
      setProgress(m);
      updateClock();
      var mb = Number(m.csv_size_mb);
      var size = isFinite(mb) ? " \u2014 " + mb.toFixed(1) + " MB" : "";
      if (m.status === "error") {
        // The banner (from index.html) names the state: missing, unreadable, truncated ...
        var heading = document.querySelector("#error-banner h2");
        showToast((heading ? heading.textContent + " \u2014 " : "Rebuild failed \u2014 ") +
                  "showing the last good reports", "error");
      } else {
        showToast("Reports updated" + size, "ok");
      }
      blinkBadge();
      document.dispatchEvent(new CustomEvent("finops:updated", { detail: { generated_at: m.generated_at } }));
    });
  }

  function schedule(ms) {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(poll, ms);
  }

  function poll() {
    if (busy) { return; }
    busy = true;
    fetchNoStore("manifest.json").then(function (r) { return r.json(); }).then(function (m) {
      if (m && typeof m === "object") {
        if (m.poll_seconds) { pollMs = Math.max(1000, 1000 * Number(m.poll_seconds)); }
        if (m.generated_at && m.generated_at !== lastGenerated) {
          return refresh(m).then(function () { lastGenerated = m.generated_at; manifest = m; });
        }
      }
    }).then(function () {
      failures = 0;
      setConnection(true);
      busy = false;
      schedule(pollMs);
    }, function () {
      failures += 1;
      setConnection(false);
      busy = false;
      // Back off 1 s, 2 s, 4 s ... but never wait longer than a normal poll.
      schedule(Math.min(pollMs, 1000 * Math.pow(2, failures - 1)));
    });
  }

  function start() {
    updateClock();
    setInterval(updateClock, CLOCK_MS);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { schedule(0); }
    });
    schedule(pollMs);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
