//! The [`Signer`] port in envelope mode. The key set is one read of the table, made on first use
//! and again once it is [`KEY_SET_REFRESH_SECONDS`] old, so a warm function sees a rotation long
//! before the new key signs ([`crate::domain::envelope_key::PUBLICATION_LEAD_SECONDS`]). A key's
//! private key is decrypted (KMS `Decrypt`) the first time it is the current key, once per
//! execution environment; tokens are then signed in-process: no KMS call per token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use tokio::sync::OnceCell;

use super::NO_KEY_YET;
use crate::config::SigningAlg;
use crate::domain::envelope_key::{self, KEY_SET_REFRESH_SECONDS, StoredKey};
use crate::domain::key_pair::KeyPair;
use crate::domain::public_key::PublicKey;
use crate::domain::signing_key::SigningKey;
use crate::ports::{BoxFuture, Clock, KeyUnwrapper, PortError, Signer, SigningKeyRecords};

/// How soon an empty key set (before the first rotation) or a failed re-read is tried again.
pub const RETRY_SECONDS: i64 = 5;

pub struct EnvelopeSigner {
    records: Arc<dyn SigningKeyRecords>,
    /// `None`: the keys are only published (admin's explain verifies with them, never signs).
    unwrapper: Option<Arc<dyn KeyUnwrapper>>,
    clock: Arc<dyn Clock>,
    set: RwLock<Option<Arc<KeySet>>>,
    /// One read of the table at a time: concurrent requests wait for it instead of each reading.
    reading: tokio::sync::Mutex<()>,
    /// Decrypted private keys by `kid`; the cell makes concurrent first uses decrypt once.
    private: Mutex<HashMap<String, Arc<OnceCell<Arc<KeyPair>>>>>,
}

/// The key set as last read.
struct KeySet {
    /// When it was read (or, after a failed re-read, when that was due).
    read_at: i64,
    keys: Vec<Arc<Key>>,
}

/// A stored key and its public key in the published form.
struct Key {
    stored: StoredKey,
    alg: SigningAlg,
    public_der: Vec<u8>,
    public: Arc<SigningKey>,
}

impl AsRef<StoredKey> for Arc<Key> {
    fn as_ref(&self) -> &StoredKey {
        &self.stored
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl EnvelopeSigner {
    /// The token function's signer. Makes no call: see [`EnvelopeSigner::check`].
    pub fn new(
        records: Arc<dyn SigningKeyRecords>,
        unwrapper: Arc<dyn KeyUnwrapper>,
        clock: Arc<dyn Clock>,
    ) -> EnvelopeSigner {
        EnvelopeSigner {
            unwrapper: Some(unwrapper),
            ..EnvelopeSigner::publish_only(records, clock)
        }
    }

    /// A signer that only publishes the keys (never decrypts, so needs no `kms:Decrypt`).
    pub fn publish_only(
        records: Arc<dyn SigningKeyRecords>,
        clock: Arc<dyn Clock>,
    ) -> EnvelopeSigner {
        EnvelopeSigner {
            records,
            unwrapper: None,
            clock,
            set: RwLock::new(None),
            reading: tokio::sync::Mutex::new(()),
            private: Mutex::new(HashMap::new()),
        }
    }

    /// Reads the key set and decrypts the current key, so that a wrapping key that is missing,
    /// that may not be used, or that is not the one the keys were encrypted under stops the
    /// function at start with the reason, instead of failing every request. `Ok(None)`: no key
    /// exists yet (the rotation has not run).
    pub async fn check(&self) -> Result<Option<Arc<SigningKey>>, PortError> {
        self.current().await
    }

    /// [`EnvelopeSigner::check`] at a function's start, logged: `Err` with the reason when the
    /// function must not serve (the keys cannot be decrypted or are corrupt). No key yet, or a
    /// table or KMS that is throttled or down, is logged and left to the first request.
    pub async fn check_at_start(&self) -> Result<(), String> {
        match self.check().await {
            Ok(Some(key)) => {
                tracing::info!(
                    kid = key.kid.as_str(),
                    alg = key.alg.as_str(),
                    "signing key ready"
                );
                Ok(())
            }
            Ok(None) => {
                tracing::error!("{NO_KEY_YET}");
                Ok(())
            }
            Err(PortError::Unavailable(detail)) => {
                tracing::warn!(%detail, "signing keys not loaded at start; trying on first use");
                Ok(())
            }
            Err(PortError::Internal(detail)) => {
                let message = format!("refusing to start: {detail}");
                tracing::error!("{message}");
                Err(message)
            }
        }
    }

    /// The current key, its private key decrypted (unless this signer only publishes);
    /// `None` before the first key exists.
    async fn current(&self) -> Result<Option<Arc<SigningKey>>, PortError> {
        let set = self.key_set().await?;
        let Some(key) = envelope_key::current(&set.keys, self.clock.now()) else {
            return Ok(None);
        };
        if self.unwrapper.is_some() {
            self.private_key(key).await?;
        }
        Ok(Some(Arc::clone(&key.public)))
    }

    /// The key set, read again once it is [`KEY_SET_REFRESH_SECONDS`] old. A failed re-read
    /// leaves the set read before in use (for [`RETRY_SECONDS`] until the next try): the keys
    /// it holds go on signing and verifying through a DynamoDB outage.
    async fn key_set(&self) -> Result<Arc<KeySet>, PortError> {
        if let Some(set) = self.fresh(self.clock.now()) {
            return Ok(set);
        }
        let _reading = self.reading.lock().await;
        let now = self.clock.now();
        if let Some(set) = self.fresh(now) {
            return Ok(set);
        }
        let set = match self.read(now).await {
            Ok(set) => {
                lock(&self.private).retain(|kid, _| set.keys.iter().any(|k| k.stored.kid == *kid));
                set
            }
            Err(error) => {
                let stale = self.set.read().unwrap_or_else(|e| e.into_inner()).clone();
                let Some(stale) = stale.filter(|_| matches!(error, PortError::Unavailable(_)))
                else {
                    return Err(error);
                };
                tracing::warn!(detail = %error, "signing keys not re-read; using those read before");
                KeySet {
                    read_at: now - KEY_SET_REFRESH_SECONDS + RETRY_SECONDS,
                    keys: stale.keys.clone(),
                }
            }
        };
        let set = Arc::new(set);
        *self.set.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&set));
        Ok(set)
    }

