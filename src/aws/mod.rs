//! Everything that talks to AWS, and only that: the SDK set-up shared by both functions, the
//! DynamoDB table with its key design, and the implementations of the ports over DynamoDB and
//! KMS. Nothing outside this folder imports an `aws_sdk_*` crate (tests/infra_template.rs holds
//! each function's IAM grants equal to the calls made here).

pub mod admin_store;
pub mod config_store;
pub mod http_client;
pub mod key_wrapping;
pub mod kms;
pub mod lineage;
pub mod refresh_reads;
pub mod refresh_store;
pub mod revocations;
pub mod sdk;
pub mod sdk_error;
pub mod signing_key_rotation;
pub mod signing_keys;
pub mod table;
pub mod table_batch;
pub mod table_error;
pub mod table_item;
pub mod table_keys;
pub mod table_transact;
pub mod table_write;

pub use sdk::{MAX_ATTEMPTS, dynamodb_client, kms_client, sdk_config, sdk_config_from};
