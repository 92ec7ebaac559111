//! What the admin API stores: organizations, trusted issuers with their uniqueness guards, and
//! applications (`admin_store/applications.rs`), at the keys of [`super::table_keys`]. Issuers and applications are stored exactly as
//! their domain records (the token endpoint reads them back as such) plus a `revision`
//! attribute for optimistic concurrency; organizations carry `deleting_since` while a delete
//! is under way.
//!
//! Every rule that involves more than one item is one condition or one transaction, never a
//! read followed by a write:
//! - a child (issuer, guard, application) is only created in a transaction that checks its
//!   organization exists and is not being deleted;
//! - every write of an issuer or an application (secrets included) increments the
//!   organization's `config_generation` in the same transaction, so a warm token function
//!   sees the change on its next request ([`crate::ports::ConfigStore::generation`]); a new
//!   organization starts at a random generation, so a warm function never mistakes it for a
//!   deleted one of the same name;
//! - an issuer and the guards of its name and `iss` value are created, changed and deleted
//!   together, each guard with `attribute_not_exists(pk)`;
//! - a change is written only if the record's `revision` is the one it was computed from;
//! - deleting an organization first marks it `deleting_since` (so no child can be added), then
//!   deletes its whole partition (batched: nothing can be added meanwhile), then the
//!   organization item, in one transaction with a quarantine item that keeps the name from
//!   being created again for [`NAME_QUARANTINE_SECONDS`] (a create checks it in its own
//!   transaction). A delete that stops halfway is finished by the next one.
//!
//! Lists are paged with opaque cursors the store makes and checks (`admin_store/cursor.rs`),
//! so the HTTP layer never sees a key.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod applications;
mod cursor;
mod issuers;
mod revocations;

use super::table::{Condition, Item, Page, StoreError, Table, Write};
use super::table_keys::{
    CONFIG_GENERATION, Key, ORGANIZATION_PREFIX, ORGANIZATIONS_PK, organization_pk,
};
use crate::domain::input::InputError;
use crate::domain::organization::{NAME_QUARANTINE_SECONDS, Organization};
use crate::domain::{now_epoch, rfc3339};
use cursor::Listing;

/// Attribute marking an organization whose delete has begun (RFC 3339).
pub const DELETING_SINCE: &str = "deleting_since";

/// How often a write computed from a record that changed meanwhile is recomputed.
const ATTEMPTS: u32 = 3;
/// Keys read per query while deleting an organization's partition.
const SWEEP_PAGE: usize = 100;

/// Why an admin write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The organization does not exist, or is being deleted.
    #[error("the organization does not exist")]
    NoOrganization,
    /// The record does not exist.
    #[error("the record does not exist")]
    NotFound,
    /// A uniqueness rule: `field` holds a value another record already has.
    #[error("{field}: {message}")]
    Conflict {
        field: &'static str,
        message: Cow<'static, str>,
    },
    /// The change asked for breaks a rule of the record.
    #[error(transparent)]
    Invalid(#[from] InputError),
    /// A list was handed a cursor it did not make (another list's, or tampered with).
    #[error("not a cursor of this list")]
    BadCursor,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The organization item: the domain record plus the delete marker.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrganizationItem {
    name: String,
    created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deleting_since: Option<String>,
    #[serde(default)]
    config_generation: u64,
}

/// What a deleted organization leaves under its name until `released_at` (also the item's
/// `expires_at`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct QuarantineItem {
    deleted_at: String,
    /// RFC 3339.
    released_at: String,
}

/// The organization exists and no delete has begun.
const ORGANIZATION_LIVE: Condition =
    Condition::Expression("attribute_exists(pk) AND attribute_not_exists(deleting_since)");

/// One page of a list, and the opaque cursor that continues it (`None` on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A record read with its revision.
#[derive(Debug, Clone)]
struct Versioned<T> {
    record: T,
    revision: Option<u64>,
}

/// The admin API's view of the table.
#[derive(Debug, Clone, Copy)]
pub struct AdminStore<'a> {
    table: &'a Table,
}

