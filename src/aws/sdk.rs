//! The AWS SDK configuration shared by both functions: built once per execution environment,
//! with bounded timeouts and retries so throttling becomes a prompt 503, not a hung request.
//! Building it makes no network call. The clients count their calls per request (see
//! [`crate::metrics`]).
//!
//! Everything comes from the environment, as Lambda provides it: credentials from
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (read at each use),
//! the region from `AWS_REGION` (or `AWS_DEFAULT_REGION`), and `AWS_ENDPOINT_URL` for a local
//! emulator, or per service `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_KMS` (which win
//! over it, as everywhere in the SDK). Not the SDK's default chain: its profile, SSO, web-identity and instance-metadata
//! providers never apply in Lambda and were a tenth of each binary. To run the functions
//! locally against real AWS with a profile, export its credentials first
//! (`eval "$(aws configure export-credentials --format env)"`).

use std::collections::HashMap;
use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_kms::config::SharedCredentialsProvider;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use super::http_client::ReqwestHttpClient;
use crate::metrics::AwsCallCounter;

/// Attempts per AWS call, the first included (standard mode: exponential backoff with jitter,
/// throttling and transient errors only).
pub const MAX_ATTEMPTS: u32 = 3;

/// How long connecting to an AWS endpoint may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The global endpoint variable; a service's own is `{ENDPOINT_URL}_{SERVICE ID}`.
const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
/// The SDK service ids of the clients built here, as they appear in variable names.
const SERVICES: [&str; 2] = ["DYNAMODB", "KMS"];

pub fn sdk_config() -> SdkConfig {
    sdk_config_from(|name| std::env::var(name).ok())
}

/// The per-service endpoint variables, handed to the clients through the SDK's own hook
/// (`SdkConfig::service_config`): each client builder then applies the SDK's precedence, its
/// service's variable over `AWS_ENDPOINT_URL`. aws-config's loader does the same, but it also
/// brings the default credential and region chains this module leaves out on purpose.
#[derive(Debug)]
struct ServiceEndpoints(HashMap<String, String>);

impl ServiceEndpoints {
    fn from(var: &impl Fn(&str) -> Option<String>) -> ServiceEndpoints {
        let names = SERVICES.map(|service| format!("{ENDPOINT_URL}_{service}"));
        ServiceEndpoints(
            names
                .into_iter()
                .filter_map(|name| Some((name.clone(), var(&name).filter(|u| !u.is_empty())?)))
                .collect(),
        )
    }
}

impl LoadServiceConfig for ServiceEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        // The SDK's naming: service id upper-cased, spaces as underscores.
        let service = key.service_id().to_uppercase().replace(' ', "_");
        self.0.get(&format!("{}_{service}", key.env())).cloned()
    }
}

/// [`sdk_config`] from the variables `var` gives (tests set them without touching the
/// process environment).
pub fn sdk_config_from(var: impl Fn(&str) -> Option<String>) -> SdkConfig {
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .filter(|region| !region.is_empty())
        .map(Region::new);
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .identity_cache(IdentityCache::lazy().build())
        .http_client(ReqwestHttpClient::new(CONNECT_TIMEOUT))
        .service_config(ServiceEndpoints::from(&var))
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        );
    if let Some(url) = var(ENDPOINT_URL).filter(|url| !url.is_empty()) {
        config = config.endpoint_url(url);
    }
    config.build()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> SdkConfig {
        sdk_config_from(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn region_and_endpoint_come_from_the_environment() {
        let sdk = config(&[
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_REGION", "eu-central-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ]);
        assert_eq!(sdk.region().map(Region::as_ref), Some("eu-central-1"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:4566"));
        let sdk = config(&[("AWS_DEFAULT_REGION", "eu-west-1")]);
        assert_eq!(sdk.region().map(Region::as_ref), Some("eu-west-1"));
        assert_eq!(sdk.endpoint_url(), None, "the service's own endpoint");
        assert!(sdk.credentials_provider().is_some());
        assert_eq!(
            sdk.retry_config().map(|r| r.max_attempts()),
            Some(MAX_ATTEMPTS)
        );
    }

    #[test]
    fn each_service_finds_its_own_endpoint_variable_and_no_other() {
        let sdk = config(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4566"),
            ("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:4567"),
        ]);
        let services = sdk.service_config().expect("the hook is set");
        let key = |service_id| {
            ServiceConfigKey::builder()
                .service_id(service_id)
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .unwrap()
        };
        // The service ids as the generated clients pass them.
        assert_eq!(
            services.load_config(key("DynamoDB")).as_deref(),
            Some("http://127.0.0.1:4566")
        );
        assert_eq!(
            services.load_config(key("KMS")).as_deref(),
            Some("http://127.0.0.1:4567")
        );
        assert_eq!(services.load_config(key("S3")), None);
        let sdk = config(&[("AWS_ENDPOINT_URL_KMS", "")]);
        assert_eq!(sdk.service_config().unwrap().load_config(key("KMS")), None);
    }
}
