//! A small Chrome DevTools Protocol client for browser tests: headless Chromium driven
//! over `--remote-debugging-pipe` (CDP messages as JSON, each ended by a NUL byte; the
//! browser reads them on its fd 3 and writes them on its fd 4).
//!
//! No sockets and no `unsafe`: the browser is started through
//! `sh -c 'exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null'`, so its fd 3 and fd 4 are
//! our piped stdin and stdout. A reader thread turns the browser's output into messages
//! on a channel, so every wait has a deadline: a test fails with a clear message, it
//! never hangs. Dropping a [`Browser`] closes it and reaps its whole process group.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use base64::prelude::{Engine as _, BASE64_STANDARD};
use serde_json::{json, Value};

/// How long one protocol command, the start-up or the page load may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// How often [`Browser::wait_for`] evaluates its condition.
const POLL: Duration = Duration::from_millis(20);

/// How long [`Drop`] waits for the browser to exit after `Browser.close`.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// One headless Chromium with one page (tab) attached, driven over CDP.
pub struct Browser {
    child: Child,
    writer: Option<ChildStdin>,
    messages: Receiver<Result<Value, String>>,
    /// The flattened session of the page's target: every page command goes to it.
    session: String,
    next_id: u64,
    /// Events seen while waiting for replies, not yet taken by [`Browser::wait_event`].
    events: VecDeque<Value>,
    exceptions: Vec<String>,
    console_errors: Vec<String>,
    /// Where the mouse is, as the page last saw it.
    mouse: (f64, f64),
    /// The browser's stderr (kept for failure messages).
    log: PathBuf,
    /// Whether the browser's output has ended (it exited or closed fd 4).
    closed: bool,
}

impl Browser {
    /// Starts headless Chromium (profile and stderr log under `scratch`) with a
    /// `width` × `height` CSS-pixel viewport, opens `page` as a `file://` URL and waits
    /// for its load event. Page, Runtime and Log are enabled before the page loads, so
    /// [`Browser::exceptions`] and [`Browser::console_errors`] see everything.
    pub fn open(page: &Path, scratch: &Path, width: u32, height: u32) -> Browser {
        let page =
            std::fs::canonicalize(page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        let url = file_url(&page);
        std::fs::create_dir_all(scratch).expect("create the browser's scratch folder");
        let log = scratch.join("chromium-stderr.log");
        let stderr = std::fs::File::create(&log).expect("create the chromium log");
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null"#)
            .arg(super::browser::chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-default-apps",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
                "--mute-audio",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--window-size={width},{height}"))
            .arg(format!(
                "--user-data-dir={}",
                scratch.join("profile").display()
            ))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        // Its own process group, so that Drop can reap the helpers it forks too.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().expect("start chromium");
        let writer = child.stdin.take();
        let reader = child.stdout.take().expect("chromium's fd 4");
        let (send, messages) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("cdp-reader".into())
            .spawn(move || {
                let mut reader = BufReader::new(reader);
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    match reader.read_until(0, &mut buf) {
                        Ok(0) => break,
                        Ok(_) => {
                            if buf.last() == Some(&0) {
                                buf.pop();
                            }
                            let message = serde_json::from_slice(&buf).map_err(|e| {
                                format!("bad CDP message ({e}): {}", String::from_utf8_lossy(&buf))
                            });
                            if send.send(message).is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            let _ = send.send(Err(format!("reading chromium's fd 4: {e}")));
                            break;
                        }
                    }
                }
            })
            .expect("start the CDP reader thread");
        let mut browser = Browser {
            child,
            writer,
            messages,
            session: String::new(),
            next_id: 0,
            events: VecDeque::new(),
            exceptions: Vec::new(),
            console_errors: Vec::new(),
            mouse: (0.0, 0.0),
            log,
            closed: false,
        };
        let target = browser.call_browser("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"]
            .as_str()
            .expect("Target.createTarget: a targetId")
            .to_string();
        let attached = browser.call_browser(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        browser.session = attached["sessionId"]
            .as_str()
            .expect("Target.attachToTarget: a sessionId")
            .to_string();
        for domain in ["Page", "Runtime", "Log"] {
            browser.call(&format!("{domain}.enable"), json!({}));
        }
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
        browser.call("Page.bringToFront", json!({}));
        browser.navigate(&url);
        browser
    }

    /// Opens `url` in the page and waits (up to [`TIMEOUT`]) for its load event.
    pub fn navigate(&mut self, url: &str) {
        self.events.retain(|e| e["method"] != "Page.loadEventFired");
        let reply = self.call("Page.navigate", json!({"url": url}));
        if let Some(error) = reply.get("errorText") {
            panic!("Page.navigate {url}: {error}");
        }
        self.wait_event("Page.loadEventFired", TIMEOUT);
        let href = serde_json::to_string(url).expect("a URL as JSON");
        self.wait_for(
            &format!("document.readyState === 'complete' && location.href === {href}"),
            TIMEOUT,
        );
    }

    /// Sends a command to the page's session and returns its `result`; panics on a CDP
    /// error or when no reply comes within [`TIMEOUT`].
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.command(method, params, Some(&session))
    }

    /// Sends a browser-level command (no session), such as `Target.*` or `Browser.*`,
    /// and returns its `result`; panics as [`Browser::call`] does.
    pub fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.command(method, params, None)
    }

