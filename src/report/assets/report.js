// semsift report.html: sortable tables and topic highlighting. No data is read from
// anywhere but data-* attributes and cell text; nothing is written as markup.
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
  var each = function (list, f) { Array.prototype.forEach.call(list, f); };

  // Sortable tables: cells sort by their data-sort number, else by their text.
  function cellKey(row, index) {
    var cell = row.cells[index];
    if (!cell) { return { num: NaN, text: "" }; }
    var raw = cell.getAttribute("data-sort");
    return {
      num: raw === null || raw === "" ? NaN : parseFloat(raw),
      text: (cell.textContent || "").trim().toLowerCase()
    };
  }
  function compare(a, b) {
    var an = !isNaN(a.num), bn = !isNaN(b.num);
    if (an && bn) { return a.num - b.num; }
    if (an !== bn) { return an ? -1 : 1; }
    return a.text < b.text ? -1 : (a.text > b.text ? 1 : 0);
  }
  function sortBy(table, th, index) {
    var tbody = table.tBodies[0];
    if (!tbody) { return; }
    var state = th.getAttribute("aria-sort");
    var ascending = state ? state === "descending" : !th.classList.contains("num");
    each(th.parentNode.children, function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.map.call(tbody.rows, function (row, i) {
      return { row: row, key: cellKey(row, index), i: i };
    });
    rows.sort(function (a, b) {
      var c = compare(a.key, b.key);
      return (ascending ? c : -c) || a.i - b.i;
    });
    rows.forEach(function (r) { tbody.appendChild(r.row); });
  }
  each(document.querySelectorAll("table.sortable"), function (table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) { return; }
    each(head.cells, function (th, index) {
      th.addEventListener("click", function () { sortBy(table, th, index); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(table, th, index);
        }
      });
    });
  });

  // Highlighting: hovering anything with data-topic dims the other topics in the charts.
  var charts = document.querySelectorAll("svg.chart");
  var marks = Object.create(null);
  each(charts, function (svg) {
    each(svg.querySelectorAll("[data-topic]"), function (el) {
      var id = el.getAttribute("data-topic");
      (marks[id] = marks[id] || []).push(el);
    });
  });
  var current = null;
  function highlight(id) {
    if (id === current) { return; }
    if (current !== null) {
      (marks[current] || []).forEach(function (el) { el.classList.remove("hl"); });
    }
    current = id;
    each(charts, function (svg) { svg.classList.toggle("dim", id !== null); });
    if (id !== null) {
      (marks[id] || []).forEach(function (el) { el.classList.add("hl"); });
    }
  }
  function onPointer(event) {
    var target = event.target;
    var el = target && target.closest ? target.closest("[data-topic]") : null;
    highlight(el ? el.getAttribute("data-topic") : null);
  }
  document.addEventListener("mouseover", onPointer);
  document.addEventListener("focusin", onPointer);
  document.documentElement.addEventListener("mouseleave", function () { highlight(null); });

  document.body.dataset.ready = "1";
})();
