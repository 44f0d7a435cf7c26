//! A small Chrome DevTools Protocol client for the browser tests: launches Debian's
//! headless Chromium, opens pages in fresh browser contexts, evaluates JavaScript, sends
//! mouse events, sets file inputs, takes screenshots, collects console errors and what
//! a page downloaded.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// A running Chromium and the WebSocket to its browser target.
pub struct Browser {
    child: Child,
    socket: WebSocket<TcpStream>,
    next_id: u64,
    /// Events received while waiting for command replies.
    events: Vec<Value>,
    _profile: TempDir,
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One response a page received.
#[derive(Debug, Clone)]
pub struct Download {
    /// Its URL.
    pub url: String,
    /// `Content-Encoding` (empty when none).
    pub encoding: String,
    /// Bytes received (as sent: compressed when the server compressed it).
    pub bytes: u64,
}

/// A page attached with a flat session.
pub struct Page {
    /// DevTools session id.
    pub session: String,
    /// Target id.
    pub target: String,
    /// Sessions of the page's workers (auto-attached), console enabled.
    pub workers: std::cell::RefCell<Vec<String>>,
}

/// The Chromium binary: `$CHROMIUM`, else `chromium` on the PATH.
fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

impl Browser {
    /// Starts headless Chromium; `webgpu` adds `--enable-unsafe-webgpu` (SwiftShader here).
    pub fn launch(webgpu: bool) -> Self {
        Self::launch_with(webgpu, &[])
    }

    /// [`Self::launch`] with more command-line switches (`--host-resolver-rules=…`).
    pub fn launch_with(webgpu: bool, extra: &[String]) -> Self {
        // One profile per launch: tests of one binary run in parallel, and a second
        // Chromium on the same profile hands over to the first and exits.
        static LAUNCHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let profile = std::env::temp_dir().join(format!(
            "samscope-chromium-{}-{}",
            std::process::id(),
            LAUNCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--remote-debugging-port=0",
            "--window-size=1280,800",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if webgpu {
            args.extend(
                [
                    "--enable-unsafe-webgpu",
                    "--enable-features=Vulkan",
                    "--use-webgpu-adapter=swiftshader",
                    "--use-angle=swiftshader",
                ]
                .map(String::from),
            );
        } else {
            args.push("--disable-gpu".into());
        }
        args.extend(extra.iter().cloned());
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push("about:blank".into());
        let mut child = Command::new(chromium())
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `{}` ({e}); install it with scripts/web-tools.sh --with-browser",
                    chromium()
                )
            });
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("Chromium printed no DevTools address within 30 s");
        let host = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let stream = TcpStream::connect(&host).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let (socket, _) = tungstenite::client(url.as_str(), stream).expect("DevTools handshake");
        Self {
            child,
            socket,
            next_id: 0,
            events: Vec::new(),
            _profile: TempDir(profile),
        }
    }

    /// Sends a command and waits (up to `timeout`) for its result.
    pub fn call_with_timeout(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .map_err(|e| format!("{method}: {e}"))?;
        let deadline = Instant::now() + timeout;
        loop {
            if Instant::now() > deadline {
                return Err(format!("{method}: no reply within {timeout:?}"));
            }
            let text = match self.socket.read() {
                Ok(Message::Text(text)) => text.to_string(),
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(format!("{method}: {e}")),
            };
            let value: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            if value["id"] == json!(id) {
                if let Some(error) = value.get("error") {
                    return Err(format!("{method}: {error}"));
                }
                return Ok(value["result"].clone());
            }
            if value.get("method").is_some() {
                self.events.push(value);
            }
        }
    }

    /// [`Self::call_with_timeout`] with 60 s.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.call_with_timeout(session, method, params, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A new browser context (fresh cookies, storage and caches): its id.
    pub fn new_context(&mut self) -> String {
        let context = self.call(None, "Target.createBrowserContext", json!({}));
        context["browserContextId"].as_str().unwrap().to_string()
    }

    /// Opens `url` in a new browser context.
    pub fn open_in_new_context(&mut self, url: &str) -> Page {
        let context = self.new_context();
        self.open(url, Some(&context))
    }

    /// Opens `url` in a new tab of `context` (the default context when `None`).
    pub fn open(&mut self, url: &str, context: Option<&str>) -> Page {
        self.open_with(url, context, false)
    }

