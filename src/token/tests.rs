//! The token endpoint in-process: every use case and every row of the contract's error table,
//! through the real HTTP handler over the in-memory ports (no emulator, no network).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use serde_json::{Value, json};

use super::{Ports, TokenService};
use crate::config::{self, Config, Function};
use crate::domain::application::{AppType, Application, GrantType, hash_secret};
use crate::domain::issuer::{Algorithm, TrustedIssuer};
use crate::domain::organization::OrgName;
use crate::http::token::TokenApp;
use crate::keys::KeyError;
use crate::ports::PortError;
use crate::secret::Secret;
use crate::testing::{InMemory, TestIdp, contract};

const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "https://idp.example.com";
const ORG_ISSUER: &str = "https://sts.example.com/t/acme/oauth2/token";
const TOKEN_PATH: &str = "/t/acme/oauth2/token";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
const SECRET: &str = "s3cret-s3cret-s3cret-s3cret-s3cret-s3cret-1";

struct Harness {
    memory: InMemory,
    app: TokenApp,
    idp: TestIdp,
}

struct Reply {
    status: StatusCode,
    headers: lambda_http::http::HeaderMap,
    body: Value,
}

fn org() -> OrgName {
    OrgName::parse("acme").unwrap()
}

fn issuer(require_jti: bool) -> TrustedIssuer {
    TrustedIssuer {
        id: "issuer-1".into(),
        name: "idp".into(),
        issuer: ISSUER.into(),
        alias: None,
        jwks_uri: Some("https://idp.example.com/jwks".into()),
        certificate: None,
        allowed_algorithms: vec![Algorithm::ES256],
        clock_skew_seconds: 60,
        max_token_age_seconds: None,
        require_jti,
        enabled: true,
        created_at: String::new(),
        updated_at: String::new(),
    }
}

fn application(client_id: &str, app_type: AppType, grants: &[GrantType]) -> Application {
    Application {
        client_id: client_id.into(),
        name: client_id.into(),
        app_type,
        grant_types: grants.to_vec(),
        access_token_ttl_seconds: 600,
        refresh_token_ttl_seconds: 3600,
        secret_hash: app_type
            .is_confidential()
            .then(|| hash_secret(&Secret::new(SECRET))),
        enabled: true,
        created_at: String::new(),
        updated_at: String::new(),
    }
}

fn config() -> Config {
    Config::from_lookup(Function::Token, |name| match name {
        config::TABLE => Some("memory".into()),
        config::PUBLIC_URL => Some("https://sts.example.com".into()),
        config::SIGNING_KEY => Some("memory".into()),
        _ => None,
    })
    .unwrap()
}

impl Harness {
    fn new() -> Harness {
        Harness::with(|ports| ports)
    }

    fn with(adjust: impl FnOnce(Ports) -> Ports) -> Harness {
        let memory = InMemory::new(NOW);
        let idp = TestIdp::new("idp-key");
        let org = org();
        memory.config_store.add_organization(&org);
        memory.config_store.put_issuer(&org, issuer(true));
        memory
            .keys
            .set("issuer-1", Ok(vec![idp.verification_key()]));
        let both = [GrantType::TokenExchange, GrantType::RefreshToken];
        let store = &memory.config_store;
        store.put_application(&org, application("web", AppType::Web, &both));
        store.put_application(&org, application("mobile", AppType::Mobile, &both));
        store.put_application(&org, application("spa", AppType::Spa, &both));
        store.put_application(&org, application("refresh-only", AppType::Web, &both[1..]));
        let mut disabled = application("disabled", AppType::Web, &both);
        disabled.enabled = false;
        store.put_application(&org, disabled);
        let service = TokenService::new(config(), adjust(memory.ports()));
        Harness {
            memory,
            app: TokenApp { service },
            idp,
        }
    }

    fn claims(&self) -> Value {
        json!({"iss": ISSUER, "sub": "alice", "aud": ORG_ISSUER, "exp": NOW + 300,
               "iat": NOW, "jti": crate::domain::random_hex(8)})
    }

    fn subject(&self) -> String {
        self.idp.sign(&self.claims())
    }

