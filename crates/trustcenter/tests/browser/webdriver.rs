//! A small W3C WebDriver client over `ureq`: starts Debian's `chromedriver` on a free loopback
//! port, opens one headless Chromium session, and speaks just the commands the browser tests use.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
}

/// Where a tool lives, or None. With CI=true a missing tool is a failure, not a skip.
fn find_tool(names: &[&str]) -> Option<PathBuf> {
    for n in names {
        for dir in ["/usr/bin", "/usr/lib/chromium", "/usr/local/bin"] {
            let p = Path::new(dir).join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// The headless browser, or None (skip, with the reason printed) outside CI when it is missing.
pub fn launch() -> Option<Browser> {
    let driver = find_tool(&["chromedriver"]);
    let chromium = find_tool(&["chromium", "chromium-browser"]);
    let (Some(driver), Some(chromium)) = (driver, chromium) else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("chromium and chromedriver are missing: .ci/apt/browser.txt installs them (chromium, chromium-driver)");
        }
        eprintln!("note: chromium or chromedriver not installed (apt-get install chromium chromium-driver); skipping the browser test");
        return None;
    };
    Some(Browser::start(&driver, &chromium))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    fn start(driver: &Path, chromium: &Path) -> Browser {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", driver.display()));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(90)))
            .http_status_as_error(false)
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let mut b = Browser {
            driver: child,
            base,
            session: String::new(),
            agent,
        };
        let t0 = Instant::now();
        loop {
            if let Ok(v) = b.raw("GET", "/status", None) {
                if v["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            // An alert left open is how a script that ran would show; keep it for the test to see.
            "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1400", "--lang=en-GB", "--no-first-run", "--disable-extensions"]
            }
        }}});
        let v = b.raw("POST", "/session", Some(caps)).expect("new session");
        b.session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        b
    }

    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, b) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(b.unwrap_or(json!({})).to_string().as_bytes()),
        };
        let mut resp = resp.map_err(|e| format!("{method} {path}: {e}"))?;
        let text = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
    }

    /// A session command; a WebDriver error panics with its message.
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let v = self
            .try_cmd(method, path, body)
            .unwrap_or_else(|e| panic!("{e}"));
        v
    }

    fn try_cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let v = self.raw(method, &format!("/session/{}{path}", self.session), body)?;
        if let Some(err) = v["value"]["error"].as_str() {
            return Err(format!(
                "webdriver {method} {path}: {err}: {}",
                v["value"]["message"]
            ));
        }
        Ok(v["value"].clone())
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap().to_string()
    }

    pub fn source(&self) -> String {
        self.cmd("GET", "/source", None)
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn find(&self, css: &str) -> String {
        self.try_find(css)
            .unwrap_or_else(|| panic!("no element {css:?} on {}", self.url()))
    }

    pub fn try_find(&self, css: &str) -> Option<String> {
        self.try_cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        )
        .ok()
        .map(|v| {
            v[ELEMENT]
                .as_str()
                .unwrap_or_else(|| panic!("find {css:?}: {v}"))
                .to_string()
        })
    }

    pub fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.cmd("GET", &format!("/element/{e}/text"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn body_text(&self) -> String {
        self.text("body")
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        );
    }

    /// Picks a local file in an `<input type=file>`.
    pub fn type_into_file(&self, css: &str, path: &Path) {
        let e = self.find(css);
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": path.to_string_lossy()})),
        );
    }

    /// Chooses the `<option>` whose visible text contains `label`.
    pub fn select(&self, select_css: &str, label: &str) {
        let sel = self.find(select_css);
        let opts = self.cmd(
            "POST",
            &format!("/element/{sel}/elements"),
            Some(json!({"using": "css selector", "value": "option"})),
        );
        for o in opts.as_array().unwrap() {
            let id = o[ELEMENT].as_str().unwrap();
            let t = self.cmd("GET", &format!("/element/{id}/text"), None);
            if t.as_str().unwrap().contains(label) {
                self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})));
                return;
            }
        }
        panic!("no option {label:?} in {select_css}");
    }

    /// Clicks something that loads a new page (a submit button, a link) and waits for the new
    /// page: chromedriver may return before a form's navigation has started.
    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.script("window.__before_click = true;");
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})));
        let t0 = Instant::now();
        loop {
            let done = self.try_cmd(
                "POST",
                "/execute/sync",
                Some(json!({"script": "return window.__before_click === undefined && document.readyState === 'complete';", "args": []})),
            );
            if done == Ok(json!(true)) {
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "clicking {css:?} loaded no new page"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs a script (the test's own instrument: the pages themselves need none).
    pub fn script(&self, js: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
    }

    /// The text of an open alert, if a page raised one.
    pub fn alert(&self) -> Option<String> {
        self.try_cmd("GET", "/alert/text", None)
            .ok()
            .map(|v| v.as_str().unwrap_or("").to_string())
    }

    pub fn cookies(&self) -> Vec<Value> {
        self.cmd("GET", "/cookie", None).as_array().unwrap().clone()
    }

    pub fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let v = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    pub fn set_window(&self, w: u32, h: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": w, "height": h})),
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.raw("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
