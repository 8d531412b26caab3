/* finops reports: draw every chart from its JSON block and make tables sortable.
 * Data arrives only through <script type="application/json"> blocks written
 * with |tojson; nothing here computes a business figure. When done it sets
 * data-charts-drawn on <body>; script errors are kept in data-js-errors. */
(function () {
  "use strict";
  // Names beside scatter points (the `label` hint), so the quadrant reads
  // without hovering; drawn as canvas text, never as HTML.
  var pointLabels = {id: "pointLabels", afterDatasetsDraw: function (chart) {
    var ctx = chart.ctx;
    ctx.save();
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillStyle = "#334155";
    chart.data.datasets.forEach(function (set, di) {
      chart.getDatasetMeta(di).data.forEach(function (point, i) {
        var text = set.data[i] && set.data[i].label;
        if (text == null) { return; }
        text = String(text);
        // A name that would run past the plot's right edge goes left of its point.
        var width = ctx.measureText(text).width;
        var left = point.x + 9 + width > chart.chartArea.right;
        ctx.fillText(text, left ? point.x - 9 - width : point.x + 9, point.y + 4);
      });
    });
    ctx.restore();
  }};

  // A quadrant scatter: dashed lines where the SQL splits (its medians) and
  // each corner's name, so the chart reads without the table.
  var quadrants = {id: "quadrants", beforeDatasetsDraw: function (chart, args, opts) {
    var split = opts && opts.split;
    if (!split) { return; }
    var area = chart.chartArea, sx = chart.scales.x.getPixelForValue(split.x),
        sy = chart.scales.y.getPixelForValue(split.y), ctx = chart.ctx;
    ctx.save();
    ctx.strokeStyle = "#94a3b8";
    ctx.setLineDash([5, 4]);
    ctx.lineWidth = 1;
    ctx.beginPath();
    if (sx >= area.left && sx <= area.right) { ctx.moveTo(sx, area.top); ctx.lineTo(sx, area.bottom); }
    if (sy >= area.top && sy <= area.bottom) { ctx.moveTo(area.left, sy); ctx.lineTo(area.right, sy); }
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.fillStyle = "#64748b";
    var c = split.corners || {};
    ctx.textBaseline = "top";
    if (c["top-left"]) { ctx.textAlign = "left"; ctx.fillText(String(c["top-left"]).toUpperCase(), area.left + 6, area.top + 4); }
    if (c["top-right"]) { ctx.textAlign = "right"; ctx.fillText(String(c["top-right"]).toUpperCase(), area.right - 6, area.top + 4); }
    ctx.textBaseline = "bottom";
    if (c["bottom-left"]) { ctx.textAlign = "left"; ctx.fillText(String(c["bottom-left"]).toUpperCase(), area.left + 6, area.bottom - 4); }
    if (c["bottom-right"]) { ctx.textAlign = "right"; ctx.fillText(String(c["bottom-right"]).toUpperCase(), area.right - 6, area.bottom - 4); }
    ctx.restore();
  }};

  var errors = [];
  function recordError(message) {
    errors.push(String(message));
    document.body && document.body.setAttribute("data-js-errors", JSON.stringify(errors));
  }
  window.addEventListener("error", function (e) { recordError(e.message || "error"); });
  window.addEventListener("unhandledrejection", function (e) { recordError(e.reason || "rejection"); });

  var PALETTE = ["#3b5bdb", "#12b886", "#f59f00", "#7048e8", "#e64980", "#15aabf",
                 "#82c91e", "#fd7e14", "#845ef7", "#228be6", "#40c057", "#fa5252"];

  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function compact(v) {
    var a = Math.abs(v), units = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e4, "K", 1e3]];
    for (var i = 0; i < units.length; i++) {
      if (a >= units[i][0]) { return (v / (units[i][2] || units[i][0])).toFixed(1) + units[i][1]; }
    }
    return Number.isInteger(v) ? v.toLocaleString("en-US") : v.toLocaleString("en-US", {maximumFractionDigits: 2});
  }
  // A non-negative amount to the cent, half up on the number as written
  // (198.315, not the binary 198.31499...), as render.fmt_money and the
  // SQL's cents(): a tooltip says what the table says.
  function toCents(a) {
    var text = String(a), dot = text.indexOf(".");
    if (/e-/i.test(text)) { return 0; }  // under a millionth
    if (/e/i.test(text) || dot < 0 || text.length - dot - 1 <= 2) { return a; }
    var whole = Number(text.slice(0, dot) + text.slice(dot + 1, dot + 3));
    return (whole + (text.charAt(dot + 3) >= "5" ? 1 : 0)) / 100;
  }
  // An amount to the cent, "< $0.01" when non-zero but under half a cent (render.fmt_money);
  // a unit price keeps four significant digits under a dollar (render.fmt_price).
  function money(v, kind) {
    var a = Math.abs(v), sign = v < 0 ? "-" : "";
    if (a >= 1e6) { return sign + "$" + compact(a); }
    if (kind !== "price" && a > 0 && toCents(a) === 0) { return v > 0 ? "< $0.01" : "> -$0.01"; }
    var digits = kind !== "price" || a === 0 || a >= 1 ? 2 : Math.min(8, Math.max(2, 3 - Math.floor(Math.log10(a))));
    if (digits === 2) { a = toCents(a); }
    return sign + "$" + a.toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: digits});
  }
  function format(v, kind) {
    v = num(v);
    if (v === null) { return "—"; }
    if (kind === "money" || kind === "price") { return money(v, kind); }
    if (kind === "pct") { return v.toFixed(1) + "%"; }
    if (kind === "ms") { return Math.round(v).toLocaleString("en-US") + " ms"; }
    return compact(v);
  }
  // Axis ticks: whole dollars once the scale is in dollars, seconds for long latencies.
  function tick(v, kind, ticks) {
    v = num(v);
    if (v === null) { return ""; }
    var a = Math.abs(v);
    // The scale decides, not the tick: "$0" beside "$500", never "$0.00".
    var top = (ticks || []).reduce(function (m, t) { return Math.max(m, Math.abs(num(t.value) || 0)); }, a);
    if ((kind === "money" || kind === "price") && top >= 10 && a < 1e6) {
      return (v < 0 ? "-$" : "$") + Math.round(a).toLocaleString("en-US");
    }
    if (kind === "ms" && top >= 1000) {
      return (v / 1000).toLocaleString("en-US", {maximumFractionDigits: 1}) + " s";
    }
    if (kind === "pct") { return (Number.isInteger(v) ? v : v.toFixed(1)) + "%"; }
    return format(v, kind);
  }
  // ISO dates on a category axis read as "Oct 3"; other labels stay as they are.
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function shortLabel(label) {
    var m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/.exec(String(label));
    if (!m) { return label; }
    var day = MONTHS[Number(m[2]) - 1] + " " + Number(m[3]);
    return m[4] && (m[4] !== "00" || m[5] !== "00") ? day + " " + m[4] + ":" + m[5] : day;
  }
  // Named levels keep their meaning in colour (high risk red, production blue...).
  var SEMANTIC = {high: "#c92a2a", critical: "#c92a2a", medium: "#f59f00", low: "#2b8a3e",
                  ok: "#2b8a3e", production: "#3b5bdb", staging: "#15aabf", development: "#adb5bd"};

  function seriesColor(i, alpha) {
    var hex = PALETTE[i % PALETTE.length];
    if (alpha === undefined) { return hex; }
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function axis(kind, title) {
    return {ticks: {callback: function (v, i, ticks) { return tick(v, kind, ticks); }},
            title: {display: !!title, text: title}, grid: {color: "#eef1f6"}};
  }

  function config(spec, narrow) {
    var d = spec.data, x = spec.x, kinds = spec.kinds, titles = spec.titles;
    var yKind = kinds[spec.y[0]];
    var tooltip = {callbacks: {label: function (ctx) {
      var col = ctx.dataset._column;
      var value = spec.type === "scatter" ? ctx.raw.y : ctx.raw;
      var prefix = spec.type === "scatter" && ctx.raw.label != null ? ctx.raw.label + ": " : (ctx.dataset.label ? ctx.dataset.label + ": " : "");
      if (spec.type === "scatter") {
        return prefix + format(ctx.raw.x, kinds[x]) + " / " + format(value, kinds[col]);
      }
      return prefix + format(value, kinds[col]);
    }}};
    var base = {responsive: true, maintainAspectRatio: false,
                animation: {duration: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? 0 : 500},
                plugins: {legend: {display: spec.y.length > 1 || spec.type === "doughnut" || spec.type === "pie" || !!spec.band,
                                   position: "bottom"}, tooltip: tooltip}};
    if (spec.type === "doughnut" || spec.type === "pie") {
      var col = spec.y[0];
      return {type: spec.type, data: {labels: d[x].map(String), datasets: [{
        label: titles[col], _column: col, data: d[col].map(num),
        backgroundColor: d[x].map(function (v, i) {
          var named = SEMANTIC[String(v).toLowerCase()];
          return named && d[x].every(function (w) { return SEMANTIC[String(w).toLowerCase()]; }) ? named : seriesColor(i);
        }), borderColor: "#fff", borderWidth: 2}]},
        options: Object.assign(base, {cutout: spec.type === "doughnut" ? "58%" : 0})};
    }
    if (spec.type === "scatter") {
      var ycol = spec.y[0];
      var points = [];
      for (var i = 0; i < d[x].length; i++) {
        if (num(d[x][i]) !== null && num(d[ycol][i]) !== null) {
          points.push({x: d[x][i], y: d[ycol][i], label: spec.label ? d[spec.label][i] : null});
        }
      }
      base.plugins.legend.display = false;
      base.plugins.quadrants = {split: spec.split || null};
      // Room above and beside the points for the corner names and point labels.
      base.layout = {padding: {top: spec.split ? 18 : 4, right: 12}};
      var xs = points.map(function (p) { return p.x; }), ys = points.map(function (p) { return p.y; });
      if (spec.split) { xs.push(spec.split.x); ys.push(spec.split.y); }
      function padded(values) {
        var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values), pad = (hi - lo) * 0.12 || 1;
        return {min: lo - pad, max: hi + pad};
      }
      var xAxis = Object.assign(axis(kinds[x], titles[x]), points.length ? padded(xs) : {});
      var yAxis = Object.assign(axis(kinds[ycol], titles[ycol]), points.length ? padded(ys) : {});
      return {type: "scatter", data: {datasets: [{label: titles[ycol], _column: ycol, data: points,
        backgroundColor: seriesColor(0, 0.75), pointRadius: 6, pointHoverRadius: 8}]},
        plugins: (spec.label ? [pointLabels] : []).concat(spec.split ? [quadrants] : []),
        options: Object.assign(base, {scales: {x: xAxis, y: yAxis}})};
    }
    var labels = d[x].map(function (v) { return v === null ? "—" : String(v); });
    // Many bars on a phone: a row each, names readable, instead of a blob of tilted names.
    var horizontal = spec.type === "hbar" || (narrow && labels.length > 12 &&
                                              (spec.type === "bar" || spec.type === "stacked"));
    var stacked = spec.type === "stacked";
    var datasets = [];
    if (spec.type === "line" && spec.band) {
      var lo = spec.band[0], hi = spec.band[1];
      datasets.push({label: titles[lo], _column: lo, data: d[lo].map(num),
                     borderWidth: 0, pointRadius: 0, backgroundColor: seriesColor(0, 0.12), fill: false});
      datasets.push({label: titles[lo] + " – " + titles[hi], _column: hi, data: d[hi].map(num), borderWidth: 0, pointRadius: 0,
                     backgroundColor: seriesColor(0, 0.12), fill: "-1"});
    }
    spec.y.forEach(function (col, i) {
      var set = {label: titles[col], _column: col, data: d[col].map(num)};
      if (spec.type === "line") {
        Object.assign(set, {borderColor: seriesColor(i), backgroundColor: seriesColor(i, 0.15),
                            borderWidth: 2, pointRadius: d[x].length > 60 ? 0 : 2, tension: 0.25, fill: false});
      } else {
        Object.assign(set, {backgroundColor: seriesColor(i, 0.85), borderRadius: 4, maxBarThickness: 42});
      }
      datasets.push(set);
    });
    if (spec.type === "line" && spec.band) {  // legend: hide the low edge of the band
      base.plugins.legend.labels = {filter: function (item) { return item.datasetIndex !== 0; }};
    }
    // Every bar keeps its name: horizontal bars get a row each (the box grows,
    // see sizeBox), vertical bars tilt their names rather than drop them. Only
    // line charts over dates thin their labels, shown short ("Oct 3").
    var n = labels.length;
    var labelTicks = {callback: function (value) { return shortLabel(this.getLabelForValue(value)); }};
    if (spec.type === "line") {
      Object.assign(labelTicks, {autoSkip: true, autoSkipPadding: 14, maxRotation: 0});
    } else if (horizontal) {
      Object.assign(labelTicks, {autoSkip: false});
    } else {
      Object.assign(labelTicks, {autoSkip: n > 60, maxRotation: 60});
    }
    var valueAxis = axis(yKind), labelAxis = {grid: {display: false}, ticks: labelTicks};
    valueAxis.stacked = stacked; labelAxis.stacked = stacked;
    valueAxis.beginAtZero = spec.type !== "line";
    return {type: spec.type === "line" ? "line" : "bar", data: {labels: labels, datasets: datasets},
            options: Object.assign(base, {indexAxis: horizontal ? "y" : "x", interaction: {mode: "index", intersect: false},
              scales: horizontal ? {x: valueAxis, y: labelAxis} : {x: labelAxis, y: valueAxis}})};
  }

  // A horizontal bar chart is as tall as its bars need (22 px a row), so no
  // name is skipped; the stylesheet's height stays the minimum. On a phone a
  // vertical bar chart with many names gets taller for its tilted labels.
  function sizeBox(canvas, spec) {
    var box = canvas.parentNode, rows = (spec.data[spec.x] || []).length;
    var turned = isNarrow(canvas) && rows > 12 && (spec.type === "bar" || spec.type === "stacked");
    if (spec.type !== "hbar" && !turned) { return; }
    var perRow = spec.y.length > 1 ? 30 : 22;
    var wanted = rows * perRow + 70;
    if (box && wanted > box.clientHeight) { box.style.height = wanted + "px"; }
  }

  function isNarrow(canvas) { return !!canvas.parentNode && canvas.parentNode.clientWidth < 600; }

  function drawCharts() {
    var drawn = 0;
    var blocks = document.querySelectorAll("script.chart-data");
    if (typeof window.Chart === "undefined") {
      if (blocks.length) { recordError("Chart.js did not load (assets/chart.umd.min.js)"); }
    } else {
      Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
      Chart.defaults.color = "#5b6678";
      blocks.forEach(function (block) {
        try {
          var spec = JSON.parse(block.textContent);
          var canvas = document.getElementById(block.getAttribute("data-canvas"));
          if (!canvas) { throw new Error("no canvas for " + block.getAttribute("data-canvas")); }
          sizeBox(canvas, spec);
          canvas._chart = new Chart(canvas, config(spec, isNarrow(canvas)));
          drawn += 1;
        } catch (err) { recordError(err && err.message ? err.message : err); }
      });
    }
    document.body.setAttribute("data-charts-drawn", String(drawn));
  }

  function cellValue(td) {
    try { return JSON.parse(td.getAttribute("data-value")); } catch (e) { return td.textContent; }
  }
  function compare(a, b) {
    if (a === b) { return 0; }
    if (a === null) { return 1; }
    if (b === null) { return -1; }
    if (typeof a === "number" && typeof b === "number") { return a - b; }
    return String(a).localeCompare(String(b), undefined, {numeric: true});
  }
  function makeSortable(table) {
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (th, index) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        headers.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.cells.length > index; });
        rows.sort(function (r1, r2) {
          var c = compare(cellValue(r1.cells[index]), cellValue(r2.cells[index]));
          return dir === "ascending" ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("canvas").forEach(function (c) { if (c._chart) { c._chart.resize(); } });
  });

  // The filter bar sends only the filters that are set: a short URL to share.
  function tidyFilterBar() {
    var form = document.getElementById("filter-bar");
    if (!form || form._tidy) { return; }
    form._tidy = true;
    form.addEventListener("submit", function () {
      form.querySelectorAll("input[name]").forEach(function (input) {
        if (!input.value.trim()) { input.disabled = true; }
      });
      setTimeout(function () {
        form.querySelectorAll("input[name]").forEach(function (input) { input.disabled = false; });
      }, 0);
    });
  }

  function markScrollingTables() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      var scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      wrap.classList.toggle("scrolls", scrolls);
      var hint = wrap.nextElementSibling && wrap.nextElementSibling.classList.contains("scroll-hint")
        ? wrap.nextElementSibling : null;
      if (scrolls && !hint) {
        hint = document.createElement("p");
        hint.className = "scroll-hint";
        hint.textContent = "More columns: scroll the table sideways →";
        wrap.after(hint);
      } else if (!scrolls && hint) { hint.remove(); }
    });
  }
  window.addEventListener("resize", function () { markScrollingTables(); });

  function start() {
    tidyFilterBar();
    markScrollingTables();
    document.querySelectorAll("table.sortable").forEach(makeSortable);
    drawCharts();
    if (errors.length) { document.body.setAttribute("data-js-errors", JSON.stringify(errors)); }
  }
  // live.js swaps <main> for a newer build and calls this again.
  window.finopsReport = {start: start};
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
