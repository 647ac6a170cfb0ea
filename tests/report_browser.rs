//! `report.html` in a real headless Chromium, driven over the DevTools protocol
//! (`tests/common/cdp.rs`): mouse hover and clicks, keys, wheel and drag, the DOM state
//! they leave, and a screenshot. All `#[ignore]`d: they need Chromium, and
//! scripts/test.sh runs them with `--ignored` wherever it is installed.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::cdp::Browser;
use common::report_fixture::hostile_report;
use semsift::report::render_html;
use serde_json::Value;

/// The viewport every test uses, in CSS pixels.
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 900;

/// How long the page may take to react to one input.
const REACT: Duration = Duration::from_secs(5);

/// Writes the hostile report's page into `dir` and opens it; the page's script must
/// have finished without errors.
fn open_report(dir: &Path) -> Browser {
    let page = dir.join("report.html");
    std::fs::write(&page, render_html(&hostile_report())).expect("write report.html");
    let mut browser = Browser::open(&page, &dir.join("browser"), WIDTH, HEIGHT);
    browser.wait_for("document.body.dataset.ready === '1'", REACT);
    assert_eq!(
        browser.eval("document.body.dataset.errors ?? null"),
        Value::Null
    );
    browser
}

/// The classes of `svg.chart` elements and the marks of `topic` in them:
/// `(charts, dimmed charts, marks, highlighted marks, other highlighted marks)`.
fn highlight_state(browser: &mut Browser, topic: usize) -> [u64; 5] {
    let v = browser.eval(&format!(
        "(() => {{ const all = s => Array.from(document.querySelectorAll(s)); \
         const charts = all('svg.chart'); \
         const marks = all('svg.chart [data-topic=\"{topic}\"]'); \
         const others = all('svg.chart [data-topic]:not([data-topic=\"{topic}\"])'); \
         return [charts.length, charts.filter(c => c.classList.contains('dim')).length, \
           marks.length, marks.filter(m => m.classList.contains('hl')).length, \
           others.filter(m => m.classList.contains('hl')).length]; }})()"
    ));
    let n = |i: usize| v[i].as_u64().expect("a count");
    [n(0), n(1), n(2), n(3), n(4)]
}

/// For each row of `table` (a selector), in document order: its `data-topic` and the
/// `data-sort` of cell `column`.
fn column(browser: &mut Browser, table: &str, column: usize) -> Vec<(u64, f64)> {
    let quoted = serde_json::to_string(&format!("{table} tbody tr")).unwrap();
    let v = browser.eval(&format!(
        "Array.from(document.querySelectorAll({quoted})).map(r => \
         [Number(r.dataset.topic), Number(r.cells[{column}].getAttribute('data-sort'))])"
    ));
    v.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r[0].as_u64().expect("a topic"),
                r[1].as_f64().expect("a key"),
            )
        })
        .collect()
}

/// The `aria-sort` of every header cell of `table`, `""` where there is none.
fn aria_sort(browser: &mut Browser, table: &str) -> Vec<String> {
    let quoted = serde_json::to_string(&format!("{table} thead th")).unwrap();
    let v = browser.eval(&format!(
        "Array.from(document.querySelectorAll({quoted})).map(th => \
         th.getAttribute('aria-sort') || '')"
    ));
    v.as_array()
        .expect("header cells")
        .iter()
        .map(|s| s.as_str().expect("text").to_string())
        .collect()
}

/// A scratch folder for one test.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
#[ignore = "needs chromium (Debian package `chromium`); CI runs it with --ignored"]
fn hovering_a_gap_row_highlights_its_topic_in_the_charts() {
    let dir = scratch();
    let mut browser = open_report(dir.path());
    assert_eq!(
        highlight_state(&mut browser, 2)[1],
        0,
        "dimmed before any hover"
    );
    // Topic 2 is a missing topic: a row of the gap table.
    let (x, y) = browser.center_of("#gaps tr[data-topic=\"2\"]");
    browser.mouse_move(x, y);
    browser.wait_for(
        "document.querySelectorAll('svg.chart.dim').length > 0",
        REACT,
    );
    let [charts, dimmed, marks, lit, others] = highlight_state(&mut browser, 2);
    assert!(charts >= 1, "{charts} charts");
    assert_eq!(dimmed, charts, "every chart dims");
    // At least its bar in the share chart.
    assert!(marks >= 1, "{marks} marks of topic 2");
    assert_eq!(lit, marks, "every mark of topic 2 is highlighted");
    assert_eq!(others, 0, "marks of other topics highlighted");

    // Onto another topic's row: the highlight follows.
    let (x, y) = browser.center_of("#gaps tr[data-topic=\"5\"]");
    browser.mouse_move(x, y);
    browser.wait_for(
        "document.querySelector('svg.chart [data-topic=\"5\"]').classList.contains('hl')",
        REACT,
    );
    let [charts, dimmed, marks, lit, others] = highlight_state(&mut browser, 5);
    assert_eq!((dimmed, lit, others), (charts, marks, 0));
    assert_eq!(highlight_state(&mut browser, 2)[3], 0, "topic 2 still lit");

    // Away, onto a heading with no topic: nothing dims and nothing is lit.
    let (x, y) = browser.center_of("#gaps h2");
    browser.mouse_move(x, y);
    browser.wait_for(
        "document.querySelectorAll('svg.chart.dim, svg.chart .hl').length === 0",
        REACT,
    );
    assert_eq!(browser.exceptions(), Vec::<String>::new());
}

