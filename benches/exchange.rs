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
//! Budget: a warm exchange, signing excluded, costs at most 1.5× one verify of its
//! subject token. The envelope cases sign for real (in-process, an ES256 and an RS256 key as the
//! rotation makes them, decrypted before measuring): their budget is the same once one
//! signature, measured on its own as their signer makes it (an RSA one on a blocking thread,
//! the hand-over included), is taken off. `cargo bench --bench exchange` measures each
//! pair `BENCH_RUNS` times (default 5, runs interleaved), prints criterion's figures, then each
//! ratio's median, min and max over the runs and PASS/FAIL on the median
//! (benches/support/ratios.rs).

#[path = "support/allocations.rs"]
mod allocations;
#[allow(dead_code)]
#[path = "../tests/common/jwks_server.rs"]
mod jwks_server;
#[allow(dead_code)]
#[path = "../tests/common/keys.rs"]
mod keys;
#[path = "support/ratios.rs"]
mod ratios;

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{BatchSize, Criterion};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use trustgate::config::{self, Config, Function, SigningAlg};
use trustgate::domain::application::{
    AppType, Application, ApplicationSettings, GrantType, hash_secret,
};
use trustgate::domain::exchange_policy::Delegation;
use trustgate::domain::issuer::{Algorithm, IssuerSettings, TrustedIssuer};
use trustgate::domain::key_pair::KeyPair;
use trustgate::domain::now_epoch;
use trustgate::domain::organization::OrgName;
use trustgate::domain::public_key::PublicKey;
use trustgate::domain::revocation::{AccessTokenRef, new_jti};
use trustgate::domain::signing_key::SigningKey;
use trustgate::envelope::{EnvelopeSigner, rotate};
use trustgate::http::token::TokenApp;
use trustgate::keys::KeySource;
use trustgate::ports::{BoxFuture, Clock, PortError, Signer, SystemClock};
use trustgate::secret::{Secret, SecretBytes};
use trustgate::testing::{InMemory, MemorySigningKeys, MemoryWrapping};
use trustgate::token::{Ports, TokenService};

use jwks_server::{JwksServer, Reply};
use keys::{EC_P256, RSA_2048, TestKey, jwks};
use ratios::Ratios;

#[global_allocator]
static ALLOCATOR: allocations::Counting = allocations::Counting;

const BUDGET: f64 = 1.5;
/// A condition and two claim mappings add at most this many RS256 verifies to an exchange.
const POLICY_BUDGET: f64 = 0.25;
const ORG: &str = "acme";
const ISSUER: &str = "https://idp.example.com";
const CLIENT_ID: &str = "0123456789abcdef0123456789abcdef";
const SECRET: &str = "bench-client-secret-of-forty-three-characters";
/// The audience a delegated exchange asks for.
const AUDIENCE: &str = "https://api.example.com/mcp";

