//! The token endpoint against the emulator: real KMS signatures, real DynamoDB records, and a
//! JWKS served over HTTP by the test itself.

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::TestApp;
use common::keys::{ATTACKER_RSA_2048, EC_P256, RSA_2048};
use common::stack::*;
use jsonwebtoken::Algorithm as Jws;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};
use trustgate::aws::kms::KmsSigner;
use trustgate::aws::table::Table;
use trustgate::config;
use trustgate::domain::application::{AppType, GrantType};
use trustgate::domain::issuer::{Algorithm, Certificate};
use trustgate::domain::random_hex;

// ---------------------------------------------------------------------------------------------
// Happy paths.

#[tokio::test]
async fn exchanges_rs256_ps256_and_es256_subject_tokens_for_a_kms_signed_token() {
    let stack = Stack::new().await;
    for (alg, kid, key) in [
        (Algorithm::RS256, "rsa-1", RSA_2048),
        (Algorithm::PS256, "rsa-1", RSA_2048),
        (Algorithm::ES256, "ec-1", EC_P256),
    ] {
        let reply = stack
            .exchange(&key.sign_with(alg, Some(kid), &stack.claims()))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{alg:?}: {}", reply.body);
        assert_eq!(reply.headers.get("cache-control").unwrap(), "no-store");
        assert_eq!(reply.body["token_type"], "Bearer");
        assert_eq!(
            reply.body["issued_token_type"],
            "urn:ietf:params:oauth:token-type:access_token"
        );
        assert_eq!(reply.body["expires_in"], 900);
        assert!(reply.body.get("refresh_token").is_none());

        let (header, claims) = stack
            .verify_issued(reply.body["access_token"].as_str().unwrap())
            .await;
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], "RS256");
        let names: BTreeSet<&str> = claims
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            names,
            BTreeSet::from(["iss", "sub", "aud", "client_id", "iat", "exp", "jti", "idp"])
        );
        assert_eq!(claims["sub"], "user-42");
        assert_eq!(claims["idp"], stack.issuer.issuer.as_str());
        assert_eq!(claims["client_id"], stack.client_id.as_str());
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            900
        );
    }
}

#[tokio::test]
async fn exchanges_a_subject_token_from_a_certificate_trusted_issuer() {
    let stack = Stack::new().await;
    let mut issuer = issuer_record(
        "cert-idp",
        &format!("https://cert-idp.example.com/{}", stack.org),
    );
    issuer.certificate = Some(Certificate {
        pem: RSA_2048.certificate_pem.into(),
        subject: "CN=trustgate test rsa2048".into(),
        not_after: "2126-01-01T00:00:00Z".into(),
        sha256_fingerprint: String::new(),
    });
    stack.add_issuer(&issuer).await;
    let mut claims = stack.claims();
    claims["iss"] = json!(issuer.issuer);
    let reply = stack
        .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("any"), &claims))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let (_, issued) = stack
        .verify_issued(reply.body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(issued["sub"], "user-42");
}

#[tokio::test]
async fn accepts_the_alias_as_audience_and_echoes_the_requested_token_type() {
    let stack = Stack::new().await;
    let mut claims = stack.claims();
    claims["aud"] = json!(["someone-else", stack.issuer.alias.clone().unwrap()]);
    let request = form_request(
        &stack.token_path(),
        &[
            ("grant_type", TOKEN_EXCHANGE),
            (
                "subject_token",
                &RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims),
            ),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token",
            ),
            ("requested_token_type", JWT_TYPE),
            ("unknown_parameter", "ignored"),
        ],
        Some((&stack.client_id, &stack.secret)),
    );
    let reply = call(&stack.token, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["issued_token_type"], JWT_TYPE);
}

