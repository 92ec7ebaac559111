//! The ports' contract suites (src/testing/contract.rs) against the AWS implementations on the
//! emulator; the library's own tests run the same suites against the in-memory ones.

use crate::common;

use common::TestApp;
use common::stack::{Stack, application, config, kms_signer, put};
use trustgate::aws::admin_store::AdminStore;
use trustgate::aws::table::Key;
use trustgate::domain::application::{AppType, Application, GrantType};
use trustgate::domain::issuer::TrustedIssuer;
use trustgate::domain::now_epoch;
use trustgate::domain::organization::OrgName;
use trustgate::domain::organization::Organization;
use trustgate::testing::contract;

use common::jwks_server::{JwksServer, Reply};
use common::keys::{EC_P256, RSA_2048, jwks};
use serde_json::json;
use trustgate::domain::certificate::parse_certificate;
use trustgate::domain::issuer::Algorithm;
use trustgate::keys::KeySource;

#[tokio::test]
async fn the_table_keeps_the_refresh_store_contract() {
    let app = TestApp::new().await;
    contract::refresh_store(&app.table, &app.table, now_epoch()).await;
}

/// The table's one-batch snapshot of a refresh reads what the ports read one by one.
#[tokio::test]
async fn the_tables_refresh_snapshot_equals_the_ports_read_one_by_one() {
    use std::sync::Arc;
    use trustgate::domain::ids::ClientId;
    use trustgate::domain::revocation::RevocationTarget;
    use trustgate::ports::RefreshReads;
    use trustgate::testing::ComposedRefreshReads;

    let stack = Stack::new().await;
    let table = &stack.app.table;
    let composed = ComposedRefreshReads {
        config_store: Arc::new(table.clone()),
        refresh_store: Arc::new(table.clone()),
        revocations: Arc::new(table.clone()),
    };
    let org = OrgName::parse(&stack.org).unwrap();
    let client_id = ClientId::new(stack.client_id.as_str());
    let (hash, mut token, family) = contract::refresh_family_for_tests(now_epoch() + 600);
    token.issuer_id = stack.issuer.id.clone();
    token.client_id = stack.client_id.clone();
    trustgate::ports::RefreshStore::start_family(table, &hash, &token, &family)
        .await
        .unwrap();
    let admin = AdminStore::new(table);
    let now_ms = now_epoch() * 1000;
    let subject = RevocationTarget::Subject {
        sub: token.sub.clone(),
        idp: token.idp.clone(),
    };
    admin.revoke(&stack.org, &subject, now_ms).await.unwrap();
    let client = RevocationTarget::Client {
        client_id: stack.client_id.clone(),
    };
    admin.revoke(&stack.org, &client, now_ms - 5).await.unwrap();

    for token in [None, Some(&token)] {
        let batched = table
            .refresh_snapshot(&org, &client_id, token)
            .await
            .unwrap();
        let one_by_one = composed
            .refresh_snapshot(&org, &client_id, token)
            .await
            .unwrap();
        assert_eq!(batched, one_by_one);
        assert!(batched.generation.is_some() && batched.application.is_some());
        assert_eq!(batched.family.is_some(), token.is_some());
        assert_eq!(batched.issuer.is_some(), token.is_some());
    }
    let batched = table
        .refresh_snapshot(&org, &client_id, Some(&token))
        .await
        .unwrap();
    assert_eq!(batched.revocations.revoked_before_ms, Some(now_ms));
    let gone = OrgName::parse("no-such-org-snapshot").unwrap();
    let nothing = table
        .refresh_snapshot(&gone, &client_id, None)
        .await
        .unwrap();
    assert_eq!(nothing, Default::default());
}

/// The admin store writes the subject and client revocations the token function reads.
#[tokio::test]
async fn the_table_keeps_the_revocations_contract() {
    let app = TestApp::new().await;
    let org = OrgName::parse(&format!("rev-{}", trustgate::domain::random_hex(4))).unwrap();
    let admin = AdminStore::new(&app.table);
    admin
        .create_organization(&Organization {
            name: org.to_string(),
            created_at: String::new(),
        })
        .await
        .unwrap();
    let now = now_epoch();
    for (target, before) in contract::seeded_revocations(now) {
        admin.revoke(org.as_str(), &target, before).await.unwrap();
        // An earlier instant written later never lowers the stored one.
        admin
            .revoke(org.as_str(), &target, before - 500)
            .await
            .unwrap();
    }
    contract::revocations(&app.table, &org, now).await;
}

