//! URLs from configuration and requests (a trusted issuer's `jwks_uri`, an RFC 8707 `resource`,
//! `TRUSTGATE_PUBLIC_URL`) are RFC 3986 URIs: ASCII only. IDNA is off in this build (Cargo.toml,
//! `idna_adapter`), so an internationalized host is given in its punycode form (`xn--…`), and
//! other characters percent-encoded. Anything else is refused here, before `url` parses it:
//! `url` hands a host with non-ASCII characters to the IDNA adapter, whose debug assertion
//! panics when the host also holds an upper-case ASCII letter (`https://Eõ/`); release builds
//! answer an error, but tests, `make dev` and the fuzzers run debug assertions.

use url::Url;

/// Why a string is not an absolute URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAUrl {
    /// A character outside ASCII.
    NotAscii,
    /// What `url` says.
    Invalid(url::ParseError),
}

impl std::fmt::Display for NotAUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotAUrl::NotAscii => f.write_str(
                "is not ASCII: give an internationalized domain name in its punycode form \
                 (xn--…) and percent-encode other characters",
            ),
            NotAUrl::Invalid(e) => write!(f, "is not an absolute URL ({e})"),
        }
    }
}

/// `raw` as an absolute URL, when it is ASCII and `url` parses it.
pub fn parse(raw: &str) -> Result<Url, NotAUrl> {
    if !raw.is_ascii() {
        return Err(NotAUrl::NotAscii);
    }
    Url::parse(raw).map_err(NotAUrl::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_ascii_before_parsing() {
        // Non-ASCII with an upper-case letter in the host: the IDNA adapter's debug assertion.
        for raw in [
            "https://E\u{f5}x/",
            "hTTp://E\u{f5}",
            "https://e\u{f5}x/",
            "https://a.example/\u{e9}",
        ] {
            assert_eq!(parse(raw), Err(NotAUrl::NotAscii), "{raw}");
        }
    }

    #[test]
    fn parses_ascii_urls_and_punycode_hosts() {
        let url = parse("https://XN--bcher-kva.Example/jwks").unwrap();
        assert_eq!(url.as_str(), "https://xn--bcher-kva.example/jwks");
        assert!(matches!(parse("not a url"), Err(NotAUrl::Invalid(_))));
    }
}
