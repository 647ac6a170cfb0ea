//! Headless Chromium for the report tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Chromium binary: `$CHROMIUM`, else `chromium` or `chromium-browser` on `PATH`.
/// Panics (the test fails, never skips) when there is none.
pub fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("no chromium: set CHROMIUM or install the Debian package `chromium`");
}

/// Loads `page` in headless Chromium, lets its scripts run, and returns the DOM as
/// serialised afterwards. `scratch` holds the browser profile.
pub fn rendered_dom(page: &Path, scratch: &Path) -> String {
    let dom_path = scratch.join("dom.html");
    let dom_file = std::fs::File::create(&dom_path).expect("create dom.html");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=5000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            scratch.join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::from(dom_file))
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium: {status}");
    std::fs::read_to_string(&dom_path).expect("read the dumped DOM")
}

/// The `<body ...>` start tag of a dumped DOM (where the page's script records
/// `data-ready` and `data-errors`).
pub fn body_tag(dom: &str) -> &str {
    let start = dom.find("<body").expect("a body in the dumped DOM");
    let end = dom[start..].find('>').map_or(dom.len(), |e| start + e + 1);
    &dom[start..end]
}
