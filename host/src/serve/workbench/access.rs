//! Who may use the workbench's API: a request must come to this server by
//! a name it answers to (no DNS rebinding), and one that changes a file or
//! runs a script must also come from the workbench page itself (the same
//! origin, carrying the token only that page holds).

use axum::http::{HeaderMap, StatusCode, header};
use std::net::SocketAddr;

/// The header the workbench page sends its token in.
pub const TOKEN_HEADER: &str = "x-blogmark-token";

/// The server's rules for the workbench API.
#[derive(Clone, Debug)]
pub struct Access {
    token: String,
    addr: SocketAddr,
    writable: bool,
    allowed_hosts: Vec<String>,
}

/// Why a request was refused: its status and a sentence for the user.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused(pub StatusCode, pub String);

impl Access {
    /// Rules for a server listening on `addr`; `allow_remote_edits` lets a
    /// server bound beyond loopback write scripts all the same.
    /// Fails only when the system has no random source: serving with a
    /// token one could guess is not an option.
    pub fn new(addr: SocketAddr, allow_remote_edits: bool) -> Result<Access, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Access {
            token: hex::encode(bytes),
            addr,
            writable: addr.ip().is_loopback() || allow_remote_edits,
            allowed_hosts: Vec::new(),
        })
    }

    /// These names too (`--allowed-host`), as the user typed them; any
    /// case.
    pub fn with_allowed_hosts(mut self, names: &[String]) -> Access {
        self.allowed_hosts = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        self
    }

    /// The token the workbench page carries.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether the workbench may change files.
    pub fn writable(&self) -> bool {
        self.writable
    }

    /// A request that only reads: it must name this server in `Host`.
    pub fn check_read(&self, headers: &HeaderMap) -> Result<(), Refused> {
        self.host(headers).map(drop)
    }

    /// A request that runs a script: `Host` as for reading, an `Origin`
    /// equal to it, and the token.
    pub fn check_run(&self, headers: &HeaderMap) -> Result<(), Refused> {
        let host = self.host(headers)?;
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| forbidden("a request without Origin cannot change or run scripts"))?;
        if origin != format!("http://{host}") {
            return Err(forbidden(format!(
                "a request from {origin} cannot change or run scripts of http://{host}"
            )));
        }
        let token = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok());
        match token {
            Some(token) if constant_time_eq(token.as_bytes(), self.token.as_bytes()) => Ok(()),
            Some(_) => Err(forbidden(
                "wrong workbench token: reload the workbench page",
            )),
            None => Err(forbidden("no workbench token: use the workbench page")),
        }
    }

    /// A request that changes a file: as for running, on a server that
    /// allows edits.
    pub fn check_write(&self, headers: &HeaderMap) -> Result<(), Refused> {
        self.check_run(headers)?;
        if !self.writable {
            return Err(forbidden(format!(
                "the workbench is read-only: serve listens on {}, beyond this machine; \
                 restart it with --allow-remote-edits to allow edits",
                self.addr
            )));
        }
        Ok(())
    }

    /// The `Host` of the request, when it names this server: a loopback
    /// name, a name given with `--allowed-host`, or, on a server bound
    /// beyond loopback, an IP address (which no DNS answer can rebind). A
    /// page whose domain was rebound to this machine sends its own domain,
    /// and is refused, whatever the server is bound to.
    fn host<'a>(&self, headers: &'a HeaderMap) -> Result<&'a str, Refused> {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| forbidden("a request without Host"))?;
        let port = self.addr.port().to_string();
        let (name, given_port) = host.rsplit_once(':').unwrap_or((host, ""));
        let name = name.to_ascii_lowercase();
        let loopback_name = matches!(name.as_str(), "127.0.0.1" | "localhost" | "[::1]");
        let ip_literal = name.parse::<std::net::Ipv4Addr>().is_ok()
            || name
                .strip_prefix('[')
                .and_then(|n| n.strip_suffix(']'))
                .is_some_and(|n| n.parse::<std::net::Ipv6Addr>().is_ok());
        let named = loopback_name
            || self.allowed_hosts.contains(&name)
            || (ip_literal && !self.addr.ip().is_loopback());
        if given_port == port && named {
            Ok(host)
        } else {
            Err(forbidden(format!(
                "this server does not answer to the name {host} (a page of another site may \
                 have rebound its name to this machine); to serve under that name, restart \
                 with --allowed-host {name}"
            )))
        }
    }

    /// A response refusing a request whose `Host` does not name this
    /// server, or `None`: every route checks it, pages and events as much
    /// as the workbench.
    pub fn refuse_foreign_host(&self, headers: &HeaderMap) -> Option<Refused> {
        self.host(headers).err()
    }
}