    async fn call(&self, request: Request) -> Reply {
        let response = self.app.handle(request).await;
        let (parts, body) = response.into_parts();
        let body = match body {
            Body::Text(text) => serde_json::from_str(&text).unwrap(),
            _ => Value::Null,
        };
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    async fn exchange(&self, client: (&str, Option<&str>), subject: &str) -> Reply {
        let params = [
            ("grant_type", EXCHANGE),
            ("subject_token", subject),
            ("subject_token_type", JWT),
        ];
        self.call(post(&params, client)).await
    }

    async fn refresh(&self, client: (&str, Option<&str>), token: &str) -> Reply {
        let params = [("grant_type", "refresh_token"), ("refresh_token", token)];
        self.call(post(&params, client)).await
    }
}

/// A form POST to the token endpoint; a confidential client authenticates with Basic, a public
/// one sends its `client_id` in the form.
fn post(params: &[(&str, &str)], (client_id, secret): (&str, Option<&str>)) -> Request {
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    pairs.extend_pairs(params);
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri(TOKEN_PATH)
        .header("content-type", "application/x-www-form-urlencoded");
    match secret {
        Some(secret) => {
            let basic = STANDARD.encode(format!("{client_id}:{secret}"));
            builder = builder.header("authorization", format!("Basic {basic}"));
        }
        None => {
            pairs.append_pair("client_id", client_id);
        }
    }
    builder.body(Body::Text(pairs.finish())).unwrap()
}

const WEB: (&str, Option<&str>) = ("web", Some(SECRET));

fn assert_error(reply: &Reply, status: StatusCode, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["error"], error, "{}", reply.body);
    assert!(reply.body["error_description"].is_string());
    assert_eq!(reply.headers["cache-control"], "no-store");
}

/// The claims of an issued token, after checking its signature with the signer's key.
fn verified_claims(h: &Harness, token: &str) -> Value {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["web"]);
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<Value>(token, &h.memory.signer.decoding_key(), &validation)
        .expect("the issued token verifies with the published key");
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    data.claims
}

#[tokio::test]
async fn exchanges_a_valid_subject_token_for_a_signed_access_token() {
    let h = Harness::new();
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 600);
    assert_eq!(
        reply.body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    let claims = verified_claims(&h, reply.body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["iss"], ORG_ISSUER);
    assert_eq!(claims["client_id"], "web");
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 600);
    assert!(claims.get("jti").is_some());
    assert!(reply.body["refresh_token"].is_string());
    assert_eq!(h.memory.refresh_store.families(), 1);
}

#[tokio::test]
async fn a_warm_exchange_reads_each_record_once() {
    let h = Harness::new();
    for _ in 0..3 {
        assert_eq!(h.exchange(WEB, &h.subject()).await.status, StatusCode::OK);
    }
    // issuers and the application, once each: the cached store answers afterwards.
    assert_eq!(h.memory.config_store.reads(), 2);
}