    /// Evaluates `expression` in the page (awaiting it when it is a promise) and returns
    /// its value as JSON (`null` for `undefined`); panics with the exception's text when
    /// it throws.
    pub fn eval(&mut self, expression: &str) -> Value {
        let reply = self.call(
            "Runtime.evaluate",
            json!({
                "expression": expression,
                "returnByValue": true,
                "awaitPromise": true,
                "userGesture": true,
            }),
        );
        if let Some(details) = reply.get("exceptionDetails") {
            panic!(
                "evaluating {expression:?} threw: {}",
                exception_text(details)
            );
        }
        reply["result"].get("value").cloned().unwrap_or(Value::Null)
    }

    /// Evaluates `expression` every 20 ms until it is truthy (JavaScript's sense);
    /// panics, naming the expression, when it is not within `timeout`.
    pub fn wait_for(&mut self, expression: &str, timeout: Duration) {
        let check = format!("Boolean({expression})");
        let deadline = Instant::now() + timeout;
        loop {
            if self.eval(&check) == Value::Bool(true) {
                return;
            }
            if Instant::now() >= deadline {
                panic!("still false after {timeout:?}: {expression}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the page has rendered `n` more animation frames (so that a change
    /// made by an event handler has been laid out and painted).
    pub fn frames(&mut self, n: u32) {
        self.eval(&format!(
            "new Promise(done => {{ let n = {}; const tick = () => --n > 0 ? \
             requestAnimationFrame(tick) : done(true); requestAnimationFrame(tick); }})",
            n.max(1)
        ));
    }

    /// Waits up to `timeout` for the event `method` from the page and returns its
    /// `params`; events that arrived earlier and were not taken yet count.
    pub fn wait_event(&mut self, method: &str, timeout: Duration) -> Value {
        if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
            return self.events.remove(i).expect("a queued event")["params"].clone();
        }
        let deadline = Instant::now() + timeout;
        loop {
            let message = self.next_message(deadline, method);
            if message.get("id").is_none() && message["method"] == method {
                self.record(&message);
                return message["params"].clone();
            }
            self.dispatch(message);
        }
    }

    /// The middle of the first element that `selector` matches, in viewport CSS pixels,
    /// after scrolling it into view (to the middle of the viewport where it can be).
    /// Panics when nothing matches or the element has no box.
    pub fn center_of(&mut self, selector: &str) -> (f64, f64) {
        let quoted = serde_json::to_string(selector).expect("a selector as JSON");
        let value = self.eval(&format!(
            "(() => {{ const el = document.querySelector({quoted}); \
             if (!el) throw new Error('no element matches ' + {quoted}); \
             el.scrollIntoView({{block: 'center', inline: 'center', behavior: 'instant'}}); \
             const r = el.getBoundingClientRect(); \
             if (!(r.width > 0 && r.height > 0)) throw new Error('no box: ' + {quoted}); \
             return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
        ));
        let x = value[0].as_f64();
        let y = value[1].as_f64();
        match (x, y) {
            (Some(x), Some(y)) => (x, y),
            _ => panic!("center_of({selector:?}): {value}"),
        }
    }

    /// Moves the mouse (no button held) to `(x, y)` in viewport CSS pixels: the page
    /// gets `mousemove`, and `mouseover`/`mouseout` where the element under it changes.
    pub fn mouse_move(&mut self, x: f64, y: f64) {
        self.mouse_event("mouseMoved", x, y, "none", 0, 0);
    }

    /// A left click at `(x, y)`: the mouse moves there, presses and releases.
    pub fn click(&mut self, x: f64, y: f64) {
        self.mouse_move(x, y);
        self.mouse_event("mousePressed", x, y, "left", 1, 1);
        self.mouse_event("mouseReleased", x, y, "left", 0, 1);
    }

    /// A wheel turn of `delta_y` CSS pixels (positive scrolls down) with the mouse at
    /// `(x, y)`. Scrolling happens asynchronously: wait for its effect.
    pub fn wheel(&mut self, x: f64, y: f64, delta_y: f64) {
        self.mouse_move(x, y);
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseWheel", "x": x, "y": y, "deltaX": 0, "deltaY": delta_y}),
        );
    }

    /// Drags with the left button from `from` to `to` in `steps` equal moves (at least
    /// one), then releases.
    pub fn drag(&mut self, from: (f64, f64), to: (f64, f64), steps: usize) {
        self.mouse_move(from.0, from.1);
        self.mouse_event("mousePressed", from.0, from.1, "left", 1, 1);
        let steps = steps.max(1);
        for i in 1..=steps {
            let t = i as f64 / steps as f64;
            let x = from.0 + (to.0 - from.0) * t;
            let y = from.1 + (to.1 - from.1) * t;
            self.mouse_event("mouseMoved", x, y, "left", 1, 0);
        }
        self.mouse_event("mouseReleased", to.0, to.1, "left", 0, 1);
    }

    /// Where the mouse is, as the page last saw it.
    pub fn mouse_position(&self) -> (f64, f64) {
        self.mouse
    }

    /// Types `text` into the focused element, as an input method would (one `input`
    /// event; no key events).
    pub fn type_text(&mut self, text: &str) {
        self.call("Input.insertText", json!({"text": text}));
    }

    /// Presses and releases one named key (`Enter`, `Escape`, `Tab`, `Backspace`,
    /// `Delete`, ` ` (space), `ArrowUp`/`Down`/`Left`/`Right`, `Home`, `End`, `PageUp`,
    /// `PageDown`), with `keydown` and `keyup` as a keyboard would send them.
    pub fn key(&mut self, key: &str) {
        let (code, key_code, text) = match key {
            "Enter" => ("Enter", 13, Some("\r")),
            "Escape" => ("Escape", 27, None),
            "Tab" => ("Tab", 9, None),
            "Backspace" => ("Backspace", 8, None),
            "Delete" => ("Delete", 46, None),
            " " => ("Space", 32, Some(" ")),
            "ArrowUp" => ("ArrowUp", 38, None),
            "ArrowDown" => ("ArrowDown", 40, None),
            "ArrowLeft" => ("ArrowLeft", 37, None),
            "ArrowRight" => ("ArrowRight", 39, None),
            "Home" => ("Home", 36, None),
            "End" => ("End", 35, None),
            "PageUp" => ("PageUp", 33, None),
            "PageDown" => ("PageDown", 34, None),
            other => panic!("key({other:?}): not a key this client knows"),
        };
        let mut down = json!({
            "type": if text.is_some() { "keyDown" } else { "rawKeyDown" },
            "key": key,
            "code": code,
            "windowsVirtualKeyCode": key_code,
            "nativeVirtualKeyCode": key_code,
        });
        if let Some(text) = text {
            down["text"] = json!(text);
            down["unmodifiedText"] = json!(text);
        }
        self.call("Input.dispatchKeyEvent", down);
        self.call(
            "Input.dispatchKeyEvent",
            json!({
                "type": "keyUp",
                "key": key,
                "code": code,
                "windowsVirtualKeyCode": key_code,
                "nativeVirtualKeyCode": key_code,
            }),
        );
    }

    /// Writes a PNG of the viewport to `path` and returns its bytes.
    pub fn screenshot(&mut self, path: &Path) -> Vec<u8> {
        let reply = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let data = reply["data"]
            .as_str()
            .expect("Page.captureScreenshot: data");
        let png = BASE64_STANDARD
            .decode(data)
            .expect("Page.captureScreenshot: base64");
        std::fs::write(path, &png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        png
    }

    /// The uncaught exceptions the page has thrown so far (`Runtime.exceptionThrown`,
    /// as collected while waiting for replies), as text.
    pub fn exceptions(&self) -> Vec<String> {
        self.exceptions.clone()
    }

    /// Errors the page logged so far: `console.error` calls and the browser's own error
    /// entries (`Log.entryAdded` at level error, such as a Content Security Policy
    /// violation or a failed load), as text.
    pub fn console_errors(&self) -> Vec<String> {
        self.console_errors.clone()
    }

    /// Takes (removes and returns) the queued events named `method`, oldest first.
    pub fn take_events(&mut self, method: &str) -> Vec<Value> {
        let (taken, kept) = std::mem::take(&mut self.events)
            .into_iter()
            .partition(|e| e["method"] == method);
        self.events = kept;
        taken.into_iter().map(|e| e["params"].clone()).collect()
    }

    fn mouse_event(&mut self, kind: &str, x: f64, y: f64, button: &str, buttons: u32, clicks: u32) {
        self.call(
            "Input.dispatchMouseEvent",
            json!({
                "type": kind,
                "x": x,
                "y": y,
                "button": button,
                "buttons": buttons,
                "clickCount": clicks,
            }),
        );
        self.mouse = (x, y);
    }

    /// Sends one command and waits for its reply, keeping the events that come first.
    fn command(&mut self, method: &str, params: Value, session: Option<&str>) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).expect("a CDP command as JSON");
        bytes.push(0);
        let written = match self.writer.as_mut() {
            Some(w) => w.write_all(&bytes).and_then(|()| w.flush()),
            None => Err(std::io::Error::other("the pipe to chromium is closed")),
        };
        if let Err(e) = written {
            panic!("sending {method} to chromium: {e}{}", self.log_tail());
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self.next_message(deadline, method);
            if message.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(error) = message.get("error") {
                    panic!("{method} failed: {error}");
                }
                return message.get("result").cloned().unwrap_or(Value::Null);
            }
            self.dispatch(message);
        }
    }

