//! The trusted-issuer half of the [`AdminStore`]: an issuer and the guards that keep its name
//! and `iss` value unique in the organization are created, changed and deleted in one
//! transaction each.

use serde::{Deserialize, Serialize};

use super::cursor::Listing;
use super::{
    ATTEMPTS, AdminError, AdminStore, ListPage, ORGANIZATION_LIVE, bump_generation,
    concurrent_changes, delete, put,
};
use crate::aws::table::{Condition, StoreError};
use crate::aws::table_keys::{ISSUER_PREFIX, Key, organization_pk};
use crate::domain::input::InputError;
use crate::domain::issuer::TrustedIssuer;

/// A name or `iss` guard: which issuer holds the value.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Guard {
    issuer_id: String,
}

impl AdminStore<'_> {
    /// Creates the issuer and the guards of its name and `iss` value in one transaction.
    pub async fn create_issuer(&self, org: &str, issuer: &TrustedIssuer) -> Result<(), AdminError> {
        let guard = Guard {
            issuer_id: issuer.id.clone(),
        };
        let writes = vec![
            bump_generation(org, ORGANIZATION_LIVE),
            put(
                &Key::trusted_issuer(org, &issuer.id),
                issuer,
                Some(1),
                Condition::Absent,
            )?,
            put(
                &Key::issuer_name_guard(org, &issuer.name),
                &guard,
                None,
                Condition::Absent,
            )?,
            put(
                &Key::issuer_value_guard(org, &issuer.issuer),
                &guard,
                None,
                Condition::Absent,
            )?,
        ];
        match self.table.transact_reporting(writes).await? {
            Ok(()) => Ok(()),
            Err(failed) if failed.contains(&0) => Err(AdminError::NoOrganization),
            Err(failed) if failed.contains(&2) => Err(name_taken()),
            Err(failed) if failed.contains(&3) => Err(issuer_taken()),
            Err(_) => Err(StoreError::Internal("issuer id collision".into()).into()),
        }
    }

    pub async fn issuer(&self, org: &str, id: &str) -> Result<Option<TrustedIssuer>, StoreError> {
        self.table.get(&Key::trusted_issuer(org, id)).await
    }

    /// Up to `limit` issuers in id order, continuing after `cursor`.
    pub async fn list_issuers(
        &self,
        org: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ListPage<TrustedIssuer>, AdminError> {
        let pk = organization_pk(org);
        let listing = Listing {
            pk: &pk,
            prefix: ISSUER_PREFIX,
        };
        self.child_page(org, listing, limit, cursor, |i: &TrustedIssuer| {
            Key::trusted_issuer(org, &i.id)
        })
        .await
    }

    /// Replaces the issuer with `change(current)`, moving the name and `iss` guards in the
    /// same transaction when those values change. Returns the record before and after.
    pub async fn update_issuer(
        &self,
        org: &str,
        id: &str,
        change: impl Fn(&TrustedIssuer) -> Result<TrustedIssuer, InputError>,
    ) -> Result<(TrustedIssuer, TrustedIssuer), AdminError> {
        let key = Key::trusted_issuer(org, id);
        for _ in 0..ATTEMPTS {
            let Some(current) = self.get_versioned::<TrustedIssuer>(&key).await? else {
                return Err(AdminError::NotFound);
            };
            let updated = change(&current.record)?;
            let old = &current.record;
            let guard = Guard {
                issuer_id: id.to_owned(),
            };
            let mut writes = vec![
                bump_generation(org, ORGANIZATION_LIVE),
                put(
                    &key,
                    &updated,
                    Some(current.revision.unwrap_or(0) + 1),
                    Condition::AtRevision(current.revision),
                )?,
            ];
            let mut new_name = None;
            if updated.name != old.name {
                writes.push(delete(
                    &Key::issuer_name_guard(org, &old.name),
                    Condition::None,
                ));
                new_name = Some(writes.len());
                writes.push(put(
                    &Key::issuer_name_guard(org, &updated.name),
                    &guard,
                    None,
                    Condition::Absent,
                )?);
            }
            let mut new_issuer = None;
            if updated.issuer != old.issuer {
                writes.push(delete(
                    &Key::issuer_value_guard(org, &old.issuer),
                    Condition::None,
                ));
                new_issuer = Some(writes.len());
                writes.push(put(
                    &Key::issuer_value_guard(org, &updated.issuer),
                    &guard,
                    None,
                    Condition::Absent,
                )?);
            }
            match self.table.transact_reporting(writes).await? {
                Ok(()) => return Ok((current.record, updated)),
                Err(failed) if failed.contains(&0) => return Err(AdminError::NoOrganization),
                Err(failed) if new_name.is_some_and(|i| failed.contains(&i)) => {
                    return Err(name_taken());
                }
                Err(failed) if new_issuer.is_some_and(|i| failed.contains(&i)) => {
                    return Err(issuer_taken());
                }
                // Changed or deleted since it was read: read it again.
                Err(_) => continue,
            }
        }
        Err(concurrent_changes())
    }

    /// Deletes the issuer and its guards together; returns the deleted record.
    pub async fn delete_issuer(&self, org: &str, id: &str) -> Result<TrustedIssuer, AdminError> {
        let key = Key::trusted_issuer(org, id);
        for _ in 0..ATTEMPTS {
            let Some(current) = self.get_versioned::<TrustedIssuer>(&key).await? else {
                return Err(AdminError::NotFound);
            };
            let issuer = &current.record;
            let writes = vec![
                bump_generation(org, Condition::Present),
                delete(&key, Condition::AtRevision(current.revision)),
                delete(&Key::issuer_name_guard(org, &issuer.name), Condition::None),
                delete(
                    &Key::issuer_value_guard(org, &issuer.issuer),
                    Condition::None,
                ),
            ];
            match self.table.transact_reporting(writes).await? {
                Ok(()) => return Ok(current.record),
                // Without its organization item the issuer is gone with it.
                Err(failed) if failed.contains(&0) => return Err(AdminError::NotFound),
                Err(_) => continue,
            }
        }
        Err(concurrent_changes())
    }
}

fn name_taken() -> AdminError {
    AdminError::Conflict {
        field: "name",
        message: "another trusted token issuer of this organization has this name".into(),
    }
}

fn issuer_taken() -> AdminError {
    AdminError::Conflict {
        field: "issuer",
        message: "another trusted token issuer of this organization has this issuer value".into(),
    }
}
