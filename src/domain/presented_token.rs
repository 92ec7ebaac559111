//! A Trustgate access token presented back to Trustgate (introspection, RFC 7662; revocation,
//! RFC 7009): accepted only when it is a JWS of ours (`typ: at+jwt`) whose signature verifies
//! with one of the published signing keys (current or previous) named by its `kid`, under the
//! key's own algorithm, and whose `iss` is this organization's issuer value: the keys are
//! shared by every organization, so another organization's token is not this one's. Nothing is
//! read from the claims before the signature verifies.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde_json::{Map, Value};

use super::signing_key::SigningKey;
use crate::config::SigningAlg;

/// The largest token looked at, as for subject tokens.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a presented token is not one of this organization's access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotOurs {
    /// Not a compact JWS, or a header or claims set we never write.
    Malformed,
    /// No published key has its `kid` and `alg`, or the signature does not verify.
    Unverified,
    /// Genuinely ours, but another organization's.
    OtherOrganization,
}

/// A verified access token of this organization (expired or not).
#[derive(Debug, Clone, PartialEq)]
pub struct PresentedToken {
    pub jti: String,
    pub sub: String,
    pub idp: String,
    pub client_id: String,
    pub iat: i64,
    pub exp: i64,
    /// Every claim, as signed.
    pub claims: Map<String, Value>,
}

impl PresentedToken {
    /// Verifies `token` with `keys` and checks it was issued by `organization_issuer`.
    pub fn verify(
        token: &str,
        keys: &[Arc<SigningKey>],
        organization_issuer: &str,
    ) -> Result<PresentedToken, NotOurs> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(NotOurs::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(NotOurs::Malformed);
        };
        let header: Map<String, Value> = json_segment(header)?;
        if header.get("typ").and_then(Value::as_str) != Some("at+jwt") {
            return Err(NotOurs::Malformed);
        }
        let (Some(alg), Some(kid)) = (
            header.get("alg").and_then(Value::as_str),
            header.get("kid").and_then(Value::as_str),
        ) else {
            return Err(NotOurs::Malformed);
        };
        let key = keys
            .iter()
            .find(|k| k.kid == kid && k.alg.as_str() == alg)
            .ok_or(NotOurs::Unverified)?;
        let signing_input = &token[..header_len(token)];
        let decoding = decoding_key(key).ok_or(NotOurs::Unverified)?;
        let verified = jsonwebtoken::crypto::verify(
            signature,
            signing_input.as_bytes(),
            &decoding,
            jsonwebtoken_alg(key.alg),
        )
        .unwrap_or(false);
        if !verified {
            return Err(NotOurs::Unverified);
        }
        let claims: Map<String, Value> = json_segment(payload)?;
        if claims.get("iss").and_then(Value::as_str) != Some(organization_issuer) {
            return Err(NotOurs::OtherOrganization);
        }
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(NotOurs::Malformed)
        };
        let number = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_i64)
                .ok_or(NotOurs::Malformed)
        };
        Ok(PresentedToken {
            jti: text("jti")?,
            sub: text("sub")?,
            idp: text("idp")?,
            client_id: text("client_id")?,
            iat: number("iat")?,
            exp: number("exp")?,
            claims,
        })
    }

    /// Whether the token has not expired at `now` (epoch seconds).
    pub fn unexpired(&self, now: i64) -> bool {
        self.exp > now
    }

    /// When it was issued, epoch milliseconds.
    pub fn issued_ms(&self) -> i64 {
        super::revocation::issued_ms(&self.jti, self.iat)
    }
}

/// Where the signature starts, less its dot: the JWS signing input (RFC 7515 §5.2).
fn header_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(0)
}

fn json_segment(segment: &str) -> Result<Map<String, Value>, NotOurs> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| NotOurs::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| NotOurs::Malformed)
}

/// Our published JWK as jsonwebtoken's key (the JWK is the one form every key has).
fn decoding_key(key: &SigningKey) -> Option<DecodingKey> {
    let jwk = serde_json::to_value(&key.jwk).ok()?;
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk).ok()?;
    DecodingKey::from_jwk(&jwk).ok()
}

fn jsonwebtoken_alg(alg: SigningAlg) -> jsonwebtoken::Algorithm {
    match alg {
        SigningAlg::RS256 => jsonwebtoken::Algorithm::RS256,
        SigningAlg::PS256 => jsonwebtoken::Algorithm::PS256,
        SigningAlg::ES256 => jsonwebtoken::Algorithm::ES256,
    }
}
