//! The admin API's organization routes against the emulator: create, list, get, delete, and
//! that a delete (also one resumed after stopping halfway) leaves no item of the organization.

use crate::common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::admin::{Admin, Event, PUBLIC_URL};
use common::unique;
use serde_json::{Value, json};
use trustgate::aws::table::{Condition, Item};
use trustgate::aws::table_keys::Key;
use trustgate::domain::application::{AppType, Application, ApplicationSettings};
use trustgate::domain::{now_epoch, rfc3339};

#[tokio::test]
async fn creates_an_organization_with_its_issuer_value() {
    let admin = Admin::new().await;
    let org = unique("org");
    let reply = admin
        .post("/api/organizations", json!({ "name": org }))
        .await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/organizations/{org}").as_str())
    );
    assert_eq!(reply.body["name"], json!(org));
    assert_eq!(
        reply.body["issuer"],
        json!(format!("{PUBLIC_URL}/t/{org}/oauth2/token"))
    );
    let created_at = reply.body["created_at"].as_str().unwrap();
    assert!(
        created_at.ends_with('Z') && created_at.len() == 20,
        "{created_at}"
    );
    assert_eq!(reply.body.as_object().unwrap().len(), 3);

    let got = admin.get(&format!("/api/organizations/{org}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, reply.body);
}

#[tokio::test]
async fn refuses_a_second_organization_of_the_same_name_with_409() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let again = admin
        .post("/api/organizations", json!({ "name": org }))
        .await;
    again.assert_problem(409, Some("name"));
}

#[tokio::test]
async fn parallel_creates_of_one_organization_give_one_201_and_one_409() {
    let admin = Admin::new().await;
    let org = unique("org");
    let body = json!({ "name": org });
    let (a, b) = tokio::join!(
        admin.post("/api/organizations", body.clone()),
        admin.post("/api/organizations", body.clone())
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
}

#[tokio::test]
async fn names_the_field_of_an_invalid_create_body() {
    let admin = Admin::new().await;
    for (body, field) in [
        (json!({}), Some("name")),
        (json!({"name": "Not-Lower"}), Some("name")),
        (json!({"name": "-leading-dash"}), Some("name")),
        (json!({"name": "a".repeat(64)}), Some("name")),
        (json!({"name": 7}), Some("name")),
        (json!({"name": "ok", "region": "eu"}), Some("region")),
        (json!(["ok"]), None),
    ] {
        let reply = admin.post("/api/organizations", body.clone()).await;
        reply.assert_problem(400, field);
    }
}

#[tokio::test]
async fn refuses_bodies_that_are_not_json_too_large_or_malformed() {
    let admin = Admin::new().await;
    let form = Event::new("POST", "/api/organizations")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=acme")
        .build();
    admin.send(&form).await.assert_problem(415, None);
    let untyped = Event::new("POST", "/api/organizations")
        .body("{\"name\":\"acme\"}")
        .build();
    admin.send(&untyped).await.assert_problem(415, None);

    let big = json!({ "name": "x".repeat(70_000) });
    let reply = admin.post("/api/organizations", big).await;
    reply.assert_problem(413, None);

    // Bytes that are not UTF-8 arrive base64-encoded from API Gateway.
    let binary = Event::new("POST", "/api/organizations")
        .header("content-type", "application/json")
        .binary_body(b"{\"name\": \"\xff\xfe\"}")
        .build();
    admin.send(&binary).await.assert_problem(400, None);
    let org = unique("org");
    let encoded = Event::new("POST", "/api/organizations")
        .header("content-type", "application/json")
        .binary_body(json!({ "name": org }).to_string().as_bytes())
        .build();
    assert_eq!(admin.send(&encoded).await.status, 201);

    for text in ["{\"name\":", "", "nul"] {
        let broken = Event::new("POST", "/api/organizations")
            .header("content-type", "application/json; charset=utf-8")
            .body(text)
            .build();
        admin.send(&broken).await.assert_problem(400, None);
    }
}

#[tokio::test]
async fn an_organization_name_that_breaks_the_rule_is_not_found_in_paths() {
    let admin = Admin::new().await;
    for path in [
        "/api/organizations/Acme",
        "/api/organizations/-x",
        "/api/organizations/a%2Fb",
    ] {
        admin.get(path).await.assert_problem(404, None);
        admin.delete(path).await.assert_problem(404, None);
    }
    let missing = unique("missing");
    admin
        .get(&format!("/api/organizations/{missing}"))
        .await
        .assert_problem(404, None);
    admin
        .delete(&format!("/api/organizations/{missing}"))
        .await
        .assert_problem(404, None);
}

/// Walks the whole list with `limit`, returning every name in order.
async fn walk(admin: &Admin, limit: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let path = match &cursor {
            None => format!("/api/organizations?limit={limit}"),
            Some(c) => format!("/api/organizations?limit={limit}&cursor={c}"),
        };
        let reply = admin.get(&path).await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        let items = reply.body["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        names.extend(items.iter().map(|o| o["name"].as_str().unwrap().to_owned()));
        match &reply.body["next_cursor"] {
            Value::Null => return names,
            Value::String(next) => cursor = Some(next.clone()),
            other => panic!("next_cursor {other}"),
        }
    }
    panic!("the list did not end");
}

#[tokio::test]
async fn lists_organizations_in_pages_that_end_with_a_null_cursor() {
    let admin = Admin::new().await;
    let mine = [
        admin.organization().await,
        admin.organization().await,
        admin.organization().await,
    ];
    let all = walk(&admin, 100).await;
    let small_pages = walk(&admin, 2).await;
    for org in &mine {
        assert_eq!(all.iter().filter(|n| *n == org).count(), 1, "{org}");
        assert!(small_pages.contains(org), "{org}");
    }
    let mut sorted = small_pages.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), small_pages.len(), "no organization twice");
    assert_eq!(sorted, small_pages, "pages follow name order");

    let first = admin.get("/api/organizations").await;
    assert!(first.body["items"].as_array().unwrap().len() <= 50);
}