impl<'a> AdminStore<'a> {
    pub fn new(table: &'a Table) -> AdminStore<'a> {
        AdminStore { table }
    }

    // ---- organizations ----

    /// Creates the organization; [`AdminError::Conflict`] on `name` if one of that name exists
    /// (or is still being deleted), or was deleted less than [`NAME_QUARANTINE_SECONDS`] ago
    /// (the message names when the name is released).
    pub async fn create_organization(&self, org: &Organization) -> Result<(), AdminError> {
        let record = OrganizationItem {
            name: org.name.clone(),
            created_at: org.created_at.clone(),
            deleting_since: None,
            // 48 random bits: below 2^53, so exact wherever the number is read.
            config_generation: u64::from_str_radix(&crate::domain::random_hex(6), 16)
                .unwrap_or_default(),
        };
        let key = Key::organization(&org.name);
        let quarantine = Key::organization_quarantine(&org.name);
        let writes = vec![
            put(&key, &record, None, Condition::Absent)?,
            check(&quarantine, Condition::AbsentOrExpired),
        ];
        let failed = match self.table.transact_reporting(writes).await? {
            Ok(()) => return Ok(()),
            Err(failed) => failed,
        };
        // Only to choose the message; the conditions decided.
        let message: Cow<'static, str> = if failed.contains(&0) {
            let existing: Option<OrganizationItem> = self.table.get(&key).await?;
            match existing.and_then(|o| o.deleting_since) {
                Some(_) => {
                    "an organization of this name is being deleted; retry its DELETE to finish"
                        .into()
                }
                None => "an organization of this name already exists".into(),
            }
        } else {
            let released = self.table.get::<QuarantineItem>(&quarantine).await?;
            let at = released.map_or_else(|| "shortly".to_owned(), |q| q.released_at);
            format!(
                "an organization of this name was deleted; the name is released at {at} \
                 (tokens of the deleted organization may be valid until then)"
            )
            .into()
        };
        Err(AdminError::Conflict {
            field: "name",
            message,
        })
    }

    /// The organization, unless it does not exist or is being deleted.
    pub async fn organization(&self, org: &str) -> Result<Option<Organization>, StoreError> {
        let item: Option<OrganizationItem> = self.table.get(&Key::organization(org)).await?;
        Ok(item
            .filter(|o| o.deleting_since.is_none())
            .map(|o| Organization {
                name: o.name,
                created_at: o.created_at,
            }))
    }

