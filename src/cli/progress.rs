//! indicatif progress bars behind the library's `Progress` callback.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use semsift::progress::Progress;

/// One bar per stage, drawn on stderr (hidden with --quiet or when stderr is
/// not a terminal).
pub struct Bars {
    quiet: bool,
    current: Mutex<Option<ProgressBar>>,
}

impl Bars {
    pub fn new(quiet: bool) -> Self {
        Self {
            quiet,
            current: Mutex::new(None),
        }
    }
}

impl Progress for Bars {
    fn begin(&self, stage: &str, total: Option<u64>) {
        let bar = match total {
            Some(n) => ProgressBar::new(n).with_style(
                ProgressStyle::with_template(
                    "{prefix:>28} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template(
                    "{prefix:>28} {spinner} {human_pos} rows {per_sec} {elapsed}",
                )
                .expect("valid template"),
            ),
        };
        if self.quiet {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        } else {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_prefix(stage.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Some(old) = self.current.lock().expect("bar lock").replace(bar) {
            old.finish_and_clear();
        }
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = &*self.current.lock().expect("bar lock") {
            bar.inc(n);
        }
    }

    fn end(&self) {
        if let Some(bar) = self.current.lock().expect("bar lock").take() {
            bar.finish();
        }
    }
}

impl Bars {
    /// Whether the user asked for silence (--quiet).
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }
}