#[tokio::test]
async fn refuses_bad_limits_and_cursors_naming_them() {
    let admin = Admin::new().await;
    for query in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "limit=-1",
        "limit=1&limit=2",
    ] {
        let reply = admin.get(&format!("/api/organizations?{query}")).await;
        reply.assert_problem(400, Some("limit"));
    }
    // A cursor of another list, one that is not base64url, and one that is not a sort key.
    for cursor in ["VFRJIzAxMjM", "%%%", "bm90LWEta2V5"] {
        let reply = admin
            .get(&format!("/api/organizations?cursor={cursor}"))
            .await;
        reply.assert_problem(400, Some("cursor"));
    }
}

async fn fill(admin: &Admin, org: &str) {
    let cert = include_str!("fixtures/certificates/rsa2048.pem");
    for (name, source) in [
        ("jwks", json!({"jwks_uri": "https://idp.example.com/jwks"})),
        ("cert", json!({"certificate": cert})),
    ] {
        let mut body = json!({"name": name, "issuer": format!("https://{name}.example.com")});
        body.as_object_mut()
            .unwrap()
            .extend(source.as_object().unwrap().clone());
        let reply = admin
            .post(&format!("/t/{org}/api/trusted-token-issuers"), body)
            .await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
    }
    for kind in ["web", "mobile"] {
        let reply = admin
            .post(
                &format!("/t/{org}/api/applications"),
                json!({"name": kind, "type": kind}),
            )
            .await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
    }
}

async fn organization_item_exists(admin: &Admin, org: &str) -> bool {
    let key = Key::organization(org);
    admin
        .test
        .dynamodb
        .get_item()
        .table_name(&admin.test.table_name)
        .key("pk", AttributeValue::S(key.pk))
        .key("sk", AttributeValue::S(key.sk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .is_some()
}

#[tokio::test]
async fn deleting_an_organization_removes_its_issuers_guards_and_applications() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    fill(&admin, &org).await;
    // 2 issuers with 2 guards each, 2 applications.
    assert_eq!(admin.partition(&org).await.len(), 8);

    let reply = admin.delete(&format!("/api/organizations/{org}")).await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.body, Value::Null);
    assert_eq!(admin.partition(&org).await, Vec::<String>::new());
    assert!(!organization_item_exists(&admin, &org).await);
    admin
        .get(&format!("/api/organizations/{org}"))
        .await
        .assert_problem(404, None);
    admin
        .get(&format!("/t/{org}/api/applications"))
        .await
        .assert_problem(404, None);

    // The name is quarantined; once released, the new organization starts empty.
    admin
        .post("/api/organizations", json!({ "name": org }))
        .await
        .assert_problem(409, Some("name"));
    release_quarantine(&admin, &org).await;
    let again = admin
        .post("/api/organizations", json!({ "name": org }))
        .await;
    assert_eq!(again.status, 201, "{:#}", again.body);
    let issuers = admin
        .get(&format!("/t/{org}/api/trusted-token-issuers"))
        .await;
    assert_eq!(issuers.body["items"], json!([]));
}