#[test]
#[ignore = "needs chromium (Debian package `chromium`); CI runs it with --ignored"]
fn clicking_a_header_sorts_the_table() {
    let dir = scratch();
    let mut browser = open_report(dir.path());
    let table = "table.sortable.topics";
    // Column 3 is "Input share". The table starts ranked by the larger of the two
    // shares, so topic 5 (no input, 40% of the reference) comes first.
    let before = column(&mut browser, table, 3);
    let ids: Vec<u64> = before.iter().map(|r| r.0).collect();
    assert_eq!(ids, [5, 0, 1, 2, 3, 4]);
    assert!(aria_sort(&mut browser, table).iter().all(String::is_empty));

    let header = format!("{table} thead th:nth-child(4)");
    assert_eq!(
        browser.eval(&format!(
            "document.querySelector({}).textContent",
            serde_json::to_string(&header).unwrap()
        )),
        "Input share"
    );
    // A numeric column sorts descending first, then flips.
    for (order, ids) in [
        ("descending", [0, 1, 2, 3, 4, 5]),
        ("ascending", [5, 4, 3, 2, 1, 0]),
    ] {
        let (x, y) = browser.center_of(&header);
        browser.click(x, y);
        browser.wait_for(
            &format!(
                "document.querySelector({}).getAttribute('aria-sort') === '{order}'",
                serde_json::to_string(&header).unwrap()
            ),
            REACT,
        );
        let rows = column(&mut browser, table, 3);
        let got: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(got, ids, "{order}");
        let keys: Vec<f64> = rows.iter().map(|r| r.1).collect();
        let mut sorted = keys.clone();
        sorted.sort_by(f64::total_cmp);
        if order == "descending" {
            sorted.reverse();
        }
        assert_eq!(keys, sorted, "{order}");
        let mut expected = vec![String::new(); 8];
        expected[3] = order.to_string();
        assert_eq!(aria_sort(&mut browser, table), expected);
    }

    // A text column sorts ascending first; the other header loses its aria-sort. Here
    // with the keyboard: focus the header, press Enter.
    let topic_header = format!("{table} thead th:nth-child(2)");
    let quoted = serde_json::to_string(&topic_header).unwrap();
    browser.eval(&format!("document.querySelector({quoted}).focus()"));
    browser.key("Enter");
    browser.wait_for(
        &format!("document.querySelector({quoted}).getAttribute('aria-sort') === 'ascending'"),
        REACT,
    );
    let labels = browser.eval(&format!(
        "Array.from(document.querySelectorAll('{table} tbody tr')).map(r => \
         r.cells[1].textContent.trim().toLowerCase())"
    ));
    let labels: Vec<String> = labels
        .as_array()
        .expect("labels")
        .iter()
        .map(|l| l.as_str().expect("text").to_string())
        .collect();
    let mut sorted = labels.clone();
    sorted.sort();
    assert_eq!(labels, sorted);
    let mut expected = vec![String::new(); 8];
    expected[1] = "ascending".to_string();
    assert_eq!(aria_sort(&mut browser, table), expected);
    assert_eq!(browser.exceptions(), Vec::<String>::new());
}

#[test]
#[ignore = "needs chromium (Debian package `chromium`); CI runs it with --ignored"]
fn page_survives_interaction_and_screenshots() {
    let dir = scratch();
    let mut browser = open_report(dir.path());
    let start = Instant::now();
    // Hover the share chart and the map, click every sortable header, wheel and drag.
    for selector in ["svg.chart.bars g.bar", "#map"] {
        let (x, y) = browser.center_of(selector);
        browser.mouse_move(x, y);
    }
    let headers = browser
        .eval("document.querySelectorAll('table.sortable th').length")
        .as_u64()
        .expect("a count");
    assert!(headers >= 20, "{headers} sortable headers");
    for i in 0..headers {
        let (x, y) = browser
            .eval(&format!(
                "(() => {{ const th = document.querySelectorAll('table.sortable th')[{i}]; \
             th.scrollIntoView({{block: 'center'}}); const r = th.getBoundingClientRect(); \
             return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
            ))
            .as_array()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .expect("a point");
        browser.click(x, y);
    }
    let sorted = browser
        .eval("document.querySelectorAll('table.sortable th[aria-sort]').length")
        .as_u64();
    let tables = browser
        .eval("document.querySelectorAll('table.sortable').length")
        .as_u64();
    assert_eq!(sorted, tables, "one sorted column per table");

    // The wheel over the page's header scrolls the page (over the map it may zoom).
    browser.eval("window.scrollTo(0, 0)");
    browser.frames(2);
    let (x, y) = browser.center_of("header.top");
    browser.wheel(x, y, 600.0);
    browser.wait_for("window.scrollY > 0", REACT);
    let (x, y) = browser.center_of("#map");
    browser.drag((x - 100.0, y - 50.0), (x + 100.0, y + 50.0), 10);
    browser.key("Escape");
    browser.key("Tab");
    browser.frames(2);
    eprintln!("interaction took {:?}", start.elapsed());

    assert_eq!(browser.exceptions(), Vec::<String>::new());
    assert_eq!(browser.console_errors(), Vec::<String>::new());
    assert_eq!(
        browser.eval("document.body.dataset.errors ?? null"),
        Value::Null
    );
    assert_eq!(
        browser.eval("document.querySelectorAll('[data-pwned], img, iframe').length"),
        0,
        "hostile text ran or made elements"
    );

    browser.eval("window.scrollTo(0, 0)");
    browser.frames(2);
    let path: PathBuf = dir.path().join("report.png");
    let png = browser.screenshot(&path);
    assert_eq!(std::fs::read(&path).expect("read the screenshot"), png);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((be(16), be(20)), (WIDTH, HEIGHT), "screenshot size");
    assert!(
        (10_000..20_000_000).contains(&png.len()),
        "{} bytes: blank or broken",
        png.len()
    );
    assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
}

