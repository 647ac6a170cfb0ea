//! Progress reports into Python, and Ctrl-C as cancellation.
//!
//! Long calls run with the GIL released. While they run, [`PyProgress::cancelled`]
//! (which the library polls between units of work) briefly takes the GIL on the calling
//! thread, at most every 50 ms, to let Python run its signal handlers: a Ctrl-C raises
//! `KeyboardInterrupt` there, the library stops with `Cancelled`, and the call re-raises
//! the `KeyboardInterrupt`. A progress callback, when given, is called as
//! `callback(event, stage, n)` with `event` one of `"begin"` (`n`: the total or `None`),
//! `"advance"` (`n` more done; batched to at most ten calls a second) and `"end"`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use pyo3::prelude::*;

use super::errors::to_py;
use crate::progress::Progress;
use crate::Error;

const CHECK_EVERY: Duration = Duration::from_millis(50);
const REPORT_EVERY: Duration = Duration::from_millis(100);

/// A [`Progress`] for a call from Python.
pub struct PyProgress {
    callback: Option<Py<PyAny>>,
    thread: ThreadId,
    last_check: Mutex<Instant>,
    last_report: Mutex<Instant>,
    pending: AtomicU64,
    stop: AtomicBool,
    /// The exception that stopped the call (a `KeyboardInterrupt`, or one the callback
    /// raised), re-raised when the call returns.
    raised: Mutex<Option<PyErr>>,
}

impl PyProgress {
    /// Progress for a call made now on this thread; `callback` may be `None`.
    pub fn new(callback: Option<Py<PyAny>>) -> Self {
        let now = Instant::now();
        PyProgress {
            callback,
            thread: std::thread::current().id(),
            last_check: Mutex::new(now),
            last_report: Mutex::new(now),
            pending: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            raised: Mutex::new(None),
        }
    }

    /// The call's result for Python: the exception that stopped it if one did, the
    /// library's error as a Python exception otherwise.
    pub fn finish<T>(&self, result: Result<T, Error>) -> PyResult<T> {
        if let Some(e) = self.raised.lock().expect("not poisoned").take() {
            return Err(e);
        }
        result.map_err(to_py)
    }

    fn call(&self, event: &str, stage: &str, n: Option<u64>) {
        let Some(cb) = &self.callback else { return };
        Python::attach(|py| {
            if let Err(e) = cb.call1(py, (event, stage, n)) {
                self.fail(e);
            }
        });
    }

    fn fail(&self, e: PyErr) {
        let mut raised = self.raised.lock().expect("not poisoned");
        if raised.is_none() {
            *raised = Some(e);
        }
        self.stop.store(true, Ordering::SeqCst);
    }

    fn flush(&self) {
        let n = self.pending.swap(0, Ordering::SeqCst);
        if n > 0 {
            self.call("advance", "", Some(n));
        }
    }
}

impl Progress for PyProgress {
    fn begin(&self, stage: &str, total: Option<u64>) {
        self.flush();
        self.call("begin", stage, total);
    }

    fn advance(&self, n: u64) {
        self.pending.fetch_add(n, Ordering::SeqCst);
        if self.callback.is_none() {
            return;
        }
        let due = match self.last_report.try_lock() {
            Ok(mut last) if last.elapsed() >= REPORT_EVERY => {
                *last = Instant::now();
                true
            }
            _ => false,
        };
        if due {
            self.flush();
        }
    }

    fn end(&self) {
        self.flush();
        self.call("end", "", None);
    }

    fn cancelled(&self) -> bool {
        if self.stop.load(Ordering::SeqCst) {
            return true;
        }
        // Signal handlers run on the main thread only; workers just read the flag.
        if std::thread::current().id() != self.thread {
            return false;
        }
        {
            let mut last = self.last_check.lock().expect("not poisoned");
            if last.elapsed() < CHECK_EVERY {
                return false;
            }
            *last = Instant::now();
        }
        if let Err(e) = Python::attach(|py| py.check_signals()) {
            self.fail(e);
        }
        self.stop.load(Ordering::SeqCst)
    }
}
