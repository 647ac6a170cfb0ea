//! The map explorer of `report.html` (`src/report/assets/explorer.js` and
//! `explorer_view.js`) in a real headless Chromium, driven over the DevTools protocol
//! (`tests/common/cdp.rs`): hover, pin and unpin with the mouse and keys, search and
//! filters, wheel zoom and drag pan, colours and fading, a high-DPI screen, and (in
//! `explorer_browser/synthetic.rs`) a 100,000-point map's load and frame times and a
//! screenshot. All `#[ignore]`d: they need Chromium, and scripts/test.sh runs them
//! with `--ignored` wherever it is installed.
//!
//! Where a point is drawn is computed here, from the page's data block and the view
//! transform the canvas publishes (`data-scale`, `data-ox`, `data-oy`): a point with
//! quantised coordinates (x, y) sits at CSS pixel (ox + x·scale, oy + y·scale) from the
//! canvas's top left corner.

mod common;
#[path = "explorer_browser/page.rs"]
mod page;
/// The 100,000-point map's timings and the screenshot.
#[path = "explorer_browser/synthetic.rs"]
mod synthetic;

use common::report_fixture::{hostile_report, BREAKOUT};
use page::{
    assert_clean, faint, hidden, open, pixel, scratch, text_of, toggle, wait_count, Data, View,
    BACKGROUND, HEIGHT, REACT, WIDTH,
};
use semsift::report::model::MapPoint;
use serde_json::Value;

#[test]
#[ignore = "needs chromium (Debian package `chromium`); CI runs it with --ignored"]
fn hover_shows_the_row_and_click_pins_it() {
    let dir = scratch();
    let report = hostile_report();
    let (mut browser, html) = open(dir.path(), &report);
    let data = Data::parse(&html);
    let view = View::read(&mut browser);
    assert!(view.frames >= 1 && view.scale > 0.0, "{view:?}");
    assert!(hidden(&mut browser, "map-tip") && hidden(&mut browser, "map-pin"));

    // An input row with the script-breaking text, well away from every other point.
    let finite: Vec<&MapPoint> = report.map.points.iter().collect();
    let pick = (0..data.x.len())
        .filter(|&i| !finite[i].reference && data.text[i].contains(BREAKOUT))
        .max_by(|&a, &b| {
            let ca = view.clearance(&data, view.at(&data, a), Some(a));
            let cb = view.clearance(&data, view.at(&data, b), Some(b));
            ca.total_cmp(&cb)
        })
        .expect("an input row with hostile text");
    let spot = view.at(&data, pick);
    assert!(
        view.clearance(&data, spot, Some(pick)) > 8.0,
        "no isolated point"
    );
    let p = finite[pick];
    browser.mouse_move(spot.0 + 1.0, spot.1 - 1.0);
    browser.wait_for("!document.getElementById('map-tip').hidden", REACT);
    let shown = browser.eval(
        "(() => { const t = document.getElementById('map-tip'); \
         return [t.querySelector('.map-d-text').textContent, \
         t.querySelector('.map-d-head').textContent, t.textContent, \
         Array.from(t.querySelectorAll('*')).map(e => e.tagName).join(' ')]; })()",
    );
    assert_eq!(shown[0], p.text.as_str(), "the row's text, as text");
    let head = shown[1].as_str().expect("a head");
    assert!(
        head.starts_with(&format!("input · row {} · ", p.row)),
        "{head}"
    );
    let copies = match p.copies {
        1 => "unique text".to_string(),
        n => format!("{n} identical rows"),
    };
    assert!(head.ends_with(&copies), "{head}");
    let all = shown[2].as_str().expect("text");
    let label = &report.topics[p.topic].label;
    assert!(
        all.contains(&format!("Topic {}: {label}", p.topic)),
        "{all}"
    );
    assert_eq!(all.contains("near duplicate"), p.near_duplicate, "{all}");
    assert_eq!(all.contains("outlier"), p.outlier, "{all}");
    let tags = shown[3].as_str().expect("tags");
    assert!(
        tags.split(' ').all(|t| t == "DIV" || t == "SPAN"),
        "only text elements: {tags}"
    );

    // Away from every point: the tip goes.
    let empty = (0..40)
        .flat_map(|gx| (0..20).map(move |gy| (gx, gy)))
        .map(|(gx, gy)| {
            (
                view.left + 10.0 + gx as f64 * (view.width / 2.0 - 20.0) / 40.0,
                view.top + 10.0 + gy as f64 * (view.height - 20.0) / 20.0,
            )
        })
        .find(|&at| view.clearance(&data, at, None) > 25.0)
        .expect("empty space on the map");
    browser.mouse_move(empty.0, empty.1);
    browser.wait_for("document.getElementById('map-tip').hidden", REACT);

    // Click pins; Escape unpins.
    browser.click(spot.0, spot.1);
    browser.wait_for("!document.getElementById('map-pin').hidden", REACT);
    assert_eq!(
        browser.eval("document.getElementById('map-canvas').dataset.pinned"),
        pick.to_string()
    );
    let pinned = text_of(&mut browser, "map-pin-body");
    assert!(pinned.contains(&format!("row {}", p.row)), "{pinned}");
    assert!(pinned.contains(&p.text), "{pinned}");
    browser.key("Escape");
    browser.wait_for("document.getElementById('map-pin').hidden", REACT);
    assert_eq!(
        browser.eval("document.getElementById('map-canvas').dataset.pinned ?? null"),
        Value::Null
    );

    // Pin again; a click on empty space unpins; so does the unpin button.
    browser.click(spot.0, spot.1);
    browser.wait_for("!document.getElementById('map-pin').hidden", REACT);
    browser.click(empty.0, empty.1);
    browser.wait_for("document.getElementById('map-pin').hidden", REACT);
    browser.click(spot.0, spot.1);
    browser.wait_for("!document.getElementById('map-pin').hidden", REACT);
    let (x, y) = browser.center_of("#map-unpin");
    browser.click(x, y);
    browser.wait_for("document.getElementById('map-pin').hidden", REACT);

    // A row of the table pins its point.
    let (x, y) = browser.center_of("#map-table tbody tr:nth-child(3)");
    browser.click(x, y);
    browser.wait_for("!document.getElementById('map-pin').hidden", REACT);
    let third = browser.eval(
        "[document.querySelector('#map-table tbody tr:nth-child(3)').dataset.i, \
         document.getElementById('map-canvas').dataset.pinned, \
         document.querySelector('#map-table tbody tr:nth-child(3)').className]",
    );
    assert_eq!(third[0], "2", "rows in data order");
    assert_eq!(third[1], "2");
    assert_eq!(third[2], "pinned");
    let pinned = text_of(&mut browser, "map-pin-body");
    assert!(
        pinned.contains(&format!("row {} · ", report.map.points[2].row)),
        "{pinned}"
    );
    assert_eq!(
        browser.eval("document.querySelectorAll('#map-table tbody tr').length"),
        120
    );
    assert_clean(&mut browser);
}

