//! A running `host serve` for tests: the real binary on a free port.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long anything may take before the test fails (a render, a reload).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A running `host serve`, stopped when dropped.
pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:PORT/`.
    pub base: String,
    /// What it prints, line by line.
    pub lines: mpsc::Receiver<String>,
}

impl Server {
    pub fn start(site: &Path) -> Server {
        Server::start_with(site, &[])
    }

    /// `host serve --port 0 ARGS` on `site`.
    pub fn start_with(site: &Path, args: &[&str]) -> Server {
        Server::start_with_env(site, args, &[])
    }

    /// [`Server::start_with`], with these environment variables set.
    pub fn start_with_env(site: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_host"))
            .args(["serve", "--port", "0", "--site"])
            .arg(site)
            .args(args)
            .envs(env.iter().copied())
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (lines, found) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let base = loop {
            let line = found
                .recv_timeout(PATIENCE)
                .expect("host serve says where it serves");
            // Only the serving line: a warning printed before it (a site
            // snapshot that could not be built, with a wasm backtrace "at"
            // some function) is no address.
            if let Some(url) = line
                .strip_prefix("Serving ")
                .and_then(|rest| rest.rsplit_once(" at "))
                .and_then(|(_, r)| r.split(' ').next())
            {
                break url.to_owned();
            }
        };
        Server {
            child,
            base,
            lines: found,
        }
    }

    /// The next line it prints that holds `text`.
    pub fn next_line_containing(&mut self, text: &str) -> String {
        self.next_line_within(text, PATIENCE)
    }

    /// The next line it prints that holds `text`, waiting at most
    /// `patience` for each line.
    pub fn next_line_within(&mut self, text: &str, patience: Duration) -> String {
        let mut seen = Vec::new();
        loop {
            let Ok(line) = self.lines.recv_timeout(patience) else {
                panic!("host serve printed no line with {text:?}; it printed {seen:#?}")
            };
            if line.contains(text) {
                return line;
            }
            seen.push(line);
        }
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let mut response = agent
            .get(format!("{}{}", self.base, path.trim_start_matches('/')))
            .call()
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.body_mut().read_to_string().unwrap_or_default(),
        )
    }

    /// The event stream's events (`name`, `data`), as they come.
    pub fn events(&self) -> mpsc::Receiver<(String, String)> {
        let url = format!("{}_blogmark/events", self.base);
        let (sender, events) = mpsc::channel();
        std::thread::spawn(move || {
            let response = ureq::get(&url).call().unwrap();
            let reader = BufReader::new(response.into_body().into_reader());
            // An event ends at a blank line; a field may be missing.
            let (mut name, mut data) = (String::new(), String::new());
            for line in reader.lines().map_while(Result::ok) {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_owned();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data = d.trim().to_owned();
                } else if line.is_empty() && !name.is_empty() {
                    let event = (std::mem::take(&mut name), std::mem::take(&mut data));
                    if sender.send(event).is_err() {
                        return;
                    }
                }
            }
        });
        events
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
