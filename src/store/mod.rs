//! DynamoDB storage: the one table of the service and the few operations every record uses.
//! Records are serde structs; the key attributes and the TTL are added here, so a record type
//! never carries storage concerns. Uniqueness is only ever enforced by conditions and
//! transactions, never by reading first.

pub mod admin;
pub mod keys;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, Select, TransactWriteItem,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::now_epoch;
pub use keys::Key;
use keys::{EXPIRES_AT, PK, SK};

/// DynamoDB allows at most 100 actions in one transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// What went wrong in storage, and whether trying again later may help.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition (item must or must not exist) did not hold; nothing was written.
    #[error("a write condition did not hold")]
    ConditionFailed,
    /// Throttling, a timeout or a service-side fault: retryable.
    #[error("DynamoDB unavailable: {0}")]
    Unavailable(String),
    /// A fault that retrying will not fix (bad table name, permissions, validation).
    #[error("DynamoDB request failed: {0}")]
    Internal(String),
    /// An item could not be turned into (or out of) its record type.
    #[error("stored item does not fit its record type: {0}")]
    Corrupt(String),
}

impl From<StoreError> for crate::ports::PortError {
    fn from(error: StoreError) -> crate::ports::PortError {
        if error.is_retryable() {
            crate::ports::PortError::Unavailable(error.to_string())
        } else {
            crate::ports::PortError::Internal(error.to_string())
        }
    }
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// A condition on the item a write targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    None,
    /// `attribute_not_exists(pk)`: the write creates the item.
    Absent,
    /// `attribute_exists(pk)`: the item is there.
    Present,
    /// The item is absent or past its `expires_at` (TTL deletion is lazy).
    AbsentOrExpired,
    /// The item is there and its string attribute `.0` equals `.1` (compare-and-swap).
    Equals(&'static str, String),
}

impl Condition {
    fn expression(&self) -> Option<String> {
        match self {
            Condition::None => None,
            Condition::Absent => Some("attribute_not_exists(pk)".into()),
            Condition::Present => Some("attribute_exists(pk)".into()),
            Condition::AbsentOrExpired => {
                Some("attribute_not_exists(pk) OR expires_at <= :now".into())
            }
            Condition::Equals(..) => Some("attribute_exists(pk) AND #attr = :expected".into()),
        }
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        match self {
            Condition::Equals(name, _) => {
                Some(HashMap::from([("#attr".to_owned(), (*name).to_owned())]))
            }
            _ => None,
        }
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        match self {
            Condition::AbsentOrExpired => Some(HashMap::from([(
                ":now".to_owned(),
                AttributeValue::N(now_epoch().to_string()),
            )])),
            Condition::Equals(_, expected) => Some(HashMap::from([(
                ":expected".to_owned(),
                AttributeValue::S(expected.clone()),
            )])),
            _ => None,
        }
    }
}

/// One action of a transaction.
#[derive(Debug, Clone)]
pub enum Write {
    Put {
        key: Key,
        item: Item,
        condition: Condition,
    },
    Delete {
        key: Key,
        condition: Condition,
    },
    Check {
        key: Key,
        condition: Condition,
    },
}

/// A record ready to store: its attributes without the key.
#[derive(Debug, Clone, Default)]
pub struct Item {
    attributes: HashMap<String, AttributeValue>,
}

impl Item {
    /// Serializes `record`; `expires_at` (epoch seconds) becomes the TTL attribute.
    pub fn from_record<T: Serialize>(
        record: &T,
        expires_at: Option<i64>,
    ) -> Result<Item, StoreError> {
        let mut attributes: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        for reserved in [PK, SK, EXPIRES_AT] {
            if attributes.contains_key(reserved) {
                return Err(StoreError::Corrupt(format!(
                    "record uses reserved attribute {reserved}"
                )));
            }
        }
        if let Some(at) = expires_at {
            attributes.insert(EXPIRES_AT.into(), AttributeValue::N(at.to_string()));
        }
        Ok(Item { attributes })
    }

