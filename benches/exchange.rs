//! The warm token exchange in-process, next to one verify of the same subject token with the
//! same crypto library (jsonwebtoken on aws-lc-rs), in the same run.
//!
//! Warm means: the application and issuer records cached by the token service (an in-memory
//! store that the warm path never calls), the issuer's JWKS fetched once from a local server
//! before measuring, and a signer port that costs nothing (a fixed signature). What is left is
//! our own work: routing, form and client authentication, parsing and verifying the subject
//! token, its claims, the access token's claims and JSON, the response, and the two log lines
//! (formatted as JSON, as in Lambda, into a sink).
//!
//! Budget (issue 8): a warm exchange, signing excluded, costs at most 1.5× one verify of its
//! subject token. `cargo bench --bench exchange` prints criterion's figures, then the ratios
//! and PASS/FAIL from the medians criterion measured in this run.

#[allow(dead_code)]
#[path = "../tests/common/jwks_server.rs"]
mod jwks_server;
#[allow(dead_code)]
#[path = "../tests/common/keys.rs"]
mod keys;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{BatchSize, Criterion};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use trustgate::config::{self, Config, Function, SigningAlg};
use trustgate::domain::application::{
    AppType, Application, ApplicationSettings, GrantType, hash_secret,
};
use trustgate::domain::issuer::{Algorithm, IssuerSettings, TrustedIssuer};
use trustgate::domain::now_epoch;
use trustgate::domain::refresh_token::{RefreshFamily, RefreshToken};
use trustgate::domain::signing_key::{PublicKey, SigningKey};
use trustgate::http::token::TokenApp;
use trustgate::keys::KeySource;
use trustgate::ports::{BoxFuture, ConfigStore, FailureLog, PortError, RefreshStore, Signer};
use trustgate::secret::Secret;
use trustgate::token_service::{Ports, TokenService};

use jwks_server::{JwksServer, Reply};
use keys::{EC_P256, RSA_2048, TestKey, jwks};

const BUDGET: f64 = 1.5;
const ORG: &str = "acme";
const ISSUER: &str = "https://idp.example.com";
const CLIENT_ID: &str = "0123456789abcdef0123456789abcdef";
const SECRET: &str = "bench-client-secret-of-forty-three-characters";

fn main() {
    let started = SystemTime::now();
    // As in Lambda: JSON lines (here into a sink), so the cost of logging is measured too.
    tracing_subscriber::registry()
        .with(trustgate::telemetry::lambda_json(std::io::sink))
        .init();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let jwks_server = rt.block_on(JwksServer::start(Reply::json(jwks(&[
        RSA_2048.jwk("rsa-1"),
        EC_P256.jwk("ec-1"),
    ]))));
    let app = token_app(&jwks_server.url());
    // The same kind of key the service verifies with, from a key source of its own.
    let keys = KeySource::new(true);
    let issuer = issuer_record(&jwks_server.url());

    let mut criterion = Criterion::default().configure_from_args();
    for (name, key, kid) in [("rs256", RSA_2048, "rsa-1"), ("es256", EC_P256, "ec-1")] {
        let subject = subject_token(key, kid);
        // Warm-up: fills the record caches and fetches the JWKS once.
        let status = rt.block_on(app.handle(exchange_request(&subject))).status();
        assert_eq!(status, StatusCode::OK, "the warm-up exchange succeeds");
        let verification = rt
            .block_on(keys.keys_for(&issuer, Some(kid), key.alg))
            .unwrap()
            .remove(0);
        let (signing_input, signature) = subject.rsplit_once('.').unwrap();
        let alg = key.alg.jsonwebtoken();
        let verify = || {
            jsonwebtoken::crypto::verify(
                std::hint::black_box(signature),
                signing_input.as_bytes(),
                &verification.key,
                alg,
            )
        };
        assert!(verify().unwrap());

        let mut group = criterion.benchmark_group(name);
        group.bench_function("exchange", |b| {
            b.to_async(&rt).iter_batched(
                || exchange_request(&subject),
                |request| async {
                    let response = app.handle(request).await;
                    debug_assert_eq!(response.status(), StatusCode::OK);
                    response
                },
                BatchSize::SmallInput,
            )
        });
        group.bench_function("verify", |b| b.iter(verify));
        group.finish();
    }
    if std::env::var_os("BENCH_PARTS").is_some() {
        parts(&mut criterion, &rt, &keys, &issuer);
    }
    criterion.final_summary();
    drop(jwks_server);
    summary(started);
}

