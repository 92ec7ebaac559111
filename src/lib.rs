//! Trustgate: an OAuth 2.0 Token Exchange (RFC 8693) security token service for AWS Lambda.
//!
//! - [`config`]: the environment variables of the contract, parsed once at start.
//! - [`domain`]: pure rules and records (organizations, issuers, applications). No AWS, no HTTP.
//! - [`store`]: the DynamoDB table, its key design and its few operations.
//! - [`keys`]: trusted issuers' verification keys: JWKS fetching and caching, certificate keys.
//! - [`http`]: request → response for the `token` and `admin` functions.
//! - [`aws`], [`telemetry`]: SDK and logging set-up shared by the binaries.
//! - [`secret`]: a string type that never prints its value.

pub mod aws;
pub mod config;
pub mod domain;
pub mod http;
pub mod keys;
pub mod secret;
pub mod store;
pub mod telemetry;
