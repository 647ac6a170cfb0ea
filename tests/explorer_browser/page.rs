//! The explorer tests' view of the page: the data block, the canvas's view transform,
//! its pixels, and small waits and clicks.

use std::path::Path;
use std::time::Duration;

use semsift::report::model::Report;
use semsift::report::render_html;
use serde_json::Value;

use crate::common::cdp::Browser;

/// The viewport every test uses, in CSS pixels.
pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 900;

/// How long the page may take to react to one input.
pub const REACT: Duration = Duration::from_secs(5);

/// The map's data block of a rendered page, column by column.
pub struct Data {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub topic: Vec<u64>,
    pub row: Vec<u64>,
    pub text: Vec<String>,
    /// The coarse topics.
    pub topics: Vec<TopicEntry>,
}

/// A coarse topic of the data block: its id, colour and label position (quantised).
pub type TopicEntry = (u64, [u8; 3], Option<(f64, f64)>);

impl Data {
    pub fn parse(html: &str) -> Data {
        let open = "<script type=\"application/json\" id=\"map-data\">";
        let start = html.find(open).expect("the map's data block") + open.len();
        let end = html[start..].find("</script>").expect("its end") + start;
        let v: Value = serde_json::from_str(&html[start..end]).expect("JSON");
        let nums = |name: &str| -> Vec<f64> {
            v[name]
                .as_array()
                .expect("a column")
                .iter()
                .map(|x| x.as_f64().expect("a number"))
                .collect()
        };
        Data {
            x: nums("x"),
            y: nums("y"),
            topic: nums("topic").into_iter().map(|t| t as u64).collect(),
            row: nums("row").into_iter().map(|r| r as u64).collect(),
            topics: v["topics"]
                .as_array()
                .expect("topics")
                .iter()
                .map(|t| {
                    let hex = t["colour"].as_str().expect("a colour");
                    let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex");
                    let at = t["x"].as_f64().zip(t["y"].as_f64());
                    (t["id"].as_u64().expect("an id"), [c(1), c(3), c(5)], at)
                })
                .collect(),
            text: v["text"]
                .as_array()
                .expect("texts")
                .iter()
                .map(|t| t.as_str().expect("a text").to_string())
                .collect(),
        }
    }
}

/// The canvas's view transform and its place in the viewport.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub scale: f64,
    pub ox: f64,
    pub oy: f64,
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
    pub frames: u64,
    /// Device pixels per CSS pixel of the canvas.
    pub dpr: f64,
}

impl View {
    pub fn read(browser: &mut Browser) -> View {
        let v = browser.eval(
            "(() => { const c = document.getElementById('map-canvas'); \
             const r = c.getBoundingClientRect(); const d = c.dataset; \
             return [Number(d.scale), Number(d.ox), Number(d.oy), r.left, r.top, \
             r.width, r.height, Number(d.frames), Number(d.dpr)]; })()",
        );
        let n = |i: usize| v[i].as_f64().unwrap_or_else(|| panic!("view: {v}"));
        View {
            scale: n(0),
            ox: n(1),
            oy: n(2),
            left: n(3),
            top: n(4),
            width: n(5),
            height: n(6),
            frames: n(7) as u64,
            dpr: n(8),
        }
    }

    /// Where point `i` is drawn, in viewport CSS pixels.
    pub fn at(&self, data: &Data, i: usize) -> (f64, f64) {
        (
            self.left + self.ox + data.x[i] * self.scale,
            self.top + self.oy + data.y[i] * self.scale,
        )
    }

    /// Distance in CSS pixels from `(x, y)` to the nearest point other than `skip`.
    pub fn clearance(&self, data: &Data, (x, y): (f64, f64), skip: Option<usize>) -> f64 {
        (0..data.x.len())
            .filter(|&j| Some(j) != skip)
            .map(|j| {
                let (px, py) = self.at(data, j);
                (px - x).hypot(py - y)
            })
            .fold(f64::INFINITY, f64::min)
    }
}

