//! The application half of the [`AdminStore`]. An application's exchange policy names trusted
//! issuers by id: the write that stores it checks, in its own transaction, that each exists
//! (contract: "an unknown id is 400 naming the element").

use super::cursor::Listing;
use super::{
    ATTEMPTS, AdminError, AdminStore, ListPage, ORGANIZATION_LIVE, bump_generation, check,
    concurrent_changes, delete, put,
};
use crate::aws::table::{Condition, StoreError, Write};
use crate::aws::table_keys::{APPLICATION_PREFIX, Key, organization_pk};
use crate::domain::application::Application;
use crate::domain::input::InputError;

impl AdminStore<'_> {
    /// Creates the application, in one transaction with its organization's generation and
    /// the check that every trusted issuer its policy names exists.
    pub async fn create_application(&self, org: &str, app: &Application) -> Result<(), AdminError> {
        let mut writes = vec![
            bump_generation(org, ORGANIZATION_LIVE),
            put(
                &Key::application(org, &app.client_id),
                app,
                Some(1),
                Condition::Absent,
            )?,
        ];
        let named = issuer_checks(org, app, &mut writes);
        match self.table.transact_reporting(writes).await? {
            Ok(()) => Ok(()),
            Err(failed) if failed.contains(&0) => Err(AdminError::NoOrganization),
            Err(failed) => Err(unknown_issuer(&failed, &named)
                .unwrap_or_else(|| StoreError::Internal("client_id collision".into()).into())),
        }
    }

    pub async fn application(
        &self,
        org: &str,
        client_id: &str,
    ) -> Result<Option<Application>, StoreError> {
        self.table.get(&Key::application(org, client_id)).await
    }

    /// Up to `limit` applications in `client_id` order, continuing after `cursor`.
    pub async fn list_applications(
        &self,
        org: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ListPage<Application>, AdminError> {
        let pk = organization_pk(org);
        let listing = Listing {
            pk: &pk,
            prefix: APPLICATION_PREFIX,
        };
        self.child_page(org, listing, limit, cursor, |a: &Application| {
            Key::application(org, &a.client_id)
        })
        .await
    }

    /// Replaces the application with `change(current)` unless it changed meanwhile (then
    /// `change` runs again on the newer record). Returns the record written.
    pub async fn update_application(
        &self,
        org: &str,
        client_id: &str,
        change: impl Fn(&Application) -> Result<Application, InputError>,
    ) -> Result<Application, AdminError> {
        let key = Key::application(org, client_id);
        for _ in 0..ATTEMPTS {
            let Some(current) = self.get_versioned::<Application>(&key).await? else {
                return Err(AdminError::NotFound);
            };
            let updated = change(&current.record)?;
            let revision = current.revision.unwrap_or(0) + 1;
            let mut writes = vec![
                bump_generation(org, ORGANIZATION_LIVE),
                put(
                    &key,
                    &updated,
                    Some(revision),
                    Condition::AtRevision(current.revision),
                )?,
            ];
            let named = issuer_checks(org, &updated, &mut writes);
            match self.table.transact_reporting(writes).await? {
                Ok(()) => return Ok(updated),
                Err(failed) if failed.contains(&0) => return Err(AdminError::NoOrganization),
                Err(failed) if !failed.contains(&1) => {
                    if let Some(error) = unknown_issuer(&failed, &named) {
                        return Err(error);
                    }
                    continue;
                }
                // Changed or deleted since it was read: read it again.
                Err(_) => continue,
            }
        }
        Err(concurrent_changes())
    }

    pub async fn delete_application(&self, org: &str, client_id: &str) -> Result<(), AdminError> {
        let writes = vec![
            bump_generation(org, Condition::Present),
            delete(&Key::application(org, client_id), Condition::Present),
        ];
        match self.table.transact_reporting(writes).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(AdminError::NotFound),
        }
    }
}

/// Appends to `writes` a check that each trusted issuer `app`'s policy names exists; returns
/// the member naming each, in the order of the checks.
fn issuer_checks(org: &str, app: &Application, writes: &mut Vec<Write>) -> Vec<(usize, String)> {
    let mut named = Vec::new();
    for (member, id) in app.exchange_policy().referenced_issuers() {
        named.push((writes.len(), member));
        writes.push(check(&Key::trusted_issuer(org, id), Condition::Present));
    }
    named
}

/// The 400 for the first failed issuer check among `failed`.
fn unknown_issuer(failed: &[usize], named: &[(usize, String)]) -> Option<AdminError> {
    let (_, member) = named.iter().find(|(index, _)| failed.contains(index))?;
    Some(AdminError::Invalid(InputError::field(
        member,
        "is not the id of a trusted token issuer of this organization",
    )))
}
