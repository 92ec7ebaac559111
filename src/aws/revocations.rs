//! The [`Revocations`] port on the DynamoDB table: a revoked access token is one item under
//! its `jti` that expires with the token; whether a token is revoked is one `BatchGetItem` of
//! its `jti` item and the subject and client revocations the admin store writes (see
//! `crate::aws::admin_store::revocations`). Nothing grows without bound: every item has a TTL.

use serde::{Deserialize, Serialize};

use crate::aws::table::{Condition, Item, Key, Table};
use crate::domain::organization::OrgName;
use crate::domain::revocation::{RevocationQuery, RevocationState};
use crate::ports::{BoxFuture, PortError, Revocations};

/// A revoked access token: its presence is the record.
#[derive(Debug, Serialize, Deserialize)]
pub struct RevokedToken {}

/// A subject or client revocation: what was issued before `revoked_before` (epoch ms). Read
/// for a revoked access token too, which has no `revoked_before`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Revoked {
    #[serde(default)]
    pub revoked_before: Option<i64>,
}

impl Revocations for Table {
    fn revoke_access_token<'a>(
        &'a self,
        org: &'a OrgName,
        jti: &'a str,
        expires_at: i64,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            let item = Item::from_record(&RevokedToken {}, Some(expires_at))?;
            self.put(
                &Key::revoked_access_token(org.as_str(), jti),
                item,
                Condition::None,
            )
            .await?;
            Ok(())
        })
    }

    fn state<'a>(
        &'a self,
        org: &'a OrgName,
        query: RevocationQuery<'a>,
    ) -> BoxFuture<'a, Result<RevocationState, PortError>> {
        Box::pin(async move {
            let org = org.as_str();
            let keys = [
                Key::revoked_subject(org, query.sub, Some(query.idp)),
                Key::revoked_subject(org, query.sub, None),
                Key::revoked_client(org, query.client_id),
            ];
            let (principals, token) = match query.jti {
                Some(jti) => {
                    let mut all = keys.to_vec();
                    all.push(Key::revoked_access_token(org, jti));
                    let found: Vec<Option<Revoked>> = self.batch_get(&all).await?;
                    (found[..3].to_vec(), found[3].is_some())
                }
                None => (self.batch_get(&keys).await?, false),
            };
            Ok(RevocationState {
                token_revoked: token,
                revoked_before_ms: principals
                    .iter()
                    .flatten()
                    .filter_map(|r| r.revoked_before)
                    .max(),
            })
        })
    }
}