#[tokio::test]
async fn the_table_keeps_the_lineage_contract() {
    let app = TestApp::new().await;
    contract::lineage(&app.table, now_epoch()).await;
}

#[tokio::test]
async fn the_table_keeps_the_replay_log_contract() {
    let app = TestApp::new().await;
    contract::replay_log(&app.table, now_epoch()).await;
}

#[tokio::test]
async fn the_table_keeps_the_failure_log_contract() {
    let app = TestApp::new().await;
    contract::failure_log(&app.table, now_epoch()).await;
}

#[tokio::test]
async fn the_kms_signer_keeps_the_signer_contract() {
    let app = TestApp::new().await;
    let signer = kms_signer(&app, &config(&app, &[]));
    contract::signer(&signer).await;
}

#[tokio::test]
async fn the_table_keeps_the_config_store_contract() {
    let stack = Stack::new().await;
    let application = application(AppType::Web, &[GrantType::TokenExchange], Some("secret"));
    let key = Key::application(&stack.org, &application.client_id);
    put(&stack.app.table, key, &application).await;
    let seeded = contract::Seeded {
        org: OrgName::parse(&stack.org).unwrap(),
        issuers: vec![stack.issuer.clone()],
        application,
    };
    contract::config_store(&stack.app.table, &seeded).await;
}

/// Every admin write the token endpoint depends on moves the generation, in its own
/// transaction: application create, patch, secret rotation and delete; issuer create, patch
/// and delete. A delete that has begun reads as no generation.
#[tokio::test]
async fn the_table_keeps_the_config_generation_contract() {
    let app = TestApp::new().await;
    let store = AdminStore::new(&app.table);
    let org = OrgName::parse(&common::unique("gen")).unwrap();
    let created_at = "2026-01-01T00:00:00Z".to_owned();
    let organization = Organization {
        name: org.as_str().to_owned(),
        created_at,
    };
    store.create_organization(&organization).await.unwrap();
    let web = application(AppType::Web, &[GrantType::TokenExchange], Some("secret"));
    let issuer = common::stack::issuer_record("idp", "https://idp.example.com/gen");
    let (o, client_id, id) = (org.as_str(), web.client_id.as_str(), issuer.id.as_str());
    let change = async |i: usize| match i {
        0 => store.create_application(o, &web).await.unwrap(),
        1 | 2 => {
            let renamed = |a: &Application| {
                let mut a = a.clone();
                a.settings.name = format!("renamed {i}");
                Ok(a)
            };
            store
                .update_application(o, client_id, renamed)
                .await
                .unwrap();
        }
        3 => store.delete_application(o, client_id).await.unwrap(),
        4 => store.create_issuer(o, &issuer).await.unwrap(),
        5 => {
            let disabled = |i: &TrustedIssuer| {
                let mut i = i.clone();
                i.settings.enabled = false;
                Ok(i)
            };
            store.update_issuer(o, id, disabled).await.unwrap();
        }
        _ => {
            store.delete_issuer(o, id).await.unwrap();
        }
    };
    let delete = async || {
        store.delete_organization(o).await.unwrap();
    };
    contract::config_generation(&app.table, &org, 7, change, delete).await;
}

#[tokio::test]
async fn the_jwks_and_certificate_key_source_keeps_the_key_source_contract() {
    let claims = json!({"sub": "alice", "exp": now_epoch() + 600});
    let source = KeySource::new(true);

    let server = JwksServer::start(Reply::json(jwks(&[RSA_2048.jwk("rsa-1")]))).await;
    let mut issuer = common::stack::issuer_record("jwks idp", "https://jwks.example.com");
    issuer.settings.jwks_uri = Some(server.url());
    let token = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims);
    contract::key_source(&source, &issuer, &token).await;

    let mut issuer = common::stack::issuer_record("cert idp", "https://cert.example.com");
    let pem = include_str!("fixtures/ec-p256.cert.pem");
    issuer.settings.certificate = Some(parse_certificate(pem).unwrap().0);
    let token = EC_P256.sign_with(Algorithm::ES256, None, &claims);
    contract::key_source(&source, &issuer, &token).await;
}