#[test]
#[ignore = "needs chromium (Debian package `chromium`); CI runs it with --ignored"]
fn search_and_filters_set_the_count() {
    let dir = scratch();
    let report = hostile_report();
    let (mut browser, _) = open(dir.path(), &report);
    let points = &report.map.points;
    let total = points.len();
    let count = |f: &dyn Fn(&MapPoint) -> bool| points.iter().filter(|p| f(p)).count();
    wait_count(&mut browser, total, total);

    // Search: case-insensitive, over the texts.
    let (x, y) = browser.center_of("#map-search");
    browser.click(x, y);
    browser.type_text("ScRiPt>");
    let script = count(&|p| p.text.to_lowercase().contains("script>"));
    assert!(0 < script && script < total, "{script}");
    wait_count(&mut browser, script, total);
    let rows = browser.eval("document.querySelectorAll('#map-table tbody tr').length");
    assert_eq!(rows, script);
    browser.type_text(" 'single'");
    // Nothing has "script> 'single'": the QUOTES text starts with "it's".
    let none = count(&|p| p.text.to_lowercase().contains("script> 'single'"));
    wait_count(&mut browser, none, total);
    for _ in 0.." 'single'".len() {
        browser.key("Backspace");
    }
    wait_count(&mut browser, script, total);
    for _ in 0.."ScRiPt>".len() {
        browser.key("Backspace");
    }
    wait_count(&mut browser, total, total);
    let quotes = count(&|p| p.text.contains("\"quoted\" & 'single'"));
    browser.type_text("\"QUOTED\" & 'single'");
    wait_count(&mut browser, quotes, total);
    browser.eval("(() => { const s = document.getElementById('map-search'); s.select(); })()");
    browser.key("Backspace");
    wait_count(&mut browser, total, total);

    // The toggles, one after another.
    toggle(&mut browser, "map-show-reference");
    let input = count(&|p| !p.reference);
    wait_count(&mut browser, input, total);
    toggle(&mut browser, "map-only-dups");
    let dups = count(&|p| !p.reference && p.near_duplicate);
    wait_count(&mut browser, dups, total);
    toggle(&mut browser, "map-only-outliers");
    let both = count(&|p| !p.reference && p.near_duplicate && p.outlier);
    wait_count(&mut browser, both, total);
    toggle(&mut browser, "map-only-dups");
    let outliers = count(&|p| !p.reference && p.outlier);
    wait_count(&mut browser, outliers, total);
    toggle(&mut browser, "map-only-outliers");
    toggle(&mut browser, "map-show-reference");
    wait_count(&mut browser, total, total);
    toggle(&mut browser, "map-show-input");
    let reference = count(&|p| p.reference);
    wait_count(&mut browser, reference, total);
    toggle(&mut browser, "map-show-input");
    wait_count(&mut browser, total, total);

    // The topic selector, with the keyboard: the first topic, then the next.
    browser.eval("document.getElementById('map-topic').focus()");
    browser.key("ArrowDown");
    let topic0 = count(&|p| p.topic == report.topics[0].id);
    wait_count(&mut browser, topic0, total);
    browser.key("ArrowDown");
    let topic1 = count(&|p| p.topic == report.topics[1].id);
    wait_count(&mut browser, topic1, total);
    // With a search on top.
    let (x, y) = browser.center_of("#map-search");
    browser.click(x, y);
    browser.type_text("row 1");
    let both = count(&|p| p.topic == report.topics[1].id && p.text.contains("row 1"));
    wait_count(&mut browser, both, total);
    let listed = browser.eval(
        "Array.from(document.querySelectorAll('#map-table tbody tr')).map(r => Number(r.dataset.i))",
    );
    let expected: Vec<usize> = (0..total)
        .filter(|&i| points[i].topic == report.topics[1].id && points[i].text.contains("row 1"))
        .collect();
    assert_eq!(listed, serde_json::json!(expected));
    assert_clean(&mut browser);
}

