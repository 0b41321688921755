//! The URLs `[capabilities] fetch` lets scripts read: patterns such as
//! `https://api.github.com/repos/*` or `https://*.example.org/feed.xml`.
//!
//! A pattern names a scheme (`http` or `https`), a host (exact, or
//! `*.domain` for its subdomains), an optional port, and a path (with its
//! query) in which `*` stands for any characters. Without a path it covers
//! the whole host. A URL is compared after it is normalized (dot segments
//! resolved, host lowercased), so `/repos/../admin` is not under `/repos/`,
//! and the host is compared whole: `https://example.org*` is refused as a
//! pattern rather than matching `example.org.evil.test`.

use url::Url;

/// The patterns of `[capabilities] fetch`.
#[derive(Clone, Debug, Default)]
pub struct AllowList(Vec<Pattern>);

#[derive(Clone, Debug)]
struct Pattern {
    scheme: String,
    /// Lowercase; for `*.domain`, the `.domain` part.
    host: String,
    subdomains: bool,
    port: u16,
    /// The path and query, `*` for any characters.
    path: String,
}

impl AllowList {
    /// The list of `patterns`; why the first that is not a pattern is not.
    pub fn new(patterns: &[String]) -> Result<AllowList, String> {
        patterns
            .iter()
            .map(|p| Pattern::parse(p).map_err(|why| format!("`{p}` is not a URL pattern: {why}")))
            .collect::<Result<Vec<_>, _>>()
            .map(AllowList)
    }

    /// Whether no URL is allowed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `url` is allowed.
    pub fn allows(&self, url: &Url) -> bool {
        if !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let mut path = url.path().to_owned();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        self.0.iter().any(|p| {
            p.scheme == url.scheme()
                && p.port == port
                && if p.subdomains {
                    host.ends_with(&p.host) && host.len() > p.host.len()
                } else {
                    host == p.host
                }
                && glob(p.path.as_bytes(), path.as_bytes())
        })
    }
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or("it has no scheme (write https://…)")?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(format!("`{scheme}` is not http or https"));
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/*"),
        };
        if authority.contains('@') {
            return Err("it has a user name or password".into());
        }
        let (subdomains, bare) = match authority.strip_prefix("*.") {
            Some(bare) => (true, bare),
            None => (false, authority),
        };
        if bare.contains('*') {
            return Err("`*` in a host may only start it, as in `*.example.org`".into());
        }
        if path.contains('#') {
            return Err("it has a fragment, which is never fetched".into());
        }
        // The authority checked and normalized as a URL's.
        let parsed = Url::parse(&format!("{scheme}://{bare}/"))
            .map_err(|e| format!("its host is not valid: {e}"))?;
        let host = parsed
            .host_str()
            .ok_or("it has no host")?
            .to_ascii_lowercase();
        let port = parsed.port_or_known_default().ok_or("it has no port")?;
        Ok(Pattern {
            scheme,
            host: if subdomains { format!(".{host}") } else { host },
            subdomains,
            port,
            path: path.to_owned(),
        })
    }
}

/// Whether `text` matches `pattern`, where `*` is any run of bytes.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // The classic two-pointer match, with one backtrack point.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(patterns: &[&str]) -> AllowList {
        AllowList::new(&patterns.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    fn allows(list: &AllowList, url: &str) -> bool {
        list.allows(&Url::parse(url).unwrap())
    }

    #[test]
    fn a_path_pattern_covers_what_is_under_it_and_nothing_beside() {
        let l = list(&[
            "https://api.github.com/repos/*",
            "https://example.org/feed.xml",
        ]);
        assert!(allows(&l, "https://api.github.com/repos/rust-lang/rust"));
        assert!(allows(&l, "https://API.GitHub.com/repos/a?page=2"));
        assert!(allows(&l, "https://example.org/feed.xml"));
        assert!(!allows(&l, "https://example.org/feed.xml?x=1"));
        assert!(!allows(&l, "https://example.org/feed.xml2"));
        assert!(!allows(&l, "https://api.github.com/repos/../users/x"));
        assert!(!allows(&l, "https://api.github.com/repos/%2e%2e/users/x"));
        assert!(!allows(&l, "http://api.github.com/repos/a"));
        assert!(!allows(&l, "https://api.github.com:8443/repos/a"));
        assert!(!allows(&l, "https://api.github.com.evil.test/repos/a"));
        assert!(!allows(&l, "https://user@api.github.com/repos/a"));
    }

    #[test]
    fn hosts_ports_and_subdomains() {
        let l = list(&["http://127.0.0.1:8080", "https://*.example.org/x/*"]);
        assert!(allows(&l, "http://127.0.0.1:8080/anything?q"));
        assert!(!allows(&l, "http://127.0.0.1:8081/"));
        assert!(allows(&l, "https://a.example.org/x/1"));
        assert!(allows(&l, "https://b.a.example.org/x/1"));
        assert!(!allows(&l, "https://example.org/x/1"));
        assert!(!allows(&l, "https://aexample.org/x/1"));
        assert!(!allows(&l, "ftp://a.example.org/x/1"));
    }

    #[test]
    fn what_is_not_a_pattern_says_why() {
        for (bad, why) in [
            ("example.org/*", "no scheme"),
            ("file:///etc/passwd", "not http or https"),
            ("https://example.org*", "may only start it"),
            ("https://u:p@example.org/", "user name"),
            ("https://exa mple.org/", "not valid"),
            ("https://example.org/#top", "fragment"),
        ] {
            let err = AllowList::new(&[bad.to_owned()]).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn stars_match_any_run() {
        assert!(glob(b"/a/*/c", b"/a/b/x/c"));
        assert!(glob(b"*", b""));
        assert!(!glob(b"/a/*/c", b"/a/b/d"));
        assert!(glob(b"/a*b*c", b"/aXbYbZc"));
    }
}
