//! Reading several items in one request (`BatchGetItem`, strongly consistent): the revocation
//! records of a token are one request, whatever their number (at most 100).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use serde::de::DeserializeOwned;

use super::table::{ATTEMPTS, Key, StoreError, Table};
use super::table_error::{built, classify};
use super::table_item::{decode, is_expired, key_map};
use super::table_keys::{PK, SK};
use crate::domain::now_epoch;

/// DynamoDB's `BatchGetItem` limit.
pub const MAX_BATCH_GET: usize = 100;

impl Table {
    /// The records at `keys`, in their order (`None`: absent or expired).
    pub async fn batch_get<T: DeserializeOwned>(
        &self,
        keys: &[Key],
    ) -> Result<Vec<Option<T>>, StoreError> {
        let items = self.batch_get_items(keys).await?;
        items
            .into_iter()
            .map(|i| i.map(BatchItem::record).transpose())
            .collect()
    }

    /// The items at `keys` as [`BatchItem`]s, each read as its own record type. Keys
    /// DynamoDB leaves unprocessed under throttling are asked again, up to [`ATTEMPTS`]
    /// requests in all.
    pub async fn batch_get_items(
        &self,
        keys: &[Key],
    ) -> Result<Vec<Option<BatchItem>>, StoreError> {
        if keys.len() > MAX_BATCH_GET {
            return Err(StoreError::Internal(format!(
                "a batch get holds at most {MAX_BATCH_GET} keys, got {}",
                keys.len()
            )));
        }
        let mut found: HashMap<Key, HashMap<String, AttributeValue>> = HashMap::new();
        let mut pending: Vec<HashMap<String, AttributeValue>> = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            // DynamoDB refuses a batch that names one key twice.
            if !keys[..i].contains(key) {
                pending.push(key_map(key));
            }
        }
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            if attempt > ATTEMPTS {
                return Err(StoreError::Unavailable(
                    "reads stayed unprocessed (throttled)".into(),
                ));
            }
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .map_err(built)?;
            let output = self
                .client
                .batch_get_item()
                .request_items(self.name(), request)
                .send()
                .await
                .map_err(classify)?;
            let items = output
                .responses
                .and_then(|mut by_table| by_table.remove(self.name()))
                .unwrap_or_default();
            for item in items {
                if let Some(key) = key_of(&item) {
                    found.insert(key, item);
                }
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut by_table| by_table.remove(self.name()))
                .map(|k| k.keys)
                .unwrap_or_default();
        }
        let now = now_epoch();
        Ok(keys
            .iter()
            .map(|key| {
                found
                    .get(key)
                    .filter(|item| !is_expired(item, now))
                    .cloned()
                    .map(BatchItem)
            })
            .collect())
    }
}

/// One item of a batch, not yet read as a record.
#[derive(Debug, Clone)]
pub struct BatchItem(HashMap<String, AttributeValue>);

impl BatchItem {
    pub fn record<T: DeserializeOwned>(self) -> Result<T, StoreError> {
        decode(self.0)
    }
}

fn key_of(item: &HashMap<String, AttributeValue>) -> Option<Key> {
    Some(Key {
        pk: item.get(PK)?.as_s().ok()?.clone(),
        sk: item.get(SK)?.as_s().ok()?.clone(),
    })
}