#[test]
#[ignore = "needs chromium (Debian package `chromium`); CI runs it with --ignored"]
fn wheel_zooms_at_the_cursor_and_drag_pans() {
    let dir = scratch();
    let report = hostile_report();
    let (mut browser, html) = open(dir.path(), &report);
    let data = Data::parse(&html);
    let fit = View::read(&mut browser);
    // Whole pixels: mouse events carry integer coordinates.
    let (cx, cy) = (
        (fit.left + fit.width * 0.4).round(),
        (fit.top + fit.height * 0.6).round(),
    );
    // The data point under the cursor, before and after: it stays under the cursor.
    let under = |v: &View| {
        (
            (cx - v.left - v.ox) / v.scale,
            (cy - v.top - v.oy) / v.scale,
        )
    };
    browser.wheel(cx, cy, -240.0);
    browser.wait_for(
        &format!(
            "Number(document.getElementById('map-canvas').dataset.scale) > {}",
            fit.scale
        ),
        REACT,
    );
    let zoomed = View::read(&mut browser);
    assert!(zoomed.scale > fit.scale * 1.2, "{fit:?} → {zoomed:?}");
    let (a, b) = (under(&fit), under(&zoomed));
    assert!(
        (a.0 - b.0).abs() * zoomed.scale < 0.01 && (a.1 - b.1).abs() * zoomed.scale < 0.01,
        "the point under the cursor moved: {a:?} → {b:?}"
    );
    assert!(zoomed.frames > fit.frames);
    // Wheel the other way: out again.
    browser.wheel(cx, cy, 240.0);
    browser.wait_for(
        &format!(
            "Number(document.getElementById('map-canvas').dataset.scale) < {}",
            zoomed.scale
        ),
        REACT,
    );
    browser.wheel(cx, cy, -480.0);
    browser.wait_for(
        &format!(
            "Number(document.getElementById('map-canvas').dataset.scale) > {}",
            zoomed.scale
        ),
        REACT,
    );
    let zoomed = View::read(&mut browser);

    // Drag pans by exactly the mouse's way.
    browser.drag((cx, cy), (cx + 120.0, cy - 70.0), 8);
    browser.wait_for(
        &format!(
            "Number(document.getElementById('map-canvas').dataset.ox) > {}",
            zoomed.ox + 100.0
        ),
        REACT,
    );
    let panned = View::read(&mut browser);
    assert!(
        (panned.ox - zoomed.ox - 120.0).abs() < 0.01,
        "{zoomed:?} → {panned:?}"
    );
    assert!(
        (panned.oy - zoomed.oy + 70.0).abs() < 0.01,
        "{zoomed:?} → {panned:?}"
    );
    assert_eq!(panned.scale, zoomed.scale);
    assert!(hidden(&mut browser, "map-pin"), "a drag does not pin");

    // Hover still finds a point where the new view draws it.
    let visible: Vec<usize> = (0..data.x.len())
        .filter(|&i| {
            let (x, y) = panned.at(&data, i);
            x > panned.left + 20.0
                && y > panned.top + 20.0
                && x < panned.left + panned.width / 2.0
                && y < panned.top + panned.height - 20.0
        })
        .collect();
    let i = visible
        .iter()
        .copied()
        .max_by(|&a, &b| {
            let ca = panned.clearance(&data, panned.at(&data, a), Some(a));
            ca.total_cmp(&panned.clearance(&data, panned.at(&data, b), Some(b)))
        })
        .expect("a point in view");
    let (x, y) = panned.at(&data, i);
    browser.mouse_move(x, y);
    browser.wait_for("!document.getElementById('map-tip').hidden", REACT);
    let head = text_of(&mut browser, "map-tip");
    assert!(head.contains(&format!("row {} · ", data.row[i])), "{head}");

    // Keys on the focused canvas: arrows pan, + and - zoom, 0 resets.
    browser.eval("document.getElementById('map-canvas').focus()");
    browser.key("ArrowLeft");
    browser.wait_for(
        &format!(
            "Number(document.getElementById('map-canvas').dataset.ox) > {}",
            panned.ox + 50.0
        ),
        REACT,
    );
    browser.key("ArrowUp");
    browser.wait_for(
        &format!(
            "Number(document.getElementById('map-canvas').dataset.oy) > {}",
            panned.oy + 50.0
        ),
        REACT,
    );
    browser.eval(
        "document.getElementById('map-canvas').dispatchEvent(new KeyboardEvent('keydown', {key: '+', bubbles: true}))",
    );
    browser.wait_for(
        &format!(
            "Math.abs(Number(document.getElementById('map-canvas').dataset.scale) / {} - 1.5) < 1e-9",
            panned.scale
        ),
        REACT,
    );
    let (x, y) = browser.center_of("#map-reset");
    browser.click(x, y);
    browser.wait_for(
        &format!(
            "Math.abs(Number(document.getElementById('map-canvas').dataset.scale) - {}) < 1e-12",
            fit.scale
        ),
        REACT,
    );
    browser.frames(2);
    let reset = View::read(&mut browser);
    assert!((reset.ox - fit.ox).abs() < 1e-6 && (reset.oy - fit.oy).abs() < 1e-6);
    assert_clean(&mut browser);
}

