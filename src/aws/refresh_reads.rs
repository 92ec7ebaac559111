//! The [`RefreshReads`] port on the DynamoDB table: the organization item, the application,
//! and with a refresh token its issuer, its family and the revocations of its subject and
//! client, in one `BatchGetItem` (strongly consistent: a refresh sees every admin change at
//! once without a cache).

use std::sync::Arc;

use super::config_store::OrganizationState;
use super::revocations::Revoked;
use super::table::{Key, Table};
use super::table_batch::BatchItem;
use crate::domain::ids::ClientId;
use crate::domain::organization::OrgName;
use crate::domain::refresh_token::RefreshToken;
use crate::domain::revocation::RevocationState;
use crate::ports::{BoxFuture, PortError, RefreshReads, RefreshSnapshot};

impl RefreshReads for Table {
    fn refresh_snapshot<'a>(
        &'a self,
        org: &'a OrgName,
        client_id: &'a ClientId,
        token: Option<&'a RefreshToken>,
    ) -> BoxFuture<'a, Result<RefreshSnapshot, PortError>> {
        Box::pin(async move {
            let org = org.as_str();
            let mut keys = vec![
                Key::organization(org),
                Key::application(org, client_id.as_str()),
            ];
            if let Some(token) = token {
                keys.extend([
                    Key::trusted_issuer(org, &token.issuer_id),
                    Key::refresh_family(&token.family_id),
                    Key::revoked_subject(org, &token.sub, None),
                    Key::revoked_client(org, &token.client_id),
                ]);
                if let Some(idp) = &token.idp {
                    keys.push(Key::revoked_subject(org, &token.sub, Some(idp)));
                }
            }
            let mut items = self.batch_get_items(&keys).await?.into_iter();
            let organization: Option<OrganizationState> = record(items.next())?;
            let mut snapshot = RefreshSnapshot {
                generation: organization.and_then(|o| o.live_generation()),
                application: record(items.next())?.map(Arc::new),
                ..RefreshSnapshot::default()
            };
            if token.is_some() {
                snapshot.issuer = record(items.next())?.map(Arc::new);
                snapshot.family = record(items.next())?;
                let mut revoked_before = None;
                for item in items {
                    let revoked: Option<Revoked> = record(Some(item))?;
                    revoked_before = revoked_before.max(revoked.and_then(|r| r.revoked_before));
                }
                snapshot.revocations = RevocationState {
                    token_revoked: false,
                    revoked_before_ms: revoked_before,
                };
            }
            Ok(snapshot)
        })
    }
}

/// The record of one batch answer (`None`: absent, expired, or past the end).
fn record<T: serde::de::DeserializeOwned>(
    item: Option<Option<BatchItem>>,
) -> Result<Option<T>, PortError> {
    Ok(item.flatten().map(BatchItem::record).transpose()?)
}
