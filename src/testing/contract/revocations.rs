//! The [`Revocations`] port's contract: revoked access tokens, and the subject and client
//! revocations the admin store writes.

use crate::domain::organization::OrgName;
use crate::domain::random_hex;
use crate::domain::revocation::{AccessTokenRef, RevocationQuery, RevocationTarget};
use crate::ports::{Lineage, Revocations};

/// What a caller of [`revocations`] revokes first (in the admin store), in `org`: each target
/// with its `revoked_before` (epoch ms), shortly before `now` (epoch seconds).
pub fn seeded_revocations(now: i64) -> Vec<(RevocationTarget, i64)> {
    let ms = now * 1000;
    vec![
        (
            RevocationTarget::Subject {
                sub: "alice".into(),
                idp: Some("https://idp.example.com".into()),
            },
            ms - 3_000,
        ),
        (
            RevocationTarget::Subject {
                sub: "bob".into(),
                idp: None,
            },
            ms - 2_000,
        ),
        (
            RevocationTarget::Client {
                client_id: "web".into(),
            },
            ms - 1_000,
        ),
    ]
}

/// Revoked access tokens are revoked until they expire; subject revocations match the
/// subject from that issuer (or from any, without one), client revocations the client; the
/// latest matching instant wins; nothing leaks across organizations. `org` holds
/// [`seeded_revocations`].
pub async fn revocations(port: &dyn Revocations, org: &OrgName, now: i64) {
    let query = |jti, sub, idp, client_id| RevocationQuery {
        jti,
        sub,
        idp,
        client_id,
    };
    let idp = "https://idp.example.com";
    let state = |q| port.state(org, q);
    let nothing = state(query(None, "carol", idp, "other")).await.unwrap();
    assert_eq!(nothing, Default::default());
    let ms = now * 1000;
    let alice = state(query(None, "alice", idp, "other")).await.unwrap();
    assert_eq!(alice.revoked_before_ms, Some(ms - 3_000));
    let elsewhere = state(query(None, "alice", "https://else", "other"))
        .await
        .unwrap();
    assert_eq!(elsewhere.revoked_before_ms, None, "another issuer's alice");
    let bob = state(query(None, "bob", "https://any", "other"))
        .await
        .unwrap();
    assert_eq!(bob.revoked_before_ms, Some(ms - 2_000));
    let both = state(query(None, "alice", idp, "web")).await.unwrap();
    assert_eq!(
        both.revoked_before_ms,
        Some(ms - 1_000),
        "the latest matching instant"
    );

    let jti = random_hex(16);
    let with_jti = |jti| query(Some(jti), "carol", idp, "other");
    assert!(!state(with_jti(&jti)).await.unwrap().token_revoked);
    port.revoke_access_token(org, &jti, now + 60).await.unwrap();
    assert!(state(with_jti(&jti)).await.unwrap().token_revoked);
    let other = OrgName::parse(&format!("other-{}", random_hex(4))).unwrap();
    let there = port.state(&other, with_jti(&jti)).await.unwrap();
    assert!(!there.token_revoked);
    assert_eq!(
        port.state(&other, query(None, "alice", idp, "web"))
            .await
            .unwrap(),
        Default::default()
    );
    let expired = random_hex(16);
    port.revoke_access_token(org, &expired, now - 1)
        .await
        .unwrap();
    assert!(
        !state(with_jti(&expired)).await.unwrap().token_revoked,
        "expired reads as absent"
    );
}

/// Children are recorded under their parent, each once, in their organization only, and read
/// back while unexpired; `now` is the store's present.
pub async fn lineage(lineage: &dyn Lineage, now: i64) {
    let (org, other) = (super::org(), super::org());
    let parent = random_hex(16);
    let child = |exp| AccessTokenRef {
        jti: random_hex(16),
        exp,
    };
    let (a, b, expired) = (child(now + 600), child(now + 300), child(now - 1));
    assert!(lineage.children(&org, &parent).await.unwrap().is_empty());
    for recorded in [&a, &b, &a, &expired] {
        lineage.record_child(&org, &parent, recorded).await.unwrap();
    }
    let mut children = lineage.children(&org, &parent).await.unwrap();
    children.sort_by_key(|c| c.exp);
    assert_eq!(children, [b, a.clone()], "each once, the expired one not");
    assert!(lineage.children(&other, &parent).await.unwrap().is_empty());
    assert!(lineage.children(&org, &a.jti).await.unwrap().is_empty());
}
