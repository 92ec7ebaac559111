//! The AWS SDK configuration shared by both functions: built once per execution environment,
//! with bounded timeouts and retries so throttling becomes a prompt 503, not a hung request.
//! Building it makes no network call; credentials are resolved on first use. The clients count
//! their calls per request (see [`crate::metrics`]).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::metrics::AwsCallCounter;

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

/// The DynamoDB client, counting its calls per request.
pub fn dynamodb_client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .interceptor(AwsCallCounter::dynamodb())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// The KMS client, counting its calls per request.
pub fn kms_client(sdk: &SdkConfig) -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::config::Builder::from(sdk)
        .interceptor(AwsCallCounter::kms())
        .build();
    aws_sdk_kms::Client::from_conf(config)
}
