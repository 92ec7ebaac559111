//! Subject token validation (RFC 8693 §2.1, RFC 7519, RFC 8725), in one place and in order of
//! cost: size, shape, header, `iss` routing, signature, claims.
//!
//! [`UnverifiedToken::parse`] does the cheap checks; [`UnverifiedToken::unverified_issuer`] is
//! the one read of an unverified claim, used only to choose whose keys verify the token;
//! [`UnverifiedToken::verify`] checks the signature and only then hands out the claims, which
//! [`VerifiedToken::validate`] checks against the trusted issuer's rules.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;

use super::issuer::{Algorithm, TrustedIssuer};
use super::jose_object::{self, Member};

/// Largest subject token accepted (16 KiB; SECURITY.md).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Largest `kid` accepted; it is only ever compared, never used as a path or query.
pub const MAX_KID_BYTES: usize = 256;
/// Largest `sub` copied into an issued token.
pub const MAX_SUB_BYTES: usize = 1024;
/// Largest `jti` recorded for replay detection.
pub const MAX_JTI_BYTES: usize = 256;
/// Longest remaining lifetime (`exp − now`, seconds, clock skew not added) of a subject token
/// whose issuer has no `max_token_age_seconds`: 24 h. Without it a token that is never
/// expected to expire (and may carry no `iat`) would be accepted for as long as it says.
pub const MAX_REMAINING_LIFETIME_SECONDS: i64 = 86_400;

/// Why a subject token was refused. The text is safe to show the client: it never repeats
/// token content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("subject token exceeds 16 KiB")]
    TooLarge,
    #[error("encrypted subject tokens (JWE) are not accepted")]
    Encrypted,
    #[error("subject token is not a compact JWS")]
    Malformed,
    #[error("subject token header is invalid: {0}")]
    BadHeader(&'static str),
    #[error("subject token algorithm is not accepted")]
    AlgorithmNotAccepted,
    #[error("subject token payload is invalid: {0}")]
    BadPayload(&'static str),
    #[error("subject token issuer is not trusted by this organization")]
    UntrustedIssuer,
    #[error("no key of the trusted issuer fits the subject token")]
    NoMatchingKey,
    #[error("subject token signature is invalid")]
    BadSignature,
    #[error("subject token is expired")]
    Expired,
    #[error("subject token is not valid yet")]
    NotYetValid,
    #[error("subject token is issued in the future")]
    IssuedInFuture,
    #[error("subject token is older than the trusted issuer allows")]
    TooOld,
    #[error("subject token expires more than 24 hours from now")]
    LivesTooLong,
    #[error("subject token audience does not include this organization")]
    WrongAudience,
    #[error("subject token {0} claim is missing or invalid")]
    BadClaim(&'static str),
    #[error("subject token was already used (jti replay)")]
    Replayed,
    /// One of our own access tokens sent with another `subject_token_type` (chained exchange).
    #[error("an access token of this organization is accepted only as token type access_token")]
    NotAccessTokenType,
    /// One of our own access tokens neither issued to the client nor naming it in `aud`.
    #[error("the access token was not issued to this client nor for it")]
    NotForClient,
    #[error("the access token is revoked")]
    Revoked,
}

impl Rejection {
    /// The named check of the token path that refuses a token for this reason (the names the
    /// explain endpoint reports).
    pub fn check(&self) -> Check {
        match self {
            Rejection::TooLarge
            | Rejection::Encrypted
            | Rejection::Malformed
            | Rejection::BadHeader(_)
            | Rejection::BadPayload(_)
            | Rejection::NotAccessTokenType => Check::Format,
            Rejection::UntrustedIssuer | Rejection::BadClaim("iss") => Check::Issuer,
            Rejection::AlgorithmNotAccepted => Check::Algorithm,
            Rejection::NoMatchingKey => Check::Key,
            Rejection::BadSignature => Check::Signature,
            Rejection::Expired | Rejection::BadClaim("exp") => Check::Expiry,
            Rejection::NotYetValid | Rejection::BadClaim("nbf") => Check::NotBefore,
            Rejection::IssuedInFuture | Rejection::BadClaim("iat") => Check::IssuedAt,
            Rejection::TooOld | Rejection::LivesTooLong => Check::MaxAge,
            Rejection::WrongAudience | Rejection::NotForClient | Rejection::BadClaim("aud") => {
                Check::Audience
            }
            Rejection::Revoked => Check::Revocation,
            Rejection::Replayed | Rejection::BadClaim("jti") => Check::Jti,
            Rejection::BadClaim(_) => Check::Subject,
        }
    }
}

/// The checks of a subject token, in the order the token path runs them (the names an explain
/// report gives).
/// A token is refused at the first that fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    Format,
    Issuer,
    Algorithm,
    Key,
    Signature,
    Expiry,
    NotBefore,
    IssuedAt,
    Audience,
    MaxAge,
    Jti,
    Revocation,
    Subject,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Format => "format",
            Check::Issuer => "issuer",
            Check::Algorithm => "algorithm",
            Check::Key => "key",
            Check::Signature => "signature",
            Check::Expiry => "expiry",
            Check::NotBefore => "not_before",
            Check::IssuedAt => "issued_at",
            Check::Audience => "audience",
            Check::MaxAge => "max_age",
            Check::Jti => "jti",
            Check::Revocation => "revocation",
            Check::Subject => "subject",
        }
    }
}