fn main() {
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
    let app = token_app(issuer_record(&jwks_server.url()));
    // The same, with an issuer that has a condition and two claim mappings (the trust policy).
    let mut with_policy = issuer_record(&jwks_server.url());
    with_policy.settings.condition =
        Some(r#"claims.email_verified && claims.azp == "s6BhdRkqt3""#.into());
    with_policy.settings.claim_mappings = [
        ("email".to_owned(), "claims.email".to_owned()),
        (
            "name".to_owned(),
            "claims.given_name + \" \" + claims.family_name".to_owned(),
        ),
    ]
    .into();
    let policy_app = token_app(with_policy);
    // An agent acting for the user: the same subject token plus an actor token, verified too.
    let delegated_app = token_app_for(issuer_record(&jwks_server.url()), true);
    // Under callgrind (BENCH_INSTRUCTIONS) only the case asked for is set up: an RSA key
    // generation executes a different number of instructions in every process.
    let instructions = std::env::var("BENCH_INSTRUCTIONS").ok();
    let needed = |case: &str| {
        (instructions.as_deref()).is_none_or(|spec| spec.split(',').next() == Some(case))
    };
    // Envelope signing (TRUSTGATE_SIGNING_MODE=envelope): the signer of the token function,
    // over the in-memory key records, with its current key already decrypted.
    let envelope = |alg| {
        let signer = rt.block_on(envelope_signer(alg));
        let app = token_app_with(
            issuer_record(&jwks_server.url()),
            false,
            Arc::clone(&signer),
        );
        (app, signer)
    };
    let envelope_es256 = needed("envelope-es256").then(|| envelope(SigningAlg::ES256));
    let envelope_rs256 = needed("envelope-rs256").then(|| envelope(SigningAlg::RS256));
    // The same kind of key the service verifies with, from a key source of its own.
    let keys = KeySource::new(true);
    let issuer = issuer_record(&jwks_server.url());

    let mut criterion = Criterion::default().configure_from_args();
    let mut ratios = Ratios::new();
    let mut counted: Vec<(&str, u64, u64, u64)> = Vec::new();
    let mut cases = vec![
        ("rs256", RSA_2048, "rsa-1", &app, false),
        ("es256", EC_P256, "ec-1", &app, false),
        ("rs256+policy", RSA_2048, "rsa-1", &policy_app, false),
        ("rs256+actor", RSA_2048, "rsa-1", &delegated_app, true),
    ];
    for (name, envelope) in [
        ("envelope-es256", &envelope_es256),
        ("envelope-rs256", &envelope_rs256),
    ] {
        if let Some((app, _)) = envelope {
            cases.push((name, RSA_2048, "rsa-1", app, false));
        }
    }
    if let Some(spec) = &instructions {
        return repeat_for_callgrind(spec, &rt, &cases, &keys, &issuer);
    }
    let (Some((_, es256_signer)), Some((_, rs256_signer))) = (&envelope_es256, &envelope_rs256)
    else {
        unreachable!("every case is set up when not under callgrind");
    };
    for (name, key, kid, app, delegated) in ratios::interleaved(ratios::runs(), &cases) {
        let subject = subject_token(key, kid);
        let actor = delegated.then(|| actor_token(key, kid));
        let exchange_request = |subject: &str| exchange_request_for(subject, actor.as_deref());
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
        if !counted.iter().any(|(case, ..)| *case == name) {
            let request = exchange_request(&subject);
            let (_, exchange, bytes) = allocations::count(|| rt.block_on(app.handle(request)));
            let (_, by_verify, _) = allocations::count(verify);
            counted.push((name, exchange, bytes, by_verify));
        }

        let mut group = criterion.benchmark_group(ratios.group(name));
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
        ratios.record();
    }
    // One in-process signature of an access token's size, alone, as the envelope cases' signer
    // makes it: what they spend signing (an RSA one includes its hand-over to a blocking
    // thread, src/envelope/signer.rs).
    let signing_input = vec![b'e'; 700];
    let mut group = criterion.benchmark_group("envelope sign");
    for (key, signer) in [("es256", es256_signer), ("rs256", rs256_signer)] {
        group.bench_function(key, |b| {
            b.to_async(&rt)
                .iter(|| async { signer.sign(&signing_input).await.unwrap() })
        });
    }
    group.finish();
    if std::env::var_os("BENCH_PARTS").is_some() {
        parts(&mut criterion, &rt, &keys, &issuer);
    }
    criterion.final_summary();
    println!("\nallocations per warm exchange (the response dropped outside the count):");
    for (case, exchange, bytes, by_verify) in counted {
        println!("  {case}: {exchange} allocations, {bytes} bytes (one verify: {by_verify})");
    }
    drop(jwks_server);
    ratios.report(&["rs256", "es256"], BUDGET);
    // Two signatures are verified (subject and actor): the budget is 1.5x two verifies.
    println!("\n(rs256+actor verifies two tokens: its budget is {BUDGET} x two verifies)");
    ratios.report(&["rs256+actor"], 2.0 * BUDGET);
    ratios.report_added(
        "rs256+policy",
        "rs256",
        "a condition and two claim mappings",
        POLICY_BUDGET,
    );
    println!("\n== envelope signing: the warm exchange less one in-process sign, in verifies");
    for (case, key) in [("envelope-es256", "es256"), ("envelope-rs256", "rs256")] {
        match ratios.median_of("envelope sign", key) {
            Some(sign_ns) => {
                ratios.report_without_sign(case, sign_ns, BUDGET);
            }
            None => println!("{case}: the sign alone was not measured"),
        }
    }
}

/// The envelope signer over in-memory key records holding one key of `alg` (made by the
/// rotation, as in production), its private key decrypted.
async fn envelope_signer(alg: SigningAlg) -> Arc<dyn Signer> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let records = Arc::new(MemorySigningKeys::new(Arc::clone(&clock)));
    let wrapping = Arc::new(MemoryWrapping::default());
    rotate(&*records, &*records, &*wrapping, alg, clock.now())
        .await
        .expect("the first key is made");
    let signer = EnvelopeSigner::new(records, wrapping, clock);
    assert!(signer.check().await.expect("the key decrypts").is_some());
    Arc::new(signer)
}

