//! The explorer on a large synthetic map (clusters of clusters of plausible rows): the
//! load and frame times of 100,000 points, and a screenshot for the README.

use std::time::Instant;

use semsift::report::model::{FineTopic, Keyword, MapPoint, Report, Share, Topic};

use crate::common::report_fixture::hostile_report;
use crate::page::{assert_clean, open, scratch, wait_count, Data, View, REACT};

/// A deterministic pseudo-random stream (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// A standard normal draw (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * self.unit()).cos()
    }
    pub fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.next() as usize % words.len()]
    }
}

/// Themes of the synthetic map: a name and words its rows use.
pub const THEMES: [(&str, [&str; 6]); 20] = [
    (
        "cooking",
        ["recipe", "oven", "flour", "garlic", "simmer", "bake"],
    ),
    (
        "python",
        ["function", "list", "pandas", "import", "error", "loop"],
    ),
    (
        "travel",
        ["flight", "hotel", "visa", "itinerary", "luggage", "train"],
    ),
    (
        "fitness",
        ["workout", "protein", "squat", "cardio", "stretch", "rest"],
    ),
    (
        "finance",
        ["budget", "loan", "interest", "savings", "tax", "invoice"],
    ),
    (
        "gardening",
        ["soil", "seeds", "tomato", "compost", "prune", "water"],
    ),
    (
        "music",
        ["chord", "guitar", "tempo", "melody", "scale", "drum"],
    ),
    (
        "history",
        ["empire", "treaty", "century", "revolution", "king", "war"],
    ),
    (
        "javascript",
        ["promise", "array", "react", "async", "node", "dom"],
    ),
    (
        "medicine",
        ["symptom", "dose", "fever", "allergy", "vaccine", "sleep"],
    ),
    (
        "law",
        [
            "contract",
            "tenant",
            "court",
            "clause",
            "liability",
            "notice",
        ],
    ),
    (
        "astronomy",
        ["planet", "orbit", "telescope", "galaxy", "comet", "moon"],
    ),
    (
        "parenting",
        [
            "toddler", "school", "bedtime", "tantrum", "homework", "play",
        ],
    ),
    (
        "writing",
        ["essay", "poem", "plot", "character", "draft", "edit"],
    ),
    (
        "sql",
        ["query", "join", "index", "table", "postgres", "schema"],
    ),
    ("pets", ["puppy", "cat", "litter", "vet", "leash", "treats"]),
    (
        "math",
        ["integral", "matrix", "proof", "prime", "vector", "limit"],
    ),
    (
        "careers",
        [
            "resume",
            "interview",
            "salary",
            "manager",
            "offer",
            "skills",
        ],
    ),
    (
        "chemistry",
        ["molecule", "acid", "reaction", "bond", "solution", "ion"],
    ),
    (
        "cars",
        ["engine", "brake", "tire", "battery", "oil", "mileage"],
    ),
];

/// Fine topics per theme.
pub const FINE_PER: usize = 5;

