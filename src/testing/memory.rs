//! The stores, the key source and the clock, in memory.

mod lineage;
mod refresh;

pub use lineage::MemoryLineage;
pub use refresh::{MemoryRefreshStore, MemoryRevocations};

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::domain::application::Application;
use crate::domain::ids::{ClientId, IssuerId};
use crate::domain::issuer::{Algorithm, TrustedIssuer};
use crate::domain::organization::OrgName;
use crate::keys::{KeyError, VerificationKey};
use crate::ports::{
    BoxFuture, Clock, ConfigStore, FailureLog, Generation, KeySource, PortError, Read, ReplayLog,
};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A clock that stands still until moved.
#[derive(Debug)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn new(now: i64) -> FixedClock {
        FixedClock(AtomicI64::new(now))
    }

    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Default)]
struct Organization {
    issuers: Vec<TrustedIssuer>,
    applications: HashMap<ClientId, Application>,
    /// A delete has begun: the organization counts as gone, its records are still there.
    deleting: bool,
    /// Moved by every change of an issuer or an application, as the admin store does.
    generation: u64,
}

/// Organizations, their trusted issuers and applications; every read is counted, and a failure
/// can be injected.
#[derive(Default)]
pub struct MemoryConfigStore {
    organizations: Mutex<HashMap<OrgName, Organization>>,
    failure: Mutex<Option<PortError>>,
    reads: AtomicI64,
}

impl MemoryConfigStore {
    pub fn add_organization(&self, org: &OrgName) {
        lock(&self.organizations).entry(org.clone()).or_default();
    }

    pub fn remove_organization(&self, org: &OrgName) {
        lock(&self.organizations).remove(org);
    }

    /// What a delete that stopped halfway leaves (see `crate::aws::admin_store`): the
    /// organization marked, its issuers and applications not yet removed.
    pub fn mark_deleting(&self, org: &OrgName) {
        if let Some(o) = lock(&self.organizations).get_mut(org) {
            o.deleting = true;
        }
    }

    /// Adds or replaces (by `id`) a trusted issuer, creating the organization if needed.
    pub fn put_issuer(&self, org: &OrgName, issuer: TrustedIssuer) {
        let mut organizations = lock(&self.organizations);
        let o = organizations.entry(org.clone()).or_default();
        o.issuers.retain(|i| i.id != issuer.id);
        o.issuers.push(issuer);
        o.generation += 1;
    }

    pub fn remove_issuer(&self, org: &OrgName, id: &str) {
        if let Some(o) = lock(&self.organizations).get_mut(org) {
            o.issuers.retain(|i| i.id != id);
            o.generation += 1;
        }
    }

    /// Adds or replaces (by `client_id`) an application.
    pub fn put_application(&self, org: &OrgName, application: Application) {
        let mut organizations = lock(&self.organizations);
        let id = ClientId::new(application.client_id.as_str());
        let o = organizations.entry(org.clone()).or_default();
        o.applications.insert(id, application);
        o.generation += 1;
    }

    pub fn remove_application(&self, org: &OrgName, client_id: &str) {
        if let Some(o) = lock(&self.organizations).get_mut(org) {
            o.applications.remove(&ClientId::new(client_id));
            o.generation += 1;
        }
    }

    /// Every later call fails with `failure` (or succeeds again with `None`).
    pub fn fail_with(&self, failure: Option<PortError>) {
        *lock(&self.failure) = failure;
    }

    /// Calls answered so far (as DynamoDB reads would be).
    pub fn reads(&self) -> i64 {
        self.reads.load(Ordering::SeqCst)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&HashMap<OrgName, Organization>) -> T,
    ) -> Result<T, PortError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if let Some(failure) = lock(&self.failure).clone() {
            return Err(failure);
        }
        Ok(f(&lock(&self.organizations)))
    }
}

impl ConfigStore for MemoryConfigStore {
    fn generation<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<Option<Generation>, PortError>> {
        let result = self.read(|orgs| {
            orgs.get(org)
                .filter(|o| !o.deleting)
                .map(|o| Generation(o.generation))
        });
        Box::pin(std::future::ready(result))
    }

    fn issuers<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<Arc<Vec<TrustedIssuer>>, PortError>> {
        let result = self
            .read(|orgs| Arc::new(orgs.get(org).map(|o| o.issuers.clone()).unwrap_or_default()));
        Box::pin(std::future::ready(result))
    }

