//! The token endpoint in-process: every use case and every error it answers
//! (in [`errors`]), through the real HTTP handler over the in-memory ports (no emulator, no
//! network); the ports' contracts against the in-memory implementations (in [`contracts`]).

mod admin_changes;
mod chained;
mod contracts;
mod delegation;
mod errors;
mod exchange_policy;
mod explain;
mod explain_property;
mod metrics;
mod policy;
mod revocation;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use serde_json::{Value, json};

use super::TokenService;
use crate::config::{self, Config, Function};
use crate::domain::application::{
    AppType, Application, ApplicationSettings, GrantType, hash_secret,
};
use crate::domain::issuer::{Algorithm, IssuerSettings, TrustedIssuer};
use crate::domain::organization::OrgName;
use crate::http::token::TokenApp;
use crate::oauth::request::TokenType;
use crate::secret::Secret;
use crate::testing::{InMemory, TestIdp};

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
        settings: IssuerSettings {
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
            condition: None,
            subject: None,
            claim_mappings: Default::default(),
        },
        created_at: String::new(),
        updated_at: String::new(),
    }
}

fn application(client_id: &str, app_type: AppType, grants: &[GrantType]) -> Application {
    Application {
        client_id: client_id.into(),
        settings: ApplicationSettings {
            name: client_id.into(),
            app_type,
            grant_types: grants.to_vec(),
            access_token_ttl_seconds: 600,
            refresh_token_ttl_seconds: 3600,
            enabled: true,
            allowed_issuers: None,
            allowed_audiences: Vec::new(),
            allowed_scopes: Vec::new(),
            delegation: None,
        },
        secret_hash: app_type
            .is_confidential()
            .then(|| hash_secret(&Secret::new(SECRET))),
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
        let service = TokenService::new(config(), memory.ports());
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
        self.exchange_with(client, subject, &[]).await
    }

    /// An exchange with more parameters (`audience`, `resource`, `scope`, …).
    async fn exchange_with(
        &self,
        client: (&str, Option<&str>),
        subject: &str,
        more: &[(&str, &str)],
    ) -> Reply {
        let mut params = vec![
            ("grant_type", EXCHANGE),
            ("subject_token", subject),
            ("subject_token_type", JWT),
        ];
        params.extend_from_slice(more);
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

/// The claims of an issued token, after checking its signature with the signer's key (its
/// `aud` is each test's to check).
fn verified_claims(h: &Harness, token: &str) -> Value {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.validate_aud = false;
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
    assert_eq!(claims["aud"], "web", "no audience asked for: the client");
    assert!(claims.get("scope").is_none() && reply.body.get("scope").is_none());
    assert_eq!(claims["idp"], ISSUER);
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
    // Cold: the generation, then the issuers and the application; warm: the generation only
    // (read alongside the signing), the cached records answer the rest.
    assert_eq!(h.memory.config_store.reads(), 3 + 2);
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
    assert_eq!(claims["idp"], ISSUER, "refresh keeps idp");

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
        metadata.body["introspection_endpoint"],
        "https://sts.example.com/t/acme/oauth2/introspect"
    );
    assert_eq!(
        metadata.body["revocation_endpoint"],
        "https://sts.example.com/t/acme/oauth2/revoke"
    );
    assert_eq!(
        metadata.body["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        metadata.body["revocation_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    let types = json!([TokenType::JWT, TokenType::ID_TOKEN, TokenType::ACCESS_TOKEN]);
    assert_eq!(
        metadata.body["token_exchange_subject_token_types_supported"],
        types
    );
    assert_eq!(
        metadata.body["token_exchange_actor_token_types_supported"],
        types
    );
    assert_eq!(
        metadata.body["token_exchange_requested_token_types_supported"],
        json!([TokenType::ACCESS_TOKEN, TokenType::JWT])
    );
    assert_eq!(
        h.call(get("/t/nobody/oauth2/jwks")).await.status,
        StatusCode::NOT_FOUND
    );
}
