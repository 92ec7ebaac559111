//! JSON Web Key Set documents (RFC 7517 §5) and the `Cache-Control` lifetime of a fetched set.
//! Pure: bytes in, keys out.
//!
//! The document must be a JSON object with a `keys` array; anything else fails the whole set
//! (and the caller keeps its last good keys). Inside the array, members this service cannot or
//! must not use are skipped, as RFC 7517 §5 asks, rather than failing the set: keys whose `use`
//! is not `sig` or whose `key_ops` lacks `verify` (§4.2, §4.3), symmetric `oct` keys (a shared
//! secret is never a trusted issuer's key; RFC 8725 §3.1), other key types, algorithms and
//! curves, keys carrying private members (`d`), keys the rules of [`PublicKey`] refuse (RFC 7518
//! §6.2.1, §6.3.1: unpadded base64url, full-length EC coordinates; sizes, exponents, curves),
//! and `kid`s longer than [`MAX_KID_BYTES`]. At most `max_keys` usable keys are kept, the first
//! ones.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::key::{MAX_KID_BYTES, VerificationKey};
use crate::domain::issuer::Algorithm;
use crate::domain::public_key::PublicKey;

/// The usable keys of a JWK Set.
#[derive(Debug)]
pub struct ParsedJwks {
    pub keys: Vec<Arc<VerificationKey>>,
    /// Members skipped as unusable.
    pub skipped: usize,
    /// Usable members left out because `max_keys` were already kept.
    pub truncated: bool,
}

/// A document that is not a JWK Set at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed JWK Set: {0}")]
pub struct JwksError(&'static str);

/// Reads a JWK Set document. The caller bounds `body`'s size; `max_keys` bounds what is kept
/// and how much work is done once that many keys were found.
pub fn parse_jwks(body: &[u8], max_keys: usize) -> Result<ParsedJwks, JwksError> {
    let document: Value =
        serde_json::from_slice(body).map_err(|_| JwksError("not a JSON document"))?;
    let Value::Object(mut document) = document else {
        return Err(JwksError("not a JSON object"));
    };
    let Some(Value::Array(members)) = document.remove("keys") else {
        return Err(JwksError("no \"keys\" array"));
    };
    let mut parsed = ParsedJwks {
        keys: Vec::new(),
        skipped: 0,
        truncated: false,
    };
    for member in &members {
        let key = match member {
            Value::Object(jwk) => key_from_jwk(jwk),
            _ => Err("not a JSON object"),
        };
        match key {
            Ok(_) if parsed.keys.len() == max_keys => {
                parsed.truncated = true;
                break;
            }
            Ok(key) => parsed.keys.push(Arc::new(key)),
            Err(_) => parsed.skipped += 1,
        }
    }
    Ok(parsed)
}

/// One JWK (RFC 7517 §4, RFC 7518 §6) as a verification key, or why it is skipped.
fn key_from_jwk(jwk: &Map<String, Value>) -> Result<VerificationKey, &'static str> {
    if let Some(key_use) = string_member(jwk, "use")?
        && key_use != "sig"
    {
        return Err("use is not sig");
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verify = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op == "verify"));
        if !verify {
            return Err("key_ops does not allow verify");
        }
    }
    if jwk.contains_key("d") {
        return Err("carries private key material");
    }
    let kid = string_member(jwk, "kid")?;
    if kid.is_some_and(|kid| kid.len() > MAX_KID_BYTES) {
        return Err("kid too long");
    }
    let kid = kid.map(str::to_owned);
    let alg = match string_member(jwk, "alg")? {
        None => None,
        Some(name) => Some(Algorithm::parse(name).ok_or("alg not supported")?),
    };
    // The key itself, under the one set of key rules; why it is refused does not matter here
    // (the member is skipped and counted).
    let public = PublicKey::from_jwk(jwk).map_err(|_| "key refused")?;
    VerificationKey::new(kid, alg, public)
}

/// A member that, when present, must be a string.
fn string_member<'a>(
    jwk: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, &'static str> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err("member is not a string"),
    }
}

