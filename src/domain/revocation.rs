//! Revocation (RFC 7009, and the admin API's revocation by subject or client): what is
//! revoked, and whether a token issued at a given instant is. Instants are kept to the
//! millisecond: an access token's `jti` starts with its issue time in milliseconds, so a
//! token issued right after a revocation is never taken for one issued before it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::input::{InputError, Settings, check_text};

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

/// The admin API's body: `{"sub", "idp"?}` or `{"client_id"}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRevocation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
}

impl Settings for NewRevocation {
    const SERVER_SET: &'static [(&'static str, &'static str)] = &[(
        "revoked_before",
        "is set by the server: the instant of the request",
    )];
    type Context<'a> = ();

    fn validate(&mut self, (): ()) -> Result<(), InputError> {
        match (&self.sub, &self.idp, &self.client_id) {
            (Some(sub), idp, None) => {
                check_text("sub", sub, 1024)?;
                if let Some(idp) = idp {
                    check_text("idp", idp, 2048)?;
                }
                Ok(())
            }
            (None, None, Some(client_id)) => check_text("client_id", client_id, 256),
            (Some(_), _, Some(_)) => Err(InputError::field(
                "client_id",
                "revoke either a subject (sub) or a client (client_id), not both",
            )),
            (None, Some(_), _) => Err(InputError::field("idp", "needs sub")),
            (None, None, None) => Err(InputError::field(
                "sub",
                "required (or client_id): what to revoke",
            )),
        }
    }
}

impl RevocationTarget {
    /// Reads the admin API's body (errors name the member at fault).
    pub fn from_json(body: &Value) -> Result<RevocationTarget, InputError> {
        let new = NewRevocation::from_json(body, ())?;
        Ok(match (new.sub, new.client_id) {
            (Some(sub), _) => RevocationTarget::Subject { sub, idp: new.idp },
            (None, Some(client_id)) => RevocationTarget::Client { client_id },
            (None, None) => unreachable!("validated: sub or client_id"),
        })
    }
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
    use std::fmt::Write as _;
    let mut random = [0u8; 10];
    super::fill_random(&mut random);
    let mut jti = String::with_capacity(TIME_DIGITS + 2 * random.len());
    let _ = write!(jti, "{:012x}", now_ms.max(0));
    super::push_hex(&mut jti, &random);
    jti
}

/// When an access token with this `jti` and `iat` (seconds) was issued, in milliseconds: the
/// `jti`'s time when it has one that fits `iat`, else the start of `iat`'s second.
pub fn issued_ms(jti: &str, iat: i64) -> i64 {
    let from_jti = jti_ms(jti).filter(|ms| ms.div_euclid(1000) == iat);
    from_jti.unwrap_or(iat.saturating_mul(1000))
}

/// The issue time in milliseconds at the start of a `jti` [`new_jti`] made.
fn jti_ms(jti: &str) -> Option<i64> {
    (jti.len() == 32)
        .then(|| i64::from_str_radix(jti.get(..TIME_DIGITS)?, 16).ok())
        .flatten()
}

impl AccessTokenRef {
    /// The second the token was issued in (its `iat`), as its `jti` tells it.
    pub fn issued_at(&self) -> Option<i64> {
        jti_ms(&self.jti).map(|ms| ms.div_euclid(1000))
    }
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
    fn reads_a_subject_or_a_client_and_names_the_member_at_fault() {
        use serde_json::json;
        assert_eq!(
            RevocationTarget::from_json(&json!({"sub": "alice"})).unwrap(),
            RevocationTarget::Subject {
                sub: "alice".into(),
                idp: None
            }
        );
        assert_eq!(
            RevocationTarget::from_json(&json!({"sub": "a", "idp": "https://i"})).unwrap(),
            RevocationTarget::Subject {
                sub: "a".into(),
                idp: Some("https://i".into())
            }
        );
        assert_eq!(
            RevocationTarget::from_json(&json!({"client_id": "c"})).unwrap(),
            RevocationTarget::Client {
                client_id: "c".into()
            }
        );
        for (body, field) in [
            (json!({}), Some("sub")),
            (json!({"sub": ""}), Some("sub")),
            (json!({"sub": 7}), Some("sub")),
            (json!({"idp": "x"}), Some("idp")),
            (json!({"sub": "a", "client_id": "c"}), Some("client_id")),
            (json!({"client_id": "c", "idp": "x"}), Some("idp")),
            (json!({"sub": "a", "extra": 1}), Some("extra")),
            (
                json!({"sub": "a", "revoked_before": "x"}),
                Some("revoked_before"),
            ),
            (json!([]), None),
        ] {
            let error = RevocationTarget::from_json(&body).unwrap_err();
            assert_eq!(error.field.as_deref(), field, "{body}");
        }
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