#[tokio::test]
async fn client_secret_post_and_public_mobile_clients_authenticate() {
    let stack = Stack::new().await;
    let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims());
    let base = [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", token.as_str()),
        ("subject_token_type", JWT_TYPE),
    ];

    let mut post = base.to_vec();
    post.extend([
        ("client_id", stack.client_id.as_str()),
        ("client_secret", stack.secret.as_str()),
    ]);
    let reply = call(&stack.token, form_request(&stack.token_path(), &post, None)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let mobile = application(AppType::Mobile, &[GrantType::TokenExchange], None);
    stack.add_application(&mobile).await;
    let mut public = base.to_vec();
    public.push(("client_id", mobile.client_id.as_str()));
    let reply = call(
        &stack.token,
        form_request(&stack.token_path(), &public, None),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap();
    let (_, claims) = stack.verify_issued_to(token, &mobile.client_id).await;
    assert_eq!(claims["client_id"], mobile.client_id.as_str());
}

#[tokio::test]
async fn es256_service_key_signs_with_a_64_byte_jose_signature() {
    let app = TestApp::new().await;
    let key = app
        .kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::EccNistP256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap();
    let key_id = key.key_metadata.unwrap().key_id;
    let stack = Stack::with_config(&[(config::SIGNING_KEY, &key_id)]).await;
    let reply = stack
        .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims()))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap();
    let signature = URL_SAFE_NO_PAD
        .decode(token.rsplit('.').next().unwrap())
        .unwrap();
    assert_eq!(signature.len(), 64);
    let (header, claims) = stack.verify_issued(token).await;
    assert_eq!(header["alg"], "ES256");
    assert_eq!(claims["sub"], "user-42");
    let jwks = stack.service_jwks().await;
    assert_eq!(jwks["keys"][0]["crv"], "P-256");
}

/// moto signs PS256 with the maximum PSS salt length, while JWS (RFC 7518 §3.5) and real KMS
/// use a salt as long as the hash, so a strict JOSE verifier refuses moto's signatures although
/// our code is right. This test verifies with Python `cryptography`, which accepts
/// any salt length, and checks everything else strictly.
#[tokio::test]
async fn ps256_service_tokens_carry_a_valid_pss_signature() {
    let stack = Stack::with_config(&[(config::SIGNING_ALG, "PS256")]).await;
    let reply = stack
        .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims()))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "PS256");
    let jwks = stack.service_jwks().await;
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["alg"].as_str(), key["kid"].as_str()),
        (Some("PS256"), header["kid"].as_str())
    );

    let script = r#"
import base64, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
def d(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
n, e, token = sys.argv[1:4]
key = rsa.RSAPublicNumbers(int.from_bytes(d(e), "big"), int.from_bytes(d(n), "big")).public_key()
head, body, sig = token.split(".")
key.verify(d(sig), f"{head}.{body}".encode(), padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO), hashes.SHA256())
print("verified")
"#;
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            key["n"].as_str().unwrap(),
            key["e"].as_str().unwrap(),
            token,
        ])
        .output()
        .expect("python3 with cryptography (installed by make test)");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "verified",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn jwks_publishes_the_previous_signing_key_during_rotation() {
    let app = TestApp::new().await;
    let previous = app
        .kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let stack = Stack::with_config(&[(config::PREVIOUS_SIGNING_KEYS, &previous)]).await;
    let reply = call(&stack.token, get(&format!("/t/{}/oauth2/jwks", stack.org))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.headers.get("cache-control").unwrap(),
        "public, max-age=300"
    );
    let keys = reply.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0]["kid"], keys[1]["kid"]);
    for key in keys {
        assert_eq!(
            (
                key["kty"].as_str(),
                key["use"].as_str(),
                key["alg"].as_str()
            ),
            (Some("RSA"), Some("sig"), Some("RS256"))
        );
        assert_eq!(
            key["kid"].as_str().unwrap().len(),
            43,
            "an RFC 7638 SHA-256 thumbprint"
        );
    }
}