/// The lifetime a `Cache-Control` value (RFC 9111 §5.2.2) grants, in seconds: `max-age`
/// (the first one when repeated, RFC 9111 §4.2.1), or 0 for `no-store`/`no-cache`. `None`
/// when the value says neither, so the caller's default applies; the caller also clamps.
pub fn max_age_seconds(cache_control: &str) -> Option<u64> {
    let mut max_age = None;
    for directive in cache_control.split(',') {
        let (name, argument) = match directive.split_once('=') {
            Some((name, argument)) => (name.trim(), Some(argument.trim())),
            None => (directive.trim(), None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(0);
        }
        if name.eq_ignore_ascii_case("max-age") && max_age.is_none() {
            let digits = argument.map(|a| a.trim_matches('"')).unwrap_or("");
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                // Too large to represent means "very long"; the caller clamps it anyway.
                max_age = Some(digits.parse().unwrap_or(u64::MAX));
            }
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::public_key::KeyFamily;
    use serde_json::json;

    const RSA_2048: &str = include_str!("../../tests/fixtures/rsa2048.jwk.json");
    const RSA_1024: &str = include_str!("../../tests/fixtures/rsa1024.jwk.json");
    const EC_P256: &str = include_str!("../../tests/fixtures/ec-p256.jwk.json");
    const EC_P384: &str = include_str!("../../tests/fixtures/ec-p384.jwk.json");

    fn jwk(fixture: &str, extra: Value) -> Value {
        let mut jwk: Value = serde_json::from_str(fixture).unwrap();
        jwk.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        jwk
    }

    fn parse(keys: Vec<Value>) -> ParsedJwks {
        parse_jwks(json!({ "keys": keys }).to_string().as_bytes(), 100).unwrap()
    }

    #[test]
    fn reads_rsa_and_ec_keys_with_kid_and_alg() {
        let parsed = parse(vec![
            jwk(RSA_2048, json!({"kid": "r", "alg": "RS256", "use": "sig"})),
            jwk(EC_P256, json!({"kid": "p256"})),
            jwk(EC_P384, json!({"kid": "p384", "key_ops": ["verify"]})),
        ]);
        assert_eq!(parsed.skipped, 0);
        let summary: Vec<_> = parsed
            .keys
            .iter()
            .map(|k| (k.kid.as_deref(), k.alg, k.family()))
            .collect();
        assert_eq!(
            summary,
            [
                (Some("r"), Some(Algorithm::RS256), KeyFamily::Rsa),
                (Some("p256"), None, KeyFamily::EcP256),
                (Some("p384"), None, KeyFamily::EcP384),
            ]
        );
    }

    #[test]
    fn refuses_documents_that_are_not_a_key_set() {
        for body in [
            &b"not json"[..],
            b"[]",
            b"\"keys\"",
            b"{}",
            b"{\"keys\": {}}",
            b"{\"keys\": null}",
            b"",
        ] {
            assert!(
                parse_jwks(body, 100).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(parse_jwks(b"{\"keys\": []}", 100).unwrap().keys.len(), 0);
    }

    #[test]
    fn skips_unusable_members_and_keeps_the_rest() {
        let rsa: Value = serde_json::from_str(RSA_2048).unwrap();
        let mut bad_base64 = rsa.clone();
        bad_base64["n"] = json!("not*base64url");
        let mut padded = rsa.clone();
        padded["e"] = json!("AQAB=");
        let mut ec_short = serde_json::from_str::<Value>(EC_P256).unwrap();
        ec_short["x"] = json!("AQAB");
        let parsed = parse(vec![
            json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}),
            json!("a string"),
            json!({"kid": "no-kty"}),
            jwk(RSA_2048, json!({"use": "enc"})),
            jwk(RSA_2048, json!({"key_ops": ["encrypt"]})),
            jwk(RSA_2048, json!({"alg": "HS256"})),
            jwk(RSA_2048, json!({"alg": "ES256"})),
            jwk(RSA_2048, json!({"kid": 7})),
            jwk(RSA_2048, json!({"kid": "k".repeat(MAX_KID_BYTES + 1)})),
            jwk(RSA_2048, json!({"d": "private"})),
            jwk(RSA_1024, json!({})),
            jwk(EC_P256, json!({"crv": "P-521"})),
            jwk(EC_P384, json!({"crv": "P-256"})),
            bad_base64,
            padded,
            ec_short,
            jwk(RSA_2048, json!({"kid": "good"})),
        ]);
        assert_eq!(parsed.skipped, 17);
        assert_eq!(parsed.keys.len(), 1);
        assert_eq!(parsed.keys[0].kid.as_deref(), Some("good"));
    }

    #[test]
    fn keeps_every_key_of_a_duplicate_kid() {
        // RFC 7517 §4.5 allows it; the caller tries each.
        let parsed = parse(vec![
            jwk(RSA_2048, json!({"kid": "same"})),
            jwk(EC_P256, json!({"kid": "same"})),
        ]);
        assert_eq!(parsed.keys.len(), 2);
    }

    #[test]
    fn keeps_at_most_max_keys_of_ten_thousand() {
        let members: Vec<Value> = (0..10_000)
            .map(|i| jwk(EC_P256, json!({ "kid": format!("k{i}") })))
            .collect();
        let body = json!({ "keys": members }).to_string();
        let started = std::time::Instant::now();
        let parsed = parse_jwks(body.as_bytes(), 100).unwrap();
        assert_eq!(parsed.keys.len(), 100);
        assert!(parsed.truncated);
        assert_eq!(parsed.keys[99].kid.as_deref(), Some("k99"));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn reads_max_age_from_cache_control() {
        for (value, expected) in [
            ("max-age=300", Some(300)),
            ("public, MAX-AGE = 60 , must-revalidate", Some(60)),
            ("max-age=\"120\"", Some(120)),
            ("max-age=10, max-age=20", Some(10)),
            ("max-age=99999999999999999999999", Some(u64::MAX)),
            ("max-age=-1", None),
            ("max-age=1.5", None),
            ("max-age=", None),
            ("max-age", None),
            ("public", None),
            ("", None),
            ("no-store", Some(0)),
            ("max-age=600, no-cache", Some(0)),
        ] {
            assert_eq!(max_age_seconds(value), expected, "{value:?}");
        }
    }
}
