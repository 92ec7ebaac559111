//! Trusted token issuers: the third-party identity providers whose JWTs an organization accepts.

use serde::{Deserialize, Serialize};
use url::{Host, Url};

use super::address;

/// JWS algorithms a trusted issuer may sign with (RFC 7518 §3.1). Asymmetric only: `none` and
/// HMAC are not representable, so no configuration can allow them (RFC 8725 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
}

impl Algorithm {
    /// Every supported algorithm: the default allow-list.
    pub const ALL: [Algorithm; 8] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
        }
    }

    /// The same algorithm in jsonwebtoken's terms.
    pub fn jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::RS384 => jsonwebtoken::Algorithm::RS384,
            Algorithm::RS512 => jsonwebtoken::Algorithm::RS512,
            Algorithm::PS256 => jsonwebtoken::Algorithm::PS256,
            Algorithm::PS384 => jsonwebtoken::Algorithm::PS384,
            Algorithm::PS512 => jsonwebtoken::Algorithm::PS512,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::ES384 => jsonwebtoken::Algorithm::ES384,
        }
    }

    /// Exact, case-sensitive match (RFC 7515 §4.1.1).
    pub fn parse(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// A certificate a trusted issuer signs with, normalized to PEM, with what the admin API shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub pem: String,
    pub subject: String,
    /// RFC 3339.
    pub not_after: String,
    /// Lower-case hex SHA-256 of the DER encoding.
    pub sha256_fingerprint: String,
}

/// The stored trusted token issuer. Exactly one of `jwks_uri` and `certificate` is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedIssuer {
    /// Server-made identifier (32 hex characters).
    pub id: String,
    pub name: String,
    /// The exact `iss` value, compared byte for byte.
    pub issuer: String,
    /// Accepted `aud` value when the organization's issuer is not in `aud`.
    pub alias: Option<String>,
    pub jwks_uri: Option<String>,
    pub certificate: Option<Certificate>,
    pub allowed_algorithms: Vec<Algorithm>,
    /// 0-300, default 60.
    pub clock_skew_seconds: u32,
    pub max_token_age_seconds: Option<u64>,
    pub require_jti: bool,
    pub enabled: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// Where an issuer's verification keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource<'a> {
    Jwks(&'a str),
    Certificate(&'a Certificate),
}

impl TrustedIssuer {
    pub const DEFAULT_CLOCK_SKEW_SECONDS: u32 = 60;
    pub const MAX_CLOCK_SKEW_SECONDS: u32 = 300;

    /// `None` only for a record that breaks the one-of rule, which the admin API never writes.
    pub fn key_source(&self) -> Option<KeySource<'_>> {
        match (&self.jwks_uri, &self.certificate) {
            (Some(uri), None) => Some(KeySource::Jwks(uri)),
            (None, Some(cert)) => Some(KeySource::Certificate(cert)),
            _ => None,
        }
    }
}

/// Checks a `jwks_uri`: an absolute `https` URL without credentials or fragment, whose host is
/// not a loopback, private, link-local or metadata address or name. With `allow_insecure`
/// (local development and tests) `http` and such hosts are accepted. Host names are checked
/// again after DNS resolution when keys are fetched.
pub fn check_jwks_uri(raw: &str, allow_insecure: bool) -> Result<Url, String> {
    if raw.len() > 2048 {
        return Err("must be at most 2048 characters".into());
    }
    let url = Url::parse(raw).map_err(|e| format!("is not an absolute URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        _ => return Err("must be an https:// URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    let local = match url.host() {
        None => return Err("must have a host".into()),
        Some(Host::Ipv4(ip)) => !address::is_public(ip.into()),
        Some(Host::Ipv6(ip)) => !address::is_public(ip.into()),
        Some(Host::Domain(name)) => address::is_forbidden_host_name(name),
    };
    if local && !allow_insecure {
        return Err("must not point to a loopback, private, link-local or metadata address".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_are_exact() {
        assert_eq!(Algorithm::parse("RS256"), Some(Algorithm::RS256));
        for bad in ["rs256", "none", "HS256", "RS256 ", "EdDSA", ""] {
            assert_eq!(Algorithm::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn jwks_uri_must_be_https_to_a_public_host() {
        assert!(check_jwks_uri("https://login.example.com/.well-known/jwks.json", false).is_ok());
        for bad in [
            "http://login.example.com/jwks",
            "https://127.0.0.1/jwks",
            "https://[::1]/jwks",
            "https://169.254.169.254/latest/meta-data",
            "https://10.1.2.3/jwks",
            "https://localhost:8443/jwks",
            "https://metadata.google.internal/x",
            "https://user:pw@login.example.com/jwks",
            "https://login.example.com/jwks#frag",
            "file:///etc/passwd",
            "not a url",
            "https://2130706433/jwks", // 127.0.0.1 written as one number
        ] {
            assert!(check_jwks_uri(bad, false).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn insecure_flag_allows_local_http() {
        assert!(check_jwks_uri("http://127.0.0.1:8080/jwks", true).is_ok());
        assert!(check_jwks_uri("ftp://127.0.0.1/jwks", true).is_err());
    }
}
