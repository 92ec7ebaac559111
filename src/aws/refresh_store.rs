//! The [`RefreshStore`] port on the DynamoDB table. Tokens live at `RT#{hash}`, families at
//! `RTF#{id}`, both with the TTL attribute, so expired ones disappear by themselves. A revoked
//! family is deleted; rotation is a compare-and-swap on the family's `active_hash` in the same
//! transaction as the new token. Each access token a family issues is linked to it
//! (`ATF#{jti}`, until the token's `exp`) in the transaction that starts or rotates the family,
//! and listed in the family, so revoking either revokes the other.

use serde::{Deserialize, Serialize};

use crate::aws::revocations::RevokedToken;
use crate::aws::table::{
    ATTEMPTS, Condition, Item, Key, MAX_TRANSACTION_ITEMS, StoreError, Table, Write,
};
use crate::domain::now_epoch;
use crate::domain::refresh_token::{RefreshFamily, RefreshToken};
use crate::domain::revocation::AccessTokenRef;
use crate::ports::{BoxFuture, PortError, RefreshStore};

/// The family an access token came with.
#[derive(Debug, Serialize, Deserialize)]
struct FamilyLink {
    family_id: String,
}

/// The write that links `access_token` to `family_id`.
fn link(access_token: &AccessTokenRef, family_id: &str) -> Result<Write, StoreError> {
    let record = FamilyLink {
        family_id: family_id.to_owned(),
    };
    Ok(Write::Put {
        key: Key::access_token_family(&access_token.jti),
        item: Item::from_record(&record, Some(access_token.exp))?,
        condition: Condition::None,
    })
}

impl RefreshStore for Table {
    fn start_family<'a>(
        &'a self,
        token_hash: &'a str,
        token: &'a RefreshToken,
        family: &'a RefreshFamily,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            let mut writes = vec![
                Write::Put {
                    key: Key::refresh_token(token_hash),
                    item: Item::from_record(token, Some(token.valid_until))?,
                    condition: Condition::Absent,
                },
                Write::Put {
                    key: Key::refresh_family(&token.family_id),
                    item: Item::from_record(family, Some(family.absolute_expires_at))?,
                    condition: Condition::Absent,
                },
            ];
            for access_token in &family.access_tokens {
                writes.push(link(access_token, &token.family_id)?);
            }
            self.transact(writes).await?;
            Ok(())
        })
    }

    fn token<'a>(
        &'a self,
        token_hash: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshToken>, PortError>> {
        Box::pin(async move { Ok(self.get(&Key::refresh_token(token_hash)).await?) })
    }

    fn family<'a>(
        &'a self,
        family_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshFamily>, PortError>> {
        Box::pin(async move { Ok(self.get(&Key::refresh_family(family_id)).await?) })
    }

    fn rotate<'a>(
        &'a self,
        family: &'a RefreshFamily,
        old_hash: &'a str,
        new_hash: &'a str,
        new_token: &'a RefreshToken,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        Box::pin(async move {
            let rotated = RefreshFamily {
                active_hash: new_hash.to_owned(),
                ..family.clone()
            };
            let mut writes = vec![
                Write::Put {
                    key: Key::refresh_family(&new_token.family_id),
                    item: Item::from_record(&rotated, Some(rotated.absolute_expires_at))?,
                    condition: Condition::Equals("active_hash", old_hash.to_owned()),
                },
                Write::Put {
                    key: Key::refresh_token(new_hash),
                    item: Item::from_record(new_token, Some(new_token.valid_until))?,
                    condition: Condition::Absent,
                },
            ];
            if let Some(access_token) = rotated.access_tokens.last() {
                writes.push(link(access_token, &new_token.family_id)?);
            }
            let result = self.transact(writes).await;
            match result {
                Ok(()) => Ok(true),
                Err(StoreError::ConditionFailed) => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
    }

    /// Revokes the family's unexpired access tokens, then deletes the family if it was not
    /// rotated meanwhile (compare-and-swap on `active_hash`); a rotation in between is seen
    /// and its access token revoked on the next pass.
    fn revoke<'a>(&'a self, family_id: &'a str) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            for _ in 0..ATTEMPTS {
                let Some(family) = self
                    .get::<RefreshFamily>(&Key::refresh_family(family_id))
                    .await?
                else {
                    return Ok(());
                };
                let now = now_epoch();
                let mut writes = Vec::new();
                for access_token in family.access_tokens.iter().filter(|t| t.exp > now) {
                    writes.push(Write::Put {
                        key: Key::revoked_access_token(&family.org, &access_token.jti),
                        item: Item::from_record(&RevokedToken {}, Some(access_token.exp))?,
                        condition: Condition::None,
                    });
                }
                // Marks are idempotent: those that do not fit the last transaction go first.
                let last_start = writes.len().saturating_sub(MAX_TRANSACTION_ITEMS - 1);
                let mut last = writes.split_off(last_start);
                for chunk in writes.chunks(MAX_TRANSACTION_ITEMS) {
                    self.transact(chunk.to_vec()).await?;
                }
                last.push(Write::Delete {
                    key: Key::refresh_family(family_id),
                    condition: Condition::Equals("active_hash", family.active_hash.clone()),
                });
                match self.transact(last).await {
                    Ok(()) => return Ok(()),
                    Err(StoreError::ConditionFailed) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(PortError::Unavailable(
                "the refresh family kept rotating while being revoked".into(),
            ))
        })
    }

    fn family_of<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<Option<String>, PortError>> {
        Box::pin(async move {
            let link: Option<FamilyLink> = self.get(&Key::access_token_family(jti)).await?;
            Ok(link.map(|l| l.family_id))
        })
    }

    fn discard<'a>(
        &'a self,
        token_hash: &'a str,
        family_id: &'a str,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.transact(vec![
                Write::Delete {
                    key: Key::refresh_token(token_hash),
                    condition: Condition::None,
                },
                Write::Delete {
                    key: Key::refresh_family(family_id),
                    condition: Condition::None,
                },
            ])
            .await?;
            Ok(())
        })
    }
}
