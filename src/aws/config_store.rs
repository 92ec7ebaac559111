//! The [`ConfigStore`] and [`FailureLog`] ports on the DynamoDB table: each call is one request (see
//! [`crate::aws::table::keys`]).

use crate::domain::application::Application;
use crate::domain::issuer::TrustedIssuer;
use crate::ports::{BoxFuture, ConfigStore, FailureLog, PortError};
use crate::aws::table_keys::{ISSUER_PREFIX, organization_pk};
use crate::aws::table::{Condition, Item, Key, StoreError, Table};

/// The part of an organization item the token endpoint needs.
#[derive(serde::Deserialize)]
struct OrganizationState {
    #[serde(default)]
    deleting_since: Option<String>,
}

#[derive(serde::Serialize)]
struct SeenJti {
    issuer_id: String,
}

impl ConfigStore for Table {
    fn issuers<'a>(&'a self, org: &'a str) -> BoxFuture<'a, Result<Vec<TrustedIssuer>, PortError>> {
        Box::pin(async move { Ok(self.query_all(&organization_pk(org), ISSUER_PREFIX).await?) })
    }

    fn application<'a>(
        &'a self,
        org: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Application>, PortError>> {
        Box::pin(async move { Ok(self.get(&Key::application(org, client_id)).await?) })
    }

    fn issuer<'a>(
        &'a self,
        org: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<TrustedIssuer>, PortError>> {
        Box::pin(async move { Ok(self.get(&Key::trusted_issuer(org, id)).await?) })
    }

    /// An organization being deleted (see [`crate::aws::admin_store`]) counts as gone.
    fn organization_exists<'a>(&'a self, org: &'a str) -> BoxFuture<'a, Result<bool, PortError>> {
        Box::pin(async move {
            let item = self
                .get::<OrganizationState>(&Key::organization(org))
                .await?;
            Ok(item.is_some_and(|o| o.deleting_since.is_none()))
        })
    }

    fn record_jti<'a>(
        &'a self,
        org: &'a str,
        issuer_id: &'a str,
        jti: &'a str,
        expires_at: i64,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        Box::pin(async move {
            let item = Item::from_record(
                &SeenJti {
                    issuer_id: issuer_id.into(),
                },
                Some(expires_at),
            )?;
            // A seen jti whose item outlived its TTL (deletion is lazy) may be overwritten.
            let key = Key::seen_jti(org, issuer_id, jti);
            match self.put(&key, item, Condition::AbsentOrExpired).await {
                Ok(()) => Ok(true),
                Err(StoreError::ConditionFailed) => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn forget_jti<'a>(
        &'a self,
        org: &'a str,
        issuer_id: &'a str,
        jti: &'a str,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            let key = Key::seen_jti(org, issuer_id, jti);
            Ok(self.delete(&key, Condition::None).await?)
        })
    }
}

impl FailureLog for Table {
    fn record_failure<'a>(
        &'a self,
        org: &'a str,
        client_id: &'a str,
        source: &'a str,
        window_start: i64,
        window_end: i64,
    ) -> BoxFuture<'a, Result<u64, PortError>> {
        Box::pin(async move {
            let key = Key::auth_failures(org, client_id, source, window_start);
            Ok(self.increment(&key, "failures", window_end).await?)
        })
    }
}
