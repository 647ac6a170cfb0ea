// semsift report.html: the map explorer. It reads the points from the JSON data block
// #map-data, draws them on the canvas #map-canvas by writing pixels, and writes what it
// shows with textContent and createElement only, never as markup.
//
// For tests it records on the canvas: data-frames, data-last-frame-ms,
// data-max-frame-ms, data-total-frame-ms (draw durations), data-ready-ms (load to the
// first frame), data-pinned (the pinned point's index) and the view: a point with
// quantised coordinates (x, y) is drawn at CSS pixel (data-ox + x * data-scale,
// data-oy + y * data-scale) from the canvas's top left corner, and the canvas has
// data-dpr device pixels per CSS pixel. When the first frame is drawn, body gets
// data-map-ready="1".
//
// This file and explorer_view.js are the body of one function: src/report/html.rs
// joins them as `(function () { explorer.js explorer_view.js })();` after report.js,
// so they share these variables and nothing is global. This file holds the data, the
// filters, the details of a row and the table; explorer_view.js the view, the drawing
// and the mouse and keyboard.
"use strict";
var canvas = document.getElementById("map-canvas");
var source = document.getElementById("map-data");
if (!canvas || !source || !canvas.getContext) {
  document.body.dataset.mapReady = "1";
  return;
}
var $ = function (id) { return document.getElementById(id); };
var tip = $("map-tip"), pin = $("map-pin");
var pinBody = $("map-pin-body"), countLine = $("map-count");
var table = $("map-table"), tableNote = $("map-table-note"), section = $("map");
var ctx = canvas.getContext("2d");

var BG = [251, 252, 253];   // the canvas background, #fbfcfd
var FAINT = 0.86;           // how far rows outside the filters fade into the background
var REACH = 6;              // hover and click reach, CSS pixels
var TABLE_ROWS = 200;       // rows listed in the table
var FINE_ZOOM = 3;          // zoom from which the fine topics are labelled
var MAX_ZOOM = 4000;
var GRID = 128, CELL = 512; // the hover grid: 128 × 128 cells over 0..65535
var LABELS = 60;            // labels drawn at most
var LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// The data, column by column (see src/report/html_map.rs).
var n = 0, X, Y, TOPIC, REF, ROW, COPIES, FLAGS, TEXT, lowered = null;
var coarse, fine, cIdx, fIdx, fineSame, ranks = {};
var palettes = {};
var bounds = { x0: 0, x1: 0, y0: 0, y1: 0 };
var cellStart, cellItems;
// What the filters let through: 0 hidden, 1 faint, 2 shown.
var match, shown = 0, order = new Int32Array(0), nFaint = 0;
var state = {
  input: true, reference: true, dups: false, outliers: false,
  topic: null, query: "", level: "coarse", highlight: null
};
// The view, in CSS pixels: screen = offset + quantised * scale.
var view = { scale: 1, ox: 0, oy: 0 }, fitScale = 1, moved = false;
var cssW = 0, cssH = 0, dpr = 1, image = null, pixels = null;
var hover = -1, pinned = -1, drag = null, pending = false;
var stamp = { r: -1, w: -1 }, widths = Object.create(null);
var stats = { frames: 0, max: 0, total: 0 };

setTimeout(start, 0);

function start() {
  load();
  controls();
  filter();
  resize();
  draw();
  canvas.dataset.readyMs = performance.now().toFixed(1);
  document.body.dataset.mapReady = "1";
  var refit = function () { if (resize()) { schedule(); } };
  if (window.ResizeObserver) {
    // The device-pixel box changes with the zoom level or a move to another screen too.
    var observer = new ResizeObserver(refit);
    try {
      observer.observe(canvas, { box: "device-pixel-content-box" });
    } catch (err) {
      observer.observe(canvas);
    }
  }
  // Where that box is not watched: a change of the device pixel ratio.
  var watchRatio = function () {
    var query = window.matchMedia("(resolution: " + (window.devicePixelRatio || 1) + "dppx)");
    query.addEventListener("change", function () { refit(); watchRatio(); }, { once: true });
  };
  if (window.matchMedia) { watchRatio(); }
}

// ---- Data ----------------------------------------------------------------------

