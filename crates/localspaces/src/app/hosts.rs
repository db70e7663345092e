//! The `Host` names the server answers to. A web page on another site can make a browser
//! send requests here, and with DNS rebinding (its own name re-pointed at 127.0.0.1) even
//! read the answers as "same origin"; such a request still carries the page's name in
//! `Host`. So only names that cannot be an attacker's are accepted: loopback names
//! (`localhost`, `*.localhost`), IP addresses (no DNS involved), the listening host and the
//! names given with `--allowed-hosts`.

use hyper::http::request::Parts;
use std::net::IpAddr;

/// The accepted `Host` names.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    /// Lower-case names, without port.
    names: Vec<String>,
    /// `--allowed-hosts '*'`: any name.
    any: bool,
}

impl AllowedHosts {
    /// The defaults plus `listen_host` and `extra`.
    pub fn new(listen_host: &str, extra: &[String]) -> Self {
        let mut names = vec!["localhost".to_string()];
        let mut any = false;
        for n in std::iter::once(listen_host).chain(extra.iter().map(String::as_str)) {
            let n = n.trim().trim_end_matches('.').to_ascii_lowercase();
            if n == "*" {
                any = true;
            } else if !n.is_empty() {
                names.push(n);
            }
        }
        AllowedHosts { names, any }
    }

    /// Whether a `Host` value (name or address, optional port) is accepted.
    pub fn allows(&self, host: &str) -> bool {
        self.allows_bytes(host.as_bytes())
    }

    /// [`Self::allows`] on the header's bytes: a `Host` value that is not ASCII is refused.
    /// Names are compared as bytes, without a lower-cased copy or a conversion to text (this
    /// runs on every request); only a name that is none of the known ones is parsed as an
    /// address.
    fn allows_bytes(&self, host: &[u8]) -> bool {
        if !host.is_ascii() {
            return false;
        }
        if self.any {
            return true;
        }
        let host = host.trim_ascii();
        let mut name = if let Some(rest) = host.strip_prefix(b"[") {
            // [v6]:port
            return match memchr::memchr(b']', rest) {
                Some(i) => parses_as_address(&rest[..i]),
                None => false,
            };
        } else {
            match memchr::memrchr(b':', host) {
                Some(i) if host[i + 1..].iter().all(u8::is_ascii_digit) => &host[..i],
                _ => host,
            }
        };
        while let [rest @ .., b'.'] = name {
            name = rest;
        }
        const LOCALHOST: &[u8] = b".localhost";
        // Clients send the name as it was given, mostly in lower case: an exact comparison
        // (one `memcmp`) first, before the byte-by-byte one that ignores case.
        self.names.iter().any(|known| known.as_bytes() == name)
            || self
                .names
                .iter()
                .any(|known| known.as_bytes().eq_ignore_ascii_case(name))
            || name
                .len()
                .checked_sub(LOCALHOST.len())
                .is_some_and(|at| name[at..].eq_ignore_ascii_case(LOCALHOST))
            || parses_as_address(name)
    }

    /// Whether a request's `Host` (or HTTP/2 `:authority`) is accepted; a request with
    /// neither comes from no browser and is accepted.
    pub fn allows_request(&self, parts: &Parts) -> bool {
        let host = parts
            .uri
            .authority()
            .map(|a| a.as_str().as_bytes())
            .or_else(|| parts.headers.get(hyper::header::HOST).map(|v| v.as_bytes()));
        host.is_none_or(|h| self.allows_bytes(h))
    }
}

/// Whether `text` (ASCII) is an IPv4 or IPv6 address.
fn parses_as_address(text: &[u8]) -> bool {
    std::str::from_utf8(text).is_ok_and(|t| t.parse::<IpAddr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_and_listed_names_only() {
        let h = AllowedHosts::new("127.0.0.1", &["localspaces".to_string()]);
        for ok in [
            "localhost",
            "localhost:4599",
            "LOCALHOST.",
            "app.localhost:1",
            "App.LocalHost.",
            "127.0.0.1:4599",
            "[::1]:4599",
            "10.0.0.7",
            "localspaces:4599",
        ] {
            assert!(h.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:4599",
            "evil.example",
            "localhost.evil.example",
            "[evil]:1",
            "",
        ] {
            assert!(!h.allows(bad), "{bad}");
        }
        assert!(AllowedHosts::new("127.0.0.1", &["*".to_string()]).allows("evil.example"));
        // A value that is not ASCII is no name at all, even with `*`.
        for any in [false, true] {
            let h = AllowedHosts { any, ..h.clone() };
            assert!(!h.allows("caf\u{e9}.localhost"));
            assert!(!h.allows_bytes(b"localhost\xff"));
        }
    }

    #[test]
    fn a_request_is_judged_by_its_authority_or_its_host_header() {
        let h = AllowedHosts::new("127.0.0.1", &[]);
        let parts = |uri: &str, host: Option<&[u8]>| {
            let mut b = hyper::Request::builder().uri(uri);
            if let Some(host) = host {
                b = b.header(hyper::header::HOST, host);
            }
            b.body(()).map(|r| r.into_parts().0).expect("request")
        };
        assert!(h.allows_request(&parts("/", Some(b"localhost:4599"))));
        assert!(!h.allows_request(&parts("/", Some(b"evil.example"))));
        assert!(!h.allows_request(&parts("/", Some(b"caf\xe9"))));
        assert!(h.allows_request(&parts("/", None)));
        assert!(h.allows_request(&parts("http://[::1]:4599/", Some(b"evil.example"))));
        assert!(!h.allows_request(&parts("http://evil.example/", Some(b"localhost"))));
    }
}
