//! Who may use the console. It proxies the admin API with the operator's credentials, so a
//! request is served only when it is addressed to this server by name (`Host` is
//! `127.0.0.1:PORT` or `localhost:PORT`: a DNS-rebinding page's host is not), comes from one of
//! its own pages when it changes anything (`Origin`, checked on every method but GET and
//! HEAD), and carries the per-run token: as the `token` query parameter of the URL printed at
//! start (answered with a cookie and a redirect that drops it), then as that HttpOnly,
//! SameSite=Strict cookie (Jupyter's scheme). The token is compared in constant time.

use aws_lc_rs::constant_time::verify_slices_are_equal;

/// The cookie that carries the token after the first visit, named per port: browsers send a
/// 127.0.0.1 cookie to every port of that host, and two consoles must not overwrite each
/// other's.
const COOKIE_PREFIX: &str = "trustgate_console_";

/// What the guard decided for one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it.
    Allow,
    /// The token in the query was right: set the cookie and redirect to `location` (the same
    /// path and query without the token).
    SetCookie { location: String },
    /// `Host` is not this server's: 421 Misdirected Request.
    ForeignHost,
    /// A state-changing request without our `Origin`: 403.
    ForeignOrigin,
    /// No valid token, in the cookie or the query: 401.
    NoToken,
}

/// The per-run secret and the port, fixed at start.
#[derive(Clone)]
pub struct Guard {
    token: String,
    port: u16,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("token", &"[redacted]")
            .field("port", &self.port)
            .finish()
    }
}

/// The parts of a request the guard reads.
pub struct Request<'r> {
    pub method: &'r str,
    pub path: &'r str,
    pub query: Option<&'r str>,
    pub host: Option<&'r str>,
    pub origin: Option<&'r str>,
    pub cookie: Option<&'r str>,
}

impl Guard {
    /// A guard with a fresh token of 32 random bytes (hex).
    pub fn random(port: u16) -> Guard {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).expect("the system's random source");
        let token = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Guard { token, port }
    }

    #[cfg(test)]
    pub fn with_token(token: &str, port: u16) -> Guard {
        Guard {
            token: token.to_owned(),
            port,
        }
    }

    /// The URL to print at start: the only way in.
    pub fn start_url(&self) -> String {
        format!("http://127.0.0.1:{}/?token={}", self.port, self.token)
    }

    /// The `Set-Cookie` value for [`Verdict::SetCookie`]. No `Secure`: the console is plain
    /// http on loopback, where browsers would refuse a Secure cookie.
    pub fn cookie(&self) -> String {
        format!(
            "{COOKIE_PREFIX}{}={}; HttpOnly; SameSite=Strict; Path=/",
            self.port, self.token
        )
    }

    pub fn check(&self, request: &Request<'_>) -> Verdict {
        if !request.host.is_some_and(|h| self.is_own_host(h)) {
            return Verdict::ForeignHost;
        }
        let safe = matches!(request.method, "GET" | "HEAD");
        if !safe && !request.origin.is_some_and(|o| self.is_own_origin(o)) {
            return Verdict::ForeignOrigin;
        }
        if request
            .cookie
            .and_then(|c| cookie_value(c, &format!("{COOKIE_PREFIX}{}", self.port)))
            .is_some_and(|t| self.is_token(t))
        {
            return Verdict::Allow;
        }
        let (token, rest) = split_token(request.query);
        if safe && token.is_some_and(|t| self.is_token(t)) {
            // A path that starts with `//` (or `/\`, which browsers read the same) would be
            // another host in `Location`.
            let path = if request.path.starts_with("//") || request.path.starts_with("/\\") {
                "/"
            } else {
                request.path
            };
            let location = match rest {
                Some(rest) => format!("{path}?{rest}"),
                None => path.to_owned(),
            };
            return Verdict::SetCookie { location };
        }
        Verdict::NoToken
    }

    fn is_token(&self, candidate: &str) -> bool {
        verify_slices_are_equal(candidate.as_bytes(), self.token.as_bytes()).is_ok()
    }

    fn is_own_host(&self, host: &str) -> bool {
        host == format!("127.0.0.1:{}", self.port) || host == format!("localhost:{}", self.port)
    }

    fn is_own_origin(&self, origin: &str) -> bool {
        origin
            .strip_prefix("http://")
            .is_some_and(|host| self.is_own_host(host))
    }
}

