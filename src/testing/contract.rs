//! What every implementation of a port promises, as one suite per port. Each is run against the
//! in-memory implementation (the library's tests) and the AWS one (tests/port_contracts.rs
//! against the emulator), so the in-process tests of the use cases stand on the same ground as
//! production. Ids are random, so a suite can share a table with other tests.

use crate::domain::access_token::Principal;
use crate::domain::application::Application;
use crate::domain::ids::{ClientId, IssuerId};
use crate::domain::issuer::Algorithm;
use crate::domain::issuer::TrustedIssuer;
use crate::domain::organization::OrgName;
use crate::domain::random_hex;
use crate::domain::refresh_token::{RefreshFamily, RefreshToken};
use crate::domain::revocation::{AccessTokenRef, RevocationQuery};
use crate::domain::subject_token::UnverifiedToken;
use crate::keys::KeyError;
use crate::ports::{
    Clock, ConfigStore, FailureLog, KeySource, Read, RefreshStore, ReplayLog, Revocations, Signer,
};

mod revocations;

pub use revocations::{lineage, revocations, seeded_revocations};

fn org() -> OrgName {
    OrgName::parse(&format!("contract-{}", random_hex(6))).unwrap()
}

/// A token of a new family valid until `valid_until`: its hash, the token and the family
/// (for tests that store one themselves).
pub fn refresh_family_for_tests(valid_until: i64) -> (String, RefreshToken, RefreshFamily) {
    first_token(valid_until)
}

/// A token of a new family valid until `valid_until`.
fn first_token(valid_until: i64) -> (String, RefreshToken, RefreshFamily) {
    let hash = random_hex(32);
    let token = RefreshToken {
        family_id: random_hex(16),
        org: "acme".into(),
        client_id: "client".into(),
        issuer_id: "issuer".into(),
        sub: "alice".into(),
        valid_until,
        iat: valid_until - 600,
        idp: Some("https://idp.example.com".into()),
    };
    let principal = Principal {
        sub: "alice".into(),
        idp: "https://idp.example.com".into(),
        act: Some(serde_json::json!({"sub": "agent", "idp": "https://idp.example.com"})),
        claims: serde_json::json!({"team": "blue", "level": 3, "groups": ["a", "b"]})
            .as_object()
            .unwrap()
            .clone(),
    };
    // Kept whole through the store: the targets of `aud` and the scope.
    let grant = crate::domain::exchange_policy::Grant {
        targets: vec!["https://api.example.com".into(), "billing".into()],
        scope: Some("read write".into()),
        not_after: None,
        actor_issuer: Some("self".into()),
    };
    let first_access_token = AccessTokenRef {
        jti: random_hex(16),
        exp: valid_until.min(token.iat + 900),
    };
    let family = RefreshFamily {
        started_ms: 42,
        ..RefreshFamily::start(&token, &hash, &principal, &grant)
    }
    .with_access_token(first_access_token, token.iat);
    (hash, token, family)
}

