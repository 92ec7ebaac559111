//! Shared set-up of the integration tests: clients for the emulator that `make test` starts,
//! and unique names so tests sharing the table never see each other's items.
#![allow(dead_code)]

pub mod admin;
pub mod jwks_server;
pub mod keys;
pub mod lambda_runtime;
pub mod stack;

use std::sync::atomic::{AtomicU64, Ordering};

use trustgate::aws::table::Table;

pub struct TestApp {
    pub table: Table,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub kms: aws_sdk_kms::Client,
    pub table_name: String,
}

impl TestApp {
    /// Clients for the emulator named by `AWS_ENDPOINT_URL` and the table in `TRUSTGATE_TABLE`.
    pub async fn new() -> TestApp {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
        assert!(
            endpoint.starts_with("http://127.0.0.1"),
            "integration tests run against the local emulator: use `make test` \
             (AWS_ENDPOINT_URL is {endpoint:?})"
        );
        let table_name =
            std::env::var("TRUSTGATE_TABLE").expect("TRUSTGATE_TABLE is set by make test");
        // The functions' own clients: they count AWS calls per request.
        let sdk = trustgate::aws::sdk_config();
        let dynamodb = trustgate::aws::dynamodb_client(&sdk);
        TestApp {
            table: Table::new(dynamodb.clone(), table_name.clone()),
            kms: trustgate::aws::kms_client(&sdk),
            dynamodb,
            table_name,
        }
    }
}

/// A name no other test (or earlier run against the same emulator) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut random = [0u8; 4];
    aws_lc_rs::rand::fill(&mut random).unwrap();
    format!(
        "{prefix}-{}-{:08x}",
        COUNTER.fetch_add(1, Ordering::Relaxed),
        u32::from_be_bytes(random)
    )
}
