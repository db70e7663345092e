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
        if self.any {
            return true;
        }
        // Byte scans, not `char` searchers: this runs on every request, and a `Host` value
        // reaching here is ASCII.
        let host = host.trim_ascii();
        let name = if let Some(rest) = host.strip_prefix('[') {
            // [v6]:port
            match rest.split_once(']') {
                Some((addr, _)) => return addr.parse::<IpAddr>().is_ok(),
                None => return false,
            }
        } else {
            match memchr::memrchr(b':', host.as_bytes()) {
                Some(i) if host.as_bytes()[i + 1..].iter().all(u8::is_ascii_digit) => &host[..i],
                _ => host,
            }
        };
        // Compared without a lower-cased copy: this runs on every request.
        const LOCALHOST: &[u8] = b".localhost";
        let name = name.trim_end_matches('.');
        let bytes = name.as_bytes();
        self.names.iter().any(|known| known.eq_ignore_ascii_case(name))
            || (bytes.len() >= LOCALHOST.len()
                && bytes[bytes.len() - LOCALHOST.len()..].eq_ignore_ascii_case(LOCALHOST))
            || name.parse::<IpAddr>().is_ok()
    }

    /// Whether a request's `Host` (or HTTP/2 `:authority`) is accepted; a request with
    /// neither comes from no browser and is accepted.
    pub fn allows_request(&self, parts: &Parts) -> bool {
        let host = parts.uri.authority().map(|a| a.as_str()).or_else(|| {
            parts
                .headers
                .get(hyper::header::HOST)
                .and_then(|v| localspaces_protocol::ascii_header(v.as_bytes()))
        });
        match host {
            Some(h) => self.allows(h),
            None => parts.headers.get(hyper::header::HOST).is_none(),
        }
    }
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
    }
}
