//! The revocation half of the [`AdminStore`]: revoking every token and refresh family of a
//! subject or a client issued before an instant (contract, "Introspection and revocation").
//! One item per subject (and issuer, or any) or client holds the latest such instant; a write
//! only ever raises it, checked by its own condition, in one transaction with the check that
//! the organization is live. The item lives as long as anything it can revoke.

use super::{AdminError, AdminStore, ORGANIZATION_LIVE, check};
use crate::aws::revocations::Revoked;
use crate::aws::table::{Condition, Item, Write};
use crate::aws::table_keys::{Key, REVOKED_BEFORE};
use crate::domain::revocation::{REVOCATION_TTL_SECONDS, RevocationTarget};

impl AdminStore<'_> {
    /// Revokes what `target` names in `org` issued before `revoked_before_ms` (epoch ms). A
    /// later revocation already stored covers this one, so it stands.
    pub async fn revoke(
        &self,
        org: &str,
        target: &RevocationTarget,
        revoked_before_ms: i64,
    ) -> Result<(), AdminError> {
        let key = match target {
            RevocationTarget::Subject { sub, idp } => {
                Key::revoked_subject(org, sub, idp.as_deref())
            }
            RevocationTarget::Client { client_id } => Key::revoked_client(org, client_id),
        };
        let record = Revoked {
            revoked_before: Some(revoked_before_ms),
        };
        let expires_at = revoked_before_ms.div_euclid(1000) + REVOCATION_TTL_SECONDS;
        let writes = vec![
            check(&Key::organization(org), ORGANIZATION_LIVE),
            Write::Put {
                key,
                item: Item::from_record(&record, Some(expires_at))?,
                condition: Condition::AbsentOrBelow(REVOKED_BEFORE, revoked_before_ms),
            },
        ];
        match self.table.transact_reporting(writes).await? {
            Ok(()) => Ok(()),
            Err(failed) if failed.contains(&0) => Err(AdminError::NoOrganization),
            Err(_) => Ok(()),
        }
    }
}
