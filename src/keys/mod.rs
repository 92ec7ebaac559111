//! Verification keys of trusted issuers: where the token endpoint gets the key that checks a
//! subject token's signature. A JWKS issuer's keys are fetched (see [`fetch`]), parsed (see
//! [`jwks`]) and cached per issuer (see `cache`); a certificate issuer's key is its
//! certificate's public key, read exactly as the admin API read it when it stored the
//! certificate ([`crate::domain::certificate::certificate_key`]). Keys offered by the token itself (`jwk`,
//! `jku`, `x5u`, `x5c`) are never used (RFC 8725 §3.10): only the issuer record says where keys
//! come from, and a header `kid` is only ever compared with keys' `kid`.
//!
//! One [`KeySource`] per warm function, shared through `Arc`; every method is safe to call
//! concurrently.

mod cache;
pub mod fetch;
pub mod jwks;
mod key;
mod port;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use crate::domain::public_key::{KeyFamily, MIN_RSA_BITS};
pub use fetch::{GuardedResolver, HostLookup, SystemLookup};
pub use key::{MAX_KID_BYTES, VerificationKey};

use crate::domain::certificate;
use crate::domain::issuer::{self, Algorithm, TrustedIssuer};
use cache::JwksCache;
use fetch::Fetcher;
use key::{Selection, select};

/// Why no key can be had; each case maps to one token endpoint response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No key can be had now: the issuer's JWKS could not be fetched and no cached key fits.
    /// 503 `temporarily_unavailable` with `Retry-After: retry_after_seconds`.
    #[error("the issuer's keys are unavailable; retry after {retry_after_seconds} s")]
    Unavailable { retry_after_seconds: u64 },
    /// The issuer's keys are known and none has this `kid` or fits the algorithm: the subject
    /// token is refused, 400 `invalid_request`.
    #[error("no key of the issuer fits the token")]
    NoMatchingKey,
    /// The issuer record cannot give keys (neither or both sources, a refused `jwks_uri`, an
    /// unusable certificate): 500 `server_error`; the message is for the log only.
    #[error("issuer misconfigured: {0}")]
    Misconfigured(String),
}

/// Limits and lifetimes of a [`KeySource`]. [`KeySourceSettings::new`] gives the production
/// values; tests shorten them.
#[derive(Clone)]
pub struct KeySourceSettings {
    /// Allows `http://` and loopback/private JWKS targets (`TRUSTGATE_ALLOW_INSECURE_JWKS`).
    /// Defaults to `false`.
    pub allow_insecure: bool,
    /// Total time for one fetch: connect, TLS, headers and body. Defaults to 2 s.
    pub timeout: Duration,
    /// Largest JWKS document read. Defaults to 256 KiB.
    pub max_body_bytes: usize,
    /// Most usable keys kept per issuer; the rest of a larger set is ignored. Defaults to 100.
    pub max_keys: usize,
    /// Lifetime of fetched keys without `Cache-Control: max-age`. Defaults to 10 min.
    pub default_ttl: Duration,
    /// `max-age` (and `no-store`/`no-cache`) is raised to at least this. Defaults to 1 min.
    pub min_ttl: Duration,
    /// `max-age` is lowered to at most this. Defaults to 24 h.
    pub max_ttl: Duration,
    /// At most one fetch per issuer in this time, except the one that renews expired keys: an
    /// unknown `kid` or a failed fetch waits this long before the next try. Defaults to 30 s.
    pub refetch_cooldown: Duration,
    /// How long past their lifetime keys keep serving while fetches fail. Defaults to 24 h.
    pub max_stale: Duration,
    /// Name resolution; `None` is the system resolver. Either way the address rule applies.
    pub lookup: Option<Arc<dyn HostLookup>>,
}

impl KeySourceSettings {
    /// The production values, with `allow_insecure` from the configuration.
    pub fn new(allow_insecure: bool) -> KeySourceSettings {
        KeySourceSettings {
            allow_insecure,
            timeout: Duration::from_secs(2),
            max_body_bytes: 256 * 1024,
            max_keys: 100,
            default_ttl: Duration::from_secs(10 * 60),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 60 * 60),
            refetch_cooldown: Duration::from_secs(30),
            max_stale: Duration::from_secs(24 * 60 * 60),
            lookup: None,
        }
    }
}