/// The header members that matter (RFC 7515 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub alg: Algorithm,
    pub kid: Option<String>,
}

/// A token that passed the cheap checks. Its claims are not to be trusted yet.
#[derive(Debug)]
pub struct UnverifiedToken<'a> {
    header: Header,
    claims: Claims,
    payload: Vec<u8>,
    signing_input: &'a str,
    signature: &'a str,
}

/// A token whose signature verified with a trusted issuer's key.
#[derive(Debug)]
pub struct VerifiedToken {
    claims: Claims,
    payload: Vec<u8>,
}

/// The registered claims the rules read (RFC 7519 §4.1), as the token has them. The payload's
/// other claims were checked to be JSON and are not kept.
#[derive(Debug)]
struct Claims {
    iss: Member,
    sub: Member,
    aud: Member,
    exp: Member,
    nbf: Member,
    iat: Member,
    jti: Member,
}

impl Claims {
    fn read(payload: &[u8]) -> Result<Claims, Rejection> {
        const NAMES: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];
        let [iss, sub, aud, exp, nbf, iat, jti] =
            jose_object::read(payload, &NAMES).map_err(|e| Rejection::BadPayload(e.as_str()))?;
        Ok(Claims {
            iss,
            sub,
            aud,
            exp,
            nbf,
            iat,
            jti,
        })
    }
}

/// What an issued token takes from a valid subject token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub sub: String,
    pub jti: Option<String>,
    /// The subject token's `exp`, whole seconds: how long its `jti` must be remembered.
    pub expires_at: i64,
    /// The verified claims set (JSON), for steps that read more than the registered claims.
    pub claims_json: Vec<u8>,
}