/// A report whose map has `n` points in 20 topics of 5 fine topics each, laid out as
/// clusters of clusters, a quarter of them reference rows, with near duplicates and
/// outliers; every 997th row's text has "needle" in it.
pub fn synthetic_report(n: usize, seed: u64) -> Report {
    let mut report = hostile_report();
    let mut rng = Rng(seed);
    let template = report.topics[0].clone();
    let fine_template = report.fine_topics[0].clone();
    let keywords = |words: &[&str]| -> Vec<Keyword> {
        words
            .iter()
            .enumerate()
            .map(|(i, w)| Keyword {
                term: w.to_string(),
                score: 1.0 / (i + 1) as f64,
            })
            .collect()
    };
    let share = |rows: u64| Share {
        rows,
        share: rows as f64 / n as f64,
    };
    report.topics = THEMES
        .iter()
        .enumerate()
        .map(|(id, (name, words))| Topic {
            id,
            label: format!("{name}, {}, {}", words[0], words[1]),
            keywords: keywords(words),
            input: share((n / 20) as u64),
            reference: Some(share((n / 80) as u64)),
            ..template.clone()
        })
        .collect();
    report.fine_topics = (0..THEMES.len() * FINE_PER)
        .map(|id| {
            let (_, words) = THEMES[id / FINE_PER];
            let j = id % FINE_PER;
            FineTopic {
                id,
                parent: id / FINE_PER,
                label: format!(
                    "{}, {}, {}",
                    words[j],
                    words[(j + 1) % 6],
                    words[(j + 3) % 6]
                ),
                keywords: keywords(&[words[j], words[(j + 1) % 6]]),
                input: share((n / 100) as u64),
                reference: Some(share((n / 400) as u64)),
                ..fine_template.clone()
            }
        })
        .collect();
    // Topic centres on a jittered spiral, fine centres around them.
    let centres: Vec<(f64, f64)> = (0..THEMES.len())
        .map(|t| {
            let a = t as f64 * 2.4;
            let r = 3.0 + (t as f64).sqrt() * 3.2;
            (
                r * a.cos() + rng.normal() * 0.6,
                r * a.sin() + rng.normal() * 0.6,
            )
        })
        .collect();
    let fine_centres: Vec<(f64, f64)> = (0..THEMES.len() * FINE_PER)
        .map(|f| {
            let (x, y) = centres[f / FINE_PER];
            let a = rng.unit() * std::f64::consts::TAU;
            let r = 0.6 + rng.unit() * 1.1;
            (x + r * a.cos(), y + r * a.sin())
        })
        .collect();
    let verbs = [
        "How do I",
        "Explain",
        "What is the best",
        "Can you fix",
        "Write a",
        "Compare",
    ];
    let mut rows = [0u64; 2];
    report.map.points = (0..n)
        .map(|i| {
            // Topics of uneven size: a few large, many small.
            let topic = ((rng.unit().powf(1.6)) * THEMES.len() as f64) as usize;
            let fine = topic * FINE_PER + rng.next() as usize % FINE_PER;
            let (name, words) = THEMES[topic];
            let outlier = rng.unit() < 0.02;
            let spread = if outlier { 1.4 } else { 0.45 };
            let (fx, fy) = fine_centres[fine];
            let reference = rng.unit() < 0.25;
            let set = usize::from(reference);
            rows[set] += 1 + rng.next() % 3;
            let mut text = format!(
                "{} {} {} with {} and {}? I tried the {} {} approach but it keeps failing.",
                rng.pick(&verbs),
                words[fine % FINE_PER],
                rng.pick(&words),
                rng.pick(&words),
                name,
                rng.pick(&words),
                rng.pick(&words),
            );
            if i % 997 == 0 {
                text.push_str(" (the needle)");
            }
            MapPoint {
                x: (fx + rng.normal() * spread) as f32,
                y: (fy + rng.normal() * spread) as f32,
                topic,
                fine_topic: fine,
                reference,
                row: rows[set],
                copies: if rng.unit() < 0.05 { 2 } else { 1 },
                near_duplicate: rng.unit() < 0.04,
                outlier,
                text,
            }
        })
        .collect();
    report.map.method = "Synthetic test data: 20 topics of 5 fine topics each".into();
    report.map.sample = format!("{n} rows, a quarter of them reference rows");
    report.map.quality = None;
    report.input.path = "data/questions.jsonl".into();
    if let Some(reference) = &mut report.reference {
        reference.path = "data/reference.jsonl".into();
    }
    report.columns = vec!["question".into()];
    report.model = "sentence-transformers/all-MiniLM-L6-v2".into();
    report
}

