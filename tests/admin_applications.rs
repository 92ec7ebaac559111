//! The admin API's application routes against the emulator: every route and rule, secrets
//! that are shown once and stored only as a hash, and deletes that leave nothing behind.

use crate::common;

use common::admin::Admin;
use serde_json::{Value, json};
use trustgate::aws::table_keys::Key;
use trustgate::domain::application::Application;
use trustgate::secret::Secret;

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

fn apps(org: &str) -> String {
    format!("/t/{org}/api/applications")
}

fn app_path(org: &str, client_id: &str) -> String {
    format!("/t/{org}/api/applications/{client_id}")
}

async fn create(admin: &Admin, org: &str, body: Value) -> Value {
    let reply = admin.post(&apps(org), body).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    reply.body
}

/// The record the token endpoint reads.
async fn stored(admin: &Admin, org: &str, client_id: &str) -> Option<Application> {
    admin
        .test
        .table
        .get(&Key::application(org, client_id))
        .await
        .unwrap()
}

#[tokio::test]
async fn confidential_clients_get_a_secret_once_stored_only_as_a_hash() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    for kind in ["oidc", "web"] {
        let reply = admin
            .post(&apps(&org), json!({"name": "Portal", "type": kind}))
            .await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        let body = &reply.body;
        let client_id = body["client_id"].as_str().unwrap();
        let secret = body["client_secret"].as_str().unwrap();
        assert_eq!(client_id.len(), 32);
        assert_eq!(secret.len(), 43, "256 bits, base64url");
        assert_eq!(body["type"], kind);
        assert_eq!(body["grant_types"], json!([TOKEN_EXCHANGE]));
        assert_eq!(body["access_token_ttl_seconds"], 3600);
        assert_eq!(body["refresh_token_ttl_seconds"], 86400);
        assert_eq!(body["enabled"], true);
        assert!(body.get("secret_hash").is_none());
        assert_eq!(
            reply.header("location"),
            Some(app_path(&org, client_id).as_str())
        );

        let record = stored(&admin, &org, client_id).await.unwrap();
        let hash = record.secret_hash.clone().unwrap();
        assert_ne!(hash, secret, "never stored in plaintext");
        assert!(record.verify_secret(&Secret::new(secret)));
        assert!(!record.verify_secret(&Secret::new("guess")));

        let got = admin.get(&app_path(&org, client_id)).await;
        assert_eq!(got.status, 200);
        assert!(got.body.get("client_secret").is_none(), "shown once");
        assert!(got.body.get("secret_hash").is_none());
        let mut expected = body.clone();
        expected.as_object_mut().unwrap().remove("client_secret");
        assert_eq!(got.body, expected);
    }
}

#[tokio::test]
async fn public_clients_have_no_secret() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    for kind in ["mobile", "spa"] {
        let body = create(&admin, &org, json!({"name": "Public", "type": kind})).await;
        assert!(body.get("client_secret").is_none(), "{kind}");
        let record = stored(&admin, &org, body["client_id"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(record.secret_hash, None);
    }
}

#[tokio::test]
async fn refuses_token_exchange_for_single_page_applications() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let reply = admin
        .post(
            &apps(&org),
            json!({"name": "SPA", "type": "spa", "grant_types": [TOKEN_EXCHANGE]}),
        )
        .await;
    reply.assert_problem(400, Some("grant_types"));
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("token exchange is not supported for single-page applications"),
        "{detail}"
    );
    // Defaulted grant types for spa leave token exchange out.
    let spa = create(&admin, &org, json!({"name": "SPA", "type": "spa"})).await;
    assert_eq!(spa["grant_types"], json!([]));
    let path = app_path(&org, spa["client_id"].as_str().unwrap());
    admin
        .patch(&path, json!({"grant_types": [TOKEN_EXCHANGE]}))
        .await
        .assert_problem(400, Some("grant_types"));
}

