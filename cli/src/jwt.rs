//! Reading a JWT for display, and verifying it against a JSON Web Key Set (RFC 7515, 7517,
//! 7519). Display goes through [`dangerous_unverified_parts`], named so: its output is never
//! trusted, only shown next to the verification result.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;

/// Header and claims of a compact JWS, NOT verified.
pub fn dangerous_unverified_parts(token: &str) -> Result<(Value, Value), String> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(
            "not a compact JWS: expected three dot-separated parts (a JWE has five)".into(),
        );
    };
    let read = |part: &str, what: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| format!("the {what} is not base64url"))?;
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|_| format!("the {what} is not JSON"))?;
        if value.is_object() {
            Ok(value)
        } else {
            Err(format!("the {what} is not a JSON object"))
        }
    };
    Ok((read(header, "header")?, read(claims, "claims")?))
}

/// What a successful verification found.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    pub alg: String,
    pub kid: Option<String>,
}

/// Verifies the signature with the JWKS key the header's `kid` names (or the only key when
/// there is no `kid`), and `exp`/`nbf`; `iss` and `aud` when given.
pub fn verify(
    token: &str,
    jwks: &JwkSet,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> Result<Verified, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| format!("bad header: {e}"))?;
    // The service's own allow-list (asymmetric only: no HMAC, no `none`).
    if !(trustgate::domain::issuer::Algorithm::ALL.iter()).any(|a| a.jsonwebtoken() == header.alg) {
        return Err(format!(
            "algorithm {:?} is not one Trustgate accepts (RS*, PS*, ES256, ES384)",
            header.alg
        ));
    }
    let jwk = match &header.kid {
        Some(kid) => jwks
            .find(kid)
            .ok_or_else(|| format!("no key with kid {kid:?} in the JWKS"))?,
        None if jwks.keys.len() == 1 => &jwks.keys[0],
        None => return Err("the token has no kid and the JWKS has several keys".into()),
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable JWKS key: {e}"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_required_spec_claims(&["exp"]);
    validation.leeway = 0;
    match issuer {
        Some(issuer) => validation.set_issuer(&[issuer]),
        None => validation.iss = None,
    }
    match audience {
        Some(audience) => validation.set_audience(&[audience]),
        None => validation.validate_aud = false,
    }
    jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| e.to_string())?;
    Ok(Verified {
        alg: format!("{:?}", header.alg),
        kid: header.kid,
    })
}

/// `iat`, `nbf` and `exp` shown as RFC 3339 times next to the numbers.
pub fn annotate_times(claims: &Value) -> Vec<(String, String)> {
    ["iat", "nbf", "exp"]
        .iter()
        .filter_map(|name| {
            let seconds = claims.get(*name)?.as_i64()?;
            let at = time::OffsetDateTime::from_unix_timestamp(seconds).ok()?;
            let text = at
                .format(&time::format_description::well_known::Rfc3339)
                .ok()?;
            Some(((*name).to_owned(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(value: &str) -> String {
        URL_SAFE_NO_PAD.encode(value)
    }

    #[test]
    fn parts_are_read_without_verification() {
        let token = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"RS256"}"#),
            b64(r#"{"sub":"alice"}"#)
        );
        let (header, claims) = dangerous_unverified_parts(&token).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(claims["sub"], "alice");
    }

    #[test]
    fn a_jwe_or_garbage_is_refused_with_the_reason() {
        assert!(
            dangerous_unverified_parts("a.b.c.d.e")
                .unwrap_err()
                .contains("JWE")
        );
        let bad = format!("{}.{}.s", b64("[1]"), b64("{}"));
        assert!(
            dangerous_unverified_parts(&bad)
                .unwrap_err()
                .contains("header is not a JSON object")
        );
        assert!(
            dangerous_unverified_parts("!!.x.y")
                .unwrap_err()
                .contains("base64url")
        );
    }

    #[test]
    fn an_hmac_token_is_never_verified() {
        let token = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"HS256"}"#),
            b64(r#"{"exp":9999999999}"#)
        );
        let jwks: JwkSet = serde_json::from_str(r#"{"keys":[]}"#).unwrap();
        assert!(
            verify(&token, &jwks, None, None)
                .unwrap_err()
                .contains("not one Trustgate accepts")
        );
    }

    #[test]
    fn times_are_shown_in_rfc3339() {
        let shown = annotate_times(&serde_json::json!({"exp": 0, "sub": "x"}));
        assert_eq!(
            shown,
            [("exp".to_owned(), "1970-01-01T00:00:00Z".to_owned())]
        );
    }
}
