//! The [`SigningKeyRecords`] port on the DynamoDB table: the envelope signing keys are the items
//! of one partition ([`Key::signing_key`](crate::aws::table::Key::signing_key)), so the key set
//! is one `Query`. A retired key past its `retire_after` (its TTL) reads as absent.

use crate::aws::table::Table;
use crate::aws::table_keys::{SIGNING_KEY_PREFIX, SIGNING_KEYS_PK};
use crate::domain::envelope_key::StoredKey;
use crate::ports::{BoxFuture, PortError, SigningKeyRecords};

impl SigningKeyRecords for Table {
    fn signing_keys(&self) -> BoxFuture<'_, Result<Vec<StoredKey>, PortError>> {
        Box::pin(async move {
            let keys = self.query_all(SIGNING_KEYS_PK, SIGNING_KEY_PREFIX).await?;
            Ok(keys)
        })
    }
}
