//! The table has one definition, in infra/template.yaml. The bootstrapped table in the emulator
//! and the storage layer's attribute names must agree with it.

use crate::common;

use std::collections::BTreeSet;

use common::TestApp;
use serde_yaml::Value;
use trustgate::aws::table_keys::{EXPIRES_AT, PK, SK};

fn template_table() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/infra/template.yaml"))
        .unwrap();
    let template: Value = serde_yaml::from_str(&text).unwrap();
    template["Resources"]["Table"]["Properties"].clone()
}

fn pairs(list: &Value, a: &str, b: &str) -> BTreeSet<(String, String)> {
    list.as_sequence()
        .expect("a list")
        .iter()
        .map(|entry| {
            (
                entry[a].as_str().unwrap().to_owned(),
                entry[b].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn storage_layer_uses_the_templates_key_and_ttl_attributes() {
    let table = template_table();
    let keys = pairs(&table["KeySchema"], "AttributeName", "KeyType");
    assert_eq!(
        keys,
        BTreeSet::from([
            (PK.to_owned(), "HASH".to_owned()),
            (SK.to_owned(), "RANGE".to_owned())
        ])
    );
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(EXPIRES_AT)
    );
    assert_eq!(
        table["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
}

#[tokio::test]
async fn bootstrapped_table_matches_the_template() {
    let app = TestApp::new().await;
    let table = template_table();
    let described = app
        .dynamodb
        .describe_table()
        .table_name(&app.table_name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();

    let key_schema: BTreeSet<(String, String)> = described
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        key_schema,
        pairs(&table["KeySchema"], "AttributeName", "KeyType")
    );

    let attributes: BTreeSet<(String, String)> = described
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        attributes,
        pairs(
            &table["AttributeDefinitions"],
            "AttributeName",
            "AttributeType"
        )
    );

    let template_indexes = table["GlobalSecondaryIndexes"]
        .as_sequence()
        .map_or(0, Vec::len);
    assert_eq!(described.global_secondary_indexes().len(), template_indexes);

    let ttl = app
        .dynamodb
        .describe_time_to_live()
        .table_name(&app.table_name)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(
        ttl.attribute_name(),
        table["TimeToLiveSpecification"]["AttributeName"].as_str()
    );
    assert_eq!(
        ttl.time_to_live_status().map(|s| s.as_str()),
        Some("ENABLED")
    );
}