/// Families start whole, rotate by compare-and-swap, end on revoke or discard; the access
/// tokens a family issued lead to it, and revoking it revokes them (in `revocations`, the
/// same store's); `now` is the store's present (expired records read as absent).
pub async fn refresh_store(store: &dyn RefreshStore, revocations: &dyn Revocations, now: i64) {
    let (hash, token, family) = first_token(now + 600);
    store.start_family(&hash, &token, &family).await.unwrap();
    assert_eq!(store.token(&hash).await.unwrap(), Some(token.clone()));
    assert_eq!(
        store.family(&token.family_id).await.unwrap(),
        Some(family.clone())
    );
    assert!(
        store.start_family(&hash, &token, &family).await.is_err(),
        "a family starts once"
    );

    let first_jti = family.access_tokens[0].jti.clone();
    assert_eq!(
        store.family_of(&first_jti).await.unwrap(),
        Some(token.family_id.clone())
    );
    assert_eq!(store.family_of(&random_hex(16)).await.unwrap(), None);

    let next = family.rotate(&token.family_id, now, 300).unwrap();
    let next_hash = random_hex(32);
    let second = AccessTokenRef {
        jti: random_hex(16),
        exp: now + 300,
    };
    let family = family.with_access_token(second.clone(), now);
    assert!(
        store
            .rotate(&family, &hash, &next_hash, &next)
            .await
            .unwrap()
    );
    assert_eq!(
        store.family_of(&second.jti).await.unwrap(),
        Some(token.family_id.clone()),
        "the access token a rotation issued leads to the family"
    );
    assert_eq!(store.token(&next_hash).await.unwrap(), Some(next.clone()));
    assert_eq!(
        store
            .family(&token.family_id)
            .await
            .unwrap()
            .unwrap()
            .active_hash,
        next_hash
    );
    let again = random_hex(32);
    assert!(
        !store.rotate(&family, &hash, &again, &next).await.unwrap(),
        "a rotated token cannot rotate again"
    );
    assert_eq!(store.token(&again).await.unwrap(), None);

    let org = OrgName::parse("acme").unwrap();
    let query = |jti| RevocationQuery {
        jti: Some(jti),
        sub: "nobody",
        idp: "nowhere",
        client_id: "none",
    };
    assert!(
        !revocations
            .state(&org, query(&second.jti))
            .await
            .unwrap()
            .token_revoked
    );
    store.revoke(&token.family_id).await.unwrap();
    assert_eq!(store.family(&token.family_id).await.unwrap(), None);
    for jti in [&first_jti, &second.jti] {
        let state = revocations.state(&org, query(jti)).await.unwrap();
        assert!(
            state.token_revoked,
            "the family's access tokens are revoked with it"
        );
    }
    store.revoke(&token.family_id).await.unwrap();

    let (hash, token, family) = first_token(now + 600);
    store.start_family(&hash, &token, &family).await.unwrap();
    store.discard(&hash, &token.family_id).await.unwrap();
    assert_eq!(store.token(&hash).await.unwrap(), None);
    assert_eq!(store.family(&token.family_id).await.unwrap(), None);

    let (hash, token, family) = first_token(now - 1);
    store.start_family(&hash, &token, &family).await.unwrap();
    assert_eq!(
        store.token(&hash).await.unwrap(),
        None,
        "expired reads as absent"
    );
    assert_eq!(store.family(&token.family_id).await.unwrap(), None);
    assert_eq!(store.token(&random_hex(32)).await.unwrap(), None);
}

/// A `jti` is new once per issuer until forgotten; an expired record may be reused.
pub async fn replay_log(log: &dyn ReplayLog, now: i64) {
    let org = org();
    let issuer = IssuerId::new(random_hex(8));
    let other = IssuerId::new(random_hex(8));
    let jti = random_hex(8);
    assert!(
        log.record_jti(&org, &issuer, &jti, now + 600)
            .await
            .unwrap()
    );
    assert!(
        !log.record_jti(&org, &issuer, &jti, now + 600)
            .await
            .unwrap()
    );
    assert!(log.record_jti(&org, &other, &jti, now + 600).await.unwrap());
    log.forget_jti(&org, &issuer, &jti).await.unwrap();
    assert!(
        log.record_jti(&org, &issuer, &jti, now + 600)
            .await
            .unwrap()
    );

    let expired = random_hex(8);
    assert!(
        log.record_jti(&org, &issuer, &expired, now - 1)
            .await
            .unwrap()
    );
    assert!(
        log.record_jti(&org, &issuer, &expired, now + 600)
            .await
            .unwrap(),
        "an expired record does not count as seen"
    );
}

/// Failures count up per client, source and window.
pub async fn failure_log(log: &dyn FailureLog, now: i64) {
    let org = org();
    let client = ClientId::new(random_hex(8));
    let start = now - now.rem_euclid(300);
    assert_eq!(
        log.record_failure(&org, &client, "1.2.3.4", start, start + 300)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        log.record_failure(&org, &client, "1.2.3.4", start, start + 300)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        log.record_failure(&org, &client, "5.6.7.8", start, start + 300)
            .await
            .unwrap(),
        1
    );
    let next = start + 300;
    assert_eq!(
        log.record_failure(&org, &client, "1.2.3.4", next, next + 300)
            .await
            .unwrap(),
        1
    );
}

/// The current key is published, and its signatures verify with it (JOSE form).
pub async fn signer(signer: &dyn Signer) {
    let key = signer.current_key().await.unwrap();
    let published = signer.published_keys().await.unwrap();
    assert_eq!(
        published[0].kid, key.kid,
        "the current key is published first"
    );
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(serde_json::to_value(&key.jwk).unwrap()).unwrap();
    let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let input = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";
    let signature = signer.sign(input).await.unwrap();
    let alg: jsonwebtoken::Algorithm = key.alg.as_str().parse().unwrap();
    let encoded = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &signature,
    );
    assert!(jsonwebtoken::crypto::verify(&encoded, input, &decoding, alg).unwrap());
    assert!(!jsonwebtoken::crypto::verify(&encoded, b"other input", &decoding, alg).unwrap());
}

