//! What the process spends: seconds per stage (as the summaries report them) and memory
//! (peak, resident, available; Linux `/proc`, `None` elsewhere).

use std::time::Instant;

use serde_json::{json, Map, Value};

/// Times the stages of a run: each [`lap`](Stopwatch::lap) records the seconds since the
/// previous one (or the start), and [`finish`](Stopwatch::finish) adds the `total`.
#[derive(Debug)]
pub(crate) struct Stopwatch {
    started: Instant,
    clock: Instant,
    /// The process's CPU seconds at `clock`.
    cpu: Option<f64>,
    laps: Map<String, Value>,
}

impl Stopwatch {
    /// Starts timing now.
    pub(crate) fn start() -> Self {
        let now = Instant::now();
        Stopwatch {
            started: now,
            clock: now,
            cpu: cpu_seconds(),
            laps: Map::new(),
        }
    }

    /// Records the time since the last lap as stage `name`, and logs it with the
    /// process's CPU time over the stage (`cpu_seconds`, all threads) and how many cores
    /// that kept busy on average (`cores_busy`: CPU seconds per second).
    pub(crate) fn lap(&mut self, name: &str) {
        self.lap_on(name, "cpu");
    }

    /// [`lap`](Self::lap) for a stage that ran on `device` (`cpu`, `cuda:0`), which the
    /// log line names.
    pub(crate) fn lap_on(&mut self, name: &str, device: &str) {
        let wall = self.clock.elapsed().as_secs_f64();
        let seconds = round3(wall);
        let cpu = cpu_seconds();
        let used = cpu.zip(self.cpu).map(|(now, then)| now - then);
        let cpu_seconds = used.map(round3);
        let cores_busy = used.filter(|_| wall > 0.0).map(|u| round3(u / wall));
        let peak_rss_mib = peak_rss_mib();
        let rss_mib = resident_bytes().map(|b| b >> 20);
        tracing::info!(
            stage = name,
            device,
            seconds,
            cpu_seconds,
            cores_busy,
            peak_rss_mib,
            rss_mib,
            "stage done"
        );
        self.laps.insert(name.into(), json!(seconds));
        self.clock = Instant::now();
        self.cpu = cpu;
    }

    /// The stages recorded so far, in order (no `total`).
    pub(crate) fn laps(self) -> Map<String, Value> {
        self.laps
    }

    /// Records stages timed elsewhere (by a job this run called) as if lapped here, and
    /// restarts the clock.
    pub(crate) fn extend(&mut self, laps: Map<String, Value>) {
        self.laps.extend(laps);
        self.clock = Instant::now();
        self.cpu = cpu_seconds();
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
    meminfo_kib("/proc/self/status", "VmHWM:").map(|kib| kib.div_ceil(1024))
}

/// The CPU time the process (all its threads) has used, user plus system, in seconds
/// (`/proc/self/stat`, in the kernel's fixed 100 ticks per second; Linux only).
pub(crate) fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces:
    // state is field 3, utime 14 and stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / 100.0)
}

/// Bytes the search's candidate buffers may hold before they spill to disk: half of what
/// is left between the process's resident memory now and `limit` (the other half is
/// headroom: the block being read, sort buffers, the allocator's slack), and never less
/// than 8 MiB. `None` (no limit known) never spills.
pub fn spill_budget(limit: Option<u64>) -> Option<usize> {
    let limit = limit?;
    let used = resident_bytes().unwrap_or(0);
    let budget = (limit.saturating_sub(used) / 2).max(8 << 20);
    Some(usize::try_from(budget).unwrap_or(usize::MAX))
}

/// The memory available to new work now (`MemAvailable`, Linux); `None` elsewhere.
pub(crate) fn available_memory() -> Option<u64> {
    meminfo_kib("/proc/meminfo", "MemAvailable:").map(|k| k << 10)
}

/// The process's resident memory now (`VmRSS`, Linux).
fn resident_bytes() -> Option<u64> {
    meminfo_kib("/proc/self/status", "VmRSS:").map(|k| k << 10)
}

/// The value in kiB of the line starting `key` of a `/proc` file.
fn meminfo_kib(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
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

    #[test]
    fn cpu_time_grows_with_the_work_of_any_thread() {
        let Some(before) = cpu_seconds() else {
            // Not Linux: nothing to read, and the stage logs leave the field out.
            assert!(!std::path::Path::new("/proc/self/stat").exists());
            return;
        };
        // Another thread works until the process's total shows 0.2 s more, while this
        // one waits without using any: the total must count other threads.
        let grew = std::thread::spawn(move || {
            let clock = Instant::now();
            let mut x = 0u64;
            while clock.elapsed().as_secs() < 30 {
                for _ in 0..100_000 {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
                }
                if cpu_seconds().unwrap() - before >= 0.2 {
                    return true;
                }
            }
            false
        })
        .join()
        .unwrap();
        assert!(grew, "30 s of work did not show as 0.2 CPU seconds");
    }
}
