//! The [`Lineage`] port on the DynamoDB table: one item per chained exchange, under its
//! parent's `jti` (`ATC#…`), expiring with the child token. Writing it is one `PutItem` (made
//! while the token is signed); reading a parent's children is one `Query`, made only when the
//! parent is revoked.

use crate::aws::table::{Condition, Item, Key, Table};
use crate::aws::table_keys::{CHILD_PREFIX, access_token_children_pk};
use crate::domain::now_epoch;
use crate::domain::organization::OrgName;
use crate::domain::revocation::AccessTokenRef;
use crate::ports::{BoxFuture, Lineage, PortError};

impl Lineage for Table {
    fn record_child<'a>(
        &'a self,
        org: &'a OrgName,
        parent_jti: &'a str,
        child: &'a AccessTokenRef,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            let item = Item::from_record(child, Some(child.exp))?;
            self.put(
                &Key::access_token_child(org.as_str(), parent_jti, &child.jti),
                item,
                Condition::None,
            )
            .await?;
            Ok(())
        })
    }

    fn children<'a>(
        &'a self,
        org: &'a OrgName,
        parent_jti: &'a str,
    ) -> BoxFuture<'a, Result<Vec<AccessTokenRef>, PortError>> {
        Box::pin(async move {
            let pk = access_token_children_pk(org.as_str(), parent_jti);
            let mut children: Vec<AccessTokenRef> = self.query_all(&pk, CHILD_PREFIX).await?;
            // TTL deletion is lazy.
            let now = now_epoch();
            children.retain(|child| child.exp > now);
            Ok(children)
        })
    }
}