#[test]
#[ignore = "needs chromium (Debian package `chromium`); CI runs it with --ignored"]
fn points_are_drawn_in_their_colours_and_fade_outside_the_filters() {
    let dir = scratch();
    let report = hostile_report();
    let (mut browser, html) = open(dir.path(), &report);
    let data = Data::parse(&html);
    let view = View::read(&mut browser);
    let colour = |i: usize| {
        let t = data.topics.iter().find(|t| t.0 == data.topic[i]);
        t.expect("the point's topic").1
    };
    // Points well away from the others and from every label.
    let clear = |i: usize| {
        let (x, y) = view.at(&data, i);
        let labels = data.topics.iter().filter_map(|t| t.2).all(|(lx, ly)| {
            let (lx, ly) = (
                view.left + view.ox + lx * view.scale,
                view.top + view.oy + ly * view.scale,
            );
            (lx - x).abs() > 170.0 || (ly - y).abs() > 16.0
        });
        labels && view.clearance(&data, (x, y), Some(i)) > 9.0
    };
    let points = &report.map.points;
    let input = (0..points.len())
        .find(|&i| !points[i].reference && !points[i].outlier && clear(i))
        .expect("an isolated input row");
    let reference = (0..points.len())
        .find(|&i| points[i].reference && clear(i))
        .expect("an isolated reference row");
    // Input rows are filled dots, reference rows rings in their topic's colour.
    assert_eq!(pixel(&mut browser, &view, &data, input, 0), colour(input));
    assert_eq!(pixel(&mut browser, &view, &data, reference, 0), BACKGROUND);
    assert_eq!(
        pixel(&mut browser, &view, &data, reference, 2),
        colour(reference)
    );
    assert_eq!(pixel(&mut browser, &view, &data, input, 6), BACKGROUND);

    // Outside the filters: faint.
    toggle(&mut browser, "map-only-outliers");
    wait_count(
        &mut browser,
        points.iter().filter(|p| p.outlier).count(),
        points.len(),
    );
    browser.frames(2);
    assert_eq!(
        pixel(&mut browser, &view, &data, input, 0),
        faint(colour(input))
    );
    toggle(&mut browser, "map-only-outliers");
    wait_count(&mut browser, points.len(), points.len());
    browser.frames(2);
    assert_eq!(pixel(&mut browser, &view, &data, input, 0), colour(input));

    // Hovering another topic elsewhere in the page fades this one; its own does not.
    let other = report
        .topics
        .iter()
        .map(|t| t.id as u64)
        .find(|&t| t != data.topic[input])
        .expect("another topic");
    for (topic, expected) in [
        (other, faint(colour(input))),
        (data.topic[input], colour(input)),
    ] {
        let (x, y) = browser.center_of(&format!("#shares g.bar[data-topic=\"{topic}\"]"));
        browser.mouse_move(x, y);
        browser.frames(3);
        assert_eq!(
            pixel(&mut browser, &view, &data, input, 0),
            expected,
            "hovering topic {topic}"
        );
    }
    let (x, y) = browser.center_of("#shares h2");
    browser.mouse_move(x, y);
    browser.frames(3);
    assert_eq!(pixel(&mut browser, &view, &data, input, 0), colour(input));
    assert_clean(&mut browser);
}