    fn with_key(mut self, key: &Key) -> HashMap<String, AttributeValue> {
        self.attributes
            .insert(PK.into(), AttributeValue::S(key.pk.clone()));
        self.attributes
            .insert(SK.into(), AttributeValue::S(key.sk.clone()));
        self.attributes
    }
}

/// One page of a query: records in sort-key order, and the sort key to continue after.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// The service's table.
#[derive(Debug, Clone)]
pub struct Table {
    client: Client,
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
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .key(PK, AttributeValue::S(key.pk.clone()))
            .key(SK, AttributeValue::S(key.sk.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        match output.item {
            Some(item) if !is_expired(&item, now_epoch()) => decode(item).map(Some),
            _ => Ok(None),
        }
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

    /// Applies every write or none of them. A failed condition on any of them is
    /// [`StoreError::ConditionFailed`] and nothing is written.
    pub async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        if writes.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Internal(format!(
                "a transaction holds at most {MAX_TRANSACTION_ITEMS} writes, got {}",
                writes.len()
            )));
        }
        let items = writes
            .into_iter()
            .map(|write| self.transact_item(write))
            .collect::<Result<Vec<_>, _>>()?;
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(context))
                if matches!(
                    context.err(),
                    TransactWriteItemsError::TransactionCanceledException(e)
                        if e.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
                ) =>
            {
                Err(StoreError::ConditionFailed)
            }
            Err(e) => Err(classify(e)),
        }
    }

    fn transact_item(&self, write: Write) -> Result<TransactWriteItem, StoreError> {
        let built = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Internal(e.to_string());
        let key_map = |key: &Key| {
            HashMap::from([
                (PK.to_owned(), AttributeValue::S(key.pk.clone())),
                (SK.to_owned(), AttributeValue::S(key.sk.clone())),
            ])
        };
        Ok(match write {
            Write::Put {
                key,
                item,
                condition,
            } => TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.name)
                        .set_item(Some(item.with_key(&key)))
                        .set_condition_expression(condition.expression())
                        .set_expression_attribute_names(condition.names())
                        .set_expression_attribute_values(condition.values())
                        .build()
                        .map_err(built)?,
                )
                .build(),
            Write::Delete { key, condition } => TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.name)
                        .set_key(Some(key_map(&key)))
                        .set_condition_expression(condition.expression())
                        .set_expression_attribute_names(condition.names())
                        .set_expression_attribute_values(condition.values())
                        .build()
                        .map_err(built)?,
                )
                .build(),
            Write::Check { key, condition } => TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name(&self.name)
                        .set_key(Some(key_map(&key)))
                        .condition_expression(condition.expression().unwrap_or_else(|| {
                            "attribute_exists(pk) OR attribute_not_exists(pk)".into()
                        }))
                        .set_expression_attribute_names(condition.names())
                        .set_expression_attribute_values(condition.values())
                        .build()
                        .map_err(built)?,
                )
                .build(),
        })
    }
}

fn is_expired(item: &HashMap<String, AttributeValue>, now: i64) -> bool {
    match item
        .get(EXPIRES_AT)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
    {
        Some(at) => at <= now,
        None => false,
    }
}

fn decode<T: DeserializeOwned>(mut item: HashMap<String, AttributeValue>) -> Result<T, StoreError> {
    for attribute in [PK, SK, EXPIRES_AT] {
        item.remove(attribute);
    }
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Sorts an SDK error into conflict, retryable or permanent.
fn classify<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(context) = &error
        && context.err().code() == Some("ConditionalCheckFailedException")
    {
        return StoreError::ConditionFailed;
    }
    match crate::adapters::describe_sdk_error(&error) {
        (true, detail) => StoreError::Unavailable(detail),
        (false, detail) => StoreError::Internal(detail),
    }
}
