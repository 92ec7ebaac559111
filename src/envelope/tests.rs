//! The envelope signer and the rotation in process, over the in-memory ports and a clock the
//! tests move: first key, rotation, the switch at `not_before`, publication until the last
//! token expires, one read per refresh and one decrypt per key.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::signer::RETRY_SECONDS;
use super::*;
use crate::config::SigningAlg;
use crate::domain::envelope_key::{
    KEY_SET_REFRESH_SECONDS, MAX_TOKEN_LIFETIME_SECONDS, PUBLICATION_LEAD_SECONDS, plan_rotation,
};
use crate::domain::key_pair::KeyPair;
use crate::domain::signing_key::SigningKey;
use crate::ports::{Clock, PortError, Signer, SigningKeyWriter};
use crate::testing::{FixedClock, MemorySigningKeys, MemoryWrapping};

const T0: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

struct Harness {
    clock: Arc<FixedClock>,
    records: Arc<MemorySigningKeys>,
    wrapping: Arc<MemoryWrapping>,
    signer: EnvelopeSigner,
}

impl Harness {
    fn new() -> Harness {
        let clock = Arc::new(FixedClock::new(T0));
        let records = Arc::new(MemorySigningKeys::new(clock.clone()));
        let wrapping = Arc::new(MemoryWrapping::default());
        let signer = EnvelopeSigner::new(records.clone(), wrapping.clone(), clock.clone());
        Harness {
            clock,
            records,
            wrapping,
            signer,
        }
    }

    async fn rotate(&self, alg: SigningAlg) -> Rotated {
        let (records, wrapping) = (&*self.records, &*self.wrapping);
        rotate(records, records, wrapping, alg, self.clock.now())
            .await
            .unwrap()
    }

    /// A token as the token endpoint makes one: the current key's header, then its signature.
    async fn token(&self) -> Result<String, PortError> {
        let key = self.signer.current_key().await?;
        self.signed_by(&key).await
    }

