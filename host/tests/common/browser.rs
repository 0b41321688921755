//! A real browser for tests: Debian's Chromium and its WebDriver
//! (`chromium-driver`), installed with apt-get when missing, as the
//! README's test command promises.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BROWSERS: &[&str] = &["chromium", "chromium-browser", "google-chrome"];
const DRIVERS: &[&str] = &["chromedriver"];

/// The first of `names` on PATH.
fn find_program(names: &[&'static str]) -> Option<&'static str> {
    names.iter().copied().find(|name| {
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .any(|dir| dir.join(name).is_file())
    })
}

/// Install Debian's Chromium and its driver (as root, or through `sudo -n`).
fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if find_program(BROWSERS).is_some() && find_program(DRIVERS).is_some() {
            return;
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        let apt = |args: &[&str]| {
            let mut command = if root {
                Command::new("apt-get")
            } else {
                let mut sudo = Command::new("sudo");
                sudo.args(["-n", "apt-get"]);
                sudo
            };
            command
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        let _ = apt(&["update", "-qq"])
            && apt(&["install", "-y", "-qq", "chromium", "chromium-driver"]);
    });
}

/// Chromium, installed when the machine has none.
pub fn browser() -> &'static str {
    install();
    find_program(BROWSERS)
        .expect("a Chromium browser: `apt-get install chromium` failed or is not allowed here")
}

/// A WebDriver session in headless Chromium; the driver stops when it is
/// dropped.
pub struct Browser {
    /// The session.
    pub client: fantoccini::Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Start `chromedriver` on a free port and open a headless window of
    /// `width`x`height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        install();
        let driver_name = find_program(DRIVERS).expect(
            "chromedriver: `apt-get install chromium-driver` failed or is not allowed here",
        );
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": which(browser()),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-dev-shm-usage",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let mut last = None;
        // The free port is found by binding and letting it go, so another
        // process may take it before the driver does: the driver then
        // exits, and a new one starts on another port.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut driver = Command::new(driver_name)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let url = format!("http://127.0.0.1:{port}");
            // The driver takes a moment to listen, longer on a loaded machine.
            let deadline = std::time::Instant::now() + super::server::PATIENCE;
            while std::time::Instant::now() < deadline {
                match fantoccini::ClientBuilder::new(
                    hyper_util::client::legacy::connect::HttpConnector::new(),
                )
                .capabilities(caps.clone())
                .connect(&url)
                .await
                {
                    Ok(client) => {
                        return Browser {
                            client,
                            driver,
                            _profile: profile,
                        };
                    }
                    Err(e) => last = Some(e),
                }
                if let Ok(Some(status)) = driver.try_wait() {
                    eprintln!("chromedriver on port {port} ended ({status}); trying another port");
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let _ = driver.kill();
            let _ = driver.wait();
        }
        panic!("no WebDriver session: {last:?}");
    }

    /// Wait until the script `condition` (a JavaScript expression) is true
    /// in the current page.
    pub async fn wait_for(&self, condition: &str) {
        let script = format!("return !!({condition});");
        let deadline = std::time::Instant::now() + super::server::PATIENCE;
        loop {
            let done = self
                .client
                .execute(&script, vec![])
                .await
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if done {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the page never had {condition}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The result of the JavaScript `expression` in the current page.
    pub async fn eval(&self, expression: &str) -> serde_json::Value {
        self.client
            .execute(&format!("return ({expression});"), vec![])
            .await
            .unwrap()
    }

    /// End the session and stop the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The full path of the program `name` on PATH.
fn which(name: &str) -> String {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .map(|path| path.display().to_string())
        .unwrap_or_else(|| name.to_owned())
}