    /// The next message from the browser; panics, naming `waiting_for`, at `deadline`
    /// or when the browser's output ends.
    fn next_message(&mut self, deadline: Instant, waiting_for: &str) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.messages.recv_timeout(left) {
            Ok(Ok(message)) => message,
            Ok(Err(e)) => panic!("{e}"),
            Err(RecvTimeoutError::Timeout) => {
                panic!(
                    "no answer from chromium for {waiting_for}{}",
                    self.log_tail()
                )
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.closed = true;
                panic!(
                    "chromium exited while waiting for {waiting_for}{}",
                    self.log_tail()
                )
            }
        }
    }

    /// Keeps an event (replies to commands no longer waited for are dropped).
    fn dispatch(&mut self, message: Value) {
        if message.get("id").is_none() {
            self.record(&message);
            self.events.push_back(message);
        }
    }

    /// Notes the exceptions and errors an event reports.
    fn record(&mut self, event: &Value) {
        let params = &event["params"];
        match event["method"].as_str() {
            Some("Runtime.exceptionThrown") => {
                self.exceptions
                    .push(exception_text(&params["exceptionDetails"]));
            }
            Some("Runtime.consoleAPICalled") if params["type"] == "error" => {
                let args: Vec<String> = params["args"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|v| match &v["value"] {
                                Value::String(s) => s.clone(),
                                Value::Null => v["description"].as_str().unwrap_or("").into(),
                                other => other.to_string(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                self.console_errors
                    .push(format!("console.error: {}", args.join(" ")));
            }
            Some("Log.entryAdded") if params["entry"]["level"] == "error" => {
                let entry = &params["entry"];
                self.console_errors.push(format!(
                    "{}: {}",
                    entry["source"].as_str().unwrap_or("log"),
                    entry["text"].as_str().unwrap_or("")
                ));
            }
            _ => {}
        }
    }

    /// The end of the browser's stderr, for failure messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        if tail.is_empty() {
            String::new()
        } else {
            format!("\nchromium's stderr ({}):\n{tail}", self.log.display())
        }
    }

    /// Whether the browser's output ends within `timeout` (what it sends until then is
    /// dropped).
    fn drain_until_closed(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => self.closed = true,
                Err(RecvTimeoutError::Timeout) => return false,
            }
        }
        true
    }
}

