//! Refresh tokens (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2).
//!
//! A refresh token is 256 bits from the OS CSPRNG, given to the client once and stored only as
//! its SHA-256. Every token belongs to a family, the chain of rotations started by one token
//! exchange. The family records which token is the active one; presenting any other token of
//! the family is reuse and ends the family. A family never outlives its first token's lifetime.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::access_token::Principal;
use super::exchange_policy::{Grant, SELF};
use super::revocation::AccessTokenRef;

use crate::secret::Secret;

/// What is stored for one refresh token (keyed by its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub family_id: String,
    pub org: String,
    pub client_id: String,
    pub issuer_id: String,
    pub sub: String,
    /// Epoch seconds.
    pub valid_until: i64,
    /// When it was issued, epoch seconds (introspection's `iat`; 0 for tokens stored before
    /// this was kept).
    #[serde(default)]
    pub iat: i64,
    /// The family's `idp`, so the revocations of the subject can be read with the family
    /// (absent in tokens stored before this was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
}

/// The family: the active token's hash and the absolute end of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshFamily {
    pub active_hash: String,
    pub org: String,
    pub client_id: String,
    pub issuer_id: String,
    pub sub: String,
    /// Epoch seconds; no token of the family is valid after it.
    pub absolute_expires_at: i64,
    /// The `issuer` value of the trusted issuer that vouched for the subject; absent in
    /// families started before tokens carried `idp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// The claims the issuer's mappings produced at the exchange, carried by every refresh.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Value>,
    /// When the family was started, epoch milliseconds (0 in families started before this
    /// was kept: any revocation of their subject or client covers them).
    #[serde(default)]
    pub started_ms: i64,
    /// The unexpired access tokens the family issued, so revoking the family revokes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_tokens: Vec<AccessTokenRef>,
    /// The targets of the exchange that started the family (its tokens' `aud`), kept by
    /// every refresh.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// The scope that exchange granted: a refresh may narrow it, never widen it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The `act` of the exchange that started the family (RFC 8693 §4.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Value>,
    /// The actor's trusted-issuer id (or `"self"`), when delegated: a refresh checks it is
    /// still allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_issuer: Option<String>,
}

/// A new refresh token: 256 bits, base64url (43 characters).
pub fn new_refresh_token() -> Secret {
    Secret::new(URL_SAFE_NO_PAD.encode(super::random_bytes(32)))
}

impl RefreshFamily {
    /// The family a token exchange for `principal` and `grant` starts, with its first token.
    pub fn start(
        first: &RefreshToken,
        first_hash: &str,
        principal: &Principal,
        grant: &Grant,
    ) -> RefreshFamily {
        RefreshFamily {
            targets: grant.targets.clone(),
            scope: grant.scope.clone(),
            act: principal.act.clone(),
            actor_issuer: grant.actor_issuer.clone(),
            idp: Some(principal.idp.clone()),
            claims: principal.claims.clone(),
            active_hash: first_hash.to_owned(),
            org: first.org.clone(),
            client_id: first.client_id.clone(),
            issuer_id: first.issuer_id.clone(),
            sub: first.sub.clone(),
            absolute_expires_at: first.valid_until,
            started_ms: 0,
            access_tokens: Vec::new(),
        }
    }

    /// What the exchange that started the family granted; no token of it outlives the
    /// family when the family was started by a chained exchange (whose subject token's `exp`
    /// bounds it) or a delegated one (whose actor token's `exp` bounds it): the family's end
    /// is then the earliest of those, and an access token a refresh issues stops there too.
    pub fn grant(&self) -> Grant {
        let bounded = self.issuer_id == SELF || self.actor_issuer.is_some();
        Grant {
            targets: self.targets.clone(),
            scope: self.scope.clone(),
            not_after: bounded.then_some(self.absolute_expires_at),
            actor_issuer: self.actor_issuer.clone(),
        }
    }

    /// The family having issued `access_token` at `now` (epoch seconds): it is added, and the
    /// tokens expired by then are dropped, so the list stays as short as the tokens live.
    pub fn with_access_token(mut self, access_token: AccessTokenRef, now: i64) -> RefreshFamily {
        self.access_tokens.retain(|t| t.exp > now);
        self.access_tokens.push(access_token);
        self
    }

    /// The token that replaces the active one: same family and subject, expiring after
    /// `ttl_seconds` but never after the family's absolute end. `None` when the family has
    /// no time left.
    pub fn rotate(&self, family_id: &str, now: i64, ttl_seconds: u32) -> Option<RefreshToken> {
        let valid_until = (now + i64::from(ttl_seconds)).min(self.absolute_expires_at);
        (valid_until > now).then(|| RefreshToken {
            family_id: family_id.to_owned(),
            org: self.org.clone(),
            client_id: self.client_id.clone(),
            issuer_id: self.issuer_id.clone(),
            sub: self.sub.clone(),
            valid_until,
            iat: now,
            idp: self.idp.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(valid_until: i64) -> RefreshToken {
        RefreshToken {
            family_id: "f".into(),
            org: "acme".into(),
            client_id: "c".into(),
            issuer_id: "i".into(),
            sub: "user".into(),
            valid_until,
            iat: 0,
            idp: None,
        }
    }

    #[test]
    fn rotation_never_extends_the_family() {
        let family = RefreshFamily::start(
            &first(1_000),
            "h1",
            &Principal::default(),
            &Grant::default(),
        );
        assert_eq!(family.rotate("f", 100, 300).unwrap().valid_until, 400);
        assert_eq!(family.rotate("f", 900, 300).unwrap().valid_until, 1_000);
        assert_eq!(family.rotate("f", 1_000, 300), None);
        assert_eq!(family.rotate("f", 900, 300).unwrap().sub, "user");
    }

    #[test]
    fn a_delegated_or_chained_family_grants_nothing_past_its_end() {
        let start = |issuer_id: &str, actor_issuer: Option<&str>| {
            let grant = Grant {
                actor_issuer: actor_issuer.map(str::to_owned),
                ..Grant::default()
            };
            let first = RefreshToken {
                issuer_id: issuer_id.into(),
                ..first(1_000)
            };
            RefreshFamily::start(&first, "h1", &Principal::default(), &grant).grant()
        };
        // The family's end is the actor's (or the chained subject's) exp when that came first
        // (see `Grant::expiry` at the exchange), so a refresh near it mints no access token
        // that outlives the actor.
        assert_eq!(start("i", Some("partner")).expiry(900, 300), 1_000);
        assert_eq!(start("i", Some(SELF)).expiry(900, 300), 1_000);
        assert_eq!(start(SELF, None).expiry(900, 300), 1_000);
        // A family of a plain exchange bounds its refresh tokens only (rotate).
        assert_eq!(start("i", None).expiry(900, 300), 1_200);
    }

    #[test]
    fn a_family_keeps_only_its_unexpired_access_tokens() {
        let at = |jti: &str, exp| AccessTokenRef {
            jti: jti.into(),
            exp,
        };
        let family = RefreshFamily::start(
            &first(1_000),
            "h1",
            &Principal::default(),
            &Grant::default(),
        )
        .with_access_token(at("a", 100), 0)
        .with_access_token(at("b", 200), 50)
        .with_access_token(at("c", 300), 150);
        let jtis: Vec<&str> = family
            .access_tokens
            .iter()
            .map(|t| t.jti.as_str())
            .collect();
        assert_eq!(jtis, ["b", "c"]);
    }

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let (a, b) = (new_refresh_token(), new_refresh_token());
        assert_eq!(URL_SAFE_NO_PAD.decode(a.expose()).unwrap().len(), 32);
        assert_ne!(a, b);
    }
}