#[tokio::test]
async fn serves_both_discovery_documents() {
    let stack = Stack::new().await;
    let oidc = call(
        &stack.token,
        get(&format!(
            "/t/{}/oauth2/token/.well-known/openid-configuration",
            stack.org
        )),
    )
    .await;
    let rfc8414 = call(
        &stack.token,
        get(&format!(
            "/.well-known/oauth-authorization-server/t/{}/oauth2/token",
            stack.org
        )),
    )
    .await;
    assert_eq!(oidc.status, StatusCode::OK);
    assert_eq!(oidc.body, rfc8414.body);
    assert_eq!(oidc.body["issuer"], stack.org_issuer());
    assert_eq!(oidc.body["token_endpoint"], stack.org_issuer());
    assert_eq!(
        oidc.body["jwks_uri"],
        format!("{PUBLIC_URL}/t/{}/oauth2/jwks", stack.org)
    );
    assert_eq!(
        oidc.body["grant_types_supported"],
        json!([TOKEN_EXCHANGE, "refresh_token"])
    );
    assert_eq!(
        oidc.body["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );

    let unknown = call(&stack.token, get("/t/no-such-org-x/oauth2/jwks")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let post = call(
        &stack.token,
        form_request(&format!("/t/{}/oauth2/jwks", stack.org), &[], None),
    )
    .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers.get("allow").unwrap(), "GET");
}

// ---------------------------------------------------------------------------------------------
// The error table (RFC 6749 §5.2; README, "Token exchange").

#[tokio::test]
async fn answers_every_row_of_the_error_table() {
    let stack = Stack::new().await;
    let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims());
    let creds = Some((stack.client_id.as_str(), stack.secret.as_str()));
    let path = stack.token_path();
    let ok = |extra: &[(&'static str, &str)]| {
        let mut params = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", token.as_str()),
            ("subject_token_type", JWT_TYPE),
        ];
        for (name, value) in extra {
            params.retain(|(n, _)| n != name);
            params.push((name, value));
        }
        params
            .into_iter()
            .map(|(n, v)| (n, v.to_owned()))
            .collect::<Vec<_>>()
    };
    let send = |params: Vec<(&'static str, String)>, creds: Option<(&str, &str)>| {
        let pairs: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
        form_request(&path, &pairs, creds)
    };

    // 400 invalid_request: missing, empty, repeated, content type, token types, subject token.
    let mut missing = ok(&[]);
    missing.retain(|(n, _)| *n != "subject_token");
    let mut repeated = ok(&[]);
    repeated.push(("subject_token_type", JWT_TYPE.to_owned()));
    let cases = vec![
        send(missing, creds),
        send(ok(&[("subject_token", "")]), creds),
        send(ok(&[("subject_token_type", "")]), creds),
        send(repeated, creds),
        send(
            ok(&[(
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:saml2",
            )]),
            creds,
        ),
        send(
            ok(&[(
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:refresh_token",
            )]),
            creds,
        ),
        send(ok(&[("subject_token", "not-a-jwt")]), creds),
        {
            let mut request = send(ok(&[]), creds);
            request
                .headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            request
        },
    ];
    for request in cases {
        let reply = call(&stack.token, request).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }

    // 400 unsupported_grant_type.
    for grant in ["password", "urn:ietf:params:oauth:grant-type:jwt-bearer"] {
        let reply = call(&stack.token, send(ok(&[("grant_type", grant)]), creds)).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }

    // 401 invalid_client with WWW-Authenticate: Basic.
    for creds in [
        None,
        Some(("unknown-client", "secret")),
        Some((stack.client_id.as_str(), "wrong-secret")),
    ] {
        let reply = call(&stack.token, send(ok(&[]), creds)).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(
            reply
                .headers
                .get("www-authenticate")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }

    // 400 invalid_request: two authentication methods at once.
    let reply = call(
        &stack.token,
        send(ok(&[("client_secret", &stack.secret)]), creds),
    )
    .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");

    // 400 unauthorized_client: the grant is not enabled for the application.
    let secret = random_hex(32);
    let refresh_only = application(AppType::Web, &[GrantType::RefreshToken], Some(&secret));
    stack.add_application(&refresh_only).await;
    let reply = call(
        &stack.token,
        send(ok(&[]), Some((&refresh_only.client_id, &secret))),
    )
    .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "unauthorized_client");

    // 405 with Allow: POST.
    let reply = call(&stack.token, get(&path)).await;
    assert_error(&reply, StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert_eq!(reply.headers.get("allow").unwrap(), "POST");
}

#[tokio::test]
async fn a_public_client_presenting_a_secret_or_a_confidential_one_without_is_refused() {
    let stack = Stack::new().await;
    let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims());
    let mobile = application(AppType::Mobile, &[GrantType::TokenExchange], None);
    stack.add_application(&mobile).await;
    let base = [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", token.as_str()),
        ("subject_token_type", JWT_TYPE),
    ];
    for (id, secret) in [
        (mobile.client_id.as_str(), Some("anything")),
        (stack.client_id.as_str(), None),
    ] {
        let mut params = base.to_vec();
        params.push(("client_id", id));
        if let Some(secret) = secret {
            params.push(("client_secret", secret));
        }
        let reply = call(
            &stack.token,
            form_request(&stack.token_path(), &params, None),
        )
        .await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
    }
}

#[tokio::test]
async fn unreachable_issuer_jwks_answers_503_with_retry_after() {
    let stack = Stack::new().await;
    let mut issuer = issuer_record("down", &format!("https://down.example.com/{}", stack.org));
    issuer.jwks_uri = Some(format!("{}/jwks", dead_endpoint()));
    stack.add_issuer(&issuer).await;
    let mut claims = stack.claims();
    claims["iss"] = json!(issuer.issuer);
    let reply = stack
        .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims))
        .await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert!(reply.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn unreachable_kms_or_dynamodb_answers_503_with_retry_after() {
    let stack = Stack::new().await;
    let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims());
    let (dead_dynamodb, dead_kms_client) = dead_clients(&dead_endpoint()).await;
    let config = config(&stack.app, &[]);

    let dead_kms = KmsSigner::new(
        dead_kms_client,
        config.signing_key.clone().unwrap(),
        vec![],
        None,
    );
    let app = token_app(
        &stack.app,
        config.clone(),
        Arc::new(stack.app.table.clone()),
        Arc::new(dead_kms),
    );
    let reply = call(&app, stack.exchange_request(&token)).await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert!(reply.headers.get("retry-after").is_some());

    let dead_table = Table::new(dead_dynamodb, stack.app.table_name.clone());
    let app = token_app(
        &stack.app,
        config.clone(),
        Arc::new(dead_table),
        Arc::new(kms_signer(&stack.app, &config)),
    );
    let reply = call(&app, stack.exchange_request(&token)).await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
}

