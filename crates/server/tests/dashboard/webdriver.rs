//! A small WebDriver client (the W3C protocol over HTTP to `chromedriver` on 127.0.0.1) and
//! the headless Chromium it drives: what the browser tests need, nothing more.

use serde_json::{Value, json};
use spillway_engines::env_file::{EnginesEnv, REQUIRE_ENGINES};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key W3C WebDriver uses for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a condition may take to hold in the page.
pub const PAGE_DEADLINE: Duration = Duration::from_secs(30);

fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// The browser and its driver, or `None` after a loud skip (a failure when
/// `SPILLWAY_REQUIRE_ENGINES=1`).
pub fn browser(test: &str) -> Option<(PathBuf, PathBuf)> {
    // SPILLWAY_CHROMIUM and SPILLWAY_CHROMEDRIVER name other binaries; a name that is not a
    // file counts as missing.
    let chosen = |var: &str, names: &[&str]| match std::env::var_os(var) {
        Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
        None => find_on_path(names),
    };
    let chromium = chosen(
        "SPILLWAY_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let driver = chosen("SPILLWAY_CHROMEDRIVER", &["chromedriver"]);
    match (chromium, driver) {
        (Some(c), Some(d)) => Some((c, d)),
        (c, d) => {
            let missing = [("chromium", c.is_none()), ("chromedriver", d.is_none())]
                .iter()
                .filter(|(_, m)| *m)
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(" and ");
            assert!(
                !EnginesEnv::engines_required(),
                "{test}: a real browser is required but {missing} was not found (on PATH, or where SPILLWAY_CHROMIUM or SPILLWAY_CHROMEDRIVER point): apt-get install chromium chromium-driver"
            );
            let _ = writeln!(
                std::io::stderr().lock(),
                "\n******** SKIPPED {test}: {missing} was not found (on PATH, or where SPILLWAY_CHROMIUM or SPILLWAY_CHROMEDRIVER point).\n\
                 ******** Install them with `apt-get install chromium chromium-driver` (scripts/engines/start-all.sh does); set {REQUIRE_ENGINES}=1 to make this a failure.\n"
            );
            None
        }
    }
}

/// A running chromedriver; stopped when dropped.
pub struct Driver {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits (bounded) until it answers.
    pub async fn start(driver: &Path, log: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let d = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = d.http.get(format!("{}/status", d.url)).send().await
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                return d;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {} within 20 s (log: {})",
                d.url,
                log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new headless Chromium with a fresh profile in `profile`.
    pub async fn session(&self, chromium: &Path, profile: &Path) -> Browser {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        }}});
        let v = send(
            &self.http,
            reqwest::Method::POST,
            &format!("{}/session", self.url),
            Some(caps),
        )
        .await;
        let id = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver gave no session: {v}"))
            .to_string();
        Browser {
            base: format!("{}/session/{id}", self.url),
            http: self.http.clone(),
        }
    }
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    let mut req = http
        .request(method.clone(), url)
        .timeout(Duration::from_secs(60));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("webdriver {method} {url}: {e}"));
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(
        status.is_success(),
        "webdriver {method} {url} answered {status}: {}",
        v["value"]["message"]
    );
    // Every answer is `{"value": ...}` (for `POST /session`: `{"value": {"sessionId", ...}}`).
    v.get("value").cloned().unwrap_or(v)
}

/// One browser session.
pub struct Browser {
    base: String,
    http: reqwest::Client,
}

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        send(&self.http, method, &format!("{}{path}", self.base), body).await
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Runs a script in the page and returns its value.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.eval("return document.body.innerText;", json!([]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The element for a CSS selector, waiting (bounded) for it to appear.
    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + PAGE_DEADLINE;
        loop {
            let found = self
                .eval(
                    "return document.querySelector(arguments[0]) !== null;",
                    json!([css]),
                )
                .await;
            if found == true {
                let v = self
                    .call(
                        reqwest::Method::POST,
                        "/element",
                        Some(json!({ "using": "css selector", "value": css })),
                    )
                    .await;
                return v[ELEMENT].as_str().unwrap().to_string();
            }
            if Instant::now() > deadline {
                panic!(
                    "no element {css} within {PAGE_DEADLINE:?}; the page says:\n{}",
                    self.text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks what `css` selects (like a person: the browser's own click).
    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Types `text` into what `css` selects.
    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// The text of what `css` selects ("" when nothing matches).
    pub async fn text_of(&self, css: &str) -> String {
        self.eval(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
            json!([css]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Waits (bounded) until the text of `css` satisfies `pred`; returns that text.
    pub async fn wait_text(&self, css: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PAGE_DEADLINE;
        loop {
            let t = self.text_of(css).await;
            if pred(&t) {
                return t;
            }
            if Instant::now() > deadline {
                panic!(
                    "{css} never showed {what} within {PAGE_DEADLINE:?}; it shows:\n{t}\n--- the page:\n{}",
                    self.text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Presses a key (a WebDriver key code, e.g. `\u{E007}` for Enter) in whatever has the
    /// focus, as a keyboard would.
    pub async fn press(&self, key: char) {
        let k = key.to_string();
        self.call(
            reqwest::Method::POST,
            "/actions",
            Some(
                json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                    {"type": "keyDown", "value": k}, {"type": "keyUp", "value": k}
                ]}]}),
            ),
        )
        .await;
    }

    /// Sets the window's size (to check the phone layout).
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// Forgets every cookie (a new visitor).
    pub async fn clear_cookies(&self) {
        self.call(reqwest::Method::DELETE, "/cookie", None).await;
    }

    /// The cookies the page holds, as WebDriver reports them (HttpOnly ones included).
    pub async fn cookies(&self) -> Value {
        self.call(reqwest::Method::GET, "/cookie", None).await
    }

    /// Writes a PNG of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Ends the session (closes the browser).
    pub async fn quit(self) {
        let _ = self
            .http
            .delete(&self.base)
            .timeout(Duration::from_secs(20))
            .send()
            .await;
    }
}
