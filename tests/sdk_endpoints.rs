//! The SDK's per-service endpoint variables against the emulator: `AWS_ENDPOINT_URL_DYNAMODB`
//! and `AWS_ENDPOINT_URL_KMS` win over `AWS_ENDPOINT_URL`, so DynamoDB and KMS can be served
//! by two emulators (scripts/bench.sh does, to see reads overlap with signing).

use std::collections::HashMap;

use trustgate::aws::table::{Key, Table};
use trustgate::aws::{dynamodb_client, kms_client, sdk_config_from};

/// Nothing listens there (the discard port): a call sent there fails.
const DEAD: &str = "http://127.0.0.1:9";

fn emulator() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("set by scripts/test.sh");
    assert!(endpoint.starts_with("http://127.0.0.1"), "{endpoint}");
    endpoint
}

fn sdk(vars: &[(&str, &str)]) -> aws_config::SdkConfig {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(std::env::var("AWS_REGION").map(|r| ("AWS_REGION".into(), r)))
        .collect();
    sdk_config_from(|name| vars.get(name).cloned())
}

fn table(sdk: &aws_config::SdkConfig) -> Table {
    let name = std::env::var("TRUSTGATE_TABLE").expect("set by scripts/test.sh");
    Table::new(dynamodb_client(sdk), name)
}

async fn kms_answers(sdk: &aws_config::SdkConfig) -> bool {
    let key = std::env::var("TRUSTGATE_SIGNING_KEY").expect("set by scripts/test.sh");
    let described = kms_client(sdk).describe_key().key_id(key).send().await;
    described.is_ok()
}

#[tokio::test]
async fn each_service_variable_wins_over_the_global_endpoint() {
    let emulator = emulator();
    let per_service = sdk(&[
        ("AWS_ENDPOINT_URL", DEAD),
        ("AWS_ENDPOINT_URL_DYNAMODB", &emulator),
        ("AWS_ENDPOINT_URL_KMS", &emulator),
    ]);
    let read = table(&per_service)
        .get::<serde_json::Value>(&Key::organization("no-such-org"))
        .await;
    assert!(matches!(read, Ok(None)), "{read:?}");
    assert!(kms_answers(&per_service).await);

    // The other way round: the global endpoint works, DynamoDB's own variable points nowhere.
    let dynamodb_dead = sdk(&[
        ("AWS_ENDPOINT_URL", &emulator),
        ("AWS_ENDPOINT_URL_DYNAMODB", DEAD),
    ]);
    let read = table(&dynamodb_dead)
        .get::<serde_json::Value>(&Key::organization("no-such-org"))
        .await;
    assert!(read.is_err(), "DynamoDB went to its own (dead) endpoint");
    assert!(kms_answers(&dynamodb_dead).await, "KMS kept the global one");
}