#[tokio::test]
async fn takes_grant_types_and_token_lifetimes_within_the_contracts_ranges() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let body = create(
        &admin,
        &org,
        json!({
            "name": "Both grants", "type": "mobile",
            "grant_types": ["refresh_token", TOKEN_EXCHANGE],
            "access_token_ttl_seconds": 60, "refresh_token_ttl_seconds": 31_536_000,
            "enabled": false
        }),
    )
    .await;
    assert_eq!(
        body["grant_types"],
        json!(["refresh_token", TOKEN_EXCHANGE])
    );
    assert_eq!(body["access_token_ttl_seconds"], 60);
    assert_eq!(body["refresh_token_ttl_seconds"], 31_536_000);
    assert_eq!(body["enabled"], false);
    let body = create(
        &admin,
        &org,
        json!({"name": "Max", "type": "web", "grant_types": [], "access_token_ttl_seconds": 86400, "refresh_token_ttl_seconds": 300}),
    )
    .await;
    assert_eq!(body["grant_types"], json!([]));
}

#[tokio::test]
async fn refuses_every_broken_rule_with_400_naming_the_field() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    for (field, value) in [
        ("name", json!(null)),
        ("name", json!("")),
        ("name", json!("n".repeat(129))),
        ("name", json!(1)),
        ("type", json!(null)),
        ("type", json!("native")),
        ("type", json!("SPA")),
        ("grant_types", json!(["password"])),
        ("grant_types", json!(["client_credentials"])),
        ("grant_types", json!(["refresh_token", "refresh_token"])),
        ("grant_types", json!(TOKEN_EXCHANGE)),
        ("access_token_ttl_seconds", json!(59)),
        ("access_token_ttl_seconds", json!(86401)),
        ("access_token_ttl_seconds", json!("3600")),
        ("refresh_token_ttl_seconds", json!(299)),
        ("refresh_token_ttl_seconds", json!(31_536_001)),
        ("enabled", json!("true")),
        ("client_id", json!("0123456789abcdef0123456789abcdef")),
        ("client_secret", json!("chosen-by-me")),
        ("secret_hash", json!("abc")),
        ("created_at", json!("2026-01-01T00:00:00Z")),
        ("redirect_uris", json!([])),
    ] {
        let mut body = json!({"name": "App", "type": "web"});
        body[field] = value.clone();
        let reply = admin.post(&apps(&org), body).await;
        assert_eq!(reply.status, 400, "{field} = {value}: {:#}", reply.body);
        reply.assert_problem(400, Some(field));
    }
    assert_eq!(admin.partition(&org).await, Vec::<String>::new());
}

#[tokio::test]
async fn creating_an_application_needs_an_existing_organization() {
    let admin = Admin::new().await;
    let missing = common::unique("missing");
    admin
        .post(&apps(&missing), json!({"name": "App", "type": "web"}))
        .await
        .assert_problem(404, None);
    assert_eq!(admin.partition(&missing).await, Vec::<String>::new());
}