/// The value of the cookie `name` in a `Cookie` header (`a=1; trustgate_console_8123=…`).
fn cookie_value<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// The `token` parameter of a query, and the rest of the query without it.
fn split_token(query: Option<&str>) -> (Option<&str>, Option<String>) {
    let Some(query) = query else {
        return (None, None);
    };
    let mut token = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("token=") {
            Some(value) if token.is_none() => token = Some(value),
            _ => rest.push(pair),
        }
    }
    let rest = (!rest.is_empty()).then(|| rest.join("&"));
    (token, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123abcd";

    fn guard() -> Guard {
        Guard::with_token(TOKEN, 8123)
    }

    fn get(query: Option<&'static str>, cookie: Option<&'static str>) -> Request<'static> {
        Request {
            method: "GET",
            path: "/o/acme",
            query,
            host: Some("127.0.0.1:8123"),
            origin: None,
            cookie,
        }
    }

    fn post(origin: Option<&'static str>) -> Request<'static> {
        Request {
            method: "POST",
            origin,
            cookie: Some("trustgate_console_8123=0123abcd"),
            ..get(None, None)
        }
    }

    #[test]
    fn the_printed_token_sets_the_cookie_and_is_dropped_from_the_url() {
        assert_eq!(
            guard().check(&get(Some("token=0123abcd"), None)),
            Verdict::SetCookie {
                location: "/o/acme".into()
            }
        );
        assert_eq!(
            guard().check(&get(Some("a=1&token=0123abcd&b=2"), None)),
            Verdict::SetCookie {
                location: "/o/acme?a=1&b=2".into()
            }
        );
        let cookie = guard().cookie();
        assert!(cookie.starts_with("trustgate_console_8123=0123abcd;"));
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    }

    #[test]
    fn the_redirect_after_the_token_stays_on_this_host() {
        for path in ["//evil.example/x", "/\\evil.example/x"] {
            let request = Request {
                path,
                ..get(Some("token=0123abcd"), None)
            };
            assert_eq!(
                guard().check(&request),
                Verdict::SetCookie {
                    location: "/".into()
                },
                "{path}"
            );
        }
    }

    #[test]
    fn the_cookie_lets_requests_in_and_nothing_else_does() {
        assert_eq!(
            guard().check(&get(None, Some("x=1; trustgate_console_8123=0123abcd"))),
            Verdict::Allow
        );
        for (query, cookie) in [
            (None, None),
            (Some("token=0123abcX"), None),
            (Some("token="), None),
            (Some("token=0123abcd0"), None),
            (None, Some("trustgate_console_8123=wrong")),
            // Another console's cookie (another port), with this token.
            (None, Some("trustgate_console_8124=0123abcd")),
            (None, Some("other=0123abcd")),
            (None, Some("trustgate_console_8123=0123abc")),
        ] {
            assert_eq!(
                guard().check(&get(query, cookie)),
                Verdict::NoToken,
                "{query:?} {cookie:?}"
            );
        }
    }

    #[test]
    fn a_foreign_host_is_refused_even_with_the_token() {
        for host in [
            None,
            Some("evil.example:8123"),
            Some("127.0.0.1:8124"),
            Some("127.0.0.1"),
            Some("localhost.evil.example:8123"),
        ] {
            let request = Request {
                host,
                ..get(
                    Some("token=0123abcd"),
                    Some("trustgate_console_8123=0123abcd"),
                )
            };
            assert_eq!(guard().check(&request), Verdict::ForeignHost, "{host:?}");
        }
        let request = Request {
            host: Some("localhost:8123"),
            ..get(None, Some("trustgate_console_8123=0123abcd"))
        };
        assert_eq!(guard().check(&request), Verdict::Allow);
    }

    #[test]
    fn state_changing_requests_need_our_origin() {
        assert_eq!(
            guard().check(&post(Some("http://127.0.0.1:8123"))),
            Verdict::Allow
        );
        assert_eq!(
            guard().check(&post(Some("http://localhost:8123"))),
            Verdict::Allow
        );
        for origin in [
            None,
            Some("null"),
            Some("http://evil.example"),
            Some("https://127.0.0.1:8123"),
            Some("http://127.0.0.1:8124"),
        ] {
            assert_eq!(
                guard().check(&post(origin)),
                Verdict::ForeignOrigin,
                "{origin:?}"
            );
        }
    }

    #[test]
    fn a_post_cannot_log_in_with_the_query_token() {
        let request = Request {
            cookie: None,
            query: Some("token=0123abcd"),
            ..post(Some("http://127.0.0.1:8123"))
        };
        assert_eq!(guard().check(&request), Verdict::NoToken);
    }

    #[test]
    fn random_tokens_differ_and_are_not_printed_by_debug() {
        let (a, b) = (Guard::random(1), Guard::random(1));
        assert_ne!(a.start_url(), b.start_url());
        assert_eq!(a.start_url().len(), "http://127.0.0.1:1/?token=".len() + 64);
        assert!(!format!("{a:?}").contains(&a.token));
    }
}
