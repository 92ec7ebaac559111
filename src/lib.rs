//! Trustgate: an OAuth 2.0 Token Exchange (RFC 8693) security token service for AWS Lambda.
//!
//! - [`config`]: the environment variables of the contract, parsed once at start.
//! - [`domain`]: pure rules and records (organizations, issuers, applications). No AWS, no HTTP.
//! - [`store`]: the DynamoDB table, its key design and its few operations.
//! - [`oauth`]: wire shapes of the token endpoint (form, client authentication, errors).
//! - [`token_service`]: the token endpoint's use cases (exchange, JWKS, discovery).
//! - [`ports`]: the async traits the use cases need; [`adapters`]: their AWS implementations.
//! - [`keys`]: trusted issuers' verification keys (JWKS fetching and caching, certificates).
//! - [`http`]: request → response for the `token` and `admin` functions.
//! - [`cache`]: the time-bounded record cache of warm functions; [`der`]: a minimal DER reader.
//! - [`aws`], [`telemetry`]: SDK and logging set-up shared by the binaries; [`metrics`]: AWS
//!   calls counted per request.
//! - [`secret`]: a string type that never prints its value.

pub mod adapters;
pub mod aws;
pub mod cache;
pub mod config;
pub mod der;
pub mod domain;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod oauth;
pub mod ports;
pub mod secret;
pub mod store;
pub mod telemetry;
pub mod token_service;