impl<'a> UnverifiedToken<'a> {
    /// Size, shape and header checks, and the payload parsed as one JSON object without
    /// duplicate members (RFC 7519 §4, RFC 8725 §3.1–3.2).
    pub fn parse(token: &'a str) -> Result<UnverifiedToken<'a>, Rejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Rejection::TooLarge);
        }
        let (header, rest) = token.split_once('.').ok_or(Rejection::Malformed)?;
        let (payload, signature) = rest.split_once('.').ok_or(Rejection::Malformed)?;
        // Every segment must be non-empty base64url without padding: an empty signature is
        // an unsecured JWS, refused whatever its header says. Decoding checks the alphabet of
        // the header and payload; the signature's is checked here (it is decoded when it is
        // verified), which also finds the dots of a JWE (five segments) or of a token with
        // more than three.
        if !is_base64url(signature) {
            return Err(if signature.bytes().filter(|&b| b == b'.').count() == 2 {
                Rejection::Encrypted
            } else {
                Rejection::Malformed
            });
        }
        if header.is_empty() || payload.is_empty() {
            return Err(Rejection::Malformed);
        }
        let signing_input = &token[..header.len() + 1 + payload.len()];
        let header = check_header(&decode(header)?)?;
        let payload = decode(payload)?;
        let claims = Claims::read(&payload)?;
        Ok(UnverifiedToken {
            header,
            claims,
            payload,
            signing_input,
            signature,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The unverified `iss`. Use it only to pick the trusted issuer whose keys verify the token.
    pub fn unverified_issuer(&self) -> Result<&str, Rejection> {
        match &self.claims.iss {
            Member::String(iss) => Ok(iss),
            _ => Err(Rejection::BadClaim("iss")),
        }
    }

    /// The index in `issuers` of the enabled issuer whose `issuer` equals `iss` byte for byte,
    /// if its allow-list has the token's algorithm.
    pub fn route(&self, issuers: &[TrustedIssuer]) -> Result<usize, Rejection> {
        let iss = self.unverified_issuer()?;
        let index = issuers
            .iter()
            .position(|i| i.enabled && i.issuer.as_bytes() == iss.as_bytes())
            .ok_or(Rejection::UntrustedIssuer)?;
        if !issuers[index].allowed_algorithms.contains(&self.header.alg) {
            return Err(Rejection::AlgorithmNotAccepted);
        }
        Ok(index)
    }

    /// Verifies the signature with the header's algorithm and any of `keys` (the issuer's keys
    /// that fit that algorithm and `kid`). ECDSA signatures must be the fixed-size JOSE form.
    pub fn verify(self, keys: &[&DecodingKey]) -> Result<VerifiedToken, Rejection> {
        if keys.is_empty() {
            return Err(Rejection::NoMatchingKey);
        }
        let alg = self.header.alg.jsonwebtoken();
        let valid = keys.iter().any(|key| {
            jsonwebtoken::crypto::verify(self.signature, self.signing_input.as_bytes(), key, alg)
                .unwrap_or(false)
        });
        if valid {
            Ok(VerifiedToken {
                claims: self.claims,
                payload: self.payload,
            })
        } else {
            Err(Rejection::BadSignature)
        }
    }
}

/// The rules a verified token's claims must meet.
#[derive(Debug, Clone)]
pub struct ClaimRules<'a> {
    /// The organization's issuer value: always an accepted audience.
    pub organization_issuer: &'a str,
    pub issuer: &'a TrustedIssuer,
    /// Epoch seconds.
    pub now: i64,
}

