//! The per-issuer JWKS cache: when to fetch, when to serve what is cached, and how concurrent
//! callers share one fetch.
//!
//! Each issuer has a slot keyed by issuer id and holding its `jwks_uri`; a changed uri gets a
//! new, empty slot. A slot's state sits behind a plain mutex that is never held across an
//! await; a separate async mutex makes fetches single-flight: the caller that holds it fetches,
//! the others wait and then use its outcome (seen through the `attempts` counter) instead of
//! fetching again. Rules:
//!
//! - Fresh keys (within the `Cache-Control` lifetime) serve without a fetch.
//! - A fetch happens when there are no keys, they expired, or a token's `kid` is unknown; but
//!   within `refetch_cooldown` of the last attempt only the renewal of expired keys after a
//!   successful fetch may go ahead. So an unknown `kid` costs at most one fetch per cooldown,
//!   and a failing endpoint is retried once per cooldown, not per request.
//! - After a failed fetch the last good keys serve until `max_stale` past their lifetime.
//! - No fitting key: [`KeyError::NoMatchingKey`] when the last fetch succeeded (the issuer
//!   really lacks it), [`KeyError::Unavailable`] when it failed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::fetch::Fetcher;
use super::jwks::{max_age_seconds, parse_jwks};
use super::key::{Selection, VerificationKey, select};
use super::{KeyError, KeySourceSettings};
use crate::domain::issuer::{Algorithm, check_jwks_uri};

