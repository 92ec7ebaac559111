//! The storage layer against the emulator: conditions, transactions, queries and the TTL.

use crate::common;

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

/// Issuers and applications as they were stored before their settings became a struct of
/// their own (flat attributes, `null` for an unset option): deployed tables hold such items.
mod before_settings_structs {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Application {
        pub client_id: String,
        pub name: String,
        #[serde(rename = "type")]
        pub app_type: String,
        pub grant_types: Vec<String>,
        pub access_token_ttl_seconds: u32,
        pub refresh_token_ttl_seconds: u32,
        pub secret_hash: Option<String>,
        pub enabled: bool,
        pub created_at: String,
        pub updated_at: String,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Certificate {
        pub pem: String,
        pub subject: String,
        pub not_after: String,
        pub sha256_fingerprint: String,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct TrustedIssuer {
        pub id: String,
        pub name: String,
        pub issuer: String,
        pub alias: Option<String>,
        pub jwks_uri: Option<String>,
        pub certificate: Option<Certificate>,
        pub allowed_algorithms: Vec<String>,
        pub clock_skew_seconds: u32,
        pub max_token_age_seconds: Option<u64>,
        pub require_jti: bool,
        pub enabled: bool,
        pub created_at: String,
        pub updated_at: String,
    }
}

#[tokio::test]
async fn records_stored_before_the_settings_structs_read_the_same_both_ways() {
    use trustgate::domain::application::{AppType, Application, GrantType};
    use trustgate::domain::issuer::{Algorithm, TrustedIssuer};
    let app = TestApp::new().await;
    let org = unique("org");
    let old_app = before_settings_structs::Application {
        client_id: "0123456789abcdef0123456789abcdef".into(),
        name: "Portal".into(),
        app_type: "web".into(),
        grant_types: vec!["refresh_token".into()],
        access_token_ttl_seconds: 900,
        refresh_token_ttl_seconds: 600,
        secret_hash: Some("ab".repeat(32)),
        enabled: false,
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-02T00:00:00Z".into(),
    };
    let old_issuer = before_settings_structs::TrustedIssuer {
        id: "fedcba9876543210fedcba9876543210".into(),
        name: "Okta".into(),
        issuer: "https://login.example.com".into(),
        alias: None,
        jwks_uri: None,
        certificate: Some(before_settings_structs::Certificate {
            pem: "-----BEGIN CERTIFICATE-----".into(),
            subject: "CN=x".into(),
            not_after: "2030-01-01T00:00:00Z".into(),
            sha256_fingerprint: "00".repeat(32),
        }),
        allowed_algorithms: vec!["ES256".into()],
        clock_skew_seconds: 0,
        max_token_age_seconds: Some(300),
        require_jti: true,
        enabled: true,
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
    };
    let app_key = Key::application(&org, &old_app.client_id);
    let issuer_key = Key::trusted_issuer(&org, &old_issuer.id);
    for (key, record) in [
        (&app_key, Item::from_record(&old_app, None).unwrap()),
        (&issuer_key, Item::from_record(&old_issuer, None).unwrap()),
    ] {
        app.table.put(key, record, Condition::None).await.unwrap();
    }

    let read: Application = app.table.get(&app_key).await.unwrap().unwrap();
    assert_eq!(read.client_id, old_app.client_id);
    assert_eq!(read.app_type, AppType::Web);
    assert_eq!(read.grant_types, [GrantType::RefreshToken]);
    assert_eq!(
        (
            read.access_token_ttl_seconds,
            read.refresh_token_ttl_seconds
        ),
        (900, 600)
    );
    assert!(!read.enabled);
    assert_eq!(read.secret_hash, old_app.secret_hash);
    let read_issuer: TrustedIssuer = app.table.get(&issuer_key).await.unwrap().unwrap();
    assert_eq!(read_issuer.allowed_algorithms, [Algorithm::ES256]);
    assert_eq!(read_issuer.max_token_age_seconds, Some(300));
    assert!(read_issuer.require_jti && read_issuer.alias.is_none());
    assert_eq!(
        read_issuer.certificate.as_ref().unwrap().subject,
        old_issuer.certificate.as_ref().unwrap().subject
    );

    // Written back by this version, the old layout reads it: the attributes are the same.
    for (key, record) in [
        (&app_key, Item::from_record(&read, None).unwrap()),
        (&issuer_key, Item::from_record(&read_issuer, None).unwrap()),
    ] {
        app.table.put(key, record, Condition::None).await.unwrap();
    }
    let again: before_settings_structs::Application =
        app.table.get(&app_key).await.unwrap().unwrap();
    assert_eq!(again, old_app);
    let again: before_settings_structs::TrustedIssuer =
        app.table.get(&issuer_key).await.unwrap().unwrap();
    assert_eq!(again, old_issuer);
}
