//! The [`ConfigStore`] of a warm function: any store, with the records it reads kept for
//! `TRUSTGATE_CONFIG_CACHE_SECONDS` (see [`TtlCache`]), so a warm exchange reads nothing.
//! [`Read::Fresh`] reads go to the store and renew the cached record.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::TtlCache;
use crate::domain::application::Application;
use crate::domain::ids::{ClientId, IssuerId};
use crate::domain::issuer::TrustedIssuer;
use crate::domain::organization::OrgName;
use crate::ports::{BoxFuture, ConfigStore, PortError, Read};

/// Entries per record cache.
const CACHE_CAPACITY: usize = 10_000;

pub struct CachedConfigStore {
    store: Arc<dyn ConfigStore>,
    issuer_lists: TtlCache<OrgName, Arc<Vec<TrustedIssuer>>>,
    issuers: TtlCache<(OrgName, IssuerId), Option<Arc<TrustedIssuer>>>,
    applications: TtlCache<(OrgName, ClientId), Option<Arc<Application>>>,
    organizations: TtlCache<OrgName, bool>,
}

impl CachedConfigStore {
    pub fn new(store: Arc<dyn ConfigStore>, ttl: Duration) -> CachedConfigStore {
        CachedConfigStore {
            store,
            issuer_lists: TtlCache::new(ttl, CACHE_CAPACITY),
            issuers: TtlCache::new(ttl, CACHE_CAPACITY),
            applications: TtlCache::new(ttl, CACHE_CAPACITY),
            organizations: TtlCache::new(ttl, CACHE_CAPACITY),
        }
    }
}

/// The cached value unless `read` asks for a fresh one; then `load`'s, cached.
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
    fn issuers<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<Arc<Vec<TrustedIssuer>>, PortError>> {
        Box::pin(read_through(
            &self.issuer_lists,
            org.clone(),
            Read::Cached,
            || self.store.issuers(org),
        ))
    }

    fn issuer<'a>(
        &'a self,
        org: &'a OrgName,
        id: &'a IssuerId,
        read: Read,
    ) -> BoxFuture<'a, Result<Option<Arc<TrustedIssuer>>, PortError>> {
        Box::pin(read_through(
            &self.issuers,
            (org.clone(), id.clone()),
            read,
            move || self.store.issuer(org, id, read),
        ))
    }

    fn application<'a>(
        &'a self,
        org: &'a OrgName,
        client_id: &'a ClientId,
        read: Read,
    ) -> BoxFuture<'a, Result<Option<Arc<Application>>, PortError>> {
        Box::pin(read_through(
            &self.applications,
            (org.clone(), client_id.clone()),
            read,
            move || self.store.application(org, client_id, read),
        ))
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