pub(crate) struct JwksCache {
    fetcher: Fetcher,
    settings: KeySourceSettings,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

struct Slot {
    uri: String,
    state: Mutex<State>,
    flight: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    /// The last good keys.
    keys: Option<Arc<[Arc<VerificationKey>]>>,
    fresh_until: Option<Instant>,
    stale_until: Option<Instant>,
    last_attempt: Option<Instant>,
    last_failed: bool,
    /// Fetch attempts so far: a waiter that sees it changed knows another caller fetched.
    attempts: u64,
}

impl JwksCache {
    pub(crate) fn new(fetcher: Fetcher, settings: KeySourceSettings) -> JwksCache {
        JwksCache {
            fetcher,
            settings,
            slots: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) async fn keys_for(
        &self,
        issuer_id: &str,
        uri: &str,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<Arc<VerificationKey>>, KeyError> {
        let slot = self.slot(issuer_id, uri);
        let seen = {
            let state = lock(&slot.state);
            if !self.should_fetch(&state, Instant::now(), kid, alg) {
                return self.outcome(&state, Instant::now(), kid, alg);
            }
            state.attempts
        };
        let _flight = match slot.flight.try_lock() {
            Ok(flight) => flight,
            Err(_) => {
                // Someone is fetching. Keys that fit already (expired but not stale) serve now
                // rather than after the fetch.
                let served = self.outcome(&lock(&slot.state), Instant::now(), kid, alg);
                if let Ok(keys) = served {
                    return Ok(keys);
                }
                slot.flight.lock().await
            }
        };
        {
            let state = lock(&slot.state);
            if state.attempts != seen {
                return self.outcome(&state, Instant::now(), kid, alg);
            }
        }

        // Checked before every fetch, not on every request: cached keys of a slot were fetched
        // from this very uri, which passed the same check.
        let url = check_jwks_uri(uri, self.settings.allow_insecure).map_err(|problem| {
            KeyError::Misconfigured(format!("trusted issuer {issuer_id}: jwks_uri {problem}"))
        })?;
        let host = url.host_str().unwrap_or_default();
        let result = self.fetcher.fetch(&url).await.map_err(|e| e.to_string());
        let parsed = result.and_then(|fetched| {
            parse_jwks(&fetched.body, self.settings.max_keys)
                .map(|parsed| (parsed, fetched.cache_control))
                .map_err(|e| e.to_string())
        });
        let now = Instant::now();
        let mut state = lock(&slot.state);
        state.attempts += 1;
        state.last_attempt = Some(now);
        match parsed {
            Ok((parsed, cache_control)) => {
                let ttl = lifetime(&self.settings, &cache_control);
                tracing::info!(
                    issuer = issuer_id,
                    host,
                    keys = parsed.keys.len(),
                    skipped = parsed.skipped,
                    truncated = parsed.truncated,
                    ttl_seconds = ttl.as_secs(),
                    "fetched JWKS"
                );
                state.keys = Some(parsed.keys.into());
                state.fresh_until = Some(now + ttl);
                state.stale_until = Some(now + ttl + self.settings.max_stale);
                state.last_failed = false;
            }
            Err(problem) => {
                tracing::warn!(
                    issuer = issuer_id,
                    host,
                    problem,
                    serving_stale =
                        state.keys.is_some() && state.stale_until.is_some_and(|t| now < t),
                    "JWKS fetch failed"
                );
                crate::metrics::jwks_fetch_failed();
                state.last_failed = true;
            }
        }
        self.outcome(&state, now, kid, alg)
    }

    /// The slot of `issuer_id`, replaced by an empty one when its `jwks_uri` changed.
    fn slot(&self, issuer_id: &str, uri: &str) -> Arc<Slot> {
        let mut slots = lock(&self.slots);
        match slots.get(issuer_id) {
            Some(slot) if slot.uri == uri => slot.clone(),
            _ => {
                let slot = Arc::new(Slot {
                    uri: uri.to_owned(),
                    state: Mutex::new(State::default()),
                    flight: tokio::sync::Mutex::new(()),
                });
                slots.insert(issuer_id.to_owned(), slot.clone());
                slot
            }
        }
    }

    fn should_fetch(&self, state: &State, now: Instant, kid: Option<&str>, alg: Algorithm) -> bool {
        let expired = state.fresh_until.is_none_or(|t| now >= t);
        let allowed = match state.last_attempt {
            None => true,
            Some(last) => {
                now >= last + self.settings.refetch_cooldown || (expired && !state.last_failed)
            }
        };
        if !allowed {
            return false;
        }
        match &state.keys {
            None => true,
            Some(_) if expired => true,
            Some(keys) => matches!(select(keys, kid, alg), Selection::Unknown),
        }
    }

    /// The answer from the state as it is, without fetching.
    fn outcome(
        &self,
        state: &State,
        now: Instant,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<Arc<VerificationKey>>, KeyError> {
        let usable = state
            .keys
            .as_ref()
            .filter(|_| state.stale_until.is_some_and(|t| now < t));
        match usable.map(|keys| select(keys, kid, alg)) {
            Some(Selection::Found(keys)) => Ok(keys),
            Some(Selection::Unfit) => Err(KeyError::NoMatchingKey),
            Some(Selection::Unknown) if !state.last_failed => Err(KeyError::NoMatchingKey),
            _ => Err(KeyError::Unavailable {
                retry_after_seconds: self.retry_after(state, now),
            }),
        }
    }

    /// Whole seconds until the next fetch may be tried, at least 1.
    fn retry_after(&self, state: &State, now: Instant) -> u64 {
        let next = state
            .last_attempt
            .map(|last| last + self.settings.refetch_cooldown)
            .unwrap_or(now);
        let wait = next.saturating_duration_since(now);
        (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
    }
}

/// The lifetime of a fetched set: `max-age` clamped to `min_ttl..=max_ttl`, else the default.
fn lifetime(s: &KeySourceSettings, cache_control: &str) -> Duration {
    match max_age_seconds(cache_control) {
        None => s.default_ttl,
        Some(seconds) => Duration::from_secs(seconds).min(s.max_ttl).max(s.min_ttl),
    }
}

/// A poisoned lock only means another caller panicked; the state is still consistent
/// (every update is a handful of assignments).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_honoured_within_a_minute_and_a_day() {
        let production = KeySourceSettings::new(false);
        let minutes = |m: u64| Duration::from_secs(m * 60);
        assert_eq!(lifetime(&production, "public, max-age=120"), minutes(2));
        assert_eq!(lifetime(&production, "max-age=5"), minutes(1));
        assert_eq!(lifetime(&production, "no-store"), minutes(1));
        assert_eq!(lifetime(&production, "max-age=31536000"), minutes(24 * 60));
        assert_eq!(lifetime(&production, ""), minutes(10));
    }
}
