// semsift report.html: the map explorer. It reads the points from the JSON data block
// #map-data, draws them on the canvas #map-canvas by writing pixels, and writes what it
// shows with textContent and createElement only, never as markup.
//
// For tests it records on the canvas: data-frames, data-last-frame-ms,
// data-max-frame-ms, data-total-frame-ms (draw durations), data-ready-ms (load to the
// first frame), data-pinned (the pinned point's index) and the view: a point with
// quantised coordinates (x, y) is drawn at CSS pixel (data-ox + x * data-scale,
// data-oy + y * data-scale) from the canvas's top left corner. When the first frame is
// drawn, body gets data-map-ready="1".
(function () {
  "use strict";
  var canvas = document.getElementById("map-canvas");
  var source = document.getElementById("map-data");
  if (!canvas || !source || !canvas.getContext) {
    document.body.dataset.mapReady = "1";
    return;
  }
  var $ = function (id) { return document.getElementById(id); };
  var wrap = canvas.parentNode, tip = $("map-tip"), pin = $("map-pin");
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
    if (window.ResizeObserver) {
      new ResizeObserver(function () { if (resize()) { schedule(); } }).observe(canvas);
    }
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

  // ---- View and drawing ----------------------------------------------------------

  function fitted() {
    var m = 24, ex = Math.max(bounds.x1 - bounds.x0, 64), ey = Math.max(bounds.y1 - bounds.y0, 64);
    var s = Math.min(Math.max(cssW - 2 * m, 1) / ex, Math.max(cssH - 2 * m, 1) / ey);
    return {
      scale: s,
      ox: cssW / 2 - (bounds.x0 + bounds.x1) / 2 * s,
      oy: cssH / 2 - (bounds.y0 + bounds.y1) / 2 * s
    };
  }
  function reset() {
    view = fitted();
    moved = false;
    setHover(-1);
    schedule();
  }

  // Sizes the canvas's pixels to its box; whether anything changed.
  function resize() {
    var r = canvas.getBoundingClientRect();
    var w = Math.max(1, Math.round(r.width)), h = Math.max(1, Math.round(r.height));
    var ratio = window.devicePixelRatio || 1;
    var pw = Math.max(1, Math.round(w * ratio)), ph = Math.max(1, Math.round(h * ratio));
    if (image && w === cssW && h === cssH && pw === canvas.width && ph === canvas.height) {
      return false;
    }
    if (moved && cssW) {
      view.ox += (w - cssW) / 2;
      view.oy += (h - cssH) / 2;
    }
    cssW = w;
    cssH = h;
    dpr = pw / w;
    canvas.width = pw;
    canvas.height = ph;
    image = ctx.createImageData(pw, ph);
    pixels = new Uint32Array(image.data.buffer);
    fitScale = fitted().scale;
    if (!moved) { view = fitted(); }
    return true;
  }

  function schedule() {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  }

  // The point radius in device pixels: smaller for many points, larger zoomed in.
  function radius() {
    var base = n <= 2000 ? 3 : n <= 20000 ? 2.2 : 1.6, z = view.scale / fitScale;
    var grow = z > 1 ? Math.min(1 + Math.log2(z) * 0.35, 3.2) : Math.max(0.6, Math.sqrt(z));
    return base * grow * dpr;
  }
  // Pixel offsets of a disc of radius r (a ring when inner > 0) in rows w pixels wide.
  function offsets(r, inner, w) {
    var off = [], dx = [], dy = [], R = Math.ceil(r);
    for (var y = -R; y <= R; y++) {
      for (var x = -R; x <= R; x++) {
        var d = x * x + y * y;
        if (d <= r * r + 0.25 && (inner <= 0 || d > inner * inner)) {
          off.push(y * w + x);
          dx.push(x);
          dy.push(y);
        }
      }
    }
    return { off: Int32Array.from(off), dx: Int32Array.from(dx), dy: Int32Array.from(dy), R: R };
  }
  function stamps(r, w) {
    r = Math.round(r * 4) / 4;
    if (stamp.r === r && stamp.w === w) { return; }
    var outer = Math.max(r, 2);
    stamp = { r: r, w: w, disc: offsets(r, 0, w), ring: offsets(outer, outer - 1.2, w) };
  }

  function draw() {
    pending = false;
    if (!image) { return; }
    var t0 = performance.now();
    var w = canvas.width, h = canvas.height, px = pixels;
    px.fill(pack(BG));
    stamps(radius(), w);
    var s = view.scale * dpr, ox = view.ox * dpr, oy = view.oy * dpr;
    var pal = palettes[state.level], idx = state.level === "fine" ? fIdx : cIdx;
    var full = pal.full, faint = pal.faint, disc = stamp.disc, ring = stamp.ring;
    var R = Math.max(disc.R, ring.R);
    for (var k = 0; k < order.length; k++) {
      var i = order[k], fx = ox + X[i] * s, fy = oy + Y[i] * s;
      if (fx < -R || fy < -R || fx >= w + R || fy >= h + R) { continue; }
      var cx = Math.round(fx), cy = Math.round(fy);
      var colour = k < nFaint ? faint[idx[i]] : full[idx[i]];
      var st = REF[i] ? ring : disc, off = st.off, j;
      if (cx >= R && cy >= R && cx < w - R && cy < h - R) {
        var base = cy * w + cx;
        for (j = 0; j < off.length; j++) { px[base + off[j]] = colour; }
      } else {
        for (j = 0; j < off.length; j++) {
          var x = cx + st.dx[j], y = cy + st.dy[j];
          if (x >= 0 && y >= 0 && x < w && y < h) { px[y * w + x] = colour; }
        }
      }
    }
    ctx.putImageData(image, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    labels();
    mark(pinned, "#1d2330", 2.5);
    mark(hover, "#3b5bdb", 1.5);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    var ms = performance.now() - t0, d = canvas.dataset;
    stats.frames++;
    stats.max = Math.max(stats.max, ms);
    stats.total += ms;
    d.frames = String(stats.frames);
    d.lastFrameMs = ms.toFixed(2);
    d.maxFrameMs = stats.max.toFixed(2);
    d.totalFrameMs = stats.total.toFixed(2);
    d.scale = String(view.scale);
    d.ox = String(view.ox);
    d.oy = String(view.oy);
  }

  // A ring around point i (none when i < 0).
  function mark(i, colour, width) {
    if (i < 0) { return; }
    var x = view.ox + X[i] * view.scale, y = view.oy + Y[i] * view.scale;
    var r = radius() / dpr + 3.5;
    ctx.beginPath();
    ctx.arc(x, y, r + 1.5, 0, 2 * Math.PI);
    ctx.lineWidth = width + 2;
    ctx.strokeStyle = "rgba(255,255,255,.9)";
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.lineWidth = width;
    ctx.strokeStyle = colour;
    ctx.stroke();
  }

  // Topic labels at their centroids, largest topics first, none overlapping another:
  // the coarse topics zoomed out, the fine ones zoomed in.
  function labels() {
    var useFine = !fineSame && view.scale / fitScale >= FINE_ZOOM;
    var list = useFine ? fine : coarse, key = useFine ? "f" : "c";
    var placed = [];
    ctx.font = useFine ? "500 12px system-ui, sans-serif" : "600 13px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.lineJoin = "round";
    var rank = ranks[useFine ? "fine" : "coarse"];
    for (var r = 0; r < rank.length && placed.length < LABELS; r++) {
      var k = rank[r], t = list[k];
      if (state.topic !== null && (useFine ? t.parent : t.id) !== state.topic) { continue; }
      var x = view.ox + t.x * view.scale, y = view.oy + t.y * view.scale;
      if (x < 0 || y < 0 || x > cssW || y > cssH) { continue; }
      var text = clip(t.label || "topic " + t.id, 36);
      var width = widths[key + k];
      if (width === undefined) { width = widths[key + k] = ctx.measureText(text).width; }
      var box = [x - width / 2 - 4, y - 10, x + width / 2 + 4, y + 10];
      var free = placed.every(function (b) {
        return box[2] < b[0] || box[0] > b[2] || box[3] < b[1] || box[1] > b[3];
      });
      if (!free) { continue; }
      placed.push(box);
      ctx.lineWidth = 4;
      ctx.strokeStyle = "rgba(255,255,255,.92)";
      ctx.strokeText(text, x, y);
      ctx.fillStyle = "#1d2330";
      ctx.fillText(text, x, y);
    }
  }

  // ---- Interaction ---------------------------------------------------------------------

  // The shown point nearest (x, y) (CSS pixels on the canvas) within reach, else -1.
  function nearest(x, y) {
    if (!n) { return -1; }
    var s = view.scale, qx = (x - view.ox) / s, qy = (y - view.oy) / s;
    var reach = Math.max(REACH, radius() / dpr + 2), rq = reach / s;
    var cell = function (v) { return Math.min(GRID - 1, Math.max(0, Math.floor(v / CELL))); };
    var best = -1, bestD = reach * reach;
    for (var gy = cell(qy - rq); gy <= cell(qy + rq); gy++) {
      for (var gx = cell(qx - rq); gx <= cell(qx + rq); gx++) {
        var c = gy * GRID + gx;
        for (var k = cellStart[c]; k < cellStart[c + 1]; k++) {
          var i = cellItems[k];
          if (match[i] !== 2) { continue; }
          var dx = (X[i] - qx) * s, dy = (Y[i] - qy) * s, d = dx * dx + dy * dy;
          if (d < bestD || (d === bestD && best >= 0 && !REF[i] && REF[best])) {
            best = i;
            bestD = d;
          }
        }
      }
    }
    return best;
  }

  function setHover(i, x, y) {
    if (i !== hover) {
      hover = i;
      if (i >= 0) { details(tip, i); }
      tip.hidden = i < 0;
      schedule();
    }
    if (i >= 0) {
      var tw = tip.offsetWidth, th = tip.offsetHeight;
      var left = x + 14, top = y + 14;
      if (left + tw > cssW) { left = Math.max(0, x - 14 - tw); }
      if (top + th > cssH) { top = Math.max(0, y - 14 - th); }
      tip.style.left = left + "px";
      tip.style.top = top + "px";
    }
  }

  function pinRow(i, reveal) {
    pinned = i;
    details(pinBody, i);
    pin.hidden = false;
    canvas.dataset.pinned = String(i);
    Array.prototype.forEach.call(table.tBodies[0].rows, function (tr) {
      tr.classList.toggle("pinned", tr.dataset.i === String(i));
    });
    if (reveal) {
      var x = view.ox + X[i] * view.scale, y = view.oy + Y[i] * view.scale;
      if (x < 20 || y < 20 || x > cssW - 20 || y > cssH - 20) {
        view.ox += cssW / 2 - x;
        view.oy += cssH / 2 - y;
        moved = true;
      }
      section.scrollIntoView({ block: "nearest" });
    }
    schedule();
  }
  function unpin() {
    if (pinned < 0) { return; }
    pinned = -1;
    pin.hidden = true;
    delete canvas.dataset.pinned;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (tr) {
      tr.classList.remove("pinned");
    });
    schedule();
  }

  function zoomAt(x, y, factor) {
    var s = Math.min(Math.max(view.scale * factor, fitScale * 0.5), fitScale * MAX_ZOOM);
    var f = s / view.scale;
    view.ox = x - (x - view.ox) * f;
    view.oy = y - (y - view.oy) * f;
    view.scale = s;
    moved = true;
    setHover(-1);
    schedule();
  }
  function pan(dx, dy) {
    view.ox += dx;
    view.oy += dy;
    moved = true;
    setHover(-1);
    schedule();
  }

  function interaction() {
    var local = function (e) {
      var r = canvas.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    };
    canvas.addEventListener("pointerdown", function (e) {
      if (e.button !== 0) { return; }
      drag = { x: e.clientX, y: e.clientY, ox: view.ox, oy: view.oy, moved: false };
      try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* not capturable */ }
    });
    canvas.addEventListener("pointermove", function (e) {
      var p = local(e);
      if (!drag) { setHover(nearest(p.x, p.y), p.x, p.y); return; }
      var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (!drag.moved && dx * dx + dy * dy > 9) {
        drag.moved = true;
        canvas.classList.add("dragging");
        setHover(-1);
      }
      if (drag.moved) {
        view.ox = drag.ox + dx;
        view.oy = drag.oy + dy;
        moved = true;
        schedule();
      }
    });
    canvas.addEventListener("pointerup", function (e) {
      if (!drag) { return; }
      var was = drag;
      drag = null;
      canvas.classList.remove("dragging");
      if (!was.moved) {
        var p = local(e), i = nearest(p.x, p.y);
        if (i >= 0) { pinRow(i, false); } else { unpin(); }
      }
    });
    canvas.addEventListener("pointercancel", function () {
      drag = null;
      canvas.classList.remove("dragging");
    });
    canvas.addEventListener("pointerleave", function () { if (!drag) { setHover(-1); } });
    canvas.addEventListener("wheel", function (e) {
      e.preventDefault();
      var unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? cssH : 1, p = local(e);
      zoomAt(p.x, p.y, Math.exp(Math.max(-300, Math.min(300, -e.deltaY * unit)) * 0.002));
    }, { passive: false });
    canvas.addEventListener("keydown", function (e) {
      var step = 60, keys = {
        "+": function () { zoomAt(cssW / 2, cssH / 2, 1.5); },
        "=": function () { zoomAt(cssW / 2, cssH / 2, 1.5); },
        "-": function () { zoomAt(cssW / 2, cssH / 2, 1 / 1.5); },
        "_": function () { zoomAt(cssW / 2, cssH / 2, 1 / 1.5); },
        "0": reset,
        ArrowLeft: function () { pan(step, 0); },
        ArrowRight: function () { pan(-step, 0); },
        ArrowUp: function () { pan(0, step); },
        ArrowDown: function () { pan(0, -step); }
      };
      if (keys[e.key] && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        keys[e.key]();
      }
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape") {
        unpin();
        setHover(-1);
      }
    });
    // Hovering a topic elsewhere in the page (a table row, a bar, a card) brings its
    // rows to the front and fades the others.
    document.addEventListener("mouseover", function (e) {
      var el = e.target && e.target.closest ? e.target.closest("[data-topic]") : null;
      var id = el && !section.contains(el) ? Number(el.getAttribute("data-topic")) : null;
      if (id !== state.highlight) {
        state.highlight = id;
        reorder();
        schedule();
      }
    });
  }
})();
