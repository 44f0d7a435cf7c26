//! Same-origin checks for state-changing requests, with or without a token: a page of
//! another site must not be able to upload, import a deck or start a session through a
//! visitor's browser (cross-site request forgery). Browsers say where a request comes from
//! (`Sec-Fetch-Site`, `Origin`); API clients (curl, the CLI) send neither and pass.

use axum::http::{HeaderMap, Method, Uri, header};

use crate::error::ApiError;

/// How the server knows its own origin: the scheme it serves, and the host the client
/// addressed (`Host`, or with `--trust-forwarded` the proxy's `X-Forwarded-Host` /
/// `X-Forwarded-Proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnOrigin {
    /// `https` when the listener speaks TLS, else `http`.
    pub scheme: &'static str,
    /// Whether `X-Forwarded-Host` and `X-Forwarded-Proto` name the origin.
    pub trust_forwarded: bool,
}

/// Whether `method` may change state (everything but GET, HEAD, OPTIONS and TRACE).
pub fn is_state_changing(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

impl OwnOrigin {
    /// Refuses (403 `cross_site`) a request whose `Sec-Fetch-Site` is present and not
    /// `same-origin`, or whose `Origin` is present and not this server's origin.
    pub fn check(&self, headers: &HeaderMap, uri: &Uri) -> Result<(), ApiError> {
        if let Some(site) = headers.get("sec-fetch-site")
            && site.as_bytes() != b"same-origin"
        {
            return Err(ApiError::CrossSite);
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let given = origin.to_str().ok().and_then(Origin::parse);
            let own = self.own(headers, uri);
            if !matches!((given, own), (Some(a), Some(b)) if a == b) {
                return Err(ApiError::CrossSite);
            }
        }
        Ok(())
    }

    /// The origin the client addressed.
    fn own(&self, headers: &HeaderMap, uri: &Uri) -> Option<Origin> {
        let forwarded = |name: &str| {
            self.trust_forwarded
                .then(|| first_value(headers, name))
                .flatten()
        };
        let scheme = forwarded("x-forwarded-proto").unwrap_or(self.scheme);
        let host = forwarded("x-forwarded-host")
            .or_else(|| first_value(headers, header::HOST.as_str()))
            .or_else(|| uri.authority().map(|a| a.as_str()))?;
        Origin::from_parts(scheme, host)
    }
}

/// The first comma-separated value of header `name` (a proxy chain appends its own).
fn first_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get(name)?.to_str().ok()?;
    let first = value.split(',').next()?.trim();
    (!first.is_empty()).then_some(first)
}

/// A web origin: scheme, host and port, compared case-insensitively with default ports
/// filled in (`https://Host` equals `https://host:443`).
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// An `Origin` header value: `scheme://host[:port]` (never a path; `null` is none).
    fn parse(text: &str) -> Option<Self> {
        let (scheme, authority) = text.split_once("://")?;
        Self::from_parts(scheme, authority)
    }

    /// `scheme` and `host[:port]` (a `Host` header value).
    fn from_parts(scheme: &str, authority: &str) -> Option<Self> {
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        if authority.is_empty() || authority.contains(['/', '@', '?', '#', ' ']) {
            return None;
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (inner, rest) = v6.split_once(']')?;
                (format!("[{inner}]"), rest.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_string(), Some(port)),
                None => (authority.to_string(), None),
            },
        };
        if host.is_empty() || host.contains(':') && !host.starts_with('[') {
            return None;
        }
        let port = match port {
            Some(text) => text.parse().ok()?,
            None => default_port,
        };
        Some(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    const PLAIN: OwnOrigin = OwnOrigin {
        scheme: "http",
        trust_forwarded: false,
    };

    fn allowed(own: OwnOrigin, pairs: &[(&'static str, &str)]) -> bool {
        own.check(&headers(pairs), &Uri::from_static("/api/v1/images"))
            .is_ok()
    }

    #[test]
    fn same_origin_passes_and_other_sites_do_not() {
        let host = ("host", "127.0.0.1:8080");
        assert!(allowed(PLAIN, &[host]), "API clients send no Origin");
        assert!(allowed(PLAIN, &[host, ("origin", "http://127.0.0.1:8080")]));
        assert!(allowed(
            PLAIN,
            &[
                host,
                ("origin", "HTTP://127.0.0.1:8080"),
                ("sec-fetch-site", "same-origin")
            ]
        ));
        for bad in [
            "http://evil.example",
            "http://127.0.0.1:8081",
            "https://127.0.0.1:8080",
            "null",
            "http://127.0.0.1:8080/path",
            "",
        ] {
            assert!(!allowed(PLAIN, &[host, ("origin", bad)]), "{bad}");
        }
        for site in ["cross-site", "same-site", "none"] {
            assert!(!allowed(PLAIN, &[host, ("sec-fetch-site", site)]), "{site}");
        }
    }

    #[test]
    fn default_ports_and_ipv6_compare_as_browsers_write_them() {
        let tls = OwnOrigin {
            scheme: "https",
            trust_forwarded: false,
        };
        assert!(allowed(
            tls,
            &[
                ("host", "Scans.Example"),
                ("origin", "https://scans.example:443")
            ]
        ));
        assert!(allowed(
            tls,
            &[
                ("host", "scans.example:443"),
                ("origin", "https://scans.example")
            ]
        ));
        assert!(!allowed(
            tls,
            &[
                ("host", "scans.example"),
                ("origin", "http://scans.example")
            ]
        ));
        assert!(allowed(
            PLAIN,
            &[("host", "[::1]:8080"), ("origin", "http://[::1]:8080")]
        ));
        assert!(!allowed(
            PLAIN,
            &[("host", "[::1]:8080"), ("origin", "http://[::2]:8080")]
        ));
        assert!(!allowed(
            PLAIN,
            &[("host", "a:b:c"), ("origin", "http://a:b:c")]
        ));
    }

    #[test]
    fn forwarded_headers_count_only_when_trusted() {
        let proxied = [
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-host", "scans.example"),
            ("x-forwarded-proto", "https"),
            ("origin", "https://scans.example"),
        ];
        assert!(!allowed(PLAIN, &proxied));
        let trusting = OwnOrigin {
            scheme: "http",
            trust_forwarded: true,
        };
        assert!(allowed(trusting, &proxied));
        // Without forwarded headers a trusting server falls back to Host and its scheme.
        assert!(allowed(
            trusting,
            &[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.0.0.1:8080")
            ]
        ));
    }

    #[test]
    fn only_unsafe_methods_are_checked() {
        assert!(!is_state_changing(&Method::GET));
        assert!(!is_state_changing(&Method::HEAD));
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(is_state_changing(&method));
        }
    }
}