/// The quarantine item of `org`'s name, as stored.
async fn quarantine_item(
    admin: &Admin,
    org: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    let key = Key::organization_quarantine(org);
    admin
        .test
        .dynamodb
        .get_item()
        .table_name(&admin.test.table_name)
        .key("pk", AttributeValue::S(key.pk))
        .key("sk", AttributeValue::S(key.sk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

/// What the passing of 24 hours does: the quarantine item's `expires_at` in the past (DynamoDB
/// deletes expired items lazily, so it may well still be there).
async fn release_quarantine(admin: &Admin, org: &str) {
    let key = Key::organization_quarantine(org);
    admin
        .test
        .dynamodb
        .update_item()
        .table_name(&admin.test.table_name)
        .key("pk", AttributeValue::S(key.pk))
        .key("sk", AttributeValue::S(key.sk))
        .update_expression("SET expires_at = :past")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":past", AttributeValue::N((now_epoch() - 1).to_string()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_deleted_organizations_name_is_quarantined_for_24_hours() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    fill(&admin, &org).await;
    let before = now_epoch();
    assert_eq!(
        admin
            .delete(&format!("/api/organizations/{org}"))
            .await
            .status,
        204
    );
    let after = now_epoch();

    // The quarantine item carries the table's TTL attribute, 24 h after the delete.
    let item = quarantine_item(&admin, &org)
        .await
        .expect("quarantine item");
    let expires_at: i64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    assert!((before + 86_400..=after + 86_400).contains(&expires_at));
    let released_at = item["released_at"].as_s().unwrap().clone();
    assert_eq!(released_at, rfc3339(expires_at));
    assert!(
        admin.partition(&org).await.is_empty(),
        "not in the swept partition"
    );

    // A create is 409 naming the field and the release time, and writes nothing.
    let refused = admin
        .post("/api/organizations", json!({ "name": org }))
        .await;
    refused.assert_problem(409, Some("name"));
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(detail.contains(&released_at), "{detail}");
    assert!(!organization_item_exists(&admin, &org).await);
    admin
        .get(&format!("/api/organizations/{org}"))
        .await
        .assert_problem(404, None);
    // Deleting again is 404 and does not move the release time.
    admin
        .delete(&format!("/api/organizations/{org}"))
        .await
        .assert_problem(404, None);
    let again = quarantine_item(&admin, &org).await.unwrap();
    assert_eq!(again["expires_at"], item["expires_at"]);

    // An expired quarantine item (not yet removed by TTL) no longer holds the name.
    release_quarantine(&admin, &org).await;
    let created = admin
        .post("/api/organizations", json!({ "name": org }))
        .await;
    assert_eq!(created.status, 201, "{:#}", created.body);
}

#[tokio::test]
async fn a_delete_that_stopped_halfway_blocks_new_children_and_is_finished_by_the_next() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    fill(&admin, &org).await;
    // What a delete that failed after its first step leaves: the marked organization.
    let key = Key::organization(&org);
    admin
        .test
        .dynamodb
        .update_item()
        .table_name(&admin.test.table_name)
        .key("pk", AttributeValue::S(key.pk.clone()))
        .key("sk", AttributeValue::S(key.sk.clone()))
        .update_expression("SET deleting_since = :t")
        .expression_attribute_values(":t", AttributeValue::S("2026-11-26T00:00:00Z".into()))
        .send()
        .await
        .unwrap();

    admin
        .get(&format!("/api/organizations/{org}"))
        .await
        .assert_problem(404, None);
    let issuer = admin
        .post(
            &format!("/t/{org}/api/trusted-token-issuers"),
            json!({"name": "late", "issuer": "https://late.example.com", "jwks_uri": "https://late.example.com/jwks"}),
        )
        .await;
    issuer.assert_problem(404, None);
    let app = admin
        .post(
            &format!("/t/{org}/api/applications"),
            json!({"name": "late", "type": "mobile"}),
        )
        .await;
    app.assert_problem(404, None);
    admin
        .post("/api/organizations", json!({ "name": org }))
        .await
        .assert_problem(409, Some("name"));
    let listed = walk(&admin, 100).await;
    assert!(
        !listed.contains(&org),
        "an organization being deleted is not listed"
    );

    let reply = admin.delete(&format!("/api/organizations/{org}")).await;
    assert_eq!(reply.status, 204);
    assert_eq!(admin.partition(&org).await, Vec::<String>::new());
    assert!(!organization_item_exists(&admin, &org).await);
}

#[tokio::test]
async fn deleting_an_organization_with_hundreds_of_children_removes_them_all() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    // Written directly: 230 applications would be slow to make through the API.
    for i in 0..230 {
        let app = Application {
            client_id: format!("{i:032x}"),
            settings: ApplicationSettings {
                name: format!("app {i}"),
                app_type: AppType::Mobile,
                grant_types: vec![],
                access_token_ttl_seconds: 3600,
                refresh_token_ttl_seconds: 86400,
                enabled: true,
                allowed_issuers: None,
                allowed_audiences: Vec::new(),
                allowed_scopes: Vec::new(),
                delegation: None,
            },
            secret_hash: None,
            created_at: "2026-11-26T00:00:00Z".into(),
            updated_at: "2026-11-26T00:00:00Z".into(),
        };
        admin
            .test
            .table
            .put(
                &Key::application(&org, &app.client_id),
                Item::from_record(&app, None).unwrap(),
                Condition::Absent,
            )
            .await
            .unwrap();
    }
    let reply = admin.delete(&format!("/api/organizations/{org}")).await;
    assert_eq!(reply.status, 204);
    let left = admin
        .test
        .dynamodb
        .query()
        .table_name(&admin.test.table_name)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("ORG#{org}")))
        .consistent_read(true)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!(left.count, 0);
}
