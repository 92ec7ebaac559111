//! DynamoDB storage: the one table of the service and the few operations every record uses.
//! Records are serde structs made into items by `table_item`; the conditions and transaction
//! writes are `table_write`'s (transactions run in `table_transact`), the errors
//! `table_error`'s, the key design `table_keys`'s, all re-exported here. Uniqueness is only ever enforced by conditions and transactions, never by
//! reading first.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, Select, WriteRequest};
use serde::de::DeserializeOwned;

pub use super::table_error::StoreError;
use super::table_error::{built, classify};
pub use super::table_item::{Item, Page, REVISION};
use super::table_item::{decode, is_expired, key_map};
pub use super::table_keys::Key;
use super::table_keys::{EXPIRES_AT, PK, SK};
pub use super::table_write::{Condition, Write};
use crate::domain::now_epoch;

/// DynamoDB allows at most 100 actions in one transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// DynamoDB's `BatchWriteItem` limit.
const BATCH_ITEMS: usize = 25;
/// Tries of a transaction that collided with another one, or of batch deletes left
/// unprocessed under throttling.
pub(super) const ATTEMPTS: u32 = 3;

/// The service's table.
#[derive(Debug, Clone)]
pub struct Table {
    pub(super) client: Client,
    name: String,
}

impl Table {
    pub fn new(client: Client, name: impl Into<String>) -> Table {
        Table {
            client,
            name: name.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Writes `item` under `key` if `condition` holds.
    pub async fn put(&self, key: &Key, item: Item, condition: Condition) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item.with_key(key)))
            .set_condition_expression(condition.expression())
            .set_expression_attribute_names(condition.names())
            .set_expression_attribute_values(condition.values())
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    /// Reads one record (strongly consistent). An item past its `expires_at` counts as absent:
    /// DynamoDB deletes expired items lazily, up to days later.
    pub async fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        self.read(key).await?.map(decode).transpose()
    }

    /// The raw item at `key` (strongly consistent), unless absent or expired.
    async fn read(&self, key: &Key) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output.item.filter(|item| !is_expired(item, now_epoch())))
    }

    /// Reads up to `limit` records of partition `pk` whose sort key starts with `prefix`, after
    /// the sort key `after` (from a previous page). Expired items are left out.
    pub async fn query<T: DeserializeOwned>(
        &self,
        pk: &str,
        prefix: &str,
        limit: i32,
        after: Option<&str>,
    ) -> Result<Page<T>, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.into()))
            .select(Select::AllAttributes)
            .consistent_read(true)
            .limit(limit);
        if let Some(after) = after {
            if !after.starts_with(prefix) {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            }
            request = request
                .exclusive_start_key(PK, AttributeValue::S(pk.into()))
                .exclusive_start_key(SK, AttributeValue::S(after.into()));
        }
        let output = request.send().await.map_err(classify)?;
        let next = output
            .last_evaluated_key
            .and_then(|mut key| key.remove(SK))
            .and_then(|sk| sk.as_s().ok().cloned());
        let now = now_epoch();
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .filter(|item| !is_expired(item, now))
            .map(decode)
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }

    /// Reads every record of partition `pk` whose sort key starts with `prefix`.
    pub async fn query_all<T: DeserializeOwned>(
        &self,
        pk: &str,
        prefix: &str,
    ) -> Result<Vec<T>, StoreError> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page: Page<T> = self.query(pk, prefix, 1000, after.as_deref()).await?;
            all.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// Adds one to the number attribute `counter` of the item at `key` (created if absent,
    /// with `expires_at` as its TTL) and returns the new value, atomically.
    pub async fn increment(
        &self,
        key: &Key,
        counter: &'static str,
        expires_at: i64,
    ) -> Result<u64, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(PK, AttributeValue::S(key.pk.clone()))
            .key(SK, AttributeValue::S(key.sk.clone()))
            .update_expression("ADD #counter :one SET #ttl = if_not_exists(#ttl, :expires)")
            .expression_attribute_names("#counter", counter)
            .expression_attribute_names("#ttl", EXPIRES_AT)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":expires", AttributeValue::N(expires_at.to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(classify)?;
        output
            .attributes
            .and_then(|a| {
                a.get(counter)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
            })
            .ok_or_else(|| StoreError::Corrupt(format!("{counter} missing after increment")))
    }

    /// Deletes one item if `condition` holds.
    pub async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.name)
            .key(PK, AttributeValue::S(key.pk.clone()))
            .key(SK, AttributeValue::S(key.sk.clone()))
            .set_condition_expression(condition.expression())
            .set_expression_attribute_names(condition.names())
            .set_expression_attribute_values(condition.values())
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    /// Reads one record with its [`REVISION`] (strongly consistent).
    pub async fn get_versioned<T: DeserializeOwned>(
        &self,
        key: &Key,
    ) -> Result<Option<(T, Option<u64>)>, StoreError> {
        let Some(item) = self.read(key).await? else {
            return Ok(None);
        };
        let revision = item
            .get(REVISION)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok());
        Ok(Some((decode(item)?, revision)))
    }

    /// Sets the string attribute `name` of the existing item at `key` to `value` unless it is
    /// set already; [`StoreError::ConditionFailed`] when there is no such item.
    pub async fn mark(&self, key: &Key, name: &'static str, value: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key_map(key)))
            .update_expression("SET #mark = if_not_exists(#mark, :value)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#mark", name)
            .expression_attribute_values(":value", AttributeValue::S(value.to_owned()))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    /// Up to `limit` keys of partition `pk`, in sort-key order (strongly consistent).
    pub async fn keys(&self, pk: &str, limit: usize) -> Result<Vec<Key>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .projection_expression("pk, sk")
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(classify)?;
        Ok(output
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| {
                let pk = item.get(PK)?.as_s().ok()?.clone();
                let sk = item.get(SK)?.as_s().ok()?.clone();
                Some(Key { pk, sk })
            })
            .collect())
    }

    /// Deletes `keys` unconditionally with `BatchWriteItem` (not atomically), retrying what
    /// DynamoDB leaves unprocessed under throttling; still unprocessed after [`ATTEMPTS`] tries
    /// is [`StoreError::Unavailable`].
    pub async fn delete_many(&self, keys: &[Key]) -> Result<(), StoreError> {
        for chunk in keys.chunks(BATCH_ITEMS) {
            let mut pending = chunk
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(key_map(key)))
                        .build()
                        .map_err(built)?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let mut attempt = 0;
            while !pending.is_empty() {
                attempt += 1;
                if attempt > ATTEMPTS {
                    return Err(StoreError::Unavailable(
                        "deletes stayed unprocessed (throttled)".into(),
                    ));
                }
                if attempt > 1 {
                    tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                }
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.name, pending)
                    .send()
                    .await
                    .map_err(classify)?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut by_table| by_table.remove(&self.name))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }
}