impl Drop for Browser {
    /// `Browser.close`, a few seconds for the browser to exit, then SIGKILL to its whole
    /// process group (any helper left behind, or the browser itself if it hangs) and a
    /// wait, so that no chromium process outlives the test. Never panics.
    fn drop(&mut self) {
        if !self.closed {
            self.next_id += 1;
            let close = json!({"id": self.next_id, "method": "Browser.close", "params": {}});
            if let Some(w) = self.writer.as_mut() {
                let mut bytes = close.to_string().into_bytes();
                bytes.push(0);
                let _ = w.write_all(&bytes).and_then(|()| w.flush());
            }
            self.drain_until_closed(CLOSE_GRACE);
        }
        self.writer = None;
        // The browser is not reaped yet (at worst it is a zombie), so its process group
        // id still names only the processes it started.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(r#"kill -9 "-$0" 2>/dev/null"#)
            .arg(self.child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `file://` URL of an absolute path, with the characters a URL path cannot hold
/// percent-encoded.
pub fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for &b in path.to_string_lossy().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// The text of a CDP `ExceptionDetails`: the exception's description (message and
/// stack) where there is one, else its text, with the place it was thrown.
fn exception_text(details: &Value) -> String {
    let what = details["exception"]["description"]
        .as_str()
        .or_else(|| details["text"].as_str())
        .unwrap_or("an exception");
    format!(
        "{what} (at {}:{}:{})",
        details["url"].as_str().unwrap_or("?"),
        details["lineNumber"],
        details["columnNumber"]
    )
}