/// What [`config_store`] expects to find: written beforehand by the caller, through whatever
/// writes that implementation's records (the admin store, or the in-memory setters).
pub struct Seeded {
    pub org: OrgName,
    pub issuers: Vec<TrustedIssuer>,
    pub application: Application,
}

/// The records read back as written; unknown ones are absent.
pub async fn config_store(store: &dyn ConfigStore, seeded: &Seeded) {
    let org = &seeded.org;
    assert!(store.organization_exists(org).await.unwrap());
    assert!(!store.organization_exists(&self::org()).await.unwrap());
    let mut issuers: Vec<_> = store
        .issuers(org)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id.clone())
        .collect();
    issuers.sort();
    let mut expected: Vec<_> = seeded.issuers.iter().map(|i| i.id.clone()).collect();
    expected.sort();
    assert_eq!(issuers, expected);
    assert!(store.issuers(&self::org()).await.unwrap().is_empty());
    for read in [Read::Cached, Read::Fresh] {
        let first = &seeded.issuers[0];
        let issuer = store
            .issuer(org, &IssuerId::new(first.id.as_str()), read)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(issuer.issuer, first.issuer);
        assert_eq!(issuer.allowed_algorithms, first.allowed_algorithms);
        assert!(
            store
                .issuer(org, &IssuerId::new("unknown"), read)
                .await
                .unwrap()
                .is_none()
        );
        let client_id = ClientId::new(seeded.application.client_id.as_str());
        let application = store
            .application(org, &client_id, read)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(application.client_id, seeded.application.client_id);
        assert_eq!(application.grant_types, seeded.application.grant_types);
        assert!(
            store
                .application(org, &ClientId::new("unknown"), read)
                .await
                .unwrap()
                .is_none()
        );
    }
}

/// The configuration generation of `org` (live, and written with the store's own writes):
/// the same on every read while nothing changes; a new value after each of `changes` calls of
/// `change(i)` (each an admin write of a record the token endpoint reads, `i` from 0); `None`
/// once `delete` began deleting the organization, and for one that never existed.
pub async fn config_generation(
    store: &dyn ConfigStore,
    org: &OrgName,
    changes: usize,
    mut change: impl AsyncFnMut(usize),
    delete: impl AsyncFnOnce(),
) {
    assert_eq!(store.generation(&self::org()).await.unwrap(), None);
    let mut seen = vec![
        store
            .generation(org)
            .await
            .unwrap()
            .expect("a live organization"),
    ];
    assert_eq!(
        store.generation(org).await.unwrap(),
        Some(seen[0]),
        "reading changes nothing"
    );
    for i in 0..changes {
        change(i).await;
        let now = store.generation(org).await.unwrap().expect("still live");
        assert!(!seen.contains(&now), "change {i} moved the generation");
        seen.push(now);
    }
    delete().await;
    assert_eq!(store.generation(org).await.unwrap(), None);
}

/// The keys `source` gives for `token`'s `kid` and `alg` include one that verifies it (a token
/// `issuer` signed); an algorithm of another key family finds none.
pub async fn key_source(source: &dyn KeySource, issuer: &TrustedIssuer, token: &str) {
    let parsed = UnverifiedToken::parse(token).unwrap();
    let header = parsed.header().clone();
    let keys = source
        .keys_for(issuer, header.kid.as_deref(), header.alg)
        .await
        .unwrap();
    let decoding: Vec<_> = keys.iter().map(|k| &k.key).collect();
    assert!(parsed.verify(&decoding).is_ok(), "a key verifies the token");
    let other = match header.alg {
        Algorithm::ES256 | Algorithm::ES384 => Algorithm::RS256,
        _ => Algorithm::ES256,
    };
    assert_eq!(
        source
            .keys_for(issuer, header.kid.as_deref(), other)
            .await
            .unwrap_err(),
        KeyError::NoMatchingKey
    );
}

/// Epoch seconds, never going back, within a second of `reference` (read around it).
pub fn clock(clock: &dyn Clock, reference: impl Fn() -> i64) {
    let before = reference();
    let first = clock.now();
    let second = clock.now();
    let after = reference();
    assert!(second >= first, "the clock does not go back");
    assert!(
        before - 1 <= first && second <= after + 1,
        "{before} <= {first} <= {after}"
    );
}
