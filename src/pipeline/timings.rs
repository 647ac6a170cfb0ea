//! Seconds per stage, as the summaries report them.

use std::time::Instant;

use serde_json::{json, Map, Value};

/// Times the stages of a run: each [`lap`](Stopwatch::lap) records the seconds since the
/// previous one (or the start), and [`finish`](Stopwatch::finish) adds the `total`.
#[derive(Debug)]
pub(crate) struct Stopwatch {
    started: Instant,
    clock: Instant,
    laps: Map<String, Value>,
}

impl Stopwatch {
    /// Starts timing now.
    pub(crate) fn start() -> Self {
        let now = Instant::now();
        Stopwatch {
            started: now,
            clock: now,
            laps: Map::new(),
        }
    }

    /// Records the time since the last lap as stage `name`.
    pub(crate) fn lap(&mut self, name: &str) {
        let seconds = round3(self.clock.elapsed().as_secs_f64());
        match peak_rss_mib() {
            Some(peak_rss_mib) => tracing::info!(stage = name, seconds, peak_rss_mib, "stage done"),
            None => tracing::info!(stage = name, seconds, "stage done"),
        }
        self.laps.insert(name.into(), json!(seconds));
        self.clock = Instant::now();
    }

    /// The stages in the order recorded, then `total`, in seconds to the millisecond.
    pub(crate) fn finish(mut self) -> Map<String, Value> {
        self.laps.insert(
            "total".into(),
            json!(round3(self.started.elapsed().as_secs_f64())),
        );
        self.laps
    }
}

/// The process's peak resident set size so far, in MiB (`VmHWM`; Linux only).
pub(crate) fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.div_ceil(1024))
}

/// `x` rounded to three decimals (milliseconds, for seconds).
pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laps_in_order_then_total() {
        let mut w = Stopwatch::start();
        w.lap("read");
        w.lap("write");
        let m = w.finish();
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ["read", "write", "total"]);
        assert!(m["total"].as_f64().unwrap() >= m["read"].as_f64().unwrap());
        assert_eq!(round3(1.23456), 1.235);
    }
}