/// The canvas background, `#fbfcfd`.
pub const BACKGROUND: [u8; 3] = [251, 252, 253];

/// `colour` faded towards the background as rows outside the filters are.
pub fn faint(colour: [u8; 3]) -> [u8; 3] {
    let mut out = colour;
    for (o, b) in out.iter_mut().zip(BACKGROUND) {
        let c = f64::from(*o);
        *o = (c + (f64::from(b) - c) * 0.86).round() as u8;
    }
    out
}

/// The canvas pixel (RGB) at point `i`'s centre, `dx` device pixels to the right.
pub fn pixel(browser: &mut Browser, view: &View, data: &Data, i: usize, dx: i64) -> [u8; 3] {
    // Math.round, as the page rounds.
    let round = |v: f64| (v + 0.5).floor() as i64;
    // The page's arithmetic, in device pixels.
    let s = view.scale * view.dpr;
    let x = round(view.ox * view.dpr + data.x[i] * s) + dx;
    let y = round(view.oy * view.dpr + data.y[i] * s);
    let v = browser.eval(&format!(
        "Array.from(document.getElementById('map-canvas').getContext('2d')\
         .getImageData({x}, {y}, 1, 1).data)"
    ));
    let c = |k: usize| v[k].as_u64().expect("a channel") as u8;
    [c(0), c(1), c(2)]
}

/// Writes `report`'s page into `dir` (returning its HTML) and opens it with the map in
/// view; the page's script must have finished without errors.
pub fn open(dir: &Path, report: &Report) -> (Browser, String) {
    let page = dir.join("report.html");
    let html = render_html(report);
    std::fs::write(&page, &html).expect("write report.html");
    let mut browser = Browser::open(&page, &dir.join("browser"), WIDTH, HEIGHT);
    browser.wait_for(
        "document.body.dataset.ready === '1' && document.body.dataset.mapReady === '1'",
        Duration::from_secs(30),
    );
    assert_eq!(
        browser.eval("document.body.dataset.errors ?? null"),
        Value::Null
    );
    browser.center_of("#map-canvas");
    browser.frames(2);
    (browser, html)
}

/// The text of the element `id`.
pub fn text_of(browser: &mut Browser, id: &str) -> String {
    browser
        .eval(&format!("document.getElementById('{id}').textContent"))
        .as_str()
        .unwrap_or_else(|| panic!("no #{id}"))
        .to_string()
}

/// Whether the element `id` is hidden.
pub fn hidden(browser: &mut Browser, id: &str) -> bool {
    browser.eval(&format!("document.getElementById('{id}').hidden")) == Value::Bool(true)
}

/// Waits until `#map-count` reads `shown of total rows`.
pub fn wait_count(browser: &mut Browser, shown: usize, total: usize) {
    let expected = format!("{} of {} rows", thousands(shown), thousands(total));
    let quoted = serde_json::to_string(&expected).unwrap();
    browser.wait_for(
        &format!("document.getElementById('map-count').textContent === {quoted}"),
        REACT,
    );
}

/// `n` with thousands separators, as the page writes it.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Clicks the checkbox `id`.
pub fn toggle(browser: &mut Browser, id: &str) {
    let (x, y) = browser.center_of(&format!("#{id}"));
    browser.click(x, y);
}

/// A scratch folder for one test.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Checks that nothing from the data ran or made elements, and that nothing threw.
pub fn assert_clean(browser: &mut Browser) {
    assert_eq!(browser.exceptions(), Vec::<String>::new());
    assert_eq!(browser.console_errors(), Vec::<String>::new());
    assert_eq!(
        browser.eval("document.body.dataset.errors ?? null"),
        Value::Null
    );
    assert_eq!(
        browser.eval("document.querySelectorAll('[data-pwned], img, iframe, #map script').length"),
        1,
        "hostile text ran or made elements (the one script is the data block)"
    );
    assert_eq!(
        browser.eval("document.querySelector('#map script').id"),
        "map-data"
    );
}
