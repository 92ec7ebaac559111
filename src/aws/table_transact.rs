//! DynamoDB transactions on the service's table: every write or none of them, with the
//! writes whose conditions failed named, and collisions with concurrent transactions retried.

use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};

use super::table::{ATTEMPTS, MAX_TRANSACTION_ITEMS, StoreError, Table, Write};
use super::table_error::{built, classify};
use super::table_item::key_map;

impl Table {
    /// Applies every write or none of them. A failed condition on any of them is
    /// [`StoreError::ConditionFailed`] and nothing is written.
    pub async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        match self.transact_reporting(writes).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::ConditionFailed),
        }
    }

    /// Like [`Table::transact`], saying which writes failed their conditions: `Ok(Err(indexes))`
    /// and nothing was written. A transaction that collided with a concurrent one on the same
    /// items (`TransactionConflict`) is tried again, up to [`ATTEMPTS`] times.
    pub async fn transact_reporting(
        &self,
        writes: Vec<Write>,
    ) -> Result<Result<(), Vec<usize>>, StoreError> {
        if writes.is_empty() {
            return Ok(Ok(()));
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
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await
            {
                Ok(_) => return Ok(Ok(())),
                Err(error) => error,
            };
            if let SdkError::ServiceError(context) = &error
                && let TransactWriteItemsError::TransactionCanceledException(cancelled) =
                    context.err()
            {
                let reasons = cancelled.cancellation_reasons();
                let failed: Vec<usize> = reasons
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                    .map(|(i, _)| i)
                    .collect();
                if !failed.is_empty() {
                    return Ok(Err(failed));
                }
                if reasons
                    .iter()
                    .any(|r| r.code() == Some("TransactionConflict"))
                {
                    if attempt < ATTEMPTS {
                        tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                        continue;
                    }
                    return Err(StoreError::Unavailable(
                        "transaction kept colliding with concurrent writes".into(),
                    ));
                }
            }
            return Err(classify(error));
        }
    }

    fn transact_item(&self, write: Write) -> Result<TransactWriteItem, StoreError> {
        Ok(match write {
            Write::Put {
                key,
                item,
                condition,
            } => TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(self.name())
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
                        .table_name(self.name())
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
                        .table_name(self.name())
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
            Write::Increment {
                key,
                attribute,
                condition,
            } => {
                let mut names = condition.names().unwrap_or_default();
                names.insert("#counter".into(), attribute.into());
                let mut values = condition.values().unwrap_or_default();
                values.insert(":one".into(), AttributeValue::N("1".into()));
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(self.name())
                            .set_key(Some(key_map(&key)))
                            .update_expression("ADD #counter :one")
                            .set_condition_expression(condition.expression())
                            .set_expression_attribute_names(Some(names))
                            .set_expression_attribute_values(Some(values))
                            .build()
                            .map_err(built)?,
                    )
                    .build()
            }
        })
    }
}