/// `BENCH_PARTS=1`: where a warm RS256 exchange spends its time, piece by piece.
fn parts(
    criterion: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    keys: &KeySource,
    issuer: &TrustedIssuer,
) {
    use trustgate::domain::access_token::{self, AccessTokenClaims, Principal};
    use trustgate::domain::subject_token::UnverifiedToken;
    use trustgate::oauth::client_auth;
    use trustgate::oauth::form::Form;
    use trustgate::oauth::response::TokenResponse;

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
    let principal = Principal {
        sub: "248289761001".into(),
        idp: ISSUER.into(),
        claims: Default::default(),
        act: None,
    };
    let grant = Default::default();
    group.bench_function("mint_without_signing", |b| {
        b.iter(|| {
            let now = now_epoch();
            let token = AccessTokenRef {
                jti: new_jti(now * 1000),
                exp: now + 3600,
            };
            let claims = AccessTokenClaims::new(
                "https://sts.example.com/t/acme/oauth2/token",
                &principal,
                &grant,
                CLIENT_ID,
                now,
                &token,
            );
            let input = access_token::signing_input(&signer.0, &claims);
            access_token::assemble(input, &[0x5a; 256])
        })
    });
    group.bench_function("log_line", |b| {
        b.iter(|| {
            // The token function's line as src/http/token.rs writes it, EMF member included.
            tracing::info!(
                target: trustgate::telemetry::emf::TARGET,
                method = "POST",
                path = "/t/acme/oauth2/token",
                status = 200u16,
                route = "token",
                outcome = "success",
                error = "none",
                latency_ms = 1.25f64,
                dynamodb_reads = 0u32,
                dynamodb_writes = 0u32,
                kms_calls = 1u32,
                jwks_fetch_failures = 0u32,
                lockouts = 0u8,
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
        scope: None,
    };
    group.bench_function("response_json", |b| {
        b.iter(|| trustgate::http::json(StatusCode::OK, &response, "application/json"))
    });
    group.finish();
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

/// `BENCH_INSTRUCTIONS=case,part,n` (scripts/bench_instructions.sh, under callgrind): one
/// case's exchange, or one verify of its subject token, `n` times after the warm-up, and
/// nothing else; `part` = `none` does the same set-up (the warm-up, `n` requests built) without
/// them, so the difference of two counts is what `n` of them cost, in instructions.
fn repeat_for_callgrind(
    spec: &str,
    rt: &tokio::runtime::Runtime,
    cases: &[(&str, TestKey, &str, &TokenApp, bool)],
    keys: &KeySource,
    issuer: &TrustedIssuer,
) {
    let [case, part, n] = spec.split(',').collect::<Vec<_>>()[..] else {
        panic!("BENCH_INSTRUCTIONS is case,part,n (e.g. rs256,exchange,300), not {spec:?}");
    };
    let n: usize = n.parse().expect("BENCH_INSTRUCTIONS: n is a number");
    let &(_, key, kid, app, delegated) = (cases.iter().find(|c| c.0 == case))
        .unwrap_or_else(|| panic!("BENCH_INSTRUCTIONS: no case {case}"));
    let subject = subject_token(key, kid);
    let actor = delegated.then(|| actor_token(key, kid));
    let status = rt
        .block_on(app.handle(exchange_request_for(&subject, actor.as_deref())))
        .status();
    assert_eq!(status, StatusCode::OK, "the warm-up exchange succeeds");
    let verification = (rt
        .block_on(keys.keys_for(issuer, Some(kid), key.alg))
        .unwrap())
    .remove(0);
    let (signing_input, signature) = subject.rsplit_once('.').unwrap();
    let requests: Vec<Request> = (0..n)
        .map(|_| exchange_request_for(&subject, actor.as_deref()))
        .collect();
    // The envelope cases' one in-process signature, with a fixed key of their kind (a generated
    // one would make the set-up's count differ from run to run): parsed in every part.
    let pair = envelope_pair(case);
    let access_token_input = vec![b'e'; 700];
    match part {
        "none" => drop(std::hint::black_box(requests)),
        "exchange" => {
            for request in requests {
                let response = rt.block_on(app.handle(request));
                assert_eq!(response.status(), StatusCode::OK);
            }
        }
        "verify" => {
            let alg = key.alg.jsonwebtoken();
            for _ in 0..n {
                let signature = std::hint::black_box(signature);
                let valid = jsonwebtoken::crypto::verify(
                    signature,
                    signing_input.as_bytes(),
                    &verification.key,
                    alg,
                );
                assert!(valid.unwrap());
            }
            drop(requests);
        }
        "sign" => {
            let pair = pair.expect("sign is a part of the envelope cases only");
            for _ in 0..n {
                std::hint::black_box(
                    pair.sign(std::hint::black_box(&access_token_input))
                        .unwrap(),
                );
            }
            drop(requests);
        }
        other => panic!("BENCH_INSTRUCTIONS: part is none, exchange, verify or sign, not {other}"),
    }
}

/// For `envelope-es256` and `envelope-rs256`: a key pair of that kind (the test fixtures').
fn envelope_pair(case: &str) -> Option<KeyPair> {
    let (key, alg) = match case {
        "envelope-es256" => (EC_P256, SigningAlg::ES256),
        "envelope-rs256" => (RSA_2048, SigningAlg::RS256),
        _ => return None,
    };
    let body: String = (key.private_pem.lines())
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(body).expect("a PEM fixture");
    Some(KeyPair::from_pkcs8(alg, &SecretBytes::new(der)).expect("a PKCS#8 key"))
}

/// An agent's own token from the same issuer, to act for the subject (delegation).
fn actor_token(key: TestKey, kid: &str) -> String {
    let now = now_epoch();
    let claims = json!({
        "iss": ISSUER, "sub": "agent-7", "aud": format!("https://sts.example.com/t/{ORG}/oauth2/token"),
        "exp": now + 3600, "iat": now, "azp": "agent",
    });
    key.sign_with(key.alg, Some(kid), &claims)
}

fn exchange_request(subject_token: &str) -> Request {
    exchange_request_for(subject_token, None)
}

/// An exchange of `subject_token`; with an actor token, delegated and for [`AUDIENCE`].
fn exchange_request_for(subject_token: &str, actor_token: Option<&str>) -> Request {
    let jwt = "urn:ietf:params:oauth:token-type:jwt";
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    body.append_pair(
        "grant_type",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    )
    .append_pair("subject_token", subject_token)
    .append_pair("subject_token_type", jwt);
    if let Some(actor_token) = actor_token {
        body.append_pair("actor_token", actor_token)
            .append_pair("actor_token_type", jwt)
            .append_pair("audience", AUDIENCE);
    }
    let body = body.finish();
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

fn token_app(issuer: TrustedIssuer) -> TokenApp {
    token_app_for(issuer, false)
}

fn token_app_for(issuer: TrustedIssuer, delegation: bool) -> TokenApp {
    token_app_with(issuer, delegation, Arc::new(FixedSigner::new()))
}

/// The service with `issuer` trusted, signing with `signer`; with `delegation`, the
/// application may act for others (actors of the same issuer) and ask for [`AUDIENCE`].
fn token_app_with(issuer: TrustedIssuer, delegation: bool, signer: Arc<dyn Signer>) -> TokenApp {
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
    let application = Application {
        client_id: CLIENT_ID.into(),
        settings: ApplicationSettings {
            name: "bench".into(),
            app_type: AppType::Web,
            grant_types: vec![GrantType::TokenExchange],
            access_token_ttl_seconds: 3600,
            refresh_token_ttl_seconds: 86_400,
            enabled: true,
            allowed_issuers: None,
            allowed_audiences: if delegation {
                vec![AUDIENCE.into()]
            } else {
                Vec::new()
            },
            allowed_scopes: Vec::new(),
            delegation: delegation.then(|| Delegation {
                allowed_actor_issuers: vec![issuer.id.clone()],
                max_depth: 1,
            }),
        },
        secret_hash: Some(hash_secret(&Secret::new(SECRET))),
        created_at: String::new(),
        updated_at: String::new(),
    };
    // The records in memory; after the warm-up the service's record cache answers.
    let memory = InMemory::new(now_epoch());
    let org = OrgName::parse(ORG).unwrap();
    memory.config_store.put_issuer(&org, issuer);
    memory.config_store.put_application(&org, application);
    let ports = Ports {
        signer,
        keys: Arc::new(KeySource::new(config.allow_insecure_jwks)),
        clock: Arc::new(SystemClock),
        ..memory.ports()
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
            condition: None,
            subject: None,
            claim_mappings: Default::default(),
        },
        created_at: String::new(),
        updated_at: String::new(),
    }
}

/// A signer that costs nothing: a fixed RSA-2048 public key and a fixed 256-byte signature.
struct FixedSigner(Arc<SigningKey>);

impl FixedSigner {
    fn new() -> FixedSigner {
        let mut n = vec![0xc5; 256];
        n[255] = 0x01;
        let key = PublicKey::rsa(&n, &[0x01, 0x00, 0x01]).expect("an odd 2048-bit modulus");
        let key = SigningKey::new(&key, Some(SigningAlg::RS256)).expect("RS256 fits RSA");
        FixedSigner(Arc::new(key))
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