    /// The set read before, unless it is due to be read again at `now`.
    fn fresh(&self, now: i64) -> Option<Arc<KeySet>> {
        let set = self.set.read().unwrap_or_else(|e| e.into_inner()).clone()?;
        let lifetime = if set.keys.is_empty() {
            RETRY_SECONDS
        } else {
            KEY_SET_REFRESH_SECONDS
        };
        (set.read_at <= now && now - set.read_at < lifetime).then_some(set)
    }

    async fn read(&self, now: i64) -> Result<KeySet, PortError> {
        let stored = self.records.signing_keys().await?;
        let keys = stored
            .into_iter()
            .map(|stored| {
                let key = published_form(&stored).map_err(|problem| {
                    PortError::Internal(format!("stored signing key {}: {problem}", stored.kid))
                })?;
                Ok(Arc::new(key))
            })
            .collect::<Result<_, PortError>>()?;
        Ok(KeySet { read_at: now, keys })
    }

    /// The private key of `key`, decrypted on its first use in this execution environment.
    async fn private_key(&self, key: &Key) -> Result<Arc<KeyPair>, PortError> {
        let Some(unwrapper) = &self.unwrapper else {
            return Err(PortError::Internal(
                "this function only publishes the signing keys; it cannot sign".into(),
            ));
        };
        let kid = &key.stored.kid;
        let cell = {
            let mut private = lock(&self.private);
            match private.get(kid) {
                Some(cell) => Arc::clone(cell),
                None => Arc::clone(private.entry(kid.clone()).or_default()),
            }
        };
        let pair = cell
            .get_or_try_init(|| async {
                let wrapped = STANDARD
                    .decode(&key.stored.wrapped_private_key)
                    .map_err(|_| corrupt(kid, "its wrapped private key is not base64"))?;
                let pkcs8 = unwrapper
                    .unwrap_key(kid, &wrapped)
                    .await
                    .map_err(|e| match e {
                        PortError::Unavailable(detail) => PortError::Unavailable(format!(
                            "decrypting signing key {kid}: {detail}"
                        )),
                        PortError::Internal(detail) => PortError::Internal(format!(
                            "signing key {kid} does not decrypt with the wrapping key: {detail}"
                        )),
                    })?;
                let pair = KeyPair::from_pkcs8(key.alg, &pkcs8).map_err(|e| corrupt(kid, &e))?;
                if pair.public_key_der().map_err(|e| corrupt(kid, &e))? != key.public_der {
                    return Err(corrupt(kid, "its private key is not its public key's"));
                }
                tracing::info!(kid = kid.as_str(), "signing key decrypted");
                Ok::<_, PortError>(Arc::new(pair))
            })
            .await?;
        Ok(Arc::clone(pair))
    }
}

