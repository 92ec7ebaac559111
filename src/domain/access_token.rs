//! The access tokens Trustgate issues: a JWS (RFC 9068 profile, `typ: at+jwt`) whose only
//! claim taken from the subject token is `sub`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};

use super::exchange_policy::Grant;
use super::revocation::AccessTokenRef;
use super::signing_key::SigningKey;

/// The claims of an issued access token: the registered ones, `idp` (the `issuer` value of the
/// trusted issuer that vouched for the subject, so two issuers never yield the same token) and
/// the claims the issuer's `claim_mappings` produced. Nothing else of the subject token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessTokenClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: Audience<'a>,
    pub client_id: &'a str,
    /// RFC 8693 §4.2, space-separated; absent when nothing is granted (never `""`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'a str>,
    pub iat: i64,
    pub exp: i64,
    pub jti: &'a str,
    pub idp: &'a str,
    /// RFC 8693 §4.1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act: Option<&'a Value>,
    #[serde(flatten)]
    pub mapped: &'a Map<String, Value>,
}

impl<'a> AccessTokenClaims<'a> {
    /// Claims for `principal` and `grant`, issued at `iat` to `client_id` as the token `token`
    /// (its `jti`, and its `exp`, which the grant already bounds). They borrow what they say:
    /// minting copies nothing but into the token itself.
    pub fn new(
        organization_issuer: &'a str,
        principal: &'a Principal,
        grant: &'a Grant,
        client_id: &'a str,
        iat: i64,
        token: &'a AccessTokenRef,
    ) -> Self {
        AccessTokenClaims {
            iss: organization_issuer,
            sub: &principal.sub,
            aud: Audience {
                targets: &grant.targets,
                client_id,
            },
            client_id,
            scope: grant.scope.as_deref(),
            iat,
            exp: token.exp,
            jti: &token.jti,
            idp: &principal.idp,
            act: principal.act.as_ref(),
            mapped: &principal.claims,
        }
    }
}

/// The `aud` claim (contract, "Token exchange: targets"): the granted targets, or the
/// `client_id` when there are none; a string when there is one value, else an array.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Audience<'a> {
    pub targets: &'a [String],
    pub client_id: &'a str,
}

impl Serialize for Audience<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.targets {
            [] => serializer.serialize_str(self.client_id),
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

/// Whom an issued token speaks for: the subject, the trusted issuer that vouched for it, and
/// the claims its mappings produced. A refresh family keeps it, so refreshed tokens say the same.
#[derive(Debug, Clone, PartialEq, Default, Serialize, serde::Deserialize)]
pub struct Principal {
    pub sub: String,
    pub idp: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Value>,
    /// RFC 8693 §4.1: the acting party (and those before it), when the token is delegated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Value>,
}

#[derive(Serialize)]
struct JwsHeader<'a> {
    alg: &'a str,
    typ: &'static str,
    kid: &'a str,
}

/// Largest JWS signature Trustgate makes (RSA-4096), for sizing the token up front.
const MAX_SIGNATURE_BYTES: usize = 512;

/// `BASE64URL(header) "." BASE64URL(claims)` (RFC 7515 §5.1), ready to sign with `key`, with
/// room for the signature [`assemble`] appends.
pub fn signing_input(key: &SigningKey, claims: &AccessTokenClaims) -> String {
    let header = JwsHeader {
        alg: key.alg.as_str(),
        typ: "at+jwt",
        kid: &key.kid,
    };
    let header = serde_json::to_vec(&header).expect("header serializes");
    let mut payload = Vec::with_capacity(256);
    serde_json::to_writer(&mut payload, claims).expect("claims serialize");
    let encoded = |bytes: usize| base64::encoded_len(bytes, false).unwrap_or(0);
    let mut out = String::with_capacity(
        encoded(header.len()) + encoded(payload.len()) + encoded(MAX_SIGNATURE_BYTES) + 2,
    );
    URL_SAFE_NO_PAD.encode_string(header, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut out);
    out
}

/// The compact JWS: the signing input, `.`, the signature.
pub fn assemble(mut signing_input: String, signature: &[u8]) -> String {
    signing_input.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut signing_input);
    signing_input
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SigningAlg;
    use crate::domain::public_key::PublicKey;

    #[test]
    fn header_and_claims_are_exactly_the_contracts() {
        let jwk: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/ec-p256.jwk.json")).unwrap();
        let public = PublicKey::from_jwk(jwk.as_object().unwrap()).unwrap();
        let key = SigningKey::new(&public, Some(SigningAlg::ES256)).unwrap();
        let principal = Principal {
            sub: "user".into(),
            idp: "https://idp.example.com".into(),
            claims: serde_json::json!({"team": "blue"})
                .as_object()
                .unwrap()
                .clone(),
            act: None,
        };
        let token = AccessTokenRef {
            jti: crate::domain::revocation::new_jti(100_000),
            exp: 160,
        };
        let grant = Grant::default();
        let claims = AccessTokenClaims::new(
            "https://sts/t/acme/oauth2/token",
            &principal,
            &grant,
            "client",
            100,
            &token,
        );
        let input = signing_input(&key, &claims);
        let (header, payload) = input.split_once('.').unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": key.kid})
        );
        let payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let names: Vec<&String> = payload.as_object().unwrap().keys().collect();
        // serde_json's Map is ordered by name.
        assert_eq!(
            names,
            [
                "aud",
                "client_id",
                "exp",
                "iat",
                "idp",
                "iss",
                "jti",
                "sub",
                "team"
            ]
        );
        assert_eq!(payload["idp"], "https://idp.example.com");
        assert_eq!(payload["exp"], 160);
        assert_eq!(payload["aud"], "client");
        assert_eq!(payload["jti"].as_str().unwrap().len(), 32);
        assert_eq!(assemble("a.b".into(), &[0xff]), "a.b._w");
    }

    #[test]
    fn aud_is_the_client_or_the_targets_and_scope_appears_only_when_granted() {
        let principal = Principal::default();
        let claims = |grant: &Grant| {
            let token = AccessTokenRef {
                jti: crate::domain::revocation::new_jti(0),
                exp: grant.expiry(0, 60),
            };
            let claims = AccessTokenClaims::new("iss", &principal, grant, "client", 0, &token);
            serde_json::to_value(claims).unwrap()
        };
        let plain = claims(&Grant::default());
        assert_eq!(plain["aud"], "client");
        assert!(plain.get("scope").is_none());
        let one = claims(&Grant {
            targets: vec!["api".into()],
            scope: Some("read write".into()),
            not_after: Some(30),
            actor_issuer: None,
        });
        assert_eq!(one["exp"], 30, "never past the grant's not_after");
        assert_eq!(one["aud"], "api");
        assert_eq!(one["scope"], "read write");
        let two = claims(&Grant {
            targets: vec!["api".into(), "https://r".into()],
            scope: None,
            not_after: Some(90),
            actor_issuer: None,
        });
        assert_eq!(two["exp"], 60);
        assert_eq!(two["aud"], serde_json::json!(["api", "https://r"]));
    }
}