    fn issuer<'a>(
        &'a self,
        org: &'a OrgName,
        id: &'a IssuerId,
        _read: Read,
    ) -> BoxFuture<'a, Result<Option<Arc<TrustedIssuer>>, PortError>> {
        let result = self.read(|orgs| {
            orgs.get(org)
                .and_then(|o| o.issuers.iter().find(|i| i.id == id.as_str()))
                .cloned()
                .map(Arc::new)
        });
        Box::pin(std::future::ready(result))
    }

    fn application<'a>(
        &'a self,
        org: &'a OrgName,
        client_id: &'a ClientId,
        _read: Read,
    ) -> BoxFuture<'a, Result<Option<Arc<Application>>, PortError>> {
        let result = self.read(|orgs| {
            orgs.get(org)
                .and_then(|o| o.applications.get(client_id))
                .cloned()
                .map(Arc::new)
        });
        Box::pin(std::future::ready(result))
    }

    fn organization_exists<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        let result = self.read(|orgs| orgs.get(org).is_some_and(|o| !o.deleting));
        Box::pin(std::future::ready(result))
    }
}

/// Seen `jti`s until they expire by the clock.
pub struct MemoryReplayLog {
    clock: Arc<dyn Clock>,
    seen: Mutex<HashMap<(OrgName, IssuerId, String), i64>>,
}

impl MemoryReplayLog {
    pub fn new(clock: Arc<dyn Clock>) -> MemoryReplayLog {
        MemoryReplayLog {
            clock,
            seen: Mutex::default(),
        }
    }

    /// How many `jti`s are remembered (expired or not).
    pub fn len(&self) -> usize {
        lock(&self.seen).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReplayLog for MemoryReplayLog {
    fn record_jti<'a>(
        &'a self,
        org: &'a OrgName,
        issuer_id: &'a IssuerId,
        jti: &'a str,
        expires_at: i64,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        let now = self.clock.now();
        let mut seen = lock(&self.seen);
        let key = (org.clone(), issuer_id.clone(), jti.to_owned());
        let first = seen.get(&key).is_none_or(|until| *until <= now);
        if first {
            seen.insert(key, expires_at);
        }
        Box::pin(std::future::ready(Ok(first)))
    }

    fn seen<'a>(
        &'a self,
        org: &'a OrgName,
        issuer_id: &'a IssuerId,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        let now = self.clock.now();
        let key = (org.clone(), issuer_id.clone(), jti.to_owned());
        let seen = lock(&self.seen).get(&key).is_some_and(|until| *until > now);
        Box::pin(std::future::ready(Ok(seen)))
    }

    fn forget_jti<'a>(
        &'a self,
        org: &'a OrgName,
        issuer_id: &'a IssuerId,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        lock(&self.seen).remove(&(org.clone(), issuer_id.clone(), jti.to_owned()));
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Failure counts per client, source and window.
#[derive(Default)]
pub struct MemoryFailureLog {
    counts: Mutex<HashMap<(OrgName, ClientId, String, i64), u64>>,
}

impl MemoryFailureLog {
    /// Failures counted so far, every client and window together.
    pub fn total(&self) -> u64 {
        lock(&self.counts).values().sum()
    }
}

impl FailureLog for MemoryFailureLog {
    fn record_failure<'a>(
        &'a self,
        org: &'a OrgName,
        client_id: &'a ClientId,
        source: &'a str,
        window_start: i64,
        _window_end: i64,
    ) -> BoxFuture<'a, Result<u64, PortError>> {
        let mut counts = lock(&self.counts);
        let count = counts
            .entry((
                org.clone(),
                client_id.clone(),
                source.to_owned(),
                window_start,
            ))
            .or_default();
        *count += 1;
        Box::pin(std::future::ready(Ok(*count)))
    }
}

/// What a key source answers for one issuer.
pub type Keys = Result<Vec<Arc<VerificationKey>>, KeyError>;

/// The verification keys of each trusted issuer (by issuer id), or a failure to give them.
#[derive(Default)]
pub struct MemoryKeySource {
    keys: Mutex<HashMap<String, Keys>>,
}

impl MemoryKeySource {
    pub fn set(&self, issuer_id: &str, keys: Keys) {
        lock(&self.keys).insert(issuer_id.to_owned(), keys);
    }
}

impl KeySource for MemoryKeySource {
    /// The issuer's keys that fit `alg` and, when the token names one, `kid`.
    fn keys_for<'a>(
        &'a self,
        issuer: &'a TrustedIssuer,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> BoxFuture<'a, Result<Vec<Arc<VerificationKey>>, KeyError>> {
        let result = match lock(&self.keys).get(&issuer.id) {
            None => Err(KeyError::Misconfigured(format!(
                "no keys for {}",
                issuer.id
            ))),
            Some(Err(e)) => Err(e.clone()),
            Some(Ok(keys)) => {
                let fitting: Vec<_> = keys
                    .iter()
                    .filter(|k| k.fits(alg) && (kid.is_none() || k.kid.as_deref() == kid))
                    .cloned()
                    .collect();
                if fitting.is_empty() {
                    Err(KeyError::NoMatchingKey)
                } else {
                    Ok(fitting)
                }
            }
        };
        Box::pin(std::future::ready(result))
    }
}