#[tokio::test]
async fn lists_applications_in_pages_without_secrets() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let mut ids = Vec::new();
    for kind in ["oidc", "web", "mobile"] {
        let body = create(&admin, &org, json!({"name": kind, "type": kind})).await;
        ids.push(body["client_id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    let first = admin.get(&format!("{}?limit=2", apps(&org))).await;
    assert_eq!(first.status, 200);
    let items = first.body["items"].as_array().unwrap();
    assert_eq!(
        items
            .iter()
            .map(|a| a["client_id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ids[..2]
    );
    for item in items {
        assert!(item.get("client_secret").is_none() && item.get("secret_hash").is_none());
    }
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = admin
        .get(&format!("{}?limit=2&cursor={cursor}", apps(&org)))
        .await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["items"][0]["client_id"], json!(ids[2]));
    assert_eq!(second.body["next_cursor"], Value::Null);
    admin
        .get(&format!("{}?cursor=VFRJIzAxMjM", apps(&org)))
        .await
        .assert_problem(400, Some("cursor"));
}

#[tokio::test]
async fn patch_merges_keeps_the_secret_and_reapplies_every_rule() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let created = create(
        &admin,
        &org,
        json!({"name": "Portal", "type": "web", "grant_types": [TOKEN_EXCHANGE, "refresh_token"]}),
    )
    .await;
    let client_id = created["client_id"].as_str().unwrap();
    let secret = Secret::new(created["client_secret"].as_str().unwrap());
    let path = app_path(&org, client_id);

    let reply = admin
        .patch(
            &path,
            json!({"name": "Portal EU", "access_token_ttl_seconds": 900, "enabled": false}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["name"], "Portal EU");
    assert_eq!(reply.body["access_token_ttl_seconds"], 900);
    assert_eq!(reply.body["enabled"], false);
    assert_eq!(reply.body["grant_types"], created["grant_types"]);
    assert_eq!(reply.body["created_at"], created["created_at"]);
    assert!(reply.body.get("client_secret").is_none());
    assert!(
        stored(&admin, &org, client_id)
            .await
            .unwrap()
            .verify_secret(&secret)
    );

    let reset = admin
        .patch(
            &path,
            json!({"access_token_ttl_seconds": null, "grant_types": null}),
        )
        .await;
    assert_eq!(reset.body["access_token_ttl_seconds"], 3600);
    assert_eq!(reset.body["grant_types"], json!([TOKEN_EXCHANGE]));

    let before = admin.get(&path).await.body;
    for (patch, field) in [
        (json!({"type": "mobile"}), "type"),
        (json!({"type": "web"}), "type"),
        (json!({"client_id": "x"}), "client_id"),
        (json!({"client_secret": "x"}), "client_secret"),
        (json!({"updated_at": "x"}), "updated_at"),
        (json!({"name": null}), "name"),
        (
            json!({"refresh_token_ttl_seconds": 1}),
            "refresh_token_ttl_seconds",
        ),
        (json!({"grant_types": ["implicit"]}), "grant_types"),
        (json!({"colour": "red"}), "colour"),
    ] {
        admin
            .patch(&path, patch)
            .await
            .assert_problem(400, Some(field));
    }
    assert_eq!(admin.get(&path).await.body, before);
}

#[tokio::test]
async fn a_new_secret_replaces_the_old_one_at_once() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let created = create(&admin, &org, json!({"name": "Portal", "type": "oidc"})).await;
    let client_id = created["client_id"].as_str().unwrap();
    let old = Secret::new(created["client_secret"].as_str().unwrap());

    let reply = admin
        .call(
            "POST",
            &format!("{}/secret", app_path(&org, client_id)),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let new = Secret::new(reply.body["client_secret"].as_str().unwrap());
    assert_ne!(new, old);
    assert_eq!(reply.body["client_id"], created["client_id"]);
    assert!(reply.body.get("secret_hash").is_none());

    let record = stored(&admin, &org, client_id).await.unwrap();
    assert!(record.verify_secret(&new));
    assert!(!record.verify_secret(&old), "the old secret is invalid");
    assert_eq!(record.name, "Portal");
}

#[tokio::test]
async fn public_clients_and_unknown_applications_get_no_new_secret() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let mobile = create(&admin, &org, json!({"name": "App", "type": "mobile"})).await;
    let path = format!(
        "{}/secret",
        app_path(&org, mobile["client_id"].as_str().unwrap())
    );
    admin
        .call("POST", &path, None)
        .await
        .assert_problem(400, Some("type"));
    let record = stored(&admin, &org, mobile["client_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(record.secret_hash, None);

    let unknown = format!(
        "{}/secret",
        app_path(&org, "0123456789abcdef0123456789abcdef")
    );
    admin
        .call("POST", &unknown, None)
        .await
        .assert_problem(404, None);
}

#[tokio::test]
async fn deleting_an_application_leaves_nothing_of_it() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let keep = create(&admin, &org, json!({"name": "Keep", "type": "web"})).await;
    let gone = create(&admin, &org, json!({"name": "Gone", "type": "web"})).await;
    let gone_id = gone["client_id"].as_str().unwrap();
    let path = app_path(&org, gone_id);

    let reply = admin.delete(&path).await;
    assert_eq!(reply.status, 204);
    admin.get(&path).await.assert_problem(404, None);
    admin.delete(&path).await.assert_problem(404, None);
    admin
        .patch(&path, json!({"name": "x"}))
        .await
        .assert_problem(404, None);
    admin
        .call("POST", &format!("{path}/secret"), None)
        .await
        .assert_problem(404, None);
    assert_eq!(stored(&admin, &org, gone_id).await, None);
    assert_eq!(
        admin.partition(&org).await,
        vec![Key::application(&org, keep["client_id"].as_str().unwrap()).sk]
    );
}

#[tokio::test]
async fn the_exchange_policy_names_existing_issuers_or_self_and_an_unknown_id_is_refused() {
    let admin = Admin::new().await;
    let org = admin.organization().await;
    let issuer = admin
        .post(
            &format!("/t/{org}/api/trusted-token-issuers"),
            json!({"name": "IdP", "issuer": "https://idp.example.com",
                   "jwks_uri": "https://idp.example.com/.well-known/jwks.json"}),
        )
        .await;
    assert_eq!(issuer.status, 201, "{:#}", issuer.body);
    let id = issuer.body["id"].as_str().unwrap().to_owned();
    let unknown = "0123456789abcdef0123456789abcdef";

    let policy = json!({
        "name": "Agent", "type": "web",
        "allowed_issuers": [id, "self"],
        "allowed_audiences": ["https://api.example.com", "billing"],
        "allowed_scopes": ["read", "write"],
        "delegation": {"allowed_actor_issuers": ["self", id], "max_depth": 2}
    });
    let body = create(&admin, &org, policy.clone()).await;
    for member in [
        "allowed_issuers",
        "allowed_audiences",
        "allowed_scopes",
        "delegation",
    ] {
        assert_eq!(body[member], policy[member], "{member}");
    }
    let client_id = body["client_id"].as_str().unwrap();
    let record = stored(&admin, &org, client_id).await.unwrap();
    assert_eq!(record.allowed_scopes, ["read", "write"]);
    assert_eq!(record.delegation.as_ref().unwrap().max_depth, 2);
    // Without a policy: every trusted issuer, no targets, no scopes, no delegation.
    let plain = create(&admin, &org, json!({"name": "Plain", "type": "web"})).await;
    assert_eq!(plain["allowed_issuers"], Value::Null);
    assert_eq!(plain["allowed_audiences"], json!([]));
    assert_eq!(plain["delegation"], Value::Null);

    let before = admin.partition(&org).await;
    for (member, value, field) in [
        (
            "allowed_issuers",
            json!([id, unknown]),
            "allowed_issuers[1]",
        ),
        (
            "allowed_issuers",
            json!(["self", "issuer-name"]),
            "allowed_issuers[1]",
        ),
        (
            "delegation",
            json!({"allowed_actor_issuers": [unknown], "max_depth": 1}),
            "delegation.allowed_actor_issuers[0]",
        ),
        (
            "delegation",
            json!({"allowed_actor_issuers": ["self"], "max_depth": 6}),
            "delegation.max_depth",
        ),
        ("allowed_scopes", json!(["read write"]), "allowed_scopes[0]"),
        ("allowed_audiences", json!(["a", "a"]), "allowed_audiences"),
    ] {
        let mut body = json!({"name": "App", "type": "web"});
        body[member] = value.clone();
        let reply = admin.post(&apps(&org), body).await;
        reply.assert_problem(400, Some(field));
        let patch = admin
            .patch(&app_path(&org, client_id), json!({ member: value }))
            .await;
        patch.assert_problem(400, Some(field));
    }
    assert_eq!(
        admin.partition(&org).await,
        before,
        "bad input changes nothing"
    );
    assert_eq!(stored(&admin, &org, client_id).await.unwrap(), record);

    // A patch may drop the policy back to its defaults with null.
    let reply = admin
        .patch(
            &app_path(&org, client_id),
            json!({"allowed_issuers": null, "delegation": null, "allowed_scopes": ["read"]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["allowed_issuers"], Value::Null);
    assert_eq!(reply.body["delegation"], Value::Null);
    assert_eq!(reply.body["allowed_scopes"], json!(["read"]));
}
