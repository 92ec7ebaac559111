//! The stores, the key source and the clock, in memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::domain::application::Application;
use crate::domain::ids::{ClientId, IssuerId};
use crate::domain::issuer::{Algorithm, TrustedIssuer};
use crate::domain::organization::OrgName;
use crate::domain::refresh_token::{RefreshFamily, RefreshToken};
use crate::domain::revocation::{RevocationQuery, RevocationState, RevocationTarget};
use crate::keys::{KeyError, VerificationKey};
use crate::ports::{
    BoxFuture, Clock, ConfigStore, FailureLog, Generation, KeySource, PortError, Read,
    RefreshStore, ReplayLog, Revocations,
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

/// Revoked access tokens and subject/client revocations; expired ones read as absent.
pub struct MemoryRevocations {
    clock: Arc<dyn Clock>,
    /// (org, jti) → the token's `exp`.
    tokens: Mutex<HashMap<(String, String), i64>>,
    /// (org, what) → `revoked_before` ms; `what` names the subject (and idp) or client.
    principals: Mutex<HashMap<(String, String), i64>>,
    reads: AtomicI64,
}

fn subject_key(sub: &str, idp: Option<&str>) -> String {
    format!("sub\n{sub}\n{}", idp.unwrap_or("*"))
}

impl MemoryRevocations {
    pub fn new(clock: Arc<dyn Clock>) -> MemoryRevocations {
        MemoryRevocations {
            clock,
            tokens: Mutex::default(),
            principals: Mutex::default(),
            reads: AtomicI64::new(0),
        }
    }

    /// What the admin API's revocation writes: `target`'s tokens issued before
    /// `revoked_before_ms` are revoked (a later revocation is kept over an earlier one).
    pub fn revoke(&self, org: &OrgName, target: &RevocationTarget, revoked_before_ms: i64) {
        let what = match target {
            RevocationTarget::Subject { sub, idp } => subject_key(sub, idp.as_deref()),
            RevocationTarget::Client { client_id } => format!("client\n{client_id}"),
        };
        let mut principals = lock(&self.principals);
        let before = principals.entry((org.to_string(), what)).or_default();
        *before = (*before).max(revoked_before_ms);
    }

    /// Revoked access tokens stored (expired or not).
    pub fn revoked_tokens(&self) -> usize {
        lock(&self.tokens).len()
    }

    /// Look-ups answered so far (each one `BatchGetItem` in DynamoDB).
    pub fn reads(&self) -> i64 {
        self.reads.load(Ordering::SeqCst)
    }

    fn mark(&self, org: &str, jti: &str, expires_at: i64) {
        lock(&self.tokens).insert((org.to_owned(), jti.to_owned()), expires_at);
    }
}

impl Revocations for MemoryRevocations {
    fn revoke_access_token<'a>(
        &'a self,
        org: &'a OrgName,
        jti: &'a str,
        expires_at: i64,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        self.mark(org.as_str(), jti, expires_at);
        Box::pin(std::future::ready(Ok(())))
    }

    fn state<'a>(
        &'a self,
        org: &'a OrgName,
        query: RevocationQuery<'a>,
    ) -> BoxFuture<'a, Result<RevocationState, PortError>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let now = self.clock.now();
        let org = org.to_string();
        let token_revoked = query.jti.is_some_and(|jti| {
            lock(&self.tokens)
                .get(&(org.clone(), jti.to_owned()))
                .is_some_and(|&exp| exp > now)
        });
        let principals = lock(&self.principals);
        let revoked_before_ms = [
            subject_key(query.sub, Some(query.idp)),
            subject_key(query.sub, None),
            format!("client\n{}", query.client_id),
        ]
        .into_iter()
        .filter_map(|what| principals.get(&(org.clone(), what)).copied())
        .max();
        Box::pin(std::future::ready(Ok(RevocationState {
            token_revoked,
            revoked_before_ms,
        })))
    }
}

/// Refresh tokens and families; an expired one reads as absent, as with DynamoDB's TTL.
pub struct MemoryRefreshStore {
    clock: Arc<dyn Clock>,
    tokens: Mutex<HashMap<String, RefreshToken>>,
    families: Mutex<HashMap<String, RefreshFamily>>,
    /// Access token `jti` → (family id, the token's `exp`).
    links: Mutex<HashMap<String, (String, i64)>>,
    revocations: Arc<MemoryRevocations>,
    failure: Mutex<Option<PortError>>,
}

