//! A plain HTTP/1.1 server for tests that need a remote end (link checks,
//! `ctx.fetch`): bound to a free port of 127.0.0.1, each request answered on
//! a thread of its own by the test's function, stopped when dropped or after
//! ten minutes, whichever comes first.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A request as the stub read it.
pub struct Request {
    /// `GET`, `HEAD`, ...
    pub method: String,
    /// The path asked for, with its query.
    pub path: String,
}

/// What the stub answers: a status line (`200 OK`), extra header lines
/// (each ending with `\r\n`) and a body.
pub struct Reply {
    pub status: &'static str,
    pub headers: String,
    pub body: Vec<u8>,
}

/// A running stub; stops when dropped.
pub struct Stub {
    /// Its port on 127.0.0.1.
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl Stub {
    /// Start a stub answering each request with `answer` (given the request
    /// and the stub's port, to send redirects to itself).
    pub fn start(answer: impl Fn(&Request, u16) -> Reply + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let (answer, stopped) = (Arc::new(answer), stop.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            while !stopped.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(600) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let answer = answer.clone();
                        std::thread::spawn(move || reply(stream, port, &*answer));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Stub { port, stop }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Read one request from `stream` (its line and headers) and write what
/// `answer` makes of it.
fn reply(stream: TcpStream, port: u16, answer: &(dyn Fn(&Request, u16) -> Reply + Send + Sync)) {
    stream.set_nonblocking(false).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let request = Request {
        method: parts.next().unwrap_or_default().to_owned(),
        path: parts.next().unwrap_or_default().to_owned(),
    };
    let Reply {
        status,
        headers,
        body,
    } = answer(&request, port);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(&body);
}