/// A KMS fault that retrying cannot fix is a 500 with nothing internal in the body. moto does
/// not refuse `Sign` with a disabled key (real KMS answers `DisabledException`), so the
/// permanent fault here is a key that cannot sign at all.
#[tokio::test]
async fn a_permanent_kms_fault_is_a_500_with_nothing_internal_in_the_body() {
    let app = TestApp::new().await;
    let key_id = app
        .kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::SymmetricDefault)
        .key_usage(aws_sdk_kms::types::KeyUsageType::EncryptDecrypt)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let stack = Stack::with_config(&[(config::SIGNING_KEY, &key_id)]).await;
    let reply = stack
        .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims()))
        .await;
    assert_error(&reply, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    assert!(reply.headers.get("retry-after").is_none());
    let body = reply.body.to_string();
    assert!(
        !body.contains(&key_id) && !body.to_lowercase().contains("kms"),
        "{body}"
    );
}

#[tokio::test]
async fn require_jti_refuses_a_replayed_subject_token() {
    let stack = Stack::new().await;
    let mut issuer = issuer_record("jti-idp", &format!("https://jti.example.com/{}", stack.org));
    issuer.jwks_uri = Some(stack.jwks.url());
    issuer.require_jti = true;
    stack.add_issuer(&issuer).await;
    let mut claims = stack.claims();
    claims["iss"] = json!(issuer.issuer);
    let without = stack
        .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims))
        .await;
    assert_error(&without, StatusCode::BAD_REQUEST, "invalid_request");

    claims["jti"] = json!(random_hex(8));
    let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims);
    assert_eq!(stack.exchange(&token).await.status, StatusCode::OK);
    let replay = stack.exchange(&token).await;
    assert_error(&replay, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        replay.body["error_description"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
}

// ---------------------------------------------------------------------------------------------
// The classic attacks (RFC 8725 §2).

#[tokio::test]
async fn refuses_the_classic_attacks() {
    let stack = Stack::new().await;
    let claims = stack.claims();
    let payload = claims.to_string();
    let refused = |name: &'static str, token: String| (name, token);

    let es256 = EC_P256.sign_with(Algorithm::ES256, Some("ec-1"), &claims);
    let (es_input, es_sig) = es256.rsplit_once('.').unwrap();
    let raw_sig = URL_SAFE_NO_PAD.decode(es_sig).unwrap();
    let der_sig = {
        let int = |b: &[u8]| {
            let b = &b[b.iter().position(|x| *x != 0).unwrap_or(b.len() - 1)..];
            let mut out = vec![0x02];
            if b[0] & 0x80 != 0 {
                out.extend([(b.len() + 1) as u8, 0]);
            } else {
                out.push(b.len() as u8);
            }
            out.extend(b);
            out
        };
        let (r, s) = (int(&raw_sig[..32]), int(&raw_sig[32..]));
        let mut der = vec![0x30, (r.len() + s.len()) as u8];
        der.extend(r);
        der.extend(s);
        der
    };

    let mut with_exp_string = claims.clone();
    with_exp_string["exp"] = json!(claims["exp"].to_string());
    let mut without_exp = claims.clone();
    without_exp.as_object_mut().unwrap().remove("exp");
    let mut foreign_aud = claims.clone();
    foreign_aud["aud"] = json!("https://sts.example.com/t/other-org/oauth2/token");

    // Another organization's trusted issuer with its own key: its tokens mean nothing here.
    let mut other_issuer_claims = claims.clone();
    other_issuer_claims["iss"] = json!("https://other-idp.example.com");

    let header_key = |member: &str, value: Value| {
        let mut header = json!({"alg": "RS256", "kid": "rsa-1"});
        header[member] = value;
        sign_raw(
            Jws::RS256,
            ATTACKER_RSA_2048.private_pem,
            &header.to_string(),
            &payload,
        )
    };

    let cases = vec![
        refused(
            "alg none",
            format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
                URL_SAFE_NO_PAD.encode(&payload)
            ),
        ),
        refused(
            "alg none with a signature",
            format!(
                "{}.{}.c2ln",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
                URL_SAFE_NO_PAD.encode(&payload)
            ),
        ),
        refused(
            "HS256 keyed with the issuer's public key",
            sign_raw(
                Jws::HS256,
                RSA_2048.public_jwk,
                r#"{"alg":"HS256","kid":"rsa-1"}"#,
                &payload,
            ),
        ),
        refused(
            "HS256 keyed with the issuer's certificate",
            sign_raw(
                Jws::HS256,
                RSA_2048.certificate_pem,
                r#"{"alg":"HS256","kid":"rsa-1"}"#,
                &payload,
            ),
        ),
        refused(
            "attacker key in jwk header",
            header_key(
                "jwk",
                serde_json::from_str(ATTACKER_RSA_2048.public_jwk).unwrap(),
            ),
        ),
        refused(
            "attacker jku",
            header_key("jku", json!("https://attacker.example.com/jwks")),
        ),
        refused(
            "attacker x5u",
            header_key("x5u", json!("https://attacker.example.com/cert.pem")),
        ),
        refused(
            "DER ECDSA signature",
            format!("{es_input}.{}", URL_SAFE_NO_PAD.encode(der_sig)),
        ),
        refused(
            "r = s = 0",
            format!("{es_input}.{}", URL_SAFE_NO_PAD.encode([0u8; 64])),
        ),
        refused(
            "string exp",
            RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &with_exp_string),
        ),
        refused(
            "missing exp",
            RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &without_exp),
        ),
        refused(
            "foreign aud",
            RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &foreign_aud),
        ),
        refused(
            "token of an issuer this organization does not trust",
            RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &other_issuer_claims),
        ),
        refused(
            "right issuer, attacker's key",
            ATTACKER_RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims),
        ),
        refused("20 KiB token", {
            let mut big = claims.clone();
            big["pad"] = json!("x".repeat(20 * 1024));
            RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &big)
        }),
        refused(
            "JWE",
            "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVy.dGFn".to_owned(),
        ),
        refused("duplicate sub claim", {
            let dup = payload.replacen(r#""sub":"user-42""#, r#""sub":"user-42","sub":"admin""#, 1);
            assert_ne!(dup, payload);
            sign_raw(
                Jws::RS256,
                RSA_2048.private_pem,
                r#"{"alg":"RS256","kid":"rsa-1"}"#,
                &dup,
            )
        }),
    ];
    for (name, token) in cases {
        let reply = stack.exchange(&token).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(
            !reply.body.to_string().contains("user-42"),
            "{name}: the description must not echo the token"
        );
    }
    // The genuine token still works, so the refusals above are about the attacks.
    assert_eq!(
        stack
            .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_disabled_issuer_is_not_trusted() {
    let stack = Stack::new().await;
    let mut issuer = issuer_record("off", &format!("https://off.example.com/{}", stack.org));
    issuer.jwks_uri = Some(stack.jwks.url());
    issuer.enabled = false;
    stack.add_issuer(&issuer).await;
    let mut claims = stack.claims();
    claims["iss"] = json!(issuer.issuer);
    let reply = stack
        .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims))
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

