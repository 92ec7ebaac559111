//! Admin changes apply on the next request of a warm function whatever the cache TTL
//! (contract, "Admin changes take effect at once"): every change below is made to the store
//! after the service has cached the records it replaces.

use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::domain::ids::{ClientId, IssuerId};
use crate::domain::signing_key::SigningKey;
use crate::ports::{BoxFuture, ConfigStore, Generation, PortError, Read};

const NEW_SECRET: &str = "n3w-s3cret-n3w-s3cret-n3w-s3cret-n3w-s3cret-2";

/// A service whose cache keeps records for an hour, warmed by one exchange.
async fn warm() -> Harness {
    let h = Harness::new();
    let config = Config {
        config_cache_ttl: std::time::Duration::from_secs(3600),
        ..config()
    };
    let service = TokenService::new(config, h.memory.ports());
    let h = Harness {
        app: TokenApp { service },
        ..h
    };
    assert_eq!(h.exchange(WEB, &h.subject()).await.status, StatusCode::OK);
    h
}

fn web_with_secret(secret: &str) -> Application {
    let both = [GrantType::TokenExchange, GrantType::RefreshToken];
    let mut web = application("web", AppType::Web, &both);
    web.secret_hash = Some(hash_secret(&Secret::new(secret)));
    web
}