/// The client itself, on a page of its own: typing, keys, wheel, drag and timing, so
/// that a failure here points at the harness rather than at the report.
#[test]
#[ignore = "needs chromium (Debian package `chromium`); CI runs it with --ignored"]
fn cdp_client_drives_a_plain_page() {
    let dir = scratch();
    let page = dir.path().join("plain page #1.html");
    std::fs::write(
        &page,
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body { margin: 0; height: 5000px; } input { position: fixed; top: 10px; left: 10px; width: 300px; }
#pad { position: fixed; top: 100px; left: 100px; width: 400px; height: 300px; background: #ccc; }
</style></head><body><input id="q"><div id="pad"></div><script>
const log = document.body.dataset;
log.keys = ''; log.drag = '';
document.getElementById('q').addEventListener('keydown', e => { log.keys += e.key + ','; });
const pad = document.getElementById('pad');
let down = null;
pad.addEventListener('mousedown', e => { down = [e.clientX, e.clientY]; });
window.addEventListener('mouseup', e => {
  if (down) { log.drag = [down[0], down[1], e.clientX, e.clientY].join(' '); down = null; }
});
pad.addEventListener('mousemove', e => { if (e.buttons & 1) { log.moves = (Number(log.moves) || 0) + 1; } });
</script></body></html>"#,
    )
    .expect("write the page");
    let started = Instant::now();
    let mut browser = Browser::open(&page, &dir.path().join("browser"), 800, 600);
    let opened = started.elapsed();
    assert!(opened < Duration::from_secs(30), "open took {opened:?}");
    assert_eq!(
        browser.eval("[innerWidth, innerHeight]"),
        serde_json::json!([800, 600])
    );
    assert_eq!(browser.eval("1 + 1"), 2);
    assert_eq!(browser.eval("Promise.resolve('later')"), "later");

    let (x, y) = browser.center_of("#q");
    browser.click(x, y);
    browser.wait_for("document.activeElement.id === 'q'", REACT);
    browser.type_text("héllo wörld");
    browser.key("Backspace");
    browser.key("Enter");
    browser.key("Escape");
    assert_eq!(
        browser.eval("document.getElementById('q').value"),
        "héllo wörl"
    );
    assert_eq!(
        browser.eval("document.body.dataset.keys"),
        "Backspace,Enter,Escape,"
    );

    browser.drag((150.0, 150.0), (450.0, 350.0), 6);
    assert_eq!(
        browser.eval("document.body.dataset.drag"),
        "150 150 450 350"
    );
    assert_eq!(browser.eval("Number(document.body.dataset.moves)"), 6);
    assert_eq!(browser.mouse_position(), (450.0, 350.0));

    browser.wheel(400.0, 500.0, 300.0);
    browser.wait_for("window.scrollY >= 300", REACT);
    browser.frames(3);

    // A thrown error is collected, not fatal; an evaluation that throws panics.
    browser.eval("setTimeout(() => { throw new Error('from a timer'); }, 0)");
    let deadline = Instant::now() + REACT;
    while browser.exceptions().is_empty() && Instant::now() < deadline {
        browser.frames(1);
    }
    let exceptions = browser.exceptions();
    assert_eq!(exceptions.len(), 1, "{exceptions:?}");
    assert!(exceptions[0].contains("from a timer"), "{exceptions:?}");
    let thrown =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| browser.eval("null.nope")));
    let message = thrown.expect_err("eval of a throwing expression panics");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("TypeError"), "{message}");
    // Still usable afterwards.
    assert_eq!(browser.eval("document.title"), "");
    let png = browser.screenshot(&dir.path().join("plain.png"));
    assert_eq!(&png[..4], b"\x89PNG");
    drop(browser);
    eprintln!("open {opened:?}, all {:?}", started.elapsed());
}
