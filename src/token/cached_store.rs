//! The [`ConfigStore`] of a warm function. Each organization's records are kept as a
//! [`Snapshot`] labelled with the configuration [`Generation`] read *before* they were loaded,
//! so a snapshot labelled `g` never holds a record older than `g`. The exchange reads the
//! generation once per request, concurrently with its other work, and compares it with the
//! label it decided under: when they differ (an admin change), the snapshot is dropped and the
//! request decided again on records read after the new generation ([`super::exchange`]).
//! Admin changes therefore apply on the next request; `TRUSTGATE_CONFIG_CACHE_SECONDS` only
//! bounds how long records are kept (0: nothing is kept).
//!
//! Without a snapshot (a cold organization) reads go to the store and nothing is kept: no
//! record is cached without a generation it is known to be as new as. [`Read::Fresh`] reads
//! go to the store and renew the snapshot's record (newer than its label: still safe).

use std::sync::Arc;
use std::time::Duration;

use crate::cache::TtlCache;
use crate::domain::application::Application;
use crate::domain::ids::{ClientId, IssuerId};
use crate::domain::issuer::TrustedIssuer;
use crate::domain::organization::OrgName;
use crate::ports::{BoxFuture, ConfigStore, Generation, PortError, Read};

/// Organizations kept; and records of each kind per organization.
const CACHE_CAPACITY: usize = 1_000;

pub struct CachedConfigStore {
    store: Arc<dyn ConfigStore>,
    ttl: Duration,
    snapshots: TtlCache<OrgName, Arc<Snapshot>>,
    /// For the JWKS and discovery routes only (the token path reads the generation instead).
    organizations: TtlCache<OrgName, bool>,
}

/// One organization's records, each loaded after its `generation` was read.
pub struct Snapshot {
    generation: Generation,
    issuer_list: TtlCache<(), Arc<Vec<TrustedIssuer>>>,
    issuers: TtlCache<IssuerId, Option<Arc<TrustedIssuer>>>,
    applications: TtlCache<ClientId, Option<Arc<Application>>>,
}

impl Snapshot {
    fn new(generation: Generation, ttl: Duration) -> Snapshot {
        Snapshot {
            generation,
            issuer_list: TtlCache::new(ttl, 1),
            issuers: TtlCache::new(ttl, CACHE_CAPACITY),
            applications: TtlCache::new(ttl, CACHE_CAPACITY),
        }
    }
}

impl CachedConfigStore {
    pub fn new(store: Arc<dyn ConfigStore>, ttl: Duration) -> CachedConfigStore {
        CachedConfigStore {
            store,
            ttl,
            snapshots: TtlCache::new(ttl, CACHE_CAPACITY),
            organizations: TtlCache::new(ttl, CACHE_CAPACITY),
        }
    }

    /// The generation `org`'s kept records were loaded under; `None` when none are kept.
    pub fn generation_of(&self, org: &OrgName) -> Option<Generation> {
        self.snapshots.get(org).map(|s| s.generation)
    }

    /// Keeps `org`'s records under `generation` from now on, which the caller read before
    /// any record it will read next: the snapshot of that generation, else a new empty one
    /// (the records of any other generation are dropped).
    pub fn adopt(&self, org: &OrgName, generation: Generation) {
        if self.generation_of(org) != Some(generation) {
            let snapshot = Arc::new(Snapshot::new(generation, self.ttl));
            self.snapshots.insert(org.clone(), snapshot);
        }
    }

    /// Drops `org`'s records (it is gone or being deleted).
    pub fn forget(&self, org: &OrgName) {
        self.snapshots.remove(org);
        self.organizations.remove(org);
    }
}

/// The value `cache` keeps unless `read` asks for a fresh one; else `load`'s, kept.
async fn read_through<'a, K, V>(
    cache: &TtlCache<K, V>,
    key: K,
    read: Read,
    load: impl FnOnce() -> BoxFuture<'a, Result<V, PortError>>,
) -> Result<V, PortError>
where
    K: Eq + std::hash::Hash + Clone,
    V: Clone,
{
    if read == Read::Cached
        && let Some(value) = cache.get(&key)
    {
        return Ok(value);
    }
    let value = load().await?;
    cache.insert(key, value.clone());
    Ok(value)
}

impl ConfigStore for CachedConfigStore {
    fn generation<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<Option<Generation>, PortError>> {
        self.store.generation(org)
    }

    fn issuers<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<Arc<Vec<TrustedIssuer>>, PortError>> {
        // The snapshot is taken before the load starts: a record read now is at least as new
        // as the generation that snapshot was labelled with.
        match self.snapshots.get(org) {
            Some(snapshot) => Box::pin(async move {
                let load = || self.store.issuers(org);
                read_through(&snapshot.issuer_list, (), Read::Cached, load).await
            }),
            None => self.store.issuers(org),
        }
    }

    fn issuer<'a>(
        &'a self,
        org: &'a OrgName,
        id: &'a IssuerId,
        read: Read,
    ) -> BoxFuture<'a, Result<Option<Arc<TrustedIssuer>>, PortError>> {
        match self.snapshots.get(org) {
            Some(snapshot) => Box::pin(async move {
                let load = || self.store.issuer(org, id, read);
                read_through(&snapshot.issuers, id.clone(), read, load).await
            }),
            None => self.store.issuer(org, id, read),
        }
    }

    fn application<'a>(
        &'a self,
        org: &'a OrgName,
        client_id: &'a ClientId,
        read: Read,
    ) -> BoxFuture<'a, Result<Option<Arc<Application>>, PortError>> {
        match self.snapshots.get(org) {
            Some(snapshot) => Box::pin(async move {
                let load = || self.store.application(org, client_id, read);
                read_through(&snapshot.applications, client_id.clone(), read, load).await
            }),
            None => self.store.application(org, client_id, read),
        }
    }

    fn organization_exists<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        Box::pin(read_through(
            &self.organizations,
            org.clone(),
            Read::Cached,
            || self.store.organization_exists(org),
        ))
    }
}