function pack(c) {
  return (LITTLE ? (255 << 24) | (c[2] << 16) | (c[1] << 8) | c[0]
    : (c[0] << 24) | (c[1] << 16) | (c[2] << 8) | 255) >>> 0;
}
function rgb(hex) {
  var v = parseInt(String(hex).slice(1, 7), 16);
  if (isNaN(v)) { v = 0x808080; }
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}
function fade(c, t) {
  return [0, 1, 2].map(function (k) { return Math.round(c[k] + (BG[k] - c[k]) * t); });
}
function palette(list) {
  var full = new Uint32Array(list.length), faint = new Uint32Array(list.length);
  list.forEach(function (t, k) {
    var c = rgb(t.colour);
    full[k] = pack(c);
    faint[k] = pack(fade(c, FAINT));
  });
  return { full: full, faint: faint };
}
function indexOf(list, ids) {
  var at = Object.create(null), out = new Int32Array(ids.length);
  list.forEach(function (t, k) { at[t.id] = k; });
  for (var i = 0; i < ids.length; i++) { out[i] = at[ids[i]] || 0; }
  return out;
}
// Topic indices, largest first: the order labels are placed in.
function ranked(list) {
  return list.map(function (t, k) { return k; })
    .filter(function (k) { return list[k].n > 0 && list[k].x !== undefined; })
    .sort(function (a, b) { return list[b].n - list[a].n || a - b; });
}

function load() {
  var d = JSON.parse(source.textContent);
  n = d.x.length;
  X = Uint16Array.from(d.x);
  Y = Uint16Array.from(d.y);
  TOPIC = d.topic;
  REF = Uint8Array.from(d.ref);
  ROW = d.row;
  COPIES = d.copies;
  FLAGS = Uint8Array.from(d.flags);
  TEXT = d.text;
  coarse = d.topics.length ? d.topics : [{ id: 0, label: "", colour: "#4e79a7", n: 0 }];
  fine = d.fine_topics.length ? d.fine_topics : coarse;
  cIdx = indexOf(coarse, d.topic);
  fIdx = indexOf(fine, d.fine);
  fineSame = fine.length === coarse.length && fine.every(function (f, k) {
    return f.id === coarse[k].id && (f.parent === undefined || f.parent === f.id);
  });
  ranks.coarse = ranked(coarse);
  ranks.fine = ranked(fine);
  palettes.coarse = palette(coarse);
  palettes.fine = palette(fine);
  match = new Uint8Array(n);
  if (n) {
    bounds = { x0: 65535, x1: 0, y0: 65535, y1: 0 };
    for (var i = 0; i < n; i++) {
      if (X[i] < bounds.x0) { bounds.x0 = X[i]; }
      if (X[i] > bounds.x1) { bounds.x1 = X[i]; }
      if (Y[i] < bounds.y0) { bounds.y0 = Y[i]; }
      if (Y[i] > bounds.y1) { bounds.y1 = Y[i]; }
    }
  }
  // The hover grid: the points of each cell, cell after cell (a counting sort).
  cellStart = new Int32Array(GRID * GRID + 1);
  cellItems = new Int32Array(n);
  var cellOf = function (i) { return ((Y[i] / CELL) | 0) * GRID + ((X[i] / CELL) | 0); };
  for (var p = 0; p < n; p++) { cellStart[cellOf(p) + 1]++; }
  for (var c = 0; c < GRID * GRID; c++) { cellStart[c + 1] += cellStart[c]; }
  var fillAt = cellStart.slice(0, GRID * GRID);
  for (var q = 0; q < n; q++) { cellItems[fillAt[cellOf(q)]++] = q; }
}

// ---- Filters ----------------------------------------------------------------------