// ---------------------------------------------------------------------------------------------
// The documented events.

#[tokio::test]
async fn documented_events_reach_their_routes() {
    let stack = Stack::new().await;
    let load = |text: &str| {
        let text = text.replace("/t/acme/", &format!("/t/{}/", stack.org));
        lambda_http::request::from_str(&text).expect("a valid API Gateway v2 event")
    };
    let jwks = call(
        &stack.token,
        load(include_str!("../events/token-jwks.json")),
    )
    .await;
    assert_eq!(jwks.status, StatusCode::OK, "{}", jwks.body);
    assert!(jwks.body["keys"].is_array());
    let discovery = call(
        &stack.token,
        load(include_str!("../events/token-discovery.json")),
    )
    .await;
    assert_eq!(discovery.body["issuer"], stack.org_issuer());
    let rfc8414_event = include_str!("../events/token-discovery-rfc8414.json")
        .replace("/t/acme/", &format!("/t/{}/", stack.org));
    let rfc8414 = call(
        &stack.token,
        lambda_http::request::from_str(&rfc8414_event).unwrap(),
    )
    .await;
    assert_eq!(rfc8414.body, discovery.body);

    // The exchange event holds example credentials; with this stack's own they succeed.
    let mut request = load(include_str!("../events/token-exchange.json"));
    let example = call(
        &stack.token,
        load(include_str!("../events/token-exchange.json")),
    )
    .await;
    assert_error(&example, StatusCode::UNAUTHORIZED, "invalid_client");
    // The delegated example (actor_token, audience) parses as a request: only its example
    // credentials are refused.
    let delegated = call(
        &stack.token,
        load(include_str!("../events/token-exchange-delegated.json")),
    )
    .await;
    assert_error(&delegated, StatusCode::UNAUTHORIZED, "invalid_client");
    let fresh = stack.exchange_request(&RSA_2048.sign_with(
        Algorithm::RS256,
        Some("rsa-1"),
        &stack.claims(),
    ));
    request
        .headers_mut()
        .insert("authorization", fresh.headers()["authorization"].clone());
    *request.body_mut() = fresh.into_body();
    assert_eq!(call(&stack.token, request).await.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Brute force.

#[tokio::test]
async fn repeated_bad_secrets_are_refused_per_source_without_locking_out_others() {
    let stack = Stack::new().await;
    let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims());
    let attacker = "198.51.100.66";
    let attempt = |secret: &str, ip: &str| {
        let mut request = stack.exchange_request(&token);
        let good = request.headers()["authorization"].clone();
        if secret != stack.secret {
            let basic = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{secret}", stack.client_id));
            request
                .headers_mut()
                .insert("authorization", format!("Basic {basic}").parse().unwrap());
        } else {
            request.headers_mut().insert("authorization", good);
        }
        from_source(request, ip)
    };
    for _ in 0..trustgate::domain::lockout::MAX_FAILURES {
        let reply = call(&stack.token, attempt("guess", attacker)).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let locked = call(&stack.token, attempt("guess", attacker)).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
    let retry_after: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry_after));

    // Even the right secret is refused from the attacker's address while the lock holds …
    let right_from_attacker = call(&stack.token, attempt(&stack.secret.clone(), attacker)).await;
    assert_eq!(right_from_attacker.status, StatusCode::TOO_MANY_REQUESTS);
    // … but the legitimate client elsewhere is not locked out.
    let legitimate = call(&stack.token, attempt(&stack.secret.clone(), "203.0.113.10")).await;
    assert_eq!(legitimate.status, StatusCode::OK, "{}", legitimate.body);
}

