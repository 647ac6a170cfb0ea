// semsift report.html: the map explorer's view, drawing and input. The second half of
// the explorer's function body (see explorer.js, which declares the shared state).

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
  d.dpr = String(dpr);
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
// the coarse topics zoomed out, the fine ones zoomed in or when colouring by them.
function labels() {
  var useFine = !fineSame && (state.level === "fine" || view.scale / fitScale >= FINE_ZOOM);
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
