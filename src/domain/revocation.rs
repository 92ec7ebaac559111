//! Revocation (RFC 7009, and the admin API's revocation by subject or client): what is
//! revoked, and whether a token issued at a given instant is. Instants are kept to the
//! millisecond: an access token's `jti` starts with its issue time in milliseconds, so a
//! token issued right after a revocation is never taken for one issued before it.

use serde::{Deserialize, Serialize};

/// How long a subject or client revocation is kept: the longest life of anything it can
/// revoke (a refresh family lives at most 31,536,000 s, an access token 86,400 s), plus a day.
pub const REVOCATION_TTL_SECONDS: i64 = 31_536_000 + 86_400;

/// What an administrator revokes: every token and refresh family of a subject (issued `sub`,
/// from one trusted issuer's `idp` value or from any), or of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationTarget {
    Subject { sub: String, idp: Option<String> },
    Client { client_id: String },
}

/// An access token a refresh family issued, kept in the family until it expires, so revoking
/// the family revokes it too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenRef {
    pub jti: String,
    /// The token's `exp`, epoch seconds.
    pub exp: i64,
}

/// What one look-up of the revocation records says about a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RevocationState {
    /// The token itself (its `jti`) was revoked.
    pub token_revoked: bool,
    /// The latest `revoked_before` (epoch milliseconds) of the subject and client
    /// revocations that match it.
    pub revoked_before_ms: Option<i64>,
}

impl RevocationState {
    /// Whether a token or family issued at `issued_ms` is revoked.
    pub fn revokes(&self, issued_ms: i64) -> bool {
        self.token_revoked
            || self
                .revoked_before_ms
                .is_some_and(|before| issued_ms < before)
    }
}

/// The records to look up for one token: its `jti` (access tokens), its subject and client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevocationQuery<'a> {
    pub jti: Option<&'a str>,
    pub sub: &'a str,
    pub idp: &'a str,
    pub client_id: &'a str,
}

/// Hex digits of the millisecond issue time at the start of a `jti` (enough until year 10889).
const TIME_DIGITS: usize = 12;

/// A new `jti`: the issue time in milliseconds (12 hex digits), then 80 random bits, 32
/// characters in all. Unique, and it tells when the token was issued to the millisecond.
pub fn new_jti(now_ms: i64) -> String {
    let mut jti = format!("{:012x}", now_ms.max(0));
    jti.push_str(&super::random_hex(10));
    jti
}

/// When an access token with this `jti` and `iat` (seconds) was issued, in milliseconds: the
/// `jti`'s time when it has one that fits `iat`, else the start of `iat`'s second.
pub fn issued_ms(jti: &str, iat: i64) -> i64 {
    let from_jti = (jti.len() == 32)
        .then(|| i64::from_str_radix(&jti[..TIME_DIGITS], 16).ok())
        .flatten()
        .filter(|ms| ms.div_euclid(1000) == iat);
    from_jti.unwrap_or(iat.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_tells_its_issue_time_to_the_millisecond() {
        let jti = new_jti(1_800_000_000_123);
        assert_eq!(jti.len(), 32);
        assert_eq!(issued_ms(&jti, 1_800_000_000), 1_800_000_000_123);
        assert_ne!(new_jti(5), new_jti(5));
        // A jti whose time does not fit iat (or not ours) falls back to the second.
        assert_eq!(issued_ms(&jti, 1_700_000_000), 1_700_000_000_000);
        assert_eq!(issued_ms("abc", 7), 7_000);
        assert_eq!(issued_ms(&"z".repeat(32), 7), 7_000);
    }

    #[test]
    fn a_revocation_covers_what_was_issued_strictly_before_it() {
        let state = RevocationState {
            token_revoked: false,
            revoked_before_ms: Some(1_000),
        };
        assert!(state.revokes(999));
        assert!(!state.revokes(1_000));
        assert!(!RevocationState::default().revokes(0));
        let token = RevocationState {
            token_revoked: true,
            revoked_before_ms: None,
        };
        assert!(token.revokes(i64::MAX));
    }
}