#[tokio::test]
async fn an_organization_being_deleted_has_no_jwks_or_discovery() {
    #[derive(serde::Serialize)]
    struct Deleting {
        name: String,
        created_at: String,
        deleting_since: String,
    }
    let stack = Stack::new().await;
    let org = format!("{}-gone", stack.org);
    let record = Deleting {
        name: org.clone(),
        created_at: String::new(),
        deleting_since: "2026-11-26T00:00:00Z".into(),
    };
    put(
        &stack.app.table,
        trustgate::aws::table::Key::organization(&org),
        &record,
    )
    .await;
    let jwks = call(&stack.token, get(&format!("/t/{org}/oauth2/jwks"))).await;
    assert_eq!(jwks.status, StatusCode::NOT_FOUND);
    let discovery = call(
        &stack.token,
        get(&format!(
            "/t/{org}/oauth2/token/.well-known/openid-configuration"
        )),
    )
    .await;
    assert_eq!(discovery.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_organization_being_deleted_refuses_exchange_and_refresh_with_invalid_client() {
    // No record cache, as on a function that has not read the organization since it changed.
    let stack = Stack::with_config(&[(config::CONFIG_CACHE_SECONDS, "0")]).await;
    let secret = random_hex(32);
    let app = application(
        AppType::Web,
        &[GrantType::TokenExchange, GrantType::RefreshToken],
        Some(&secret),
    );
    stack.add_application(&app).await;
    let client = Some((app.client_id.as_str(), secret.as_str()));
    let exchange = |token: String| {
        let request = form_request(
            &stack.token_path(),
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", &token),
                ("subject_token_type", JWT_TYPE),
            ],
            client,
        );
        call(&stack.token, request)
    };
    let subject = || RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims());
    let reply = exchange(subject()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let refresh_token = reply.body["refresh_token"].as_str().unwrap().to_owned();

    // What a delete that stopped after its first step leaves: the organization item marked,
    // its issuer and applications still in the table.
    let key = trustgate::aws::table::Key::organization(&stack.org);
    stack
        .app
        .dynamodb
        .update_item()
        .table_name(&stack.app.table_name)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(key.pk))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(key.sk))
        .update_expression("SET deleting_since = :t")
        .expression_attribute_values(
            ":t",
            aws_sdk_dynamodb::types::AttributeValue::S("2026-11-26T00:00:00Z".into()),
        )
        .send()
        .await
        .unwrap();

    assert_error(
        &exchange(subject()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    let refresh = form_request(
        &stack.token_path(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
        ],
        client,
    );
    assert_error(
        &call(&stack.token, refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
}

#[tokio::test]
async fn an_issuers_condition_subject_and_mappings_decide_and_shape_the_issued_token() {
    let stack = Stack::new().await;
    let iss = format!("https://token.actions.example.com/{}", stack.org);
    let mut issuer = issuer_record("actions", &iss);
    issuer.settings.jwks_uri = Some(stack.jwks.url());
    issuer.settings.condition =
        Some(r#"claims.repository_owner == "acme" && claims.ref == "refs/heads/main""#.into());
    issuer.settings.subject = Some(r#""github|" + claims.sub"#.into());
    issuer.settings.claim_mappings = [
        ("repository".to_owned(), "claims.repository".to_owned()),
        ("workflow".to_owned(), "claims.workflow_ref".to_owned()),
    ]
    .into();
    stack.add_issuer(&issuer).await;
    let token = |owner: &str| {
        let mut claims = stack.claims();
        claims["iss"] = json!(iss);
        claims["repository_owner"] = json!(owner);
        claims["ref"] = json!("refs/heads/main");
        claims["repository"] = json!(format!("{owner}/app"));
        claims["workflow_ref"] = json!(format!("{owner}/app/.github/workflows/ci.yml@main"));
        RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims)
    };

    let reply = stack.exchange(&token("acme")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let (_, claims) = stack
        .verify_issued(reply.body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["sub"], "github|user-42");
    assert_eq!(claims["idp"], iss.as_str());
    assert_eq!(claims["repository"], "acme/app");
    assert_eq!(claims["workflow"], "acme/app/.github/workflows/ci.yml@main");
    assert!(
        claims.get("email").is_none(),
        "unmapped claims are not copied"
    );

    let reply = stack.exchange(&token("someone-else")).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        reply.body["error_description"]
            .as_str()
            .unwrap()
            .contains("condition")
    );

    // A condition that fails to evaluate (the claim it reads is missing) refuses too.
    let mut claims = stack.claims();
    claims["iss"] = json!(iss);
    let reply = stack
        .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims))
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    let description = reply.body["error_description"].as_str().unwrap();
    assert!(description.contains("condition"), "{description}");
}
