//! Verification keys of trusted issuers, against a JWKS endpoint each test runs itself on
//! 127.0.0.1 (so `allow_insecure` is on unless a test checks the SSRF rules). No emulator.

use crate::common;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::jwks_server::{JwksServer, Reply};
use common::keys::{EC_P256, EC_P384, RSA_1024, RSA_2048, jwks};
use common::unique;
use serde_json::{Value, json};
use trustgate::domain::issuer::{Algorithm, Certificate, IssuerSettings, TrustedIssuer};
use trustgate::keys::{
    HostLookup, KeyError, KeyFamily, KeySource, KeySourceSettings, VerificationKey,
};

fn issuer(jwks_uri: Option<&str>, certificate_pem: Option<&str>) -> TrustedIssuer {
    TrustedIssuer {
        id: unique("issuer"),
        settings: IssuerSettings {
            name: "test idp".into(),
            issuer: "https://idp.example.com".into(),
            alias: None,
            jwks_uri: jwks_uri.map(Into::into),
            certificate: certificate_pem.map(|pem| Certificate {
                pem: pem.into(),
                subject: "CN=test".into(),
                not_after: "2126-01-01T00:00:00Z".into(),
                sha256_fingerprint: "00".into(),
            }),
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

fn jwks_issuer(uri: &str) -> TrustedIssuer {
    issuer(Some(uri), None)
}

/// Production values except that the test server is plain HTTP on 127.0.0.1.
fn insecure() -> KeySourceSettings {
    KeySourceSettings::new(true)
}

fn with(change: impl FnOnce(&mut KeySourceSettings)) -> KeySource {
    let mut settings = insecure();
    change(&mut settings);
    KeySource::with_settings(settings)
}

fn claims() -> Value {
    json!({ "sub": "alice", "exp": trustgate::domain::now_epoch() + 600 })
}

/// Whether one of `keys` verifies `token` under `alg`, as the token endpoint will check.
fn verifies(keys: &[Arc<VerificationKey>], token: &str, alg: Algorithm) -> bool {
    let mut validation = jsonwebtoken::Validation::new(alg.jsonwebtoken());
    validation.validate_aud = false;
    keys.iter()
        .any(|key| jsonwebtoken::decode::<Value>(token, &key.key, &validation).is_ok())
}

fn key_error(result: Result<Vec<Arc<VerificationKey>>, KeyError>) -> KeyError {
    result.expect_err("no keys")
}

fn unavailable(result: Result<Vec<Arc<VerificationKey>>, KeyError>) -> u64 {
    match result {
        Err(KeyError::Unavailable {
            retry_after_seconds,
        }) => retry_after_seconds,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn fetches_a_jwks_and_finds_keys_by_kid() {
    let server = JwksServer::start(Reply::json(jwks(&[
        RSA_2048.jwk("rsa"),
        EC_P256.jwk("p256"),
        EC_P384.jwk_with(json!({"kid": "p384", "alg": "ES384", "use": "sig"})),
    ])))
    .await;
    let source = KeySource::with_settings(insecure());
    let idp = jwks_issuer(&server.url());

    for (key, kid) in [(RSA_2048, "rsa"), (EC_P256, "p256"), (EC_P384, "p384")] {
        let token = key.sign(Some(kid), &claims());
        let keys = source.keys_for(&idp, Some(kid), key.alg).await.unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some(kid));
        assert!(verifies(&keys, &token, key.alg), "{kid} verifies");
    }
    // PS256 with the same RSA key (its JWK names no alg).
    let token = RSA_2048.sign_with(Algorithm::PS384, Some("rsa"), &claims());
    let keys = source
        .keys_for(&idp, Some("rsa"), Algorithm::PS384)
        .await
        .unwrap();
    assert!(verifies(&keys, &token, Algorithm::PS384));
    assert_eq!(server.requests(), 1, "one fetch, then the cache");
}

#[tokio::test]
async fn a_key_only_verifies_what_its_family_and_alg_allow() {
    let server = JwksServer::start(Reply::json(jwks(&[
        RSA_2048.jwk_with(json!({"kid": "rsa", "alg": "RS256"})),
        EC_P256.jwk("p256"),
    ])))
    .await;
    let source = KeySource::with_settings(insecure());
    let idp = jwks_issuer(&server.url());
    for (kid, alg) in [
        ("rsa", Algorithm::PS256),
        ("rsa", Algorithm::ES256),
        ("p256", Algorithm::ES384),
        ("p256", Algorithm::RS256),
    ] {
        assert_eq!(
            key_error(source.keys_for(&idp, Some(kid), alg).await),
            KeyError::NoMatchingKey,
            "{kid} {alg:?}"
        );
    }
    assert_eq!(server.requests(), 1, "a known kid never triggers a refetch");
}

#[tokio::test]
async fn a_token_without_kid_may_use_any_key_that_fits_its_alg() {
    let server = JwksServer::start(Reply::json(jwks(&[
        EC_P256.jwk("p256"),
        RSA_2048.jwk_with(json!({})),
    ])))
    .await;
    let source = KeySource::with_settings(insecure());
    let idp = jwks_issuer(&server.url());
    let token = RSA_2048.sign(None, &claims());
    let keys = source.keys_for(&idp, None, Algorithm::RS256).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].family(), KeyFamily::Rsa);
    assert!(verifies(&keys, &token, Algorithm::RS256));
    // A token with a kid never matches a key without one.
    assert_eq!(
        key_error(source.keys_for(&idp, Some("other"), Algorithm::RS256).await),
        KeyError::NoMatchingKey
    );
}

#[tokio::test]
async fn an_unknown_kid_refetches_once_and_finds_the_rotated_key() {
    let server = JwksServer::start(Reply::json(jwks(&[RSA_2048.jwk("old")]))).await;
    let source = with(|s| s.refetch_cooldown = Duration::from_secs(1));
    let idp = jwks_issuer(&server.url());
    source
        .keys_for(&idp, Some("old"), Algorithm::RS256)
        .await
        .unwrap();
    assert_eq!(server.requests(), 1);

    // The issuer rotates; a token with the new kid arrives after the cooldown.
    server.set(Reply::json(jwks(&[
        RSA_2048.jwk("old"),
        EC_P256.jwk("new"),
    ])));
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let keys = source
        .keys_for(&idp, Some("new"), Algorithm::ES256)
        .await
        .unwrap();
    assert_eq!(keys[0].kid.as_deref(), Some("new"));
    assert_eq!(server.requests(), 2, "exactly one refetch");

    // Another unknown kid within the cooldown: no fetch, and the token is refused.
    assert_eq!(
        key_error(
            source
                .keys_for(&idp, Some("forged"), Algorithm::RS256)
                .await
        ),
        KeyError::NoMatchingKey
    );
    assert_eq!(server.requests(), 2, "no fetch within the cooldown");
    // Known kids still serve from the cache.
    source
        .keys_for(&idp, Some("old"), Algorithm::RS256)
        .await
        .unwrap();
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn unknown_kids_right_after_a_fetch_wait_for_the_default_cooldown() {
    let server = JwksServer::start(Reply::json(jwks(&[RSA_2048.jwk("a")]))).await;
    let source = KeySource::with_settings(insecure());
    let idp = jwks_issuer(&server.url());
    source
        .keys_for(&idp, Some("a"), Algorithm::RS256)
        .await
        .unwrap();
    for i in 0..50 {
        let kid = format!("random-{i}");
        assert_eq!(
            key_error(source.keys_for(&idp, Some(&kid), Algorithm::RS256).await),
            KeyError::NoMatchingKey
        );
    }
    assert_eq!(
        server.requests(),
        1,
        "at most one fetch per issuer per 30 s"
    );
}

#[tokio::test]
async fn an_overlong_kid_matches_nothing_and_fetches_nothing() {
    let server = JwksServer::start(Reply::json(jwks(&[RSA_2048.jwk("a")]))).await;
    let source = KeySource::with_settings(insecure());
    let idp = jwks_issuer(&server.url());
    let kid = "k".repeat(trustgate::keys::MAX_KID_BYTES + 1);
    assert_eq!(
        key_error(source.keys_for(&idp, Some(&kid), Algorithm::RS256).await),
        KeyError::NoMatchingKey
    );
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn serves_stale_keys_while_the_endpoint_fails_then_gives_up() {
    let server = JwksServer::start(Reply::json(jwks(&[RSA_2048.jwk("a")]))).await;
    let source = with(|s| {
        s.default_ttl = Duration::from_millis(200);
        s.refetch_cooldown = Duration::from_millis(100);
        s.max_stale = Duration::from_millis(1500);
    });
    let idp = jwks_issuer(&server.url());
    source
        .keys_for(&idp, Some("a"), Algorithm::RS256)
        .await
        .unwrap();

    // Expired keys, endpoint answering 500: the refresh fails, the old key keeps serving.
    server.set(Reply::Status(500));
    tokio::time::sleep(Duration::from_millis(250)).await;
    let keys = source
        .keys_for(&idp, Some("a"), Algorithm::RS256)
        .await
        .unwrap();
    assert_eq!(keys[0].kid.as_deref(), Some("a"));
    assert_eq!(server.requests(), 2);

    // An unknown kid while the endpoint fails is "unavailable", not "no such key".
    tokio::time::sleep(Duration::from_millis(150)).await;
    let retry_after = unavailable(source.keys_for(&idp, Some("b"), Algorithm::RS256).await);
    assert!(retry_after >= 1);
    assert_eq!(server.requests(), 3);

    // The endpoint disappears: still the stale key.
    server.stop();
    tokio::time::sleep(Duration::from_millis(150)).await;
    source
        .keys_for(&idp, Some("a"), Algorithm::RS256)
        .await
        .unwrap();

    // Past max_stale the old keys are dropped.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    unavailable(source.keys_for(&idp, Some("a"), Algorithm::RS256).await);
}

#[tokio::test]
async fn unavailable_when_keys_were_never_fetched_and_retried_after_the_cooldown() {
    let server = JwksServer::start(Reply::Status(500)).await;
    let source = KeySource::with_settings(insecure());
    let idp = jwks_issuer(&server.url());
    let (result, counts) =
        trustgate::metrics::counted(source.keys_for(&idp, Some("a"), Algorithm::RS256)).await;
    let retry_after = unavailable(result);
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(counts.jwks_fetch_failures, 1, "the request's metric");
    // A failing endpoint is not hammered: the next request inside the cooldown does not fetch.
    server.set(Reply::json(jwks(&[RSA_2048.jwk("a")])));
    let (result, counts) =
        trustgate::metrics::counted(source.keys_for(&idp, Some("a"), Algorithm::RS256)).await;
    unavailable(result);
    assert_eq!(server.requests(), 1);
    assert_eq!(counts.jwks_fetch_failures, 0, "no fetch, no failed fetch");

    let source = with(|s| s.refetch_cooldown = Duration::from_millis(100));
    let server = JwksServer::start(Reply::Status(503)).await;
    let idp = jwks_issuer(&server.url());
    unavailable(source.keys_for(&idp, Some("a"), Algorithm::RS256).await);
    server.set(Reply::json(jwks(&[RSA_2048.jwk("a")])));
    tokio::time::sleep(Duration::from_millis(150)).await;
    source
        .keys_for(&idp, Some("a"), Algorithm::RS256)
        .await
        .unwrap();
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_malformed_document_is_a_failed_fetch_and_keeps_the_old_keys() {
    let server = JwksServer::start(Reply::json(jwks(&[RSA_2048.jwk("a")]))).await;
    let source = with(|s| s.refetch_cooldown = Duration::from_millis(100));
    let idp = jwks_issuer(&server.url());
    source
        .keys_for(&idp, Some("a"), Algorithm::RS256)
        .await
        .unwrap();
    server.set(Reply::json("{\"keys\": \"rotated\"}"));
    tokio::time::sleep(Duration::from_millis(150)).await;
    unavailable(source.keys_for(&idp, Some("b"), Algorithm::RS256).await);
    source
        .keys_for(&idp, Some("a"), Algorithm::RS256)
        .await
        .unwrap();
    assert_eq!(server.requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_one_fetch() {
    let server = JwksServer::start(Reply::json(jwks(&[RSA_2048.jwk("a")]))).await;
    server.set_delay(Duration::from_millis(300));
    let source = Arc::new(KeySource::with_settings(insecure()));
    let idp = Arc::new(jwks_issuer(&server.url()));
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (source, idp) = (source.clone(), idp.clone());
            tokio::spawn(async move { source.keys_for(&idp, Some("a"), Algorithm::RS256).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().len(), 1);
    }
    assert_eq!(server.requests(), 1);

    // Concurrent misses on a failing endpoint share the failure too.
    let failing = JwksServer::start(Reply::Status(500)).await;
    failing.set_delay(Duration::from_millis(300));
    let idp = Arc::new(jwks_issuer(&failing.url()));
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (source, idp) = (source.clone(), idp.clone());
            tokio::spawn(async move { source.keys_for(&idp, Some("a"), Algorithm::RS256).await })
        })
        .collect();
    for call in calls {
        unavailable(call.await.unwrap());
    }
    assert_eq!(failing.requests(), 1);
}

/// The production bounds (1 min–24 h) are checked on the lifetime function itself (a unit
/// test in src/keys/cache.rs); here the cache honours the clamped lifetime end to end, with
/// bounds of 1–2 s so the test waits in real time (no paused clock: tokio's `test-util`
/// would change the dependencies' features and make every build twice).
#[tokio::test]
async fn a_fetched_set_is_reused_until_its_clamped_max_age_then_fetched_again() {
    let server = JwksServer::start(Reply::json_cached(
        jwks(&[RSA_2048.jwk("a")]),
        "max-age=120",
    ))
    .await;
    let source = with(|s| {
        s.min_ttl = Duration::from_secs(1);
        s.max_ttl = Duration::from_secs(2);
    });
    let idp = jwks_issuer(&server.url());
    let ask = || source.keys_for(&idp, Some("a"), Algorithm::RS256);
    ask().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    ask().await.unwrap();
    assert_eq!(server.requests(), 1, "still fresh after 1 s");
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    ask().await.unwrap();
    assert_eq!(
        server.requests(),
        2,
        "max-age=120 is clamped to 2 s: expired"
    );
}

#[tokio::test]
async fn refuses_to_follow_a_redirect() {
    let server = JwksServer::start(Reply::json(jwks(&[RSA_2048.jwk("a")]))).await;
    server.set(Reply::Redirect(server.url()));
    let source = KeySource::with_settings(insecure());
    let idp = jwks_issuer(&server.url());
    unavailable(source.keys_for(&idp, Some("a"), Algorithm::RS256).await);
    assert_eq!(server.requests(), 1, "the Location is never requested");
}

#[tokio::test]
async fn refuses_an_oversized_body_with_or_without_content_length() {
    for content_length in [true, false] {
        let server = JwksServer::start(Reply::Huge {
            bytes: 5 * 1024 * 1024,
            content_length,
        })
        .await;
        let source = KeySource::with_settings(insecure());
        let idp = jwks_issuer(&server.url());
        let started = Instant::now();
        unavailable(source.keys_for(&idp, Some("a"), Algorithm::RS256).await);
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(server.requests(), 1);
    }
    // Just under the cap is read.
    let body = jwks(&[RSA_2048.jwk("a")]);
    let padded = body.clone() + &" ".repeat(256 * 1024 - body.len());
    let server = JwksServer::start(Reply::json(padded)).await;
    let source = KeySource::with_settings(insecure());
    let idp = jwks_issuer(&server.url());
    source
        .keys_for(&idp, Some("a"), Algorithm::RS256)
        .await
        .unwrap();
}

#[tokio::test]
async fn gives_up_on_a_hanging_endpoint_after_the_timeout() {
    let server = JwksServer::start(Reply::Hang).await;
    let source = with(|s| s.timeout = Duration::from_millis(300));
    let idp = jwks_issuer(&server.url());
    let started = Instant::now();
    unavailable(source.keys_for(&idp, Some("a"), Algorithm::RS256).await);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
}

#[tokio::test]
async fn handles_ten_thousand_keys_in_bounded_time() {
    // Within the body cap: 10,000 unusable members, then a usable key.
    let mut members = vec![json!({"kty": "X"}); 10_000];
    members.push(RSA_2048.jwk("real"));
    let server = JwksServer::start(Reply::json(jwks(&members))).await;
    let source = KeySource::with_settings(insecure());
    let started = Instant::now();
    let keys = source
        .keys_for(&jwks_issuer(&server.url()), Some("real"), Algorithm::RS256)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));

    // 10,000 real keys are over 256 KiB: refused whole.
    let members: Vec<Value> = (0..10_000).map(|i| EC_P256.jwk(&format!("k{i}"))).collect();
    let big = jwks(&members);
    assert!(big.len() > 256 * 1024);
    let server = JwksServer::start(Reply::json(big.clone())).await;
    unavailable(
        source
            .keys_for(&jwks_issuer(&server.url()), Some("k0"), Algorithm::ES256)
            .await,
    );

    // With a cap that admits them, only the first 100 are kept.
    let source = with(|s| s.max_body_bytes = 4 * 1024 * 1024);
    let server = JwksServer::start(Reply::json(big)).await;
    let idp = jwks_issuer(&server.url());
    let started = Instant::now();
    source
        .keys_for(&idp, Some("k99"), Algorithm::ES256)
        .await
        .unwrap();
    assert_eq!(
        key_error(source.keys_for(&idp, Some("k100"), Algorithm::ES256).await),
        KeyError::NoMatchingKey
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_changed_jwks_uri_does_not_reuse_the_old_keys() {
    let first = JwksServer::start(Reply::json(jwks(&[RSA_2048.jwk("a")]))).await;
    let second = JwksServer::start(Reply::json(jwks(&[EC_P256.jwk("b")]))).await;
    let source = KeySource::with_settings(insecure());
    let mut idp = jwks_issuer(&first.url());
    source
        .keys_for(&idp, Some("a"), Algorithm::RS256)
        .await
        .unwrap();
    idp.jwks_uri = Some(second.url());
    assert_eq!(
        key_error(source.keys_for(&idp, Some("a"), Algorithm::RS256).await),
        KeyError::NoMatchingKey
    );
    source
        .keys_for(&idp, Some("b"), Algorithm::ES256)
        .await
        .unwrap();
    assert_eq!((first.requests(), second.requests()), (1, 1));
}

#[tokio::test]
async fn certificate_issuers_verify_with_the_certificate_key() {
    let source = KeySource::with_settings(insecure());
    for key in [RSA_2048, EC_P256, EC_P384] {
        let idp = issuer(None, Some(key.certificate_pem));
        let token = key.sign(Some("ignored"), &claims());
        let keys = source
            .keys_for(&idp, Some("ignored"), key.alg)
            .await
            .unwrap();
        assert!(verifies(&keys, &token, key.alg), "{:?}", key.alg);
        let wrong = if key.alg == Algorithm::RS256 {
            Algorithm::ES256
        } else {
            Algorithm::RS256
        };
        assert_eq!(
            key_error(source.keys_for(&idp, None, wrong).await),
            KeyError::NoMatchingKey
        );
    }
    // Another key's token does not verify with this certificate.
    let idp = issuer(None, Some(RSA_2048.certificate_pem));
    let keys = source.keys_for(&idp, None, Algorithm::RS256).await.unwrap();
    let foreign = issuer(None, Some(EC_P256.certificate_pem));
    assert!(!verifies(
        &keys,
        &EC_P256.sign(None, &claims()),
        Algorithm::ES256
    ));
    // A replaced certificate replaces the cached key.
    let mut idp = idp;
    idp.certificate = foreign.settings.certificate;
    let keys = source.keys_for(&idp, None, Algorithm::ES256).await.unwrap();
    assert_eq!(keys[0].family(), KeyFamily::EcP256);
}

#[tokio::test]
async fn misconfigured_issuers_are_server_errors() {
    let source = KeySource::with_settings(insecure());
    for idp in [
        issuer(None, None),
        issuer(
            Some("https://idp.example.com/jwks"),
            Some(RSA_2048.certificate_pem),
        ),
        issuer(None, Some(RSA_1024.certificate_pem)),
        issuer(None, Some(RSA_2048.private_pem)),
        issuer(None, Some("not a certificate")),
        issuer(Some("ftp://idp.example.com/jwks"), None),
    ] {
        assert!(
            matches!(
                source.keys_for(&idp, None, Algorithm::RS256).await,
                Err(KeyError::Misconfigured(_))
            ),
            "{:?} / {:?}",
            idp.jwks_uri,
            idp.certificate.as_ref().map(|c| c.pem.len())
        );
    }
}

#[tokio::test]
async fn without_the_insecure_flag_local_targets_are_refused_before_connecting() {
    let server = JwksServer::start(Reply::json(jwks(&[RSA_2048.jwk("a")]))).await;
    let port = server.port();
    let source = KeySource::new(false);
    for uri in [
        format!("http://127.0.0.1:{port}/jwks"),
        format!("https://127.0.0.1:{port}/jwks"),
        format!("https://[::ffff:127.0.0.1]:{port}/jwks"),
        format!("https://2130706433:{port}/jwks"),
        format!("https://localhost:{port}/jwks"),
    ] {
        assert!(
            matches!(
                source
                    .keys_for(&jwks_issuer(&uri), Some("a"), Algorithm::RS256)
                    .await,
                Err(KeyError::Misconfigured(_))
            ),
            "{uri}"
        );
    }
    assert_eq!(server.connections(), 0);
}

/// Resolves every name to 127.0.0.1, as a hostile DNS record would.
struct PointsToLoopback;

impl HostLookup for PointsToLoopback {
    fn lookup(
        &self,
        _host: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>
    {
        Box::pin(async { Ok(vec![IpAddr::from([127, 0, 0, 1])]) })
    }
}

#[tokio::test]
async fn a_host_name_resolving_to_loopback_is_refused_before_connecting() {
    let server = JwksServer::start(Reply::json(jwks(&[RSA_2048.jwk("a")]))).await;
    let port = server.port();
    let lookup: Arc<dyn HostLookup> = Arc::new(PointsToLoopback);

    let mut guarded = KeySourceSettings::new(false);
    guarded.lookup = Some(lookup.clone());
    let source = KeySource::with_settings(guarded);
    let idp = jwks_issuer(&format!("https://jwks.idp.example:{port}/jwks"));
    unavailable(source.keys_for(&idp, Some("a"), Algorithm::RS256).await);
    assert_eq!(server.connections(), 0, "refused at resolution");

    // Control: the same lookup does reach the server when local targets are allowed.
    let mut open = insecure();
    open.lookup = Some(lookup);
    let source = KeySource::with_settings(open);
    let idp = jwks_issuer(&format!("http://jwks.idp.example:{port}/jwks"));
    source
        .keys_for(&idp, Some("a"), Algorithm::RS256)
        .await
        .unwrap();
    assert_eq!(server.connections(), 1);
}

#[test]
fn key_source_is_shareable_across_tasks() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<KeySource>();
    shareable::<VerificationKey>();
}
