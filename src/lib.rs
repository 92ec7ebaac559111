//! Trustgate: an OAuth 2.0 Token Exchange (RFC 8693) security token service for AWS Lambda.
//!
//! - [`config`]: every environment variable (README, "Configuration"), parsed once at start.
//! - [`domain`]: pure rules and records (organizations, issuers, applications). No AWS, no HTTP.
//! - [`oauth`]: wire shapes of the token endpoint (form, client authentication, errors).
//! - [`token`]: the token endpoint's use cases, one module each (exchange, refresh, …).
//! - [`ports`]: the async traits the use cases need.
//! - [`aws`]: everything that talks to AWS: SDK set-up, the DynamoDB table and its key design,
//!   the ports' DynamoDB and KMS implementations.
//! - [`keys`]: trusted issuers' verification keys (JWKS fetching and caching, certificates).
//! - [`envelope`]: envelope signing, Trustgate's own signing keys and their rotation.
//! - [`http`]: request → response for the `token` and `admin` functions.
//! - [`cache`]: the time-bounded record cache of warm functions.
//! - [`telemetry`]: logging set-up shared by the binaries; [`metrics`]: AWS
//!   calls counted per request.
//! - [`secret`]: a string type that never prints its value.

pub mod aws;
pub mod cache;
pub mod config;
pub mod domain;
pub mod envelope;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod oauth;
pub mod ports;
pub mod secret;
pub mod telemetry;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod token;