/// `BENCH_PARTS=1`: where a warm RS256 exchange spends its time, piece by piece.
fn parts(
    criterion: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    keys: &KeySource,
    issuer: &TrustedIssuer,
) {
    use trustgate::domain::access_token::{self, AccessTokenClaims};
    use trustgate::domain::subject_token::UnverifiedToken;
    use trustgate::oauth::client_auth;
    use trustgate::oauth::form::Form;
    use trustgate::token_service::TokenResponse;

    let subject = subject_token(RSA_2048, "rsa-1");
    let request = exchange_request(&subject);
    let body = match request.body() {
        Body::Text(text) => text.clone(),
        _ => unreachable!(),
    };
    let authorization = request.headers()["authorization"].as_bytes().to_vec();
    let signer = FixedSigner::new();
    let mut group = criterion.benchmark_group("parts");
    group.warm_up_time(std::time::Duration::from_millis(500));
    group.measurement_time(std::time::Duration::from_secs(2));
    group.bench_function("form_and_client_auth", |b| {
        b.iter(|| {
            let form = Form::parse(body.as_bytes()).unwrap();
            client_auth::extract(Some(&authorization), &form).unwrap()
        })
    });
    let secret = Secret::new(SECRET);
    group.bench_function("client_secret_hash", |b| b.iter(|| hash_secret(&secret)));
    group.bench_function("subject_parse", |b| {
        b.iter(|| UnverifiedToken::parse(&subject).unwrap())
    });
    group.bench_function("keys_for", |b| {
        b.to_async(rt)
            .iter(|| keys.keys_for(issuer, Some("rsa-1"), Algorithm::RS256))
    });
    group.bench_function("mint_without_signing", |b| {
        b.iter(|| {
            let claims = AccessTokenClaims::new(
                "https://sts.example.com/t/acme/oauth2/token",
                "248289761001",
                CLIENT_ID,
                now_epoch(),
                3600,
            );
            let input = access_token::signing_input(&signer.0, &claims);
            access_token::assemble(input, &[0x5a; 256])
        })
    });
    group.bench_function("log_line", |b| {
        b.iter(|| {
            tracing::info!(
                method = "POST",
                path = "/t/acme/oauth2/token",
                status = 200u16,
                dynamodb_reads = 0u32,
                dynamodb_writes = 0u32,
                kms_calls = 1u32,
                "handled"
            )
        })
    });
    let response = TokenResponse {
        access_token: "x".repeat(800),
        issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
        token_type: "Bearer",
        expires_in: 3600,
        refresh_token: None,
    };
    group.bench_function("response_json", |b| {
        b.iter(|| trustgate::http::json(StatusCode::OK, &response, "application/json"))
    });
    group.finish();
}

/// Ratios of the medians criterion wrote in this run, with the verdict.
fn summary(started: SystemTime) {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let median = |id: &str| -> Option<f64> {
        let path = format!("{dir}/criterion/{id}/new/estimates.json");
        let fresh = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified >= started);
        let estimates: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
        fresh.then(|| estimates["median"]["point_estimate"].as_f64())?
    };
    println!("\n== warm exchange vs one verify of its subject token (medians, this run)");
    println!("budget: exchange (signing excluded) <= {BUDGET:.1} x verify");
    let mut all_pass = true;
    for name in ["rs256", "es256"] {
        match (
            median(&format!("{name}/exchange")),
            median(&format!("{name}/verify")),
        ) {
            (Some(exchange), Some(verify)) => {
                let ratio = exchange / verify;
                let pass = ratio <= BUDGET;
                all_pass &= pass;
                println!(
                    "{name}: exchange {:.1} us, verify {:.1} us, ratio {ratio:.2} -> {}",
                    exchange / 1000.0,
                    verify / 1000.0,
                    if pass { "PASS" } else { "FAIL" }
                );
            }
            _ => {
                all_pass = false;
                println!("{name}: not measured in this run (filtered out?)");
            }
        }
    }
    println!("verdict: {}", if all_pass { "PASS" } else { "FAIL" });
}

fn subject_token(key: TestKey, kid: &str) -> String {
    let now = now_epoch();
    // A realistic ID token: the claims an identity provider sends, not just the required ones.
    let claims = json!({
        "iss": ISSUER, "sub": "248289761001", "aud": format!("https://sts.example.com/t/{ORG}/oauth2/token"),
        "exp": now + 3600, "iat": now, "nbf": now, "jti": "d2c6f1a4-94a5-4b5e-8f0e-3c7a9b0f2e11",
        "email": "jane.doe@example.com", "email_verified": true, "name": "Jane Doe",
        "given_name": "Jane", "family_name": "Doe", "auth_time": now,
        "nonce": "n-0S6_WzA2Mj", "azp": "s6BhdRkqt3",
    });
    key.sign_with(key.alg, Some(kid), &claims)
}

fn exchange_request(subject_token: &str) -> Request {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        )
        .append_pair("subject_token", subject_token)
        .append_pair("subject_token_type", "urn:ietf:params:oauth:token-type:jwt")
        .finish();
    lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("/t/{ORG}/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{CLIENT_ID}:{SECRET}"))),
        )
        .body(Body::Text(body))
        .unwrap()
}