fn forbidden(message: impl Into<String>) -> Refused {
    Refused(StatusCode::FORBIDDEN, message.into())
}

/// Equal bytes, in a time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn loopback_rules() {
        let access = Access::new("127.0.0.1:4000".parse().unwrap(), false).unwrap();
        let token = access.token().to_owned();
        assert!(access.writable());
        let good = [
            ("host", "127.0.0.1:4000"),
            ("origin", "http://127.0.0.1:4000"),
            (TOKEN_HEADER, token.as_str()),
        ];
        assert_eq!(access.check_write(&headers(&good)), Ok(()));
        assert!(
            access
                .check_read(&headers(&[("host", "localhost:4000")]))
                .is_ok()
        );
        for (what, bad) in [
            ("rebound name", [good[0], ("host", "evil.example:4000")]),
            ("other port", [good[0], ("host", "127.0.0.1:4001")]),
        ] {
            assert!(access.check_read(&headers(&bad)).is_err(), "{what}");
        }
        let cross = [good[0], ("origin", "http://evil.example"), good[2]];
        assert!(access.check_write(&headers(&cross)).is_err());
        let no_origin = [good[0], good[2]];
        assert!(access.check_write(&headers(&no_origin)).is_err());
        let wrong = [good[0], good[1], (TOKEN_HEADER, "0")];
        assert!(access.check_write(&headers(&wrong)).is_err());
        assert!(access.check_write(&headers(&good[..2])).is_err());
    }

    #[test]
    fn beyond_loopback_is_read_only_unless_allowed() {
        let read_only = Access::new("0.0.0.0:4000".parse().unwrap(), false).unwrap();
        let token = read_only.token().to_owned();
        let request = [
            ("host", "192.168.1.5:4000"),
            ("origin", "http://192.168.1.5:4000"),
            (TOKEN_HEADER, token.as_str()),
        ];
        // A name is refused unless the user allowed it: DNS can rebind it.
        let named = [("host", "blog.lan:4000")];
        assert!(read_only.check_read(&headers(&named)).is_err());
        let allowing = Access::new("0.0.0.0:4000".parse().unwrap(), false)
            .unwrap()
            .with_allowed_hosts(&["Blog.LAN".to_owned()]);
        assert!(allowing.check_read(&headers(&named)).is_ok());
        assert!(
            allowing
                .check_read(&headers(&[("host", "[fe80::1]:4000")]))
                .is_ok()
        );
        assert!(!read_only.writable());
        assert!(read_only.check_run(&headers(&request)).is_ok());
        let refused = read_only.check_write(&headers(&request)).unwrap_err();
        assert!(refused.1.contains("--allow-remote-edits"), "{}", refused.1);
        let allowed = Access::new("0.0.0.0:4000".parse().unwrap(), true).unwrap();
        let token = allowed.token().to_owned();
        let request = [request[0], request[1], (TOKEN_HEADER, token.as_str())];
        assert!(allowed.check_write(&headers(&request)).is_ok());
    }

    #[test]
    fn tokens_differ() {
        let addr = "127.0.0.1:1".parse().unwrap();
        assert_ne!(
            Access::new(addr, false).unwrap().token(),
            Access::new(addr, false).unwrap().token()
        );
    }
}