fn corrupt(kid: &str, problem: &str) -> PortError {
    PortError::Internal(format!("stored signing key {kid}: {problem}"))
}

/// The published form of a stored key, under the same rules as a KMS key (its `alg` must fit
/// it, and its `kid` must be its RFC 7638 thumbprint).
fn published_form(stored: &StoredKey) -> Result<Key, String> {
    let alg =
        SigningAlg::parse(&stored.alg).ok_or_else(|| format!("unknown alg {}", stored.alg))?;
    let public_der = STANDARD
        .decode(&stored.public_key)
        .map_err(|_| "its public key is not base64".to_owned())?;
    let public = PublicKey::from_spki_der(&public_der).map_err(|e| format!("{e}"))?;
    let public = SigningKey::new(&public, Some(alg))?;
    if public.kid != stored.kid {
        return Err("its kid is not its public key's thumbprint".into());
    }
    Ok(Key {
        stored: stored.clone(),
        alg,
        public_der,
        public: Arc::new(public),
    })
}

/// The `kid` of a JWS signing input's protected header (RFC 7515 §4.1.4).
fn header_kid(signing_input: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Header {
        kid: Option<String>,
    }
    let encoded = signing_input.split(|b| *b == b'.').next()?;
    let header = URL_SAFE_NO_PAD.decode(encoded).ok()?;
    serde_json::from_slice::<Header>(&header).ok()?.kid
}

impl Signer for EnvelopeSigner {
    fn current_key(&self) -> BoxFuture<'_, Result<Arc<SigningKey>, PortError>> {
        Box::pin(async move {
            self.current()
                .await?
                .ok_or_else(|| PortError::Unavailable(NO_KEY_YET.into()))
        })
    }

    fn published_keys(&self) -> BoxFuture<'_, Result<Vec<Arc<SigningKey>>, PortError>> {
        Box::pin(async move {
            let set = self.key_set().await?;
            if set.keys.is_empty() {
                // Not an empty JWKS: clients would cache it for its max-age.
                return Err(PortError::Unavailable(NO_KEY_YET.into()));
            }
            let published = envelope_key::published(&set.keys, self.clock.now());
            Ok(published
                .into_iter()
                .map(|k| Arc::clone(&k.public))
                .collect())
        })
    }

    /// Signs with the key the header names (`kid`, from [`Signer::current_key`]), not with
    /// whichever key is current now: at a rotation's `not_before` the current key changes
    /// between the two calls, and a token signed by one key under the other's `kid` would not
    /// verify. The key must have started signing (a key published ahead of its `not_before`
    /// never signs: clients may not have it yet). A header without `kid`: the current key.
    fn sign<'a>(&'a self, signing_input: &'a [u8]) -> BoxFuture<'a, Result<Vec<u8>, PortError>> {
        Box::pin(async move {
            let set = self.key_set().await?;
            let now = self.clock.now();
            let key = match header_kid(signing_input) {
                Some(kid) => set
                    .keys
                    .iter()
                    .find(|k| k.stored.kid == kid && k.stored.has_started(now))
                    .ok_or_else(|| {
                        PortError::Internal(format!("signing key {kid} may not sign at {now}"))
                    })?,
                None => envelope_key::current(&set.keys, now)
                    .ok_or_else(|| PortError::Unavailable(NO_KEY_YET.into()))?,
            };
            let pair = self.private_key(key).await?;
            if !key.alg.is_rsa() {
                return pair.sign(signing_input).map_err(PortError::Internal);
            }
            // An RSA-2048 private-key operation is about a millisecond of CPU: made on a blocking
            // thread, so that what the request has in flight beside it (the warm exchange's
            // generation read, a refresh family's write) goes out first, and the runtime's
            // workers go on serving the environment's other requests meanwhile. A P-256
            // signature (tens of µs) costs less than the hand-over.
            let input = signing_input.to_vec();
            tokio::task::spawn_blocking(move || pair.sign(&input))
                .await
                .map_err(|e| PortError::Internal(format!("the signing thread failed: {e}")))?
                .map_err(PortError::Internal)
        })
    }
}