    /// [`Self::open`], with each worker held at its start until its network is recorded
    /// too (resumed by the next wait or evaluation), so [`Self::downloads`] sees all.
    pub fn open_recording_downloads(&mut self, url: &str, context: Option<&str>) -> Page {
        self.open_with(url, context, true)
    }

    fn open_with(&mut self, url: &str, context: Option<&str>, hold_workers: bool) -> Page {
        let mut params = json!({ "url": "about:blank" });
        if let Some(context) = context {
            params["browserContextId"] = json!(context);
        }
        let target = self.call(None, "Target.createTarget", params)["targetId"]
            .as_str()
            .unwrap()
            .to_string();
        let session = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        )["sessionId"]
            .as_str()
            .unwrap()
            .to_string();
        for domain in [
            "Runtime.enable",
            "Page.enable",
            "Log.enable",
            "DOM.enable",
            "Network.enable",
        ] {
            self.call(Some(&session), domain, json!({}));
        }
        self.call(
            Some(&session),
            "Target.setAutoAttach",
            json!({ "autoAttach": true, "waitForDebuggerOnStart": hold_workers, "flatten": true }),
        );
        self.call(
            Some(&session),
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false }),
        );
        let page = Page {
            session,
            target,
            workers: Default::default(),
        };
        self.navigate(&page, url);
        page
    }

    /// Loads `url` in `page`.
    pub fn navigate(&mut self, page: &Page, url: &str) {
        self.call(Some(&page.session), "Page.navigate", json!({ "url": url }));
    }

    /// Evaluates `expression` (awaiting promises) and returns its JSON value.
    pub fn eval(&mut self, page: &Page, expression: &str) -> Value {
        self.watch_workers(page);
        let result = self.call(
            Some(&page.session),
            "Runtime.evaluate",
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("`{expression}` threw: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Turns on console and network reporting in workers the page started since the last
    /// call, and lets them run (a page opened with [`Self::open_recording_downloads`] holds
    /// them at their start until then).
    fn watch_workers(&mut self, page: &Page) {
        let new: Vec<String> = self
            .events
            .iter()
            .filter(|e| {
                e["method"] == "Target.attachedToTarget" && e["sessionId"] == json!(page.session)
            })
            .filter_map(|e| e["params"]["sessionId"].as_str().map(String::from))
            .filter(|s| !page.workers.borrow().contains(s))
            .collect();
        for session in new {
            for domain in [
                "Runtime.enable",
                "Network.enable",
                "Runtime.runIfWaitingForDebugger",
            ] {
                let _ = self.call_with_timeout(
                    Some(&session),
                    domain,
                    json!({}),
                    Duration::from_secs(10),
                );
            }
            page.workers.borrow_mut().push(session);
        }
    }

    /// Polls `expression` every 100 ms until it is truthy; panics after `timeout`.
    pub fn wait_for(&mut self, page: &Page, expression: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            self.watch_workers(page);
            let result = self.call(
                Some(&page.session),
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true }),
            );
            let value = result["result"]["value"].clone();
            let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!("")
                && value != json!(0)
                && result.get("exceptionDetails").is_none();
            if truthy {
                return value;
            }
            if Instant::now() > deadline {
                let status = self.call(
                    Some(&page.session),
                    "Runtime.evaluate",
                    json!({ "expression": "(document.getElementById('status') || {}).textContent + ' | ' + (window.samscopeState ? window.samscopeState() : '')", "returnByValue": true }),
                );
                panic!(
                    "waited {timeout:?} for `{expression}`; errors so far: {:?}; console: {:?}; page: {}",
                    self.console_errors(page),
                    self.console_messages(page),
                    status["result"]["value"]
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sets the files of the `<input type=file>` matching `selector` (fires `change`).
    pub fn set_file(&mut self, page: &Page, selector: &str, file: &Path) {
        let root = self.call(Some(&page.session), "DOM.getDocument", json!({}));
        let node = self.call(
            Some(&page.session),
            "DOM.querySelector",
            json!({ "nodeId": root["root"]["nodeId"], "selector": selector }),
        );
        self.call(
            Some(&page.session),
            "DOM.setFileInputFiles",
            json!({ "files": [file.canonicalize().expect("the file exists").display().to_string()],
                    "nodeId": node["nodeId"] }),
        );
    }

    /// A mouse event at CSS pixel `(x, y)`.
    pub fn mouse(&mut self, page: &Page, kind: &str, x: f64, y: f64, button: &str, modifiers: u32) {
        self.call(
            Some(&page.session),
            "Input.dispatchMouseEvent",
            json!({ "type": kind, "x": x, "y": y, "button": button,
                    "buttons": if kind == "mouseReleased" || button == "none" { 0 } else { 1 },
                    "clickCount": 1, "modifiers": modifiers }),
        );
    }

    /// A PNG screenshot of the page.
    pub fn screenshot(&mut self, page: &Page) -> Vec<u8> {
        use base64::Engine;
        let shot = self.call(
            Some(&page.session),
            "Page.captureScreenshot",
            json!({ "format": "png" }),
        );
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap()
    }

    /// What `page` and its workers downloaded so far: one entry per finished response,
    /// with the bytes that came over the wire (headers and body as sent, so compressed
    /// when the server compressed it).
    pub fn downloads(&mut self, page: &Page) -> Vec<Download> {
        let _ = self.console_errors(page);
        let sessions = self.sessions_of(page);
        let of_page = |e: &&Value| sessions.contains(&e["sessionId"]);
        let responses: Vec<&Value> = self
            .events
            .iter()
            .filter(of_page)
            .filter(|e| e["method"] == "Network.responseReceived")
            .collect();
        self.events
            .iter()
            .filter(of_page)
            .filter(|e| e["method"] == "Network.loadingFinished")
            .filter_map(|finished| {
                let id = &finished["params"]["requestId"];
                let response = responses.iter().find(|r| &r["params"]["requestId"] == id)?;
                let response = &response["params"]["response"];
                let encoding = response["headers"]
                    .as_object()
                    .and_then(|h| {
                        h.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case("content-encoding"))
                    })
                    .and_then(|(_, v)| v.as_str())
                    .unwrap_or("")
                    .to_string();
                Some(Download {
                    url: response["url"].as_str().unwrap_or("").to_string(),
                    encoding,
                    bytes: finished["params"]["encodedDataLength"]
                        .as_f64()
                        .unwrap_or(0.0) as u64,
                })
            })
            .collect()
    }

    /// Waits (up to 30 s) for `page` to open a JavaScript dialog (`confirm`, `alert`…),
    /// answers it and returns its message.
    pub fn answer_dialog(&mut self, page: &Page, accept: bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let opened = self.events.iter().position(|e| {
                e["method"] == "Page.javascriptDialogOpening"
                    && e["sessionId"] == json!(page.session)
            });
            if let Some(i) = opened {
                let event = self.events.remove(i);
                self.call(
                    Some(&page.session),
                    "Page.handleJavaScriptDialog",
                    json!({ "accept": accept }),
                );
                return event["params"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
            }
            assert!(Instant::now() < deadline, "no dialog opened within 30 s");
            // A browser-level call (the page's thread is blocked by the dialog) to read events.
            self.call(None, "Target.getTargets", json!({}));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Console errors, uncaught exceptions and error log entries of `page` so far.
    pub fn console_errors(&mut self, page: &Page) -> Vec<String> {
        // Drain pending events without blocking for long.
        let _ = self.call_with_timeout(
            Some(&page.session),
            "Runtime.evaluate",
            json!({ "expression": "1" }),
            Duration::from_secs(10),
        );
        self.watch_workers(page);
        let sessions = self.sessions_of(page);
        self.events
            .iter()
            .filter(|e| sessions.contains(&e["sessionId"]))
            .filter_map(|e| {
                let p = &e["params"];
                match e["method"].as_str()? {
                    "Runtime.consoleAPICalled" if p["type"] == "error" => {
                        Some(format!("console.error: {}", p["args"]))
                    }
                    "Runtime.exceptionThrown" => {
                        Some(format!("exception: {}", p["exceptionDetails"]))
                    }
                    "Log.entryAdded" if p["entry"]["level"] == "error" => {
                        Some(format!("log: {}", p["entry"]["text"]))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    fn sessions_of(&self, page: &Page) -> Vec<Value> {
        std::iter::once(json!(page.session))
            .chain(page.workers.borrow().iter().map(|s| json!(s)))
            .collect()
    }

    /// Console messages of `page` and its workers (all types), for diagnostics.
    pub fn console_messages(&self, page: &Page) -> Vec<String> {
        let sessions = self.sessions_of(page);
        self.events
            .iter()
            .filter(|e| sessions.contains(&e["sessionId"]))
            .filter(|e| e["method"] == "Runtime.consoleAPICalled")
            .map(|e| e["params"]["args"].to_string())
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
