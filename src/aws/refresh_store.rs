//! The [`RefreshStore`] port on the DynamoDB table. Tokens live at `RT#{hash}`, families at
//! `RTF#{id}`, both with the TTL attribute, so expired ones disappear by themselves. A revoked
//! family is deleted; rotation is a compare-and-swap on the family's `active_hash` in the same
//! transaction as the new token.

use crate::aws::table::{Condition, Item, Key, StoreError, Table, Write};
use crate::domain::refresh_token::{RefreshFamily, RefreshToken};
use crate::ports::{BoxFuture, PortError, RefreshStore};

impl RefreshStore for Table {
    fn start_family<'a>(
        &'a self,
        token_hash: &'a str,
        token: &'a RefreshToken,
        family: &'a RefreshFamily,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.transact(vec![
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
            ])
            .await?;
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
            let result = self
                .transact(vec![
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
                ])
                .await;
            match result {
                Ok(()) => Ok(true),
                Err(StoreError::ConditionFailed) => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn revoke<'a>(&'a self, family_id: &'a str) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            Ok(self
                .delete(&Key::refresh_family(family_id), Condition::None)
                .await?)
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
