//! How an AWS SDK error is told to the client: retryable (503) or not (500).

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::ports::PortError;

/// Error codes AWS services use for throttling and transient faults.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "KMSInternalException",
    "DependencyTimeoutException",
    "KeyUnavailableException",
    "TransactionConflictException",
    "TransactionInProgressException",
];

/// Whether an SDK error is worth retrying later (throttling, timeouts, outages), and the code
/// and message to log. Request and response bodies are never included.
pub fn describe_sdk_error<E, R>(error: &SdkError<E, R>) -> (bool, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            (true, error.to_string())
        }
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or("Unknown");
            let message = context.err().message().unwrap_or("");
            (
                RETRYABLE_CODES.contains(&code),
                format!("{code}: {message}"),
            )
        }
        _ => (false, error.to_string()),
    }
}

/// An SDK error as a port error: retryable ones become [`PortError::Unavailable`].
pub fn port_error<E, R>(operation: &str, error: &SdkError<E, R>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match describe_sdk_error(error) {
        (true, detail) => PortError::Unavailable(format!("{operation}: {detail}")),
        (false, detail) => PortError::Internal(format!("{operation}: {detail}")),
    }
}
