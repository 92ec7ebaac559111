//! What can go wrong in the table, and how an SDK error is sorted into it: a failed write
//! condition, a retryable fault or a permanent one.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

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

pub(super) fn built(error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Internal(error.to_string())
}

/// Sorts an SDK error into conflict, retryable or permanent.
pub(super) fn classify<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(context) = &error
        && context.err().code() == Some("ConditionalCheckFailedException")
    {
        return StoreError::ConditionFailed;
    }
    match crate::aws::sdk_error::describe_sdk_error(&error) {
        (true, detail) => StoreError::Unavailable(detail),
        (false, detail) => StoreError::Internal(detail),
    }
}