impl Default for KeySourceSettings {
    fn default() -> KeySourceSettings {
        KeySourceSettings::new(false)
    }
}

impl std::fmt::Debug for KeySourceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySourceSettings")
            .field("allow_insecure", &self.allow_insecure)
            .field("timeout", &self.timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_keys", &self.max_keys)
            .field("default_ttl", &self.default_ttl)
            .field("min_ttl", &self.min_ttl)
            .field("max_ttl", &self.max_ttl)
            .field("refetch_cooldown", &self.refetch_cooldown)
            .field("max_stale", &self.max_stale)
            .field("lookup", &self.lookup.as_ref().map(|_| "custom"))
            .finish()
    }
}

/// The verification keys of every trusted issuer, for one warm function.
pub struct KeySource {
    jwks: JwksCache,
    /// Parsed certificate keys per issuer id, with the PEM they came from.
    certificates: Mutex<HashMap<String, (String, Arc<VerificationKey>)>>,
}

impl KeySource {
    /// Production settings (see [`KeySourceSettings::new`]). Builds the one HTTP client; no
    /// network access happens until keys are asked for.
    ///
    /// # Panics
    /// When the TLS backend cannot be initialised (a broken build, not a run-time condition).
    pub fn new(allow_insecure: bool) -> KeySource {
        KeySource::with_settings(KeySourceSettings::new(allow_insecure))
    }

    /// Like [`KeySource::new`] with every limit and lifetime chosen by the caller.
    ///
    /// # Panics
    /// As [`KeySource::new`].
    pub fn with_settings(settings: KeySourceSettings) -> KeySource {
        let lookup = settings
            .lookup
            .clone()
            .unwrap_or_else(|| Arc::new(SystemLookup));
        let fetcher = Fetcher::new(
            lookup,
            settings.allow_insecure,
            settings.timeout,
            settings.max_body_bytes,
        )
        .expect("the JWKS HTTP client builds");
        KeySource {
            jwks: JwksCache::new(fetcher, settings),
            certificates: Mutex::new(HashMap::new()),
        }
    }

    /// The keys of `issuer` that may verify a token whose protected header has `kid` and
    /// `alg`; the caller tries each and accepts the token if one verifies it.
    ///
    /// JWKS issuers: cached keys while fresh; a `kid` the cache lacks triggers a refetch, at most
    /// one per issuer per `refetch_cooldown`, shared by concurrent callers; when a fetch fails
    /// the last good keys keep serving for `max_stale`. Certificate issuers: the certificate's
    /// key, whatever the `kid`. A token without `kid` may be verified by any key that fits
    /// `alg`. A `kid` longer than [`MAX_KID_BYTES`] matches nothing.
    pub async fn keys_for(
        &self,
        issuer: &TrustedIssuer,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<Arc<VerificationKey>>, KeyError> {
        if kid.is_some_and(|kid| kid.len() > MAX_KID_BYTES) {
            return Err(KeyError::NoMatchingKey);
        }
        match issuer.key_source() {
            None => Err(KeyError::Misconfigured(format!(
                "trusted issuer {} has not exactly one of jwks_uri and certificate",
                issuer.id
            ))),
            Some(issuer::KeySource::Certificate(certificate)) => {
                let key = self.certificate_key(&issuer.id, &certificate.pem)?;
                match select(&[key], None, alg) {
                    Selection::Found(keys) => Ok(keys),
                    _ => Err(KeyError::NoMatchingKey),
                }
            }
            Some(issuer::KeySource::Jwks(uri)) => {
                self.jwks.keys_for(&issuer.id, uri, kid, alg).await
            }
        }
    }

    fn certificate_key(
        &self,
        issuer_id: &str,
        pem: &str,
    ) -> Result<Arc<VerificationKey>, KeyError> {
        let mut cache = self.certificates.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached_pem, key)) = cache.get(issuer_id)
            && cached_pem == pem
        {
            return Ok(key.clone());
        }
        let key = certificate::certificate_key(pem)
            .and_then(|public| VerificationKey::new(None, None, public).map_err(Into::into))
            .map(Arc::new)
            .map_err(|problem| {
                KeyError::Misconfigured(format!(
                    "trusted issuer {issuer_id}: certificate {problem}"
                ))
            })?;
        cache.insert(issuer_id.to_owned(), (pem.to_owned(), key.clone()));
        Ok(key)
    }
}