#[test]
#[ignore = "needs chromium (Debian package `chromium`); CI runs it with --ignored"]
fn a_high_dpi_screen_gets_device_pixels() {
    let dir = scratch();
    let report = hostile_report();
    let (mut browser, html) = open(dir.path(), &report);
    let data = Data::parse(&html);
    let before = View::read(&mut browser);
    assert_eq!(before.dpr, 1.0);
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 2, "mobile": false}),
    );
    browser.wait_for(
        "(() => { const c = document.getElementById('map-canvas'); \
         return c.dataset.dpr === '2' && c.width === 2 * Math.round(c.getBoundingClientRect().width); })()",
        REACT,
    );
    browser.center_of("#map-canvas");
    browser.frames(2);
    let view = View::read(&mut browser);
    // The same view in CSS pixels, drawn with twice the pixels.
    assert_eq!(
        (view.scale, view.ox, view.oy),
        (before.scale, before.ox, before.oy)
    );
    let points = &report.map.points;
    let i = (0..points.len())
        .filter(|&i| !points[i].reference)
        .max_by(|&a, &b| {
            let c = |i: usize| view.clearance(&data, view.at(&data, i), Some(i));
            c(a).total_cmp(&c(b))
        })
        .expect("an input row");
    let colour = data
        .topics
        .iter()
        .find(|t| t.0 == data.topic[i])
        .expect("its topic")
        .1;
    // A filled dot of radius 3 CSS pixels: 6 device pixels from its centre is still it.
    assert_eq!(pixel(&mut browser, &view, &data, i, 0), colour);
    assert_eq!(pixel(&mut browser, &view, &data, i, 5), colour);
    assert_eq!(pixel(&mut browser, &view, &data, i, 9), BACKGROUND);
    let (x, y) = view.at(&data, i);
    browser.mouse_move(x, y);
    browser.wait_for("!document.getElementById('map-tip').hidden", REACT);
    let head = text_of(&mut browser, "map-tip");
    assert!(head.contains(&format!("row {} · ", data.row[i])), "{head}");
    assert_clean(&mut browser);
}