impl VerifiedToken {
    /// `exp` required, `nbf`/`iat` not in the future, all numeric, with the issuer's clock
    /// skew (RFC 7519 §4.1.4–4.1.6); the issuer's maximum age, or without one `exp` at most
    /// [`MAX_REMAINING_LIFETIME_SECONDS`] ahead; `aud` (§4.1.3) holding the
    /// organization's issuer or the alias; a non-empty string `sub`; the `jti` rule.
    pub fn validate(self, rules: &ClaimRules<'_>) -> Result<Subject, Rejection> {
        let claims = self.claims;
        let now = rules.now as f64;
        let skew = f64::from(rules.issuer.clock_skew_seconds);

        let exp = numeric(&claims.exp, "exp")?.ok_or(Rejection::BadClaim("exp"))?;
        if now >= exp + skew {
            return Err(Rejection::Expired);
        }
        if numeric(&claims.nbf, "nbf")?.is_some_and(|nbf| nbf > now + skew) {
            return Err(Rejection::NotYetValid);
        }
        let iat = numeric(&claims.iat, "iat")?;
        if iat.is_some_and(|iat| iat > now + skew) {
            return Err(Rejection::IssuedInFuture);
        }
        match rules.issuer.max_token_age_seconds {
            Some(max_age) => {
                let iat = iat.ok_or(Rejection::BadClaim("iat"))?;
                if now - iat > max_age as f64 {
                    return Err(Rejection::TooOld);
                }
            }
            None if exp - now > MAX_REMAINING_LIFETIME_SECONDS as f64 => {
                return Err(Rejection::LivesTooLong);
            }
            None => {}
        }

        let accepted = |aud: &str| {
            aud == rules.organization_issuer || rules.issuer.alias.as_deref() == Some(aud)
        };
        let audience_ok = match &claims.aud {
            Member::String(aud) => accepted(aud),
            Member::Strings(list) => list.iter().any(|aud| accepted(aud)),
            Member::Absent => false,
            _ => return Err(Rejection::BadClaim("aud")),
        };
        if !audience_ok {
            return Err(Rejection::WrongAudience);
        }

        let sub = match claims.sub {
            Member::String(sub) if !sub.is_empty() && sub.len() <= MAX_SUB_BYTES => sub,
            _ => return Err(Rejection::BadClaim("sub")),
        };
        let jti = match claims.jti {
            Member::Absent => None,
            Member::String(jti) if !jti.is_empty() && jti.len() <= MAX_JTI_BYTES => Some(jti),
            _ => return Err(Rejection::BadClaim("jti")),
        };
        if rules.issuer.require_jti && jti.is_none() {
            return Err(Rejection::BadClaim("jti"));
        }
        // exp is finite and past `now - skew`; clamp so a huge exp cannot overflow.
        let expires_at = (exp + skew).min(i64::MAX as f64 / 2.0).ceil() as i64;
        Ok(Subject {
            sub,
            jti,
            expires_at,
            claims_json: self.payload,
        })
    }
}

/// The header members that decide anything (RFC 7515 §4.1), checked: a JWE is refused, `alg`
/// must be on the allow-list, `crit` and unsupported parameters are refused, nested JWTs are
/// refused, and `kid` must be a short string.
fn check_header(header: &[u8]) -> Result<Header, Rejection> {
    const NAMES: [&str; 7] = ["enc", "alg", "crit", "zip", "b64", "cty", "kid"];
    let [enc, alg, crit, zip, b64, cty, kid] =
        jose_object::read(header, &NAMES).map_err(|_| Rejection::BadHeader("not a JSON object"))?;
    if enc != Member::Absent {
        return Err(Rejection::Encrypted);
    }
    let Member::String(alg) = alg else {
        return Err(Rejection::BadHeader("alg is missing"));
    };
    // `none` and HMAC are not in the enum, so they can never be accepted (RFC 8725 §3.1).
    let alg = Algorithm::parse(&alg).ok_or(Rejection::AlgorithmNotAccepted)?;
    // RFC 7515 §4.1.11: an extension we do not understand must be refused; we understand none.
    if crit != Member::Absent {
        return Err(Rejection::BadHeader("crit extensions are not supported"));
    }
    if zip != Member::Absent || b64 != Member::Absent {
        return Err(Rejection::BadHeader("unsupported header parameter"));
    }
    // RFC 8725 §2.8 / RFC 7519 §5.2: nested JWTs are not accepted. RFC 7515 §4.1.10 lets
    // `cty` drop its "application/" prefix, so both spellings (any case) mean a nested JWT.
    if let Member::String(cty) = &cty {
        let cty = cty.trim();
        if cty.eq_ignore_ascii_case("jwt") || cty.eq_ignore_ascii_case("application/jwt") {
            return Err(Rejection::BadHeader("nested JWTs are not accepted"));
        }
    }
    // `jwk`, `jku`, `x5u`, `x5c` are ignored: keys come only from the trusted issuer.
    let kid = match kid {
        Member::Absent => None,
        Member::String(kid) if kid.len() <= MAX_KID_BYTES => Some(kid),
        _ => {
            return Err(Rejection::BadHeader(
                "kid must be a string of at most 256 bytes",
            ));
        }
    };
    Ok(Header { alg, kid })
}

