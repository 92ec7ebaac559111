//! The AWS SDK configuration shared by both functions: built once per execution environment,
//! with bounded timeouts and retries so throttling becomes a prompt 503, not a hung request.
//! Building it makes no network call; credentials are resolved on first use.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Attempts per AWS call, the first included (standard mode: exponential backoff with jitter,
/// throttling and transient errors only).
pub const MAX_ATTEMPTS: u32 = 3;

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .load()
        .await
}
