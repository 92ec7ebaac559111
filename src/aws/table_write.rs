//! The write vocabulary of the table: the conditions a write may put on its target item (and
//! the condition expressions they become), and the actions of a transaction.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::table_item::Item;
use super::table_keys::Key;
use crate::domain::now_epoch;

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
    /// The item is there at this [`REVISION`](super::table_item::REVISION) (`None`: written
    /// before revisions existed).
    AtRevision(Option<u64>),
    /// The item is absent, or its number attribute `.0` is below `.1` (a write that only
    /// ever raises a value).
    AbsentOrBelow(&'static str, i64),
    /// Any condition expression that needs no values.
    Expression(&'static str),
}

impl Condition {
    pub(super) fn expression(&self) -> Option<String> {
        match self {
            Condition::None => None,
            Condition::Absent => Some("attribute_not_exists(pk)".into()),
            Condition::Present => Some("attribute_exists(pk)".into()),
            Condition::AbsentOrExpired => {
                Some("attribute_not_exists(pk) OR expires_at <= :now".into())
            }
            Condition::Equals(..) => Some("attribute_exists(pk) AND #attr = :expected".into()),
            Condition::AtRevision(Some(_)) => {
                Some("attribute_exists(pk) AND revision = :revision".into())
            }
            Condition::AtRevision(None) => {
                Some("attribute_exists(pk) AND attribute_not_exists(revision)".into())
            }
            Condition::AbsentOrBelow(..) => {
                Some("attribute_not_exists(pk) OR #attr < :expected".into())
            }
            Condition::Expression(expression) => Some((*expression).into()),
        }
    }

    pub(super) fn names(&self) -> Option<HashMap<String, String>> {
        match self {
            Condition::Equals(name, _) | Condition::AbsentOrBelow(name, _) => {
                Some(HashMap::from([("#attr".to_owned(), (*name).to_owned())]))
            }
            _ => None,
        }
    }

    pub(super) fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        match self {
            Condition::AbsentOrExpired => Some(HashMap::from([(
                ":now".to_owned(),
                AttributeValue::N(now_epoch().to_string()),
            )])),
            Condition::Equals(_, expected) => Some(HashMap::from([(
                ":expected".to_owned(),
                AttributeValue::S(expected.clone()),
            )])),
            Condition::AbsentOrBelow(_, value) => Some(HashMap::from([(
                ":expected".to_owned(),
                AttributeValue::N(value.to_string()),
            )])),
            Condition::AtRevision(Some(revision)) => Some(HashMap::from([(
                ":revision".to_owned(),
                AttributeValue::N(revision.to_string()),
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
    /// Adds one to the number attribute `attribute` of the item (0 when unset).
    Increment {
        key: Key,
        attribute: &'static str,
        condition: Condition,
    },
}