/// A NumericDate (RFC 7519 §2): a JSON number, possibly fractional; strings are refused
/// (GHSA-h395-gr6q-cpjc).
fn numeric(claim: &Member, name: &'static str) -> Result<Option<f64>, Rejection> {
    match claim {
        Member::Absent => Ok(None),
        Member::Number(n) => Ok(Some(*n)),
        _ => Err(Rejection::BadClaim(name)),
    }
}

/// Non-empty, and only the base64url alphabet (RFC 4648 §5) without padding. Every byte is
/// looked at (no early exit), which lets the compiler check many at once.
fn is_base64url(segment: &str) -> bool {
    !segment.is_empty()
        && segment.bytes().fold(true, |ok, b| {
            ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_'))
        })
}

fn decode(segment: &str) -> Result<Vec<u8>, Rejection> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| Rejection::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::issuer::IssuerSettings;
    use serde_json::{Map, Value};

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.{}", b64(header), b64(payload), b64("sig"))
    }

    fn issuer() -> TrustedIssuer {
        TrustedIssuer {
            id: "i1".into(),
            settings: IssuerSettings {
                name: "idp".into(),
                issuer: "https://idp.example.com".into(),
                alias: Some("trustgate-alias".into()),
                jwks_uri: Some("https://idp.example.com/jwks".into()),
                certificate: None,
                allowed_algorithms: vec![Algorithm::RS256, Algorithm::ES256],
                clock_skew_seconds: 60,
                max_token_age_seconds: None,
                require_jti: false,
                enabled: true,
                condition: None,
                subject: None,
                claim_mappings: Default::default(),
            },
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    const ORG: &str = "https://sts.example.com/t/acme/oauth2/token";
    const NOW: i64 = 1_800_000_000;

    fn validate(payload: Value, issuer: &TrustedIssuer) -> Result<Subject, Rejection> {
        let payload = serde_json::to_vec(&payload).unwrap();
        let claims = Claims::read(&payload)?;
        VerifiedToken { claims, payload }.validate(&ClaimRules {
            organization_issuer: ORG,
            issuer,
            now: NOW,
        })
    }

    fn good() -> Value {
        serde_json::json!({"iss": "https://idp.example.com", "sub": "user-1", "aud": ORG, "exp": NOW + 300, "iat": NOW})
    }

    fn with(mut claims: Value, name: &str, value: Value) -> Value {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value;
        }
        claims
    }

    #[test]
    fn parses_a_well_formed_token() {
        let t = token(
            r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#,
            r#"{"iss":"https://idp.example.com"}"#,
        );
        let parsed = UnverifiedToken::parse(&t).unwrap();
        assert_eq!(
            parsed.header(),
            &Header {
                alg: Algorithm::RS256,
                kid: Some("k1".into())
            }
        );
        assert_eq!(
            parsed.unverified_issuer().unwrap(),
            "https://idp.example.com"
        );
    }

    #[test]
    fn refuses_bad_shapes_in_order_of_cost() {
        let big = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            UnverifiedToken::parse(&big).unwrap_err(),
            Rejection::TooLarge
        );
        assert_eq!(
            UnverifiedToken::parse("a.b.c.d.e").unwrap_err(),
            Rejection::Encrypted
        );
        for bad in [
            "a.b", "a.b.c.d", "", "..", "a.b.", "a=.b.c", "a.b+.c", "a b.c.d",
        ] {
            assert_eq!(
                UnverifiedToken::parse(bad).unwrap_err(),
                Rejection::Malformed,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn refuses_none_hmac_and_unknown_algorithms() {
        for alg in ["none", "None", "HS256", "rs256", "EdDSA"] {
            let t = token(&format!(r#"{{"alg":"{alg}"}}"#), "{}");
            assert_eq!(
                UnverifiedToken::parse(&t).unwrap_err(),
                Rejection::AlgorithmNotAccepted,
                "{alg}"
            );
        }
        let unsigned = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64("{}"));
        assert!(UnverifiedToken::parse(&unsigned).is_err());
    }

    #[test]
    fn refuses_crit_nested_jwe_headers_and_long_kids() {
        for header in [
            r#"{"alg":"RS256","crit":["exp"],"exp":1}"#,
            r#"{"alg":"RS256","cty":"JWT"}"#,
            r#"{"alg":"RS256","cty":"application/jwt"}"#,
            r#"{"alg":"RS256","cty":"Application/JWT"}"#,
            r#"{"alg":"RS256","zip":"DEF"}"#,
            r#"{"alg":"RS256","b64":false}"#,
            r#"{"alg":"RS256","kid":5}"#,
            r#"{"alg":"RS256","alg":"RS256"}"#,
            r#"["RS256"]"#,
        ] {
            let t = token(header, "{}");
            assert!(
                matches!(UnverifiedToken::parse(&t), Err(Rejection::BadHeader(_))),
                "{header}"
            );
        }
        let long_kid = format!(
            r#"{{"alg":"RS256","kid":"{}"}}"#,
            "k".repeat(MAX_KID_BYTES + 1)
        );
        assert!(UnverifiedToken::parse(&token(&long_kid, "{}")).is_err());
        let jwe_header = token(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#, "{}");
        assert_eq!(
            UnverifiedToken::parse(&jwe_header).unwrap_err(),
            Rejection::Encrypted
        );
    }

    #[test]
    fn refuses_duplicate_claim_names() {
        let t = token(r#"{"alg":"RS256"}"#, r#"{"sub":"a","sub":"b"}"#);
        assert_eq!(
            UnverifiedToken::parse(&t).unwrap_err(),
            Rejection::BadPayload("duplicate member names")
        );
    }

    #[test]
    fn routes_by_exact_issuer_and_allowed_algorithm() {
        let issuers = [issuer()];
        for iss in [
            "https://idp.example.com/",
            "HTTPS://IDP.EXAMPLE.COM",
            "https://idp.example.com ",
            "https://idp.exаmple.com",
        ] {
            let t = token(r#"{"alg":"RS256"}"#, &format!(r#"{{"iss":"{iss}"}}"#));
            let parsed = UnverifiedToken::parse(&t).unwrap();
            assert_eq!(
                parsed.route(&issuers).unwrap_err(),
                Rejection::UntrustedIssuer,
                "{iss}"
            );
        }
        let ps = token(r#"{"alg":"PS256"}"#, r#"{"iss":"https://idp.example.com"}"#);
        assert_eq!(
            UnverifiedToken::parse(&ps)
                .unwrap()
                .route(&issuers)
                .unwrap_err(),
            Rejection::AlgorithmNotAccepted
        );
        let mut disabled = issuer();
        disabled.enabled = false;
        let rs = token(r#"{"alg":"RS256"}"#, r#"{"iss":"https://idp.example.com"}"#);
        assert_eq!(
            UnverifiedToken::parse(&rs)
                .unwrap()
                .route(&[disabled])
                .unwrap_err(),
            Rejection::UntrustedIssuer
        );
    }

    #[test]
    fn accepts_valid_claims_and_copies_sub() {
        let subject = validate(good(), &issuer()).unwrap();
        assert_eq!(subject.sub, "user-1");
        assert_eq!(subject.expires_at, NOW + 360);
        let alias = with(
            good(),
            "aud",
            serde_json::json!(["other", "trustgate-alias"]),
        );
        assert!(validate(alias, &issuer()).is_ok());
        let float_exp = with(good(), "exp", serde_json::json!(NOW as f64 + 10.5));
        assert!(validate(float_exp, &issuer()).is_ok());
    }

    #[test]
    fn refuses_bad_time_claims() {
        let cases = [
            (with(good(), "exp", Value::Null), Rejection::BadClaim("exp")),
            (
                with(good(), "exp", serde_json::json!((NOW + 300).to_string())),
                Rejection::BadClaim("exp"),
            ),
            (
                with(good(), "exp", serde_json::json!(NOW - 61)),
                Rejection::Expired,
            ),
            (
                with(good(), "exp", serde_json::json!(-1)),
                Rejection::Expired,
            ),
            (
                with(good(), "nbf", serde_json::json!(NOW + 61)),
                Rejection::NotYetValid,
            ),
            (
                with(good(), "nbf", serde_json::json!("0")),
                Rejection::BadClaim("nbf"),
            ),
            (
                with(good(), "iat", serde_json::json!(NOW + 61)),
                Rejection::IssuedInFuture,
            ),
            (
                with(good(), "iat", serde_json::json!(true)),
                Rejection::BadClaim("iat"),
            ),
        ];
        for (claims, expected) in cases {
            assert_eq!(
                validate(claims.clone(), &issuer()).unwrap_err(),
                expected,
                "{claims}"
            );
        }
        // Within the skew both ways.
        let skewed = with(
            with(good(), "exp", serde_json::json!(NOW - 59)),
            "iat",
            serde_json::json!(NOW + 59),
        );
        assert!(validate(skewed, &issuer()).is_ok());
        // A huge exp cannot overflow `expires_at` (an issuer with a maximum age accepts it).
        let mut aged = issuer();
        aged.max_token_age_seconds = Some(600);
        let huge = with(good(), "exp", serde_json::json!(1e300));
        assert!(validate(huge, &aged).is_ok());
    }

    #[test]
    fn without_a_max_age_refuses_tokens_that_live_over_a_day() {
        let ten_years = with(
            with(good(), "exp", serde_json::json!(NOW + 10 * 365 * 86_400)),
            "iat",
            Value::Null,
        );
        let refused = validate(ten_years.clone(), &issuer()).unwrap_err();
        assert_eq!(refused, Rejection::LivesTooLong);
        assert_eq!(refused.check(), Check::MaxAge);
        assert_eq!(
            refused.to_string(),
            "subject token expires more than 24 hours from now"
        );
        // Exactly 24 h is accepted, one second more is not: the skew is not added.
        let day = with(good(), "exp", serde_json::json!(NOW + 86_400));
        assert!(validate(day, &issuer()).is_ok());
        let day_and_a_second = with(good(), "exp", serde_json::json!(NOW + 86_401));
        assert_eq!(
            validate(day_and_a_second, &issuer()).unwrap_err(),
            Rejection::LivesTooLong
        );
        let fractional = with(good(), "exp", serde_json::json!(NOW as f64 + 86_400.5));
        assert_eq!(
            validate(fractional, &issuer()).unwrap_err(),
            Rejection::LivesTooLong
        );
        // An issuer's own maximum age replaces the ceiling (it bounds `iat`, not `exp`).
        let mut aged = issuer();
        aged.max_token_age_seconds = Some(600);
        let long = with(good(), "exp", serde_json::json!(NOW + 10 * 365 * 86_400));
        assert!(validate(long, &aged).is_ok());
    }

    #[test]
    fn enforces_max_age_and_jti_rules() {
        let mut strict = issuer();
        strict.max_token_age_seconds = Some(600);
        strict.require_jti = true;
        let old = with(
            with(good(), "iat", serde_json::json!(NOW - 601)),
            "jti",
            serde_json::json!("j"),
        );
        assert_eq!(validate(old, &strict).unwrap_err(), Rejection::TooOld);
        let no_iat = with(
            with(good(), "iat", Value::Null),
            "jti",
            serde_json::json!("j"),
        );
        assert_eq!(
            validate(no_iat, &strict).unwrap_err(),
            Rejection::BadClaim("iat")
        );
        assert_eq!(
            validate(good(), &strict).unwrap_err(),
            Rejection::BadClaim("jti")
        );
        let ok = with(good(), "jti", serde_json::json!("j-1"));
        assert_eq!(validate(ok, &strict).unwrap().jti.as_deref(), Some("j-1"));
        assert_eq!(
            validate(with(good(), "jti", serde_json::json!(7)), &issuer()).unwrap_err(),
            Rejection::BadClaim("jti")
        );
    }

    #[test]
    fn refuses_foreign_or_malformed_audience_and_bad_sub() {
        for (claims, expected) in [
            (
                with(
                    good(),
                    "aud",
                    serde_json::json!("https://other.example.com"),
                ),
                Rejection::WrongAudience,
            ),
            (with(good(), "aud", Value::Null), Rejection::WrongAudience),
            (
                with(good(), "aud", serde_json::json!([])),
                Rejection::WrongAudience,
            ),
            (
                with(good(), "aud", serde_json::json!([ORG, 5])),
                Rejection::BadClaim("aud"),
            ),
            (
                with(good(), "aud", serde_json::json!(format!("{ORG}/"))),
                Rejection::WrongAudience,
            ),
            (
                with(good(), "sub", serde_json::json!("")),
                Rejection::BadClaim("sub"),
            ),
            (
                with(good(), "sub", serde_json::json!(42)),
                Rejection::BadClaim("sub"),
            ),
            (with(good(), "sub", Value::Null), Rejection::BadClaim("sub")),
        ] {
            assert_eq!(
                validate(claims.clone(), &issuer()).unwrap_err(),
                expected,
                "{claims}"
            );
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn claim() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| serde_json::json!(n)),
                any::<u64>().prop_map(|n| serde_json::json!(n)),
                any::<f64>().prop_map(
                    |f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                ),
                (NOW - 1000..NOW + 1000).prop_map(|n| serde_json::json!(n)),
                Just(serde_json::json!(ORG)),
                Just(serde_json::json!([ORG, "x"])),
                Just(serde_json::json!("trustgate-alias")),
                "\\PC{0,8}".prop_map(Value::String),
                prop::collection::vec(any::<u8>().prop_map(|b| serde_json::json!(b)), 0..3)
                    .prop_map(Value::Array),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

            /// Any claim values: a refusal, or a subject whose values keep their bounds and
            /// whose time rules hold (RFC 7519 §4.1.4–4.1.6).
            #[test]
            fn validate_answers_any_claims(
                exp in claim(), nbf in claim(), iat in claim(), aud in claim(),
                sub in claim(), jti in claim(), require_jti in any::<bool>(),
                max_age in prop::option::of(1u64..10_000),
            ) {
                let mut issuer = issuer();
                issuer.require_jti = require_jti;
                issuer.max_token_age_seconds = max_age;
                let mut claims = Map::new();
                for (name, value) in [("exp", exp), ("nbf", nbf), ("iat", iat), ("aud", aud), ("sub", sub), ("jti", jti)] {
                    if !value.is_null() {
                        claims.insert(name.into(), value);
                    }
                }
                if let Ok(subject) = validate(Value::Object(claims.clone()), &issuer) {
                    prop_assert!(!subject.sub.is_empty() && subject.sub.len() <= MAX_SUB_BYTES);
                    prop_assert!(subject.jti.as_ref().is_none_or(|j| j.len() <= MAX_JTI_BYTES));
                    prop_assert!(!require_jti || subject.jti.is_some());
                    let exp = claims["exp"].as_f64().unwrap();
                    prop_assert!(exp + 60.0 > NOW as f64);
                    prop_assert!(subject.expires_at > NOW);
                    prop_assert!(max_age.is_some() || exp - NOW as f64 <= 86_400.0);
                    if let Some(nbf) = claims.get("nbf") {
                        prop_assert!(nbf.as_f64().unwrap() <= (NOW + 60) as f64);
                    }
                }
            }
        }
    }
}
