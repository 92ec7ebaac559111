//! The storage layer against the emulator: conditions, transactions, queries and the TTL.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{TestApp, unique};
use serde::{Deserialize, Serialize};
use trustgate::aws::table::{Condition, Item, Key, StoreError, Write};
use trustgate::aws::table_keys::{EXPIRES_AT, organization_pk};
use trustgate::domain::now_epoch as now;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    name: String,
    count: u32,
}

fn record(name: &str, count: u32) -> Record {
    Record {
        name: name.into(),
        count,
    }
}

fn item(r: &Record) -> Item {
    Item::from_record(r, None).unwrap()
}

#[tokio::test]
async fn conditional_put_refuses_an_existing_item_and_keeps_the_first() {
    let app = TestApp::new().await;
    let key = Key::organization(&unique("org"));
    app.table
        .put(&key, item(&record("first", 1)), Condition::Absent)
        .await
        .unwrap();

    let second = app
        .table
        .put(&key, item(&record("second", 2)), Condition::Absent)
        .await;
    assert!(
        matches!(second, Err(StoreError::ConditionFailed)),
        "{second:?}"
    );

    let stored: Option<Record> = app.table.get(&key).await.unwrap();
    assert_eq!(stored, Some(record("first", 1)));
}

#[tokio::test]
async fn get_of_a_missing_item_is_none() {
    let app = TestApp::new().await;
    let missing: Option<Record> = app
        .table
        .get(&Key::organization(&unique("nobody")))
        .await
        .unwrap();
    assert_eq!(missing, None);
}

#[tokio::test]
async fn query_returns_only_the_prefix_in_pages() {
    let app = TestApp::new().await;
    let org = unique("org");
    for id in ["a", "b", "c"] {
        let key = Key::trusted_issuer(&org, id);
        app.table
            .put(&key, item(&record(id, 0)), Condition::Absent)
            .await
            .unwrap();
    }
    let app_key = Key::application(&org, "client");
    app.table
        .put(&app_key, item(&record("app", 0)), Condition::Absent)
        .await
        .unwrap();

    let pk = organization_pk(&org);
    let first = app
        .table
        .query::<Record>(&pk, "TTI#", 2, None)
        .await
        .unwrap();
    assert_eq!(first.items, vec![record("a", 0), record("b", 0)]);
    let next = first.next.expect("a second page");
    let second = app
        .table
        .query::<Record>(&pk, "TTI#", 2, Some(&next))
        .await
        .unwrap();
    assert_eq!(second.items, vec![record("c", 0)]);

    let all = app.table.query_all::<Record>(&pk, "TTI#").await.unwrap();
    assert_eq!(all.len(), 3);
    let apps = app.table.query_all::<Record>(&pk, "APP#").await.unwrap();
    assert_eq!(apps, vec![record("app", 0)]);
}

#[tokio::test]
async fn ttl_attribute_is_written_and_an_expired_item_reads_as_absent() {
    let app = TestApp::new().await;
    let live = Key::refresh_token(&unique("live"));
    let expired = Key::refresh_token(&unique("expired"));
    let later = now() + 3600;
    app.table
        .put(
            &live,
            Item::from_record(&record("live", 0), Some(later)).unwrap(),
            Condition::Absent,
        )
        .await
        .unwrap();
    app.table
        .put(
            &expired,
            Item::from_record(&record("old", 0), Some(now() - 1)).unwrap(),
            Condition::Absent,
        )
        .await
        .unwrap();

    let raw = app
        .dynamodb
        .get_item()
        .table_name(&app.table_name)
        .key("pk", AttributeValue::S(live.pk.clone()))
        .key("sk", AttributeValue::S(live.sk.clone()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        raw.get(EXPIRES_AT),
        Some(&AttributeValue::N(later.to_string()))
    );

    assert_eq!(
        app.table.get::<Record>(&live).await.unwrap(),
        Some(record("live", 0))
    );
    assert_eq!(app.table.get::<Record>(&expired).await.unwrap(), None);
}

#[tokio::test]
async fn a_transaction_with_one_failed_guard_writes_nothing() {
    let app = TestApp::new().await;
    let org = unique("org");
    let guard = Key::issuer_name_guard(&org, "taken");
    app.table
        .put(&guard, item(&record("guard", 0)), Condition::Absent)
        .await
        .unwrap();

    let issuer = Key::trusted_issuer(&org, "new");
    let result = app
        .table
        .transact(vec![
            Write::Put {
                key: issuer.clone(),
                item: item(&record("new", 0)),
                condition: Condition::Absent,
            },
            Write::Put {
                key: guard.clone(),
                item: item(&record("guard", 1)),
                condition: Condition::Absent,
            },
        ])
        .await;
    assert!(
        matches!(result, Err(StoreError::ConditionFailed)),
        "{result:?}"
    );
    assert_eq!(app.table.get::<Record>(&issuer).await.unwrap(), None);
    assert_eq!(
        app.table.get::<Record>(&guard).await.unwrap(),
        Some(record("guard", 0))
    );
}

#[tokio::test]
async fn conditional_delete_of_a_missing_item_fails_and_a_present_one_goes() {
    let app = TestApp::new().await;
    let key = Key::application(&unique("org"), "c1");
    let missing = app.table.delete(&key, Condition::Present).await;
    assert!(
        matches!(missing, Err(StoreError::ConditionFailed)),
        "{missing:?}"
    );

    app.table
        .put(&key, item(&record("app", 0)), Condition::Absent)
        .await
        .unwrap();
    app.table.delete(&key, Condition::Present).await.unwrap();
    assert_eq!(app.table.get::<Record>(&key).await.unwrap(), None);
}

#[tokio::test]
async fn a_missing_table_is_a_permanent_error_not_a_retryable_one() {
    let app = TestApp::new().await;
    let table = trustgate::aws::table::Table::new(app.dynamodb.clone(), unique("no-such-table"));
    let err = table
        .get::<Record>(&Key::organization("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Internal(_)), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn compare_and_swap_succeeds_once_for_the_expected_value() {
    let app = TestApp::new().await;
    let key = Key::refresh_family(&unique("family"));
    app.table
        .put(&key, item(&record("v1", 1)), Condition::Absent)
        .await
        .unwrap();

    let expect_v1 = || Condition::Equals("name", "v1".into());
    app.table
        .put(&key, item(&record("v2", 2)), expect_v1())
        .await
        .unwrap();
    let again = app
        .table
        .put(&key, item(&record("v3", 3)), expect_v1())
        .await;
    assert!(
        matches!(again, Err(StoreError::ConditionFailed)),
        "{again:?}"
    );
    assert_eq!(
        app.table.get::<Record>(&key).await.unwrap(),
        Some(record("v2", 2))
    );

    let missing = Key::refresh_family(&unique("missing"));
    let absent = app
        .table
        .put(
            &missing,
            item(&record("x", 0)),
            Condition::Equals("name", "x".into()),
        )
        .await;
    assert!(
        matches!(absent, Err(StoreError::ConditionFailed)),
        "{absent:?}"
    );
}