#[tokio::test]
async fn a_public_client_exchanges_with_its_client_id_only() {
    let h = Harness::new();
    let reply = h.exchange(("mobile", None), &h.subject()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn refreshes_rotate_and_a_reused_token_ends_the_family() {
    let h = Harness::new();
    let first = h.exchange(WEB, &h.subject()).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = h.refresh(WEB, &first).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let second = reply.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let claims = verified_claims(&h, reply.body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "alice");

    // The rotated token comes back: refused, and the family (with `second`) ends.
    assert_error(
        &h.refresh(WEB, &first).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        &h.refresh(WEB, &second).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_eq!(h.memory.refresh_store.families(), 0);
}

#[tokio::test]
async fn refresh_tokens_are_refused_when_unknown_expired_or_another_clients() {
    let h = Harness::new();
    assert_error(
        &h.refresh(WEB, "unknown").await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );

    let mobile = h.exchange(("mobile", None), &h.subject()).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_error(
        &h.refresh(WEB, &mobile).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );

    let token = h.exchange(WEB, &h.subject()).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    h.memory.clock.advance(3601);
    assert_error(
        &h.refresh(WEB, &token).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

#[tokio::test]
async fn a_disabled_issuer_ends_its_refresh_family() {
    let h = Harness::new();
    let token = h.exchange(WEB, &h.subject()).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut disabled = issuer(true);
    disabled.enabled = false;
    h.memory.config_store.put_issuer(&org(), disabled);
    assert_error(
        &h.refresh(WEB, &token).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_eq!(h.memory.refresh_store.families(), 0);
}

#[tokio::test]
async fn parameter_errors_are_invalid_request() {
    let h = Harness::new();
    let subject = h.subject();
    let cases: [&[(&str, &str)]; 4] = [
        &[("grant_type", EXCHANGE), ("subject_token_type", JWT)],
        &[
            ("grant_type", EXCHANGE),
            ("subject_token", &subject),
            ("subject_token", &subject),
            ("subject_token_type", JWT),
        ],
        &[
            ("grant_type", EXCHANGE),
            ("subject_token", &subject),
            ("subject_token_type", "urn:x"),
        ],
        &[
            ("grant_type", EXCHANGE),
            ("subject_token", &subject),
            ("subject_token_type", JWT),
            ("actor_token", &subject),
        ],
    ];
    for params in cases {
        assert_error(
            &h.call(post(params, WEB)).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
    let mut json_body = post(&[("grant_type", EXCHANGE)], WEB);
    json_body
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    assert_error(
        &h.call(json_body).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

#[tokio::test]
async fn refused_subject_tokens_are_invalid_request_and_name_the_reason() {
    let h = Harness::new();
    let other = TestIdp::new("idp-key");
    let mut expired = h.claims();
    expired["exp"] = json!(NOW - 61);
    let mut foreign = h.claims();
    foreign["aud"] = json!("https://elsewhere.example.com");
    let mut untrusted = h.claims();
    untrusted["iss"] = json!("https://evil.example.com");
    let replayed = h.subject();
    assert_eq!(h.exchange(WEB, &replayed).await.status, StatusCode::OK);
    let cases = [
        ("not a jws".to_owned(), "compact JWS"),
        (other.sign(&h.claims()), "signature is invalid"),
        (h.idp.sign(&expired), "expired"),
        (h.idp.sign(&foreign), "audience"),
        (h.idp.sign(&untrusted), "not trusted"),
        (replayed, "already used"),
    ];
    for (token, reason) in cases {
        let reply = h.exchange(WEB, &token).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        let description = reply.body["error_description"].as_str().unwrap();
        assert!(description.contains(reason), "{description} lacks {reason}");
    }
}

#[tokio::test]
async fn a_failed_exchange_forgets_the_jti_it_recorded() {
    let h = Harness::new();
    let subject = h.subject();
    h.memory
        .signer
        .fail_with(Some(PortError::Unavailable("kms".into())));
    let reply = h.exchange(WEB, &subject).await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert_eq!(
        h.memory.refresh_store.families(),
        0,
        "the unused family is discarded"
    );
    h.memory.signer.fail_with(None);
    assert_eq!(h.exchange(WEB, &subject).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_grant_type_is_unsupported_grant_type() {
    let h = Harness::new();
    let reply = h.call(post(&[("grant_type", "password")], WEB)).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

#[tokio::test]
async fn client_authentication_failures_are_invalid_client() {
    let h = Harness::new();
    let subject = h.subject();
    for client in [
        ("nobody", Some(SECRET)),
        ("disabled", Some(SECRET)),
        ("web", Some("wrong")),
        ("web", None),
        ("mobile", Some(SECRET)),
    ] {
        let reply = h.exchange(client, &subject).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(
            reply.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }
    let params = [
        ("grant_type", EXCHANGE),
        ("subject_token", &subject),
        ("subject_token_type", JWT),
    ];
    let mut anonymous = post(&params, ("x", None));
    *anonymous.body_mut() = Body::Text(format!(
        "grant_type={EXCHANGE}&subject_token={subject}&subject_token_type={JWT}"
    ));
    assert_error(
        &h.call(anonymous).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_client_out_of_that_source() {
    let h = Harness::new();
    let subject = h.subject();
    for _ in 0..crate::domain::lockout::MAX_FAILURES {
        let reply = h.exchange(("web", Some("wrong")), &subject).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = h.exchange(("web", Some("wrong")), &subject).await;
    assert_error(&reply, StatusCode::TOO_MANY_REQUESTS, "invalid_client");
    assert!(reply.headers.contains_key("retry-after"));
    // Locked: even the right secret waits for the window to end.
    let reply = h.exchange(WEB, &subject).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_grant_the_application_lacks_is_unauthorized_client() {
    let h = Harness::new();
    let reply = h
        .exchange(("refresh-only", Some(SECRET)), &h.subject())
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "unauthorized_client");
    let reply = h.exchange(("spa", None), &h.subject()).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn other_methods_are_method_not_allowed() {
    let h = Harness::new();
    let mut request = post(&[], WEB);
    *request.method_mut() = lambda_http::http::Method::GET;
    let reply = h.call(request).await;
    assert_error(&reply, StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert_eq!(reply.headers["allow"], "POST");
}

#[tokio::test]
async fn unavailable_dependencies_are_503_with_retry_after() {
    let unavailable = || Some(PortError::Unavailable("throttled".into()));
    let h = Harness::new();
    h.memory.config_store.fail_with(unavailable());
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert!(reply.headers.contains_key("retry-after"));

    let h = Harness::new();
    h.memory.keys.set(
        "issuer-1",
        Err(KeyError::Unavailable {
            retry_after_seconds: 7,
        }),
    );
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert_eq!(reply.headers["retry-after"], "7");

    let h = Harness::new();
    h.memory.refresh_store.fail_with(unavailable());
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
}

#[tokio::test]
async fn anything_unexpected_is_a_bare_server_error() {
    let h = Harness::new();
    h.memory.signer.fail_with(Some(PortError::Internal(
        "disabled key arn:aws:kms:…".into(),
    )));
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(&reply, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    assert!(
        !reply.body.to_string().contains("arn:aws"),
        "no internals in the body"
    );

    let h = Harness::new();
    h.memory
        .keys
        .set("issuer-1", Err(KeyError::Misconfigured("no key".into())));
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(&reply, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
}

#[tokio::test]
async fn publishes_the_signing_key_and_metadata_of_existing_organizations() {
    let h = Harness::new();
    let get = |path: &str| {
        lambda_http::http::Request::builder()
            .method("GET")
            .uri(path)
            .body(Body::Empty)
            .unwrap()
    };
    let jwks = h.call(get("/t/acme/oauth2/jwks")).await;
    assert_eq!(jwks.status, StatusCode::OK);
    let key = h.memory.signer.published_kid();
    assert_eq!(jwks.body["keys"][0]["kid"], key);
    let metadata = h
        .call(get("/t/acme/oauth2/token/.well-known/openid-configuration"))
        .await;
    assert_eq!(metadata.body["issuer"], ORG_ISSUER);
    assert_eq!(
        metadata.body["jwks_uri"],
        "https://sts.example.com/t/acme/oauth2/jwks"
    );
    assert_eq!(
        h.call(get("/t/nobody/oauth2/jwks")).await.status,
        StatusCode::NOT_FOUND
    );
}

// The ports' contracts, against the in-memory implementations (the AWS ones are checked
// against the emulator in tests/port_contracts.rs).

#[tokio::test]
async fn memory_refresh_store_keeps_the_port_contract() {
    let memory = InMemory::new(NOW);
    contract::refresh_store(memory.refresh_store.as_ref(), NOW).await;
}

#[tokio::test]
async fn memory_replay_log_keeps_the_port_contract() {
    let memory = InMemory::new(NOW);
    contract::replay_log(memory.replay_log.as_ref(), NOW).await;
}

#[tokio::test]
async fn memory_failure_log_keeps_the_port_contract() {
    let memory = InMemory::new(NOW);
    contract::failure_log(memory.failure_log.as_ref(), NOW).await;
}

#[tokio::test]
async fn memory_signer_keeps_the_port_contract() {
    let memory = InMemory::new(NOW);
    contract::signer(memory.signer.as_ref()).await;
}

#[tokio::test]
async fn memory_and_cached_config_stores_keep_the_port_contract() {
    let memory = InMemory::new(NOW);
    let seeded = contract::Seeded {
        org: org(),
        issuers: vec![issuer(false)],
        application: application("web", AppType::Web, &[GrantType::TokenExchange]),
    };
    memory
        .config_store
        .put_issuer(&seeded.org, seeded.issuers[0].clone());
    memory
        .config_store
        .put_application(&seeded.org, seeded.application.clone());
    contract::config_store(memory.config_store.as_ref(), &seeded).await;
    let cached = super::CachedConfigStore::new(
        memory.config_store.clone(),
        std::time::Duration::from_secs(30),
    );
    contract::config_store(&cached, &seeded).await;
}
