//! The [`ConfigStore`], [`ReplayLog`] and [`FailureLog`] ports on the DynamoDB table: each call
//! is one request (keys in [`crate::aws::table_keys`]).

use std::sync::Arc;

use crate::aws::table::{Condition, Item, Key, StoreError, Table};
use crate::aws::table_keys::{ISSUER_PREFIX, organization_pk};
use crate::domain::application::Application;
use crate::domain::ids::{ClientId, IssuerId};
use crate::domain::issuer::TrustedIssuer;
use crate::domain::organization::OrgName;
use crate::ports::{BoxFuture, ConfigStore, FailureLog, Generation, PortError, Read, ReplayLog};

/// The part of an organization item the token endpoint needs.
#[derive(serde::Deserialize)]
pub(super) struct OrganizationState {
    #[serde(default)]
    deleting_since: Option<String>,
    /// [`crate::aws::table_keys::CONFIG_GENERATION`]; absent on items written before it existed.
    #[serde(default)]
    config_generation: u64,
}

impl OrganizationState {
    /// The generation, unless a delete has begun.
    pub(super) fn live_generation(&self) -> Option<Generation> {
        self.deleting_since
            .is_none()
            .then_some(Generation(self.config_generation))
    }
}

#[derive(serde::Serialize)]
struct SeenJti<'a> {
    issuer_id: &'a str,
}

/// A seen `jti` as read back (its content does not matter, only that it is there).
#[derive(serde::Deserialize)]
struct SeenJtiItem {}

impl ConfigStore for Table {
    /// The organization item (one strongly consistent `GetItem`): its generation unless it is
    /// gone or being deleted.
    fn generation<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<Option<Generation>, PortError>> {
        Box::pin(async move {
            let key = Key::organization(org.as_str());
            let item = self.get::<OrganizationState>(&key).await?;
            Ok(item.and_then(|o| o.live_generation()))
        })
    }

    fn issuers<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<Arc<Vec<TrustedIssuer>>, PortError>> {
        Box::pin(async move {
            let pk = organization_pk(org.as_str());
            Ok(Arc::new(self.query_all(&pk, ISSUER_PREFIX).await?))
        })
    }

    fn issuer<'a>(
        &'a self,
        org: &'a OrgName,
        id: &'a IssuerId,
        _read: Read,
    ) -> BoxFuture<'a, Result<Option<Arc<TrustedIssuer>>, PortError>> {
        Box::pin(async move {
            let key = Key::trusted_issuer(org.as_str(), id.as_str());
            Ok(self.get(&key).await?.map(Arc::new))
        })
    }

    fn application<'a>(
        &'a self,
        org: &'a OrgName,
        client_id: &'a ClientId,
        _read: Read,
    ) -> BoxFuture<'a, Result<Option<Arc<Application>>, PortError>> {
        Box::pin(async move {
            let key = Key::application(org.as_str(), client_id.as_str());
            Ok(self.get(&key).await?.map(Arc::new))
        })
    }

    /// An organization being deleted (see [`crate::aws::admin_store`]) counts as gone.
    fn organization_exists<'a>(
        &'a self,
        org: &'a OrgName,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        Box::pin(async move {
            let key = Key::organization(org.as_str());
            let item = self.get::<OrganizationState>(&key).await?;
            Ok(item.is_some_and(|o| o.deleting_since.is_none()))
        })
    }
}

impl ReplayLog for Table {
    fn record_jti<'a>(
        &'a self,
        org: &'a OrgName,
        issuer_id: &'a IssuerId,
        jti: &'a str,
        expires_at: i64,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        Box::pin(async move {
            let item = Item::from_record(
                &SeenJti {
                    issuer_id: issuer_id.as_str(),
                },
                Some(expires_at),
            )?;
            // A seen jti whose item outlived its TTL (deletion is lazy) may be overwritten.
            let key = Key::seen_jti(org.as_str(), issuer_id.as_str(), jti);
            match self.put(&key, item, Condition::AbsentOrExpired).await {
                Ok(()) => Ok(true),
                Err(StoreError::ConditionFailed) => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn seen<'a>(
        &'a self,
        org: &'a OrgName,
        issuer_id: &'a IssuerId,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        Box::pin(async move {
            let key = Key::seen_jti(org.as_str(), issuer_id.as_str(), jti);
            Ok(self.get::<SeenJtiItem>(&key).await?.is_some())
        })
    }

    fn forget_jti<'a>(
        &'a self,
        org: &'a OrgName,
        issuer_id: &'a IssuerId,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            let key = Key::seen_jti(org.as_str(), issuer_id.as_str(), jti);
            Ok(self.delete(&key, Condition::None).await?)
        })
    }
}

impl FailureLog for Table {
    fn record_failure<'a>(
        &'a self,
        org: &'a OrgName,
        client_id: &'a ClientId,
        source: &'a str,
        window_start: i64,
        window_end: i64,
    ) -> BoxFuture<'a, Result<u64, PortError>> {
        Box::pin(async move {
            let key = Key::auth_failures(org.as_str(), client_id.as_str(), source, window_start);
            Ok(self.increment(&key, "failures", window_end).await?)
        })
    }
}