    async fn signed_by(&self, key: &SigningKey) -> Result<String, PortError> {
        let header = format!(
            r#"{{"alg":"{}","typ":"at+jwt","kid":"{}"}}"#,
            key.alg.as_str(),
            key.kid
        );
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(r#"{"sub":"alice"}"#)
        );
        let signature = self.signer.sign(input.as_bytes()).await?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// The kids the JWKS lists now, in its order.
    async fn published(&self) -> Vec<String> {
        let keys = self.signer.published_keys().await.unwrap();
        keys.iter().map(|k| k.kid.clone()).collect()
    }

    /// Whether `token` verifies with a key of the JWKS, as a client checks it.
    async fn verifies(&self, token: &str) -> bool {
        let header = jsonwebtoken::decode_header(token).unwrap();
        let keys = self.signer.published_keys().await.unwrap();
        let Some(key) = keys.iter().find(|k| Some(&k.kid) == header.kid.as_ref()) else {
            return false;
        };
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(serde_json::to_value(&key.jwk).unwrap()).unwrap();
        let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let (input, signature) = token.rsplit_once('.').unwrap();
        jsonwebtoken::crypto::verify(signature, input.as_bytes(), &decoding, header.alg).unwrap()
    }

    fn added(rotated: Rotated) -> (String, i64, Option<(String, i64)>) {
        match rotated {
            Rotated::Added {
                kid,
                not_before,
                retired,
            } => (kid, not_before, retired),
            other => panic!("expected a key added, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn without_a_key_it_answers_unavailable_until_the_first_rotation_which_signs_at_once() {
    let h = Harness::new();
    assert_eq!(
        h.signer.current_key().await,
        Err(PortError::Unavailable(NO_KEY_YET.into()))
    );
    assert!(h.signer.published_keys().await.is_err(), "no empty JWKS");
    assert_eq!(h.signer.check().await, Ok(None));
    assert_eq!(h.signer.check_at_start().await, Ok(()));

    let (kid, not_before, retired) = Harness::added(h.rotate(SigningAlg::ES256).await);
    assert_eq!((not_before, retired), (T0, None));
    // The empty set read before is kept only RETRY_SECONDS.
    h.clock.advance(RETRY_SECONDS);
    let token = h.token().await.unwrap();
    assert!(h.verifies(&token).await);
    assert_eq!(h.published().await, [kid]);
}

#[tokio::test]
async fn a_warm_function_signs_in_process_reading_once_per_refresh_and_decrypting_once() {
    let h = Harness::new();
    h.rotate(SigningAlg::ES256).await;
    assert_eq!(h.wrapping.wraps(), 1);
    let before = h.records.reads();
    for _ in 0..20 {
        let token = h.token().await.unwrap();
        assert!(h.verifies(&token).await);
        h.clock.advance(10);
    }
    // 200 s of tokens: one read of the set, one decrypt of the key.
    assert_eq!((h.records.reads() - before, h.wrapping.unwraps()), (1, 1));
    h.clock.advance(KEY_SET_REFRESH_SECONDS);
    h.token().await.unwrap();
    assert_eq!((h.records.reads() - before, h.wrapping.unwraps()), (2, 1));
}

#[tokio::test]
async fn a_rotation_publishes_first_switches_at_not_before_and_keeps_the_old_key_for_its_tokens() {
    let h = Harness::new();
    let (first, ..) = Harness::added(h.rotate(SigningAlg::ES256).await);
    let old_token = h.token().await.unwrap();

    h.clock.advance(30 * DAY);
    let rotated_at = h.clock.now();
    // The warm function reads the set just before the rotation.
    assert_eq!(h.published().await, std::slice::from_ref(&first));
    let (second, not_before, retired) = Harness::added(h.rotate(SigningAlg::ES256).await);
    assert_eq!(not_before, rotated_at + PUBLICATION_LEAD_SECONDS);
    let retire_after = not_before + MAX_TOKEN_LIFETIME_SECONDS;
    assert_eq!(retired, Some((first.clone(), retire_after)));

    // It sees the new key within one refresh, long before the new key signs.
    assert_eq!(h.published().await, std::slice::from_ref(&first));
    h.clock.advance(KEY_SET_REFRESH_SECONDS);
    assert!(h.clock.now() < not_before);
    assert_eq!(h.published().await, [first.clone(), second.clone()]);
    assert_eq!(h.signer.current_key().await.unwrap().kid, first);

    h.clock.set(not_before - 1);
    assert_eq!(h.signer.current_key().await.unwrap().kid, first);
    h.clock.set(not_before);
    let new_token = h.token().await.unwrap();
    assert_eq!(h.signer.current_key().await.unwrap().kid, second);
    assert_eq!(h.published().await, [second.clone(), first.clone()]);
    assert!(h.verifies(&new_token).await);
    assert!(
        h.verifies(&old_token).await,
        "the old key's tokens still verify"
    );
    assert_eq!(h.wrapping.unwraps(), 2, "one decrypt per key");

    // Until the last token the old key may have signed has expired.
    h.clock.set(retire_after - 1);
    assert!(h.verifies(&old_token).await);
    h.clock.set(retire_after + KEY_SET_REFRESH_SECONDS);
    assert_eq!(h.published().await, [second]);
    assert!(!h.verifies(&old_token).await);
}

#[tokio::test]
async fn a_token_begun_just_before_the_switch_is_signed_by_the_key_its_header_names() {
    let h = Harness::new();
    let (first, ..) = Harness::added(h.rotate(SigningAlg::ES256).await);
    h.clock.advance(DAY);
    let (second, not_before, _) = Harness::added(h.rotate(SigningAlg::ES256).await);
    h.clock.set(not_before - 1);
    let old = h.signer.current_key().await.unwrap();
    assert_eq!(old.kid, first);
    h.clock.set(not_before);
    let token = h.signed_by(&old).await.unwrap();
    assert!(h.verifies(&token).await);
    assert_eq!(
        jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(),
        Some(first.as_str())
    );

    // A key published ahead of its not_before never signs.
    h.clock.set(not_before - 1);
    let next = h.signer.published_keys().await.unwrap()[1].clone();
    assert_eq!(next.kid, second);
    assert!(matches!(
        h.signed_by(&next).await,
        Err(PortError::Internal(detail)) if detail.contains("may not sign")
    ));
    // Without a kid in the header: the current key (the port's contract).
    h.clock.set(not_before);
    crate::testing::contract::signer(&h.signer).await;
}

#[tokio::test]
async fn a_rotation_under_way_or_lost_to_another_changes_nothing() {
    let h = Harness::new();
    h.rotate(SigningAlg::ES256).await;
    h.clock.advance(DAY);
    let (second, ..) = Harness::added(h.rotate(SigningAlg::ES256).await);
    let stored = h.records.stored();
    match h.rotate(SigningAlg::ES256).await {
        Rotated::AlreadyPending(pending) => assert_eq!(pending.kid, second),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.records.stored(), stored);

    // Two rotations that read the same set: the second one's write fails its conditions.
    h.clock.advance(DAY);
    let (records, wrapping) = (&*h.records, &*h.wrapping);
    let now = h.clock.now();
    let keys = records.stored();
    let winner = rotate(records, records, wrapping, SigningAlg::ES256, now).await;
    assert!(matches!(winner, Ok(Rotated::Added { .. })));
    let plan = plan_rotation(&keys, now).unwrap();
    let mut late = keys[0].clone();
    late.seq = plan.seq;
    late.kid = "another".into();
    let written = records.add_signing_key(&late, plan.retire.as_ref()).await;
    assert_eq!(written, Ok(false));
    assert!(h.records.stored().iter().all(|k| k.kid != "another"));
}

#[tokio::test]
async fn a_key_that_does_not_decrypt_stops_the_start_with_the_reason() {
    let h = Harness::new();
    h.rotate(SigningAlg::ES256).await;
    h.wrapping.fail_with(Some(PortError::Internal(
        "KMS Decrypt with TRUSTGATE_WRAPPING_KEY=alias/x: AccessDeniedException".into(),
    )));
    let refused = h.signer.check_at_start().await.unwrap_err();
    assert!(
        refused.starts_with("refusing to start: signing key"),
        "{refused}"
    );
    assert!(
        refused.contains("does not decrypt with the wrapping key"),
        "{refused}"
    );
    assert!(refused.contains("TRUSTGATE_WRAPPING_KEY"), "{refused}");
    assert!(matches!(h.token().await, Err(PortError::Internal(_))));

    // Throttling is not a reason to refuse: the first request tries again.
    h.wrapping
        .fail_with(Some(PortError::Unavailable("ThrottlingException".into())));
    assert_eq!(h.signer.check_at_start().await, Ok(()));
    h.wrapping.fail_with(None);
    assert!(h.verifies(&h.token().await.unwrap()).await);
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_key_or_a_tampered_record_is_refused() {
    let h = Harness::new();
    h.rotate(SigningAlg::ES256).await;
    h.clock.advance(DAY);
    let (_, not_before, _) = Harness::added(h.rotate(SigningAlg::ES256).await);
    let mut stored = h.records.stored();
    stored.sort_by_key(|key| key.seq);
    let (first, second) = (&stored[0], &stored[1]);

    // The second key's record with the first key's ciphertext: the context (kid) differs.
    let mut moved = second.clone();
    moved.wrapped_private_key = first.wrapped_private_key.clone();
    h.records.replace(moved);
    h.clock.set(not_before + KEY_SET_REFRESH_SECONDS);
    let refused = h.signer.check().await.unwrap_err();
    assert!(matches!(&refused, PortError::Internal(d) if d.contains("InvalidCiphertext")));

    // A public key that is not the kid's thumbprint.
    let mut tampered = second.clone();
    tampered.public_key = first.public_key.clone();
    h.records.replace(tampered);
    h.clock.advance(KEY_SET_REFRESH_SECONDS);
    let refused = h.signer.check().await.unwrap_err();
    assert!(matches!(&refused, PortError::Internal(d) if d.contains("thumbprint")));

    // A private key that is not the public key's (both from other keys, context kept).
    let (_, other_pkcs8) = KeyPair::generate(SigningAlg::ES256).unwrap();
    let mut swapped = second.clone();
    let wrapped = [second.kid.as_bytes(), b"\n", other_pkcs8.expose()].concat();
    swapped.wrapped_private_key = STANDARD.encode(wrapped);
    h.records.replace(swapped);
    h.clock.advance(KEY_SET_REFRESH_SECONDS);
    let refused = h.signer.check().await.unwrap_err();
    assert!(matches!(&refused, PortError::Internal(d) if d.contains("not its public key's")));
}

#[tokio::test]
async fn a_failed_re_read_keeps_the_keys_read_before() {
    let h = Harness::new();
    h.rotate(SigningAlg::ES256).await;
    h.token().await.unwrap();
    h.records
        .fail_with(Some(PortError::Unavailable("ThrottlingException".into())));
    h.clock.advance(KEY_SET_REFRESH_SECONDS);
    assert!(h.verifies(&h.token().await.unwrap()).await);
    // Tried again after RETRY_SECONDS, not on every request.
    let reads = h.records.reads();
    h.token().await.unwrap();
    assert_eq!(h.records.reads(), reads);
    h.clock.advance(RETRY_SECONDS);
    h.token().await.unwrap();
    assert_eq!(h.records.reads(), reads + 1);
    // A permanent failure is not hidden.
    h.records
        .fail_with(Some(PortError::Internal("AccessDeniedException".into())));
    h.clock.advance(KEY_SET_REFRESH_SECONDS);
    assert!(matches!(h.token().await, Err(PortError::Internal(_))));
}

#[tokio::test]
async fn rsa_keys_rotate_and_sign_rs256() {
    let h = Harness::new();
    let (kid, ..) = Harness::added(h.rotate(SigningAlg::RS256).await);
    let key = h.signer.current_key().await.unwrap();
    assert_eq!(
        (key.kid.as_str(), key.alg),
        (kid.as_str(), SigningAlg::RS256)
    );
    assert_eq!(key.jwk.kty, "RSA");
    assert!(h.verifies(&h.token().await.unwrap()).await);
}

/// Whether a future joined with a token's signature is first polled before that signature is
/// done, as the warm exchange's generation read must be (its request then goes out first).
/// The runtime has one blocking thread, held by a task until that future runs: a signature
/// handed to a blocking thread cannot finish first, however the threads are scheduled.
fn runs_beside_the_signature(alg: SigningAlg) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    runtime.block_on(async {
        let h = Harness::new();
        h.rotate(alg).await;
        // Warm: the key set read and the private key decrypted.
        h.token().await.unwrap();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let holder = tokio::task::spawn_blocking(move || held.recv());
        let signed = AtomicBool::new(false);
        let (token, beside) = tokio::join!(
            async {
                let token = h.token().await;
                signed.store(true, Ordering::SeqCst);
                token
            },
            async {
                let beside = !signed.load(Ordering::SeqCst);
                release.send(()).unwrap();
                beside
            }
        );
        holder.await.unwrap().unwrap();
        assert!(h.verifies(&token.unwrap()).await);
        beside
    })
}

#[test]
fn an_rsa_signature_leaves_the_request_free_while_it_is_made() {
    for (alg, off_the_task) in [(SigningAlg::RS256, true), (SigningAlg::ES256, false)] {
        assert_eq!(runs_beside_the_signature(alg), off_the_task, "{alg:?}");
    }
}

#[tokio::test]
async fn a_publishing_signer_publishes_and_never_decrypts() {
    let h = Harness::new();
    h.rotate(SigningAlg::ES256).await;
    let publisher = EnvelopeSigner::publish_only(h.records.clone(), h.clock.clone());
    let published = publisher.published_keys().await.unwrap();
    assert_eq!(published.len(), 1);
    let current = publisher.current_key().await.unwrap();
    assert_eq!(current.kid, published[0].kid);
    let header = format!(r#"{{"alg":"ES256","kid":"{}"}}"#, current.kid);
    let input = format!("{}.e30", URL_SAFE_NO_PAD.encode(header));
    assert!(matches!(
        publisher.sign(input.as_bytes()).await,
        Err(PortError::Internal(detail)) if detail.contains("only publishes")
    ));
    assert_eq!(h.wrapping.unwraps(), 0);
}