fn token_app(jwks_uri: &str) -> TokenApp {
    let vars = HashMap::from([
        (config::TABLE, "bench"),
        (config::PUBLIC_URL, "https://sts.example.com"),
        (config::SIGNING_KEY, "alias/bench"),
        (config::ALLOW_INSECURE_JWKS, "true"),
    ]);
    let config = Config::from_lookup(Function::Token, |name| {
        vars.get(name).map(|v| v.to_string())
    })
    .unwrap();
    let issuer = issuer_record(jwks_uri);
    let application = Application {
        client_id: CLIENT_ID.into(),
        settings: ApplicationSettings {
            name: "bench".into(),
            app_type: AppType::Web,
            grant_types: vec![GrantType::TokenExchange],
            access_token_ttl_seconds: 3600,
            refresh_token_ttl_seconds: 86_400,
            enabled: true,
        },
        secret_hash: Some(hash_secret(&Secret::new(SECRET))),
        created_at: String::new(),
        updated_at: String::new(),
    };
    let ports = Ports {
        config_store: Arc::new(MemoryStore {
            issuers: vec![issuer],
            application,
        }),
        refresh_store: Arc::new(NoRefresh),
        failure_log: Arc::new(NoRefresh),
        signer: Arc::new(FixedSigner::new()),
        keys: Arc::new(KeySource::new(config.allow_insecure_jwks)),
    };
    TokenApp {
        service: TokenService::new(config, ports),
    }
}

fn issuer_record(jwks_uri: &str) -> TrustedIssuer {
    TrustedIssuer {
        id: "issuer-1".into(),
        settings: IssuerSettings {
            name: "idp".into(),
            issuer: ISSUER.into(),
            alias: None,
            jwks_uri: Some(jwks_uri.into()),
            certificate: None,
            allowed_algorithms: Algorithm::ALL.to_vec(),
            clock_skew_seconds: 60,
            max_token_age_seconds: None,
            require_jti: false,
            enabled: true,
        },
        created_at: String::new(),
        updated_at: String::new(),
    }
}

/// One organization's records in memory; after the warm-up the service's caches answer.
struct MemoryStore {
    issuers: Vec<TrustedIssuer>,
    application: Application,
}

impl ConfigStore for MemoryStore {
    fn issuers<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Vec<TrustedIssuer>, PortError>> {
        Box::pin(async { Ok(self.issuers.clone()) })
    }
    fn application<'a>(
        &'a self,
        _: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Application>, PortError>> {
        Box::pin(async move {
            Ok((client_id == self.application.client_id).then(|| self.application.clone()))
        })
    }
    fn issuer<'a>(
        &'a self,
        _: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<TrustedIssuer>, PortError>> {
        Box::pin(async move { Ok(self.issuers.iter().find(|i| i.id == id).cloned()) })
    }
    fn organization_exists<'a>(&'a self, org: &'a str) -> BoxFuture<'a, Result<bool, PortError>> {
        Box::pin(async move { Ok(org == ORG) })
    }
    fn record_jti<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
        _: i64,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        Box::pin(async { Ok(true) })
    }
    fn forget_jti<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async { Ok(()) })
    }
}

/// The benchmarked client authenticates: no failure is ever counted.
impl FailureLog for NoRefresh {
    fn record_failure<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
        _: i64,
        _: i64,
    ) -> BoxFuture<'a, Result<u64, PortError>> {
        Box::pin(async { Ok(0) })
    }
}

/// The benchmarked application has no refresh grant: nothing here is called.
struct NoRefresh;

impl RefreshStore for NoRefresh {
    fn start_family<'a>(
        &'a self,
        _: &'a str,
        _: &'a RefreshToken,
        _: &'a RefreshFamily,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async { Ok(()) })
    }
    fn token<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<RefreshToken>, PortError>> {
        Box::pin(async { Ok(None) })
    }
    fn family<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<RefreshFamily>, PortError>> {
        Box::pin(async { Ok(None) })
    }
    fn rotate<'a>(
        &'a self,
        _: &'a RefreshFamily,
        _: &'a str,
        _: &'a str,
        _: &'a RefreshToken,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        Box::pin(async { Ok(false) })
    }
    fn revoke<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async { Ok(()) })
    }
    fn discard<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async { Ok(()) })
    }
}

/// A signer that costs nothing: a fixed RSA-2048 public key and a fixed 256-byte signature.
struct FixedSigner(Arc<SigningKey>);

impl FixedSigner {
    fn new() -> FixedSigner {
        let mut n = vec![0xc5; 256];
        n[255] = 0x01;
        let key = PublicKey::Rsa {
            n,
            e: vec![0x01, 0x00, 0x01],
        };
        FixedSigner(Arc::new(key.into_signing_key(SigningAlg::RS256)))
    }
}

impl Signer for FixedSigner {
    fn current_key(&self) -> BoxFuture<'_, Result<Arc<SigningKey>, PortError>> {
        Box::pin(async { Ok(Arc::clone(&self.0)) })
    }
    fn published_keys(&self) -> BoxFuture<'_, Result<Vec<Arc<SigningKey>>, PortError>> {
        Box::pin(async { Ok(vec![Arc::clone(&self.0)]) })
    }
    fn sign<'a>(&'a self, _: &'a [u8]) -> BoxFuture<'a, Result<Vec<u8>, PortError>> {
        Box::pin(async { Ok(vec![0x5a; 256]) })
    }
}
