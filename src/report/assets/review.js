// semsift review.html: the threshold slider, the chart marker and the table of removed
// rows. The data is the JSON block #review-data, read with JSON.parse; every text is
// written with textContent into elements made with createElement, never as markup.
window.onerror = function (message, source, line, column) {
  var body = document.body;
  if (body) {
    var entry = String(message) + " (" + line + ":" + column + ")";
    body.dataset.errors = body.dataset.errors ? body.dataset.errors + "\n" + entry : entry;
  }
  return false;
};
(function () {
  "use strict";
  var byId = function (id) { return document.getElementById(id); };
  var data = JSON.parse(byId("review-data").textContent);
  var points = data.points || [];
  var slider = byId("threshold");
  var valueOut = byId("threshold-value");
  var counts = byId("review-counts");
  var changes = byId("review-changes");
  var shown = byId("review-shown");
  var tbody = byId("review-table").tBodies[0];
  var filter = byId("review-filter");
  var sortButton = byId("review-sort");
  var scoreHead = byId("review-score-head");
  var marker = byId("review-marker");
  var dots = Array.prototype.slice.call(document.querySelectorAll("#review-chart [data-i]"));
  var texts = data.texts || {};
  var against = data.reference === true;
  var matchTexts = against ? (data.reference_texts || {}) : texts;
  var applied = 0;
  points.forEach(function (p, i) { if (p.applied) { applied = i; } });
  var descending = false;

  // An integer with thousands separators, as the page's Rust side writes them.
  function int(n) {
    var s = String(n), out = "";
    for (var i = 0; i < s.length; i++) {
      if (i > 0 && (s.length - i) % 3 === 0) { out += ","; }
      out += s.charAt(i);
    }
    return out;
  }
  // Thresholds are the JSON's numbers, in their shortest form (0.87).
  function fmt(t) { return String(t); }
  function textOf(dict, row) {
    var t = Object.prototype.hasOwnProperty.call(dict, String(row)) ? dict[String(row)] : "";
    return typeof t === "string" ? t : "";
  }
  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) { e.className = className; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function rowCell(label, row, text, badge) {
    var td = el("td", "rowtext");
    var head = el("div", "rowno", label + " " + row);
    if (badge) { head.appendChild(document.createTextNode(" ")); head.appendChild(badge); }
    td.appendChild(head);
    td.appendChild(el("div", "text", text));
    return td;
  }

  function render() {
    var i = Number(slider.value);
    var p = points[i];
    if (!p) { return; }
    var t = fmt(p.threshold);
    var at = fmt(points[applied].threshold);
    valueOut.textContent = t;
    slider.setAttribute("aria-valuetext", t);
    counts.textContent = "at " + t + ": " + int(p.kept) + " kept · " + int(p.removed) +
      " removed (" + int(p.exact_removed) + " exact)";
    changes.textContent = i === applied ? "the applied threshold" :
      "against " + at + ": " + int(p.new) + " more removed (new), " + int(p.restored) +
      " no longer removed (kept here)";
    dots.forEach(function (dot) {
      var on = Number(dot.getAttribute("data-i")) === i;
      dot.classList.toggle("sel", on);
      if (on && marker) {
        marker.setAttribute("x1", dot.getAttribute("cx"));
        marker.setAttribute("x2", dot.getAttribute("cx"));
      }
    });

    var needle = filter.value.trim().toLowerCase();
    var list = [];
    p.removed_rows.forEach(function (r) { list.push({ r: r, kind: r.new ? "new" : "" }); });
    p.restored_rows.forEach(function (r) { list.push({ r: r, kind: "restored" }); });
    if (needle) {
      list = list.filter(function (e) {
        return textOf(texts, e.r.row).toLowerCase().indexOf(needle) >= 0 ||
          textOf(matchTexts, e.r.duplicate_of).toLowerCase().indexOf(needle) >= 0;
      });
    }
    var score = function (r) { return typeof r.score === "number" ? r.score : 0; };
    list.sort(function (a, b) {
      var c = score(a.r) - score(b.r) || a.r.row - b.r.row;
      return descending ? -c : c;
    });
    var rows = document.createDocumentFragment();
    list.forEach(function (e) {
      var r = e.r;
      var tr = el("tr", e.kind);
      tr.dataset.row = String(r.row);
      tr.dataset.duplicateOf = String(r.duplicate_of);
      tr.dataset.score = String(r.score);
      var scoreCell = el("td", "num", typeof r.score === "number" ? r.score.toFixed(4) : "–");
      tr.appendChild(scoreCell);
      var badge = null;
      if (e.kind === "new") {
        badge = el("span", "badge new", "new");
        badge.title = "kept at the applied threshold " + at;
      } else if (e.kind === "restored") {
        badge = el("span", "badge restored", "kept here");
        badge.title = "removed at the applied threshold " + at + "; its match and score there";
      }
      tr.appendChild(rowCell("row", r.row, textOf(texts, r.row), badge));
      tr.appendChild(rowCell(against ? "reference row" : "row", r.duplicate_of,
        textOf(matchTexts, r.duplicate_of), null));
      tr.appendChild(el("td", "exact", r.exact ? "yes" : "no"));
      rows.appendChild(tr);
    });
    tbody.textContent = "";
    tbody.appendChild(rows);

    var listed = p.removed_rows.length;
    var message = listed < p.removed ?
      "Listing the " + int(listed) + " lowest-scoring of " + int(p.removed) + " removed rows; " +
        int(p.removed - listed) + " hidden (at most " + int(data.cap) + " per threshold)." :
      "Listing all " + int(p.removed) + " removed rows.";
    if (p.restored > 0) {
      message += " Also " + int(p.restored_rows.length) +
        (p.restored_rows.length < p.restored ? " of " + int(p.restored) : "") +
        " rows removed at " + at + " but kept here.";
    }
    if (needle) { message += " " + int(list.length) + " match the filter."; }
    shown.textContent = message;
  }

  slider.addEventListener("input", render);
  slider.addEventListener("change", render);
  filter.addEventListener("input", render);
  sortButton.addEventListener("click", function () {
    descending = !descending;
    scoreHead.setAttribute("aria-sort", descending ? "descending" : "ascending");
    render();
  });
  dots.forEach(function (dot) {
    dot.addEventListener("click", function () {
      slider.value = dot.getAttribute("data-i");
      render();
      slider.focus();
    });
  });
  render();
  document.body.dataset.ready = "1";
})();
