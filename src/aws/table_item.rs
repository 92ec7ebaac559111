//! Records as items: a serde record becomes the attributes of an item, with the key attributes
//! and the TTL added here so a record type never carries storage concerns, and an item read back
//! becomes its record again without them.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::table_error::StoreError;
use super::table_keys::{EXPIRES_AT, Key, PK, SK};

/// Attribute counting the writes of a record, for optimistic concurrency
/// ([`Condition::AtRevision`](super::table_write::Condition::AtRevision),
/// [`Table::get_versioned`](super::table::Table::get_versioned)).
pub const REVISION: &str = "revision";

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
        for reserved in [PK, SK, EXPIRES_AT, REVISION] {
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

    /// Stores `revision` with the record (see
    /// [`Condition::AtRevision`](super::table_write::Condition::AtRevision)).
    pub fn with_revision(mut self, revision: u64) -> Item {
        self.attributes
            .insert(REVISION.into(), AttributeValue::N(revision.to_string()));
        self
    }

    pub(super) fn with_key(mut self, key: &Key) -> HashMap<String, AttributeValue> {
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

pub(super) fn key_map(key: &Key) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

pub(super) fn is_expired(item: &HashMap<String, AttributeValue>, now: i64) -> bool {
    match item
        .get(EXPIRES_AT)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
    {
        Some(at) => at <= now,
        None => false,
    }
}

pub(super) fn decode<T: DeserializeOwned>(
    mut item: HashMap<String, AttributeValue>,
) -> Result<T, StoreError> {
    for attribute in [PK, SK, EXPIRES_AT, REVISION] {
        item.remove(attribute);
    }
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}
