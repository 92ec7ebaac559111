//! Refresh tokens and families, and the revocation records, in memory: revoking a family
//! marks its access tokens revoked in the same [`MemoryRevocations`], as the table does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use super::lock;
use crate::domain::organization::OrgName;
use crate::domain::refresh_token::{RefreshFamily, RefreshToken};
use crate::domain::revocation::{RevocationQuery, RevocationState, RevocationTarget};
use crate::ports::{BoxFuture, Clock, PortError, RefreshStore, Revocations};

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