    /// Up to `limit` organizations in name order, continuing after `cursor`. Organizations
    /// being deleted are left out (so a page may hold fewer).
    pub async fn list_organizations(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ListPage<Organization>, AdminError> {
        let listing = Listing {
            pk: ORGANIZATIONS_PK,
            prefix: ORGANIZATION_PREFIX,
        };
        let page: ListPage<OrganizationItem> = self
            .page(listing, limit, cursor, |o: &OrganizationItem| {
                Key::organization(&o.name)
            })
            .await?;
        Ok(ListPage {
            items: page
                .items
                .into_iter()
                .filter(|o| o.deleting_since.is_none())
                .map(|o| Organization {
                    name: o.name,
                    created_at: o.created_at,
                })
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// Deletes the organization and everything it owns (issuers, guards, applications);
    /// returns how many of those items went. Finishes a delete an earlier call began.
    pub async fn delete_organization(&self, org: &str) -> Result<usize, AdminError> {
        let key = Key::organization(org);
        // 1. Mark it, so every child create from now on fails its organization check.
        match self
            .table
            .mark(&key, DELETING_SINCE, &rfc3339(now_epoch()))
            .await
        {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => return Err(AdminError::NotFound),
            Err(e) => return Err(e.into()),
        }
        // 2. Delete the partition, a page of keys at a time, until a (strongly consistent)
        //    query finds nothing left. Batched deletes, not transactions: nothing can be
        //    added meanwhile, each delete is idempotent, and a stop halfway is finished by
        //    the next call (transactions would cost twice the writes, and moto copies the
        //    whole table per transaction item).
        let pk = organization_pk(org);
        let mut removed = 0;
        loop {
            let keys = self.table.keys(&pk, SWEEP_PAGE).await?;
            if keys.is_empty() {
                break;
            }
            self.table.delete_many(&keys).await?;
            removed += keys.len();
        }
        // 3. The organization item itself, and in the same transaction the quarantine of its
        //    name; a parallel delete may have done both already.
        let now = now_epoch();
        let released_at = now + NAME_QUARANTINE_SECONDS;
        let quarantine = QuarantineItem {
            deleted_at: rfc3339(now),
            released_at: rfc3339(released_at),
        };
        let writes = vec![
            delete(
                &key,
                Condition::Expression("attribute_exists(deleting_since)"),
            ),
            Write::Put {
                key: Key::organization_quarantine(org),
                item: Item::from_record(&quarantine, Some(released_at))?,
                condition: Condition::None,
            },
        ];
        // A failed condition: the organization item is gone, so a parallel delete did both.
        let _done_by_a_parallel_delete = self.table.transact_reporting(writes).await?;
        Ok(removed)
    }

    // ---- building blocks ----

    /// One page of `limit` records of an organization's `listing`;
    /// [`AdminError::NoOrganization`] when the organization does not exist (an empty list
    /// would not say so).
    async fn child_page<T: DeserializeOwned>(
        &self,
        org: &str,
        listing: Listing<'_>,
        limit: usize,
        cursor: Option<&str>,
        key: impl Fn(&T) -> Key,
    ) -> Result<ListPage<T>, AdminError> {
        let after = read_cursor(listing, cursor)?;
        if self.organization(org).await?.is_none() {
            return Err(AdminError::NoOrganization);
        }
        self.page_after(listing, limit, after.as_deref(), key).await
    }

    /// One page of `limit` records of `listing`, continuing after `cursor`.
    async fn page<T: DeserializeOwned>(
        &self,
        listing: Listing<'_>,
        limit: usize,
        cursor: Option<&str>,
        key: impl Fn(&T) -> Key,
    ) -> Result<ListPage<T>, AdminError> {
        let after = read_cursor(listing, cursor)?;
        self.page_after(listing, limit, after.as_deref(), key).await
    }

    /// Asks for one more than `limit`, so the cursor is `None` exactly when nothing follows
    /// (unless DynamoDB stopped short, at 1 MB: then it continues where DynamoDB did).
    async fn page_after<T: DeserializeOwned>(
        &self,
        listing: Listing<'_>,
        limit: usize,
        after: Option<&str>,
        key: impl Fn(&T) -> Key,
    ) -> Result<ListPage<T>, AdminError> {
        let ask = i32::try_from(limit + 1).unwrap_or(i32::MAX);
        let mut page: Page<T> = self
            .table
            .query(listing.pk, listing.prefix, ask, after)
            .await?;
        let last = if page.items.len() > limit {
            page.items.truncate(limit);
            page.items.last().map(key)
        } else {
            page.next.map(|sk| Key {
                pk: listing.pk.to_owned(),
                sk,
            })
        };
        Ok(ListPage {
            items: page.items,
            next_cursor: last.map(|last| listing.cursor_after(&last)),
        })
    }

    async fn get_versioned<T: DeserializeOwned>(
        &self,
        key: &Key,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        Ok(self
            .table
            .get_versioned(key)
            .await?
            .map(|(record, revision)| Versioned { record, revision }))
    }
}

fn read_cursor(listing: Listing<'_>, cursor: Option<&str>) -> Result<Option<String>, AdminError> {
    cursor
        .map(|c| listing.read_cursor(c))
        .transpose()
        .map_err(|_| AdminError::BadCursor)
}

/// `record` as an item, with `revision` when the record is versioned.
fn item<T: Serialize>(record: &T, revision: Option<u64>) -> Result<Item, StoreError> {
    let item = Item::from_record(record, None)?;
    Ok(match revision {
        Some(n) => item.with_revision(n),
        None => item,
    })
}

fn put<T: Serialize>(
    key: &Key,
    record: &T,
    revision: Option<u64>,
    condition: Condition,
) -> Result<Write, StoreError> {
    Ok(Write::Put {
        key: key.clone(),
        item: item(record, revision)?,
        condition,
    })
}

fn delete(key: &Key, condition: Condition) -> Write {
    Write::Delete {
        key: key.clone(),
        condition,
    }
}

/// Increments the organization's configuration generation, if `condition` holds of its item
/// (never creating one: every condition used requires it to exist).
fn bump_generation(org: &str, condition: Condition) -> Write {
    Write::Increment {
        key: Key::organization(org),
        attribute: CONFIG_GENERATION,
        condition,
    }
}

fn check(key: &Key, condition: Condition) -> Write {
    Write::Check {
        key: key.clone(),
        condition,
    }
}

fn concurrent_changes() -> AdminError {
    StoreError::Unavailable("the record kept changing while it was being updated".into()).into()
}