function fmt(v) { return String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

function filter() {
  var s = state, q = s.query;
  if (q && !lowered) { lowered = TEXT.map(function (t) { return String(t).toLowerCase(); }); }
  shown = 0;
  for (var i = 0; i < n; i++) {
    var m = 0;
    if (REF[i] ? s.reference : s.input) {
      var ok = (!s.dups || (FLAGS[i] & 1)) && (!s.outliers || (FLAGS[i] & 2)) &&
        (s.topic === null || TOPIC[i] === s.topic) && (!q || lowered[i].indexOf(q) >= 0);
      m = ok ? 2 : 1;
    }
    match[i] = m;
    if (m === 2) { shown++; }
  }
  countLine.textContent = fmt(shown) + " of " + fmt(n) + " rows";
  if (hover >= 0 && match[hover] !== 2) { setHover(-1); }
  fillTable();
  reorder();
  schedule();
}

// The drawing order: faint rows first, then the shown ones; in each, reference rows
// before input rows, so that the input's dots stay on top.
function reorder() {
  var hl = state.highlight, total = 0, k = 0, i;
  for (i = 0; i < n; i++) { if (match[i]) { total++; } }
  if (order.length !== total) { order = new Int32Array(total); }
  var front = function (j) { return match[j] === 2 && (hl === null || TOPIC[j] === hl); };
  for (var pass = 0; pass < 4; pass++) {
    var wantFront = pass >= 2, wantRef = pass % 2 === 0;
    if (pass === 2) { nFaint = k; }
    for (i = 0; i < n; i++) {
      if (match[i] && front(i) === wantFront && (REF[i] === 1) === wantRef) { order[k++] = i; }
    }
  }
}

function add(parent, tag, className, text) {
  var el = document.createElement(tag);
  if (className) { el.className = className; }
  if (text !== undefined) { el.textContent = text; }
  parent.appendChild(el);
  return el;
}
function clip(text, max) {
  text = String(text);
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}
function topicName(t, word) {
  return word + " " + t.id + ": " + (t.label || "(no label)");
}
function swatch(parent, t) {
  var sw = add(parent, "span", "sw");
  sw.style.background = t.colour;
}

// A row's details: set, row, copies, topics, flags and text.
function details(el, i) {
  el.textContent = "";
  var copies = COPIES[i] > 1 ? fmt(COPIES[i]) + " identical rows" : "unique text";
  add(el, "div", "map-d-head",
    (REF[i] ? "reference" : "input") + " · row " + fmt(ROW[i]) + " · " + copies);
  var line = add(el, "div", "map-d-topic");
  swatch(line, coarse[cIdx[i]]);
  line.appendChild(document.createTextNode(topicName(coarse[cIdx[i]], "Topic")));
  if (!fineSame) {
    line = add(el, "div", "map-d-topic");
    swatch(line, fine[fIdx[i]]);
    line.appendChild(document.createTextNode(topicName(fine[fIdx[i]], "Fine topic")));
  }
  var flags = [];
  if (FLAGS[i] & 1) { flags.push("near duplicate"); }
  if (FLAGS[i] & 2) { flags.push("outlier"); }
  if (flags.length) { add(el, "div", "map-d-flags", flags.join(" · ")); }
  add(el, "div", "map-d-text", clip(TEXT[i], 240));
}

function fillTable() {
  var tbody = table.tBodies[0], rows = document.createDocumentFragment(), listed = 0;
  tbody.textContent = "";
  for (var i = 0; i < n && listed < TABLE_ROWS; i++) {
    if (match[i] !== 2) { continue; }
    listed++;
    var tr = add(rows, "tr");
    tr.dataset.i = String(i);
    tr.tabIndex = 0;
    if (i === pinned) { tr.className = "pinned"; }
    add(tr, "td", "", REF[i] ? "reference" : "input");
    add(tr, "td", "num", fmt(ROW[i]));
    var cell = add(tr, "td", "topic");
    swatch(cell, coarse[cIdx[i]]);
    cell.appendChild(document.createTextNode(clip(topicName(coarse[cIdx[i]], ""), 48)));
    var flags = [];
    if (FLAGS[i] & 1) { flags.push("dup"); }
    if (FLAGS[i] & 2) { flags.push("outlier"); }
    add(tr, "td", "", flags.join(", "));
    add(tr, "td", "text", clip(TEXT[i], 160));
  }
  tbody.appendChild(rows);
  tableNote.textContent = !shown ? "No rows match." : shown > TABLE_ROWS
    ? "The first " + TABLE_ROWS + " of the " + fmt(shown) + " matching rows; click one to pin it on the map."
    : "The " + fmt(shown) + " matching rows; click one to pin it on the map.";
}

function controls() {
  var check = function (id, key) {
    var el = $(id);
    if (!el) { return; }
    state[key] = el.checked;
    el.addEventListener("change", function () { state[key] = el.checked; filter(); });
  };
  check("map-show-input", "input");
  check("map-show-reference", "reference");
  check("map-only-dups", "dups");
  check("map-only-outliers", "outliers");
  var search = $("map-search"), timer = 0;
  var query = function () { state.query = search.value.toLowerCase(); filter(); };
  state.query = search.value.toLowerCase();
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(query, 150);
  });
  var topic = $("map-topic");
  var pick = function () { return topic.value === "" ? null : Number(topic.value); };
  state.topic = pick();
  topic.addEventListener("change", function () { state.topic = pick(); filter(); });
  var level = $("map-level");
  state.level = level.value === "fine" ? "fine" : "coarse";
  level.addEventListener("change", function () {
    state.level = level.value === "fine" ? "fine" : "coarse";
    schedule();
  });
  $("map-reset").addEventListener("click", reset);
  $("map-unpin").addEventListener("click", unpin);
  var tbody = table.tBodies[0];
  var choose = function (event) {
    var tr = event.target.closest ? event.target.closest("tr") : null;
    if (tr && tr.dataset.i !== undefined) { pinRow(Number(tr.dataset.i), true); }
  };
  tbody.addEventListener("click", choose);
  tbody.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); choose(event); }
  });
  interaction();
}