#[test]
#[ignore = "needs chromium (Debian package `chromium`); CI runs it with --ignored"]
fn a_hundred_thousand_points_load_and_stay_smooth() {
    let dir = scratch();
    let n: usize = 100_000;
    let report = synthetic_report(n, 7);
    let started = Instant::now();
    let (mut browser, html) = open(dir.path(), &report);
    let opened = started.elapsed();
    let ready_ms = browser
        .eval("Number(document.getElementById('map-canvas').dataset.readyMs)")
        .as_f64()
        .expect("data-ready-ms");
    let first_frame = browser
        .eval("Number(document.getElementById('map-canvas').dataset.lastFrameMs)")
        .as_f64()
        .expect("data-last-frame-ms");
    let data_bytes = {
        let open = "id=\"map-data\">";
        let start = html.find(open).expect("data block");
        html[start..].find("</script>").expect("its end")
    };
    eprintln!(
        "100k points: report.html {:.1} MiB (data block {:.1} MiB); navigation start → map \
         ready {ready_ms:.0} ms; open → ready {opened:?} (test harness included); first \
         frame {first_frame:.1} ms",
        html.len() as f64 / 1048576.0,
        data_bytes as f64 / 1048576.0
    );
    assert!(ready_ms < 10_000.0, "ready after {ready_ms} ms");
    wait_count(&mut browser, n, n);

    // Twenty steps of wheel zoom and drag, each waited for until drawn.
    let fit = View::read(&mut browser);
    let (cx, cy) = (fit.left + fit.width / 2.0, fit.top + fit.height / 2.0);
    let mut frame_ms = Vec::new();
    let mut step_ms = Vec::new();
    for step in 0..20 {
        let before = View::read(&mut browser);
        let t = Instant::now();
        match step % 4 {
            0 | 1 => browser.wheel(cx + (step as f64 * 13.0) % 200.0 - 100.0, cy, -200.0),
            2 => browser.drag((cx, cy), (cx - 80.0, cy + 40.0), 4),
            _ => browser.wheel(cx, cy - 50.0, 120.0),
        }
        browser.wait_for(
            &format!(
                "Number(document.getElementById('map-canvas').dataset.frames) > {}",
                before.frames
            ),
            REACT,
        );
        browser.frames(1);
        step_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let last = browser
            .eval("Number(document.getElementById('map-canvas').dataset.lastFrameMs)")
            .as_f64()
            .expect("data-last-frame-ms");
        frame_ms.push(last);
    }
    let zoomed = View::read(&mut browser);
    assert!(zoomed.scale > fit.scale * 2.0, "{fit:?} → {zoomed:?}");
    let stats = browser.eval(
        "(() => { const d = document.getElementById('map-canvas').dataset; \
         return [Number(d.frames), Number(d.totalFrameMs), Number(d.maxFrameMs)]; })()",
    );
    let mean = frame_ms.iter().sum::<f64>() / frame_ms.len() as f64;
    let max = frame_ms.iter().copied().fold(0.0, f64::max);
    eprintln!(
        "100k points, 20 wheel/drag steps: draw {mean:.1} ms mean, {max:.1} ms max (last \
         frame of each step); all {} frames: {:.1} ms mean, {} ms max; input → drawn {:.0} ms \
         mean per step (CDP round trips included)",
        stats[0],
        stats[1].as_f64().unwrap_or(0.0) / stats[0].as_f64().unwrap_or(1.0),
        stats[2],
        step_ms.iter().sum::<f64>() / step_ms.len() as f64
    );
    assert!(max < 1000.0, "a frame took {max} ms");

    // A search over all 100,000 texts.
    let needles = report
        .map
        .points
        .iter()
        .filter(|p| p.text.contains("needle"))
        .count();
    assert_eq!(needles, n.div_ceil(997));
    let (x, y) = browser.center_of("#map-search");
    browser.click(x, y);
    let t = Instant::now();
    browser.type_text("NEEDLE");
    wait_count(&mut browser, needles, n);
    eprintln!(
        "100k points: search → count {:?} (150 ms debounce included)",
        t.elapsed()
    );
    browser.key("Escape");
    for _ in 0..6 {
        browser.key("Backspace");
    }
    wait_count(&mut browser, n, n);
    assert_clean(&mut browser);
}

#[test]
#[ignore = "needs chromium (Debian package `chromium`); CI runs it with --ignored"]
fn screenshot_of_a_realistic_map() {
    let dir = scratch();
    let report = synthetic_report(30_000, 3);
    let (mut browser, html) = open(dir.path(), &report);
    let data = Data::parse(&html);
    browser.eval("document.getElementById('map').scrollIntoView({block: 'start'})");
    browser.frames(2);
    // Zoomed in a little, around the middle.
    let fit = View::read(&mut browser);
    let centre = (
        (fit.left + fit.width / 2.0).round(),
        (fit.top + fit.height / 2.0).round(),
    );
    browser.wheel(centre.0, centre.1, -250.0);
    browser.wait_for(
        &format!(
            "Number(document.getElementById('map-canvas').dataset.scale) > {}",
            fit.scale * 1.5
        ),
        REACT,
    );
    browser.frames(2);
    let view = View::read(&mut browser);
    // Hover the row nearest a spot left of the middle, so the tip shows.
    let mid = (view.left + view.width * 0.42, view.top + view.height * 0.45);
    let i = (0..data.x.len())
        .min_by(|&a, &b| {
            let d = |i: usize| {
                let (x, y) = view.at(&data, i);
                (x - mid.0).hypot(y - mid.1)
            };
            d(a).total_cmp(&d(b))
        })
        .expect("points");
    let (x, y) = view.at(&data, i);
    browser.mouse_move(x, y);
    browser.wait_for("!document.getElementById('map-tip').hidden", REACT);
    browser.frames(2);
    let path = std::env::var_os("SEMSIFT_SCREENSHOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("map.png"));
    let png = browser.screenshot(&path);
    eprintln!("screenshot: {} ({} bytes)", path.display(), png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert!(png.len() > 50_000, "{} bytes: blank?", png.len());
    assert_clean(&mut browser);
}