impl MemoryRefreshStore {
    /// Revoking a family marks its access tokens revoked in `revocations`.
    pub fn new(clock: Arc<dyn Clock>, revocations: Arc<MemoryRevocations>) -> MemoryRefreshStore {
        MemoryRefreshStore {
            clock,
            tokens: Mutex::default(),
            families: Mutex::default(),
            links: Mutex::default(),
            revocations,
            failure: Mutex::default(),
        }
    }

    fn link(&self, family: &RefreshFamily, family_id: &str, all: bool) {
        let mut links = lock(&self.links);
        let tokens = &family.access_tokens;
        let linked = if all {
            &tokens[..]
        } else {
            &tokens[tokens.len().saturating_sub(1)..]
        };
        for t in linked {
            links.insert(t.jti.clone(), (family_id.to_owned(), t.exp));
        }
    }

    /// Every later call fails with `failure` (or succeeds again with `None`).
    pub fn fail_with(&self, failure: Option<PortError>) {
        *lock(&self.failure) = failure;
    }

    /// Families stored (revoked ones are deleted).
    pub fn families(&self) -> usize {
        lock(&self.families).len()
    }

    fn check(&self) -> Result<(), PortError> {
        lock(&self.failure).clone().map_or(Ok(()), Err)
    }
}

impl RefreshStore for MemoryRefreshStore {
    fn start_family<'a>(
        &'a self,
        token_hash: &'a str,
        token: &'a RefreshToken,
        family: &'a RefreshFamily,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        let result = self.check().and_then(|()| {
            let mut tokens = lock(&self.tokens);
            let mut families = lock(&self.families);
            if tokens.contains_key(token_hash) || families.contains_key(&token.family_id) {
                return Err(PortError::Internal("refresh token or family exists".into()));
            }
            tokens.insert(token_hash.to_owned(), token.clone());
            families.insert(token.family_id.clone(), family.clone());
            self.link(family, &token.family_id, true);
            Ok(())
        });
        Box::pin(std::future::ready(result))
    }

    fn token<'a>(
        &'a self,
        token_hash: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshToken>, PortError>> {
        let now = self.clock.now();
        let result = self.check().map(|()| {
            lock(&self.tokens)
                .get(token_hash)
                .filter(|t| t.valid_until > now)
                .cloned()
        });
        Box::pin(std::future::ready(result))
    }

    fn family<'a>(
        &'a self,
        family_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshFamily>, PortError>> {
        let now = self.clock.now();
        let result = self.check().map(|()| {
            lock(&self.families)
                .get(family_id)
                .filter(|f| f.absolute_expires_at > now)
                .cloned()
        });
        Box::pin(std::future::ready(result))
    }

    fn rotate<'a>(
        &'a self,
        family: &'a RefreshFamily,
        old_hash: &'a str,
        new_hash: &'a str,
        new_token: &'a RefreshToken,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        let result = self.check().map(|()| {
            let mut families = lock(&self.families);
            let Some(stored) = families.get_mut(&new_token.family_id) else {
                return false;
            };
            if stored.active_hash != old_hash {
                return false;
            }
            *stored = RefreshFamily {
                active_hash: new_hash.to_owned(),
                ..family.clone()
            };
            lock(&self.tokens).insert(new_hash.to_owned(), new_token.clone());
            self.link(family, &new_token.family_id, false);
            true
        });
        Box::pin(std::future::ready(result))
    }

    fn revoke<'a>(&'a self, family_id: &'a str) -> BoxFuture<'a, Result<(), PortError>> {
        let now = self.clock.now();
        let result = self.check().map(|()| {
            if let Some(family) = lock(&self.families).remove(family_id) {
                for t in family.access_tokens.iter().filter(|t| t.exp > now) {
                    self.revocations.mark(&family.org, &t.jti, t.exp);
                }
            }
        });
        Box::pin(std::future::ready(result))
    }

    fn family_of<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<Option<String>, PortError>> {
        let now = self.clock.now();
        let result = self.check().map(|()| {
            lock(&self.links)
                .get(jti)
                .filter(|(_, exp)| *exp > now)
                .map(|(family_id, _)| family_id.clone())
        });
        Box::pin(std::future::ready(result))
    }

    fn discard<'a>(
        &'a self,
        token_hash: &'a str,
        family_id: &'a str,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        let result = self.check().map(|()| {
            lock(&self.families).remove(family_id);
            lock(&self.tokens).remove(token_hash);
        });
        Box::pin(std::future::ready(result))
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