#[tokio::test]
async fn a_rotated_secret_works_at_once_and_the_old_one_is_refused() {
    let h = warm().await;
    h.memory
        .config_store
        .put_application(&org(), web_with_secret(NEW_SECRET));
    let reply = h.exchange(("web", Some(NEW_SECRET)), &h.subject()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        h.memory.failure_log.total(),
        0,
        "the new secret never counts as a failure"
    );
    assert_error(
        &h.exchange(WEB, &h.subject()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    assert_eq!(h.memory.failure_log.total(), 1, "the old one counts, once");
    // The refused attempt's token and refresh family were not handed out.
    assert_eq!(h.memory.refresh_store.families(), 2);
}

#[tokio::test]
async fn a_disabled_or_deleted_application_is_refused_at_once() {
    let h = warm().await;
    let mut web = web_with_secret(SECRET);
    web.enabled = false;
    h.memory.config_store.put_application(&org(), web);
    assert_error(
        &h.exchange(WEB, &h.subject()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    let mobile = ("mobile", None);
    assert_eq!(
        h.exchange(mobile, &h.subject()).await.status,
        StatusCode::OK
    );
    h.memory.config_store.remove_application(&org(), "mobile");
    assert_error(
        &h.exchange(mobile, &h.subject()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    // Only the first exchange of the warm-up made a family: the refused ones left none.
    assert_eq!(h.memory.refresh_store.families(), 2);
    assert_eq!(h.memory.replay_log.len(), 2);
}

#[tokio::test]
async fn an_issuer_registered_after_a_refused_exchange_is_accepted_next() {
    let h = warm().await;
    let other = TestIdp::new("other-key");
    let claims = json!({"iss": "https://other.example.com", "sub": "bob", "aud": ORG_ISSUER,
                        "exp": NOW + 300, "iat": NOW});
    let token = other.sign(&claims);
    assert_error(
        &h.exchange(WEB, &token).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let mut record = issuer(false);
    record.id = "issuer-2".into();
    record.settings.name = "other".into();
    record.settings.issuer = "https://other.example.com".into();
    h.memory
        .keys
        .set("issuer-2", Ok(vec![other.verification_key()]));
    h.memory.config_store.put_issuer(&org(), record);
    let reply = h.exchange(WEB, &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn a_changed_condition_or_a_disabled_issuer_applies_at_once() {
    let h = warm().await;
    let mut record = issuer(true);
    record.settings.condition = Some(r#"claims.sub == "carol""#.into());
    h.memory.config_store.put_issuer(&org(), record.clone());
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        reply.body["error_description"]
            .as_str()
            .unwrap()
            .contains("condition")
    );
    // The refused attempt's jti was forgotten: only the warm-up's is recorded.
    assert_eq!(h.memory.replay_log.len(), 1);

    record.settings.condition = None;
    record.settings.enabled = false;
    h.memory.config_store.put_issuer(&org(), record);
    assert_error(
        &h.exchange(WEB, &h.subject()).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

#[tokio::test]
async fn a_deleted_organization_is_refused_at_once() {
    let h = warm().await;
    h.memory.config_store.mark_deleting(&org());
    assert_error(
        &h.exchange(WEB, &h.subject()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    assert_eq!(h.memory.refresh_store.families(), 1, "nothing handed out");
}

#[tokio::test]
async fn a_warm_exchange_reads_only_the_generation_and_a_change_reloads_once() {
    let h = warm().await;
    let before = h.memory.config_store.reads();
    assert_eq!(h.exchange(WEB, &h.subject()).await.status, StatusCode::OK);
    assert_eq!(h.memory.config_store.reads() - before, 1);

    // A change: the generation, then the records again (issuers and application).
    let generation = h.memory.config_store.generation(&org()).await.unwrap();
    h.memory.config_store.put_issuer(&org(), issuer(true));
    let moved = h.memory.config_store.generation(&org()).await.unwrap();
    assert_ne!(generation, moved);
    assert!(matches!(moved, Some(Generation(_))));
    let before = h.memory.config_store.reads();
    assert_eq!(h.exchange(WEB, &h.subject()).await.status, StatusCode::OK);
    assert_eq!(h.memory.config_store.reads() - before, 1 + 2);
    let before = h.memory.config_store.reads();
    assert_eq!(h.exchange(WEB, &h.subject()).await.status, StatusCode::OK);
    assert_eq!(h.memory.config_store.reads() - before, 1);
}

#[tokio::test]
async fn the_generation_failing_to_read_hands_nothing_out() {
    let h = warm().await;
    h.memory
        .config_store
        .fail_with(Some(crate::ports::PortError::Unavailable("down".into())));
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert_eq!(h.memory.refresh_store.families(), 1);
    assert_eq!(h.memory.replay_log.len(), 1);
}

/// The signer of `memory`, announcing on `signing` while each signature is being made (and
/// taking 20 ms over it).
struct SlowSigner {
    inner: Arc<dyn crate::ports::Signer>,
    signing: tokio::sync::watch::Sender<bool>,
}

impl crate::ports::Signer for SlowSigner {
    fn current_key(&self) -> BoxFuture<'_, Result<Arc<SigningKey>, PortError>> {
        self.inner.current_key()
    }

    fn published_keys(&self) -> BoxFuture<'_, Result<Vec<Arc<SigningKey>>, PortError>> {
        self.inner.published_keys()
    }

    fn sign<'a>(&'a self, input: &'a [u8]) -> BoxFuture<'a, Result<Vec<u8>, PortError>> {
        Box::pin(async move {
            self.signing.send_replace(true);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let signature = self.inner.sign(input).await;
            self.signing.send_replace(false);
            signature
        })
    }
}

/// The config store of `memory`, whose generation read, once armed, completes only while a
/// signature is being made (else, after a second, fails).
struct GenerationDuringSigning {
    inner: Arc<dyn ConfigStore>,
    signing: tokio::sync::watch::Receiver<bool>,
    armed: AtomicBool,
}

impl ConfigStore for GenerationDuringSigning {
    fn generation<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<Option<Generation>, PortError>> {
        Box::pin(async move {
            if !self.armed.load(Ordering::SeqCst) {
                return self.inner.generation(org).await;
            }
            let mut signing = self.signing.clone();
            let during = tokio::time::timeout(
                std::time::Duration::from_secs(1),
                signing.wait_for(|now| *now),
            );
            if !matches!(during.await, Ok(Ok(_))) {
                return Err(PortError::Unavailable("read outside the signing".into()));
            }
            self.inner.generation(org).await
        })
    }

    fn issuers<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<Arc<Vec<TrustedIssuer>>, PortError>> {
        self.inner.issuers(org)
    }

    fn issuer<'a>(
        &'a self,
        org: &'a OrgName,
        id: &'a IssuerId,
        read: Read,
    ) -> BoxFuture<'a, Result<Option<Arc<TrustedIssuer>>, PortError>> {
        self.inner.issuer(org, id, read)
    }

    fn application<'a>(
        &'a self,
        org: &'a OrgName,
        client_id: &'a ClientId,
        read: Read,
    ) -> BoxFuture<'a, Result<Option<Arc<Application>>, PortError>> {
        self.inner.application(org, client_id, read)
    }

    fn organization_exists<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        self.inner.organization_exists(org)
    }
}

/// The contract's latency rule: the warm exchange's one read overlaps the signing. Once armed,
/// the generation read here can only complete while a signature is being made, so a read
/// made before or after the signing fails the exchange.
#[tokio::test]
async fn a_warm_exchange_reads_the_generation_while_it_signs() {
    let h = Harness::new();
    let (signing, watching) = tokio::sync::watch::channel(false);
    let mut ports = h.memory.ports();
    ports.signer = Arc::new(SlowSigner {
        inner: ports.signer,
        signing,
    });
    let store = Arc::new(GenerationDuringSigning {
        inner: ports.config_store,
        signing: watching,
        armed: AtomicBool::new(false),
    });
    ports.config_store = store.clone();
    let h = Harness {
        app: TokenApp {
            service: TokenService::new(config(), ports),
        },
        ..h
    };
    // Cold, the generation is read first (the records are labelled with it): not armed yet.
    assert_eq!(h.exchange(WEB, &h.subject()).await.status, StatusCode::OK);
    store.armed.store(true, Ordering::SeqCst);
    let before = h.memory.config_store.reads();
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        h.memory.config_store.reads() - before,
        1,
        "warm: the generation only"
    );
}
