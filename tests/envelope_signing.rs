//! Envelope signing against the emulator (contract, "Signing modes"): the rotation wraps its
//! key with KMS `Encrypt` and writes it to the table; the token function reads the key set with
//! one `Query`, decrypts a key once, and signs in-process: tokens verify through the JWKS, no
//! KMS call per warm exchange, a rotation is survived, and a wrapping key that is missing or
//! cannot decrypt stops the start with the reason.
//!
//! Each test has a table of its own for the keys (one partition holds every signing key, so
//! tests sharing a table would rotate each other's keys) and a wrapping key of its own. The
//! signer's clock is the tests' to move: no sleeping through a rotation.

use crate::common;

use std::sync::Arc;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use common::keys::RSA_2048;
use common::stack::*;
use common::unique;
use lambda_http::http::StatusCode;
use trustgate::aws::key_wrapping::KmsKeyWrapping;
use trustgate::aws::table::{Key, Table};
use trustgate::config::{self, SigningAlg};
use trustgate::domain::envelope_key::{StoredKey, plan_rotation};
use trustgate::domain::issuer::Algorithm;
use trustgate::envelope::{EnvelopeSigner, Rotated, rotate};
use trustgate::http::token::TokenApp;
use trustgate::ports::{Clock, SigningKeyRecords, SigningKeyWriter};
use trustgate::testing::FixedClock;

/// A token function in envelope mode, its keys' table and wrapping key, and the clock its
/// signer reads.
struct Envelope {
    stack: Stack,
    keys: Table,
    wrapping_key: String,
    clock: Arc<FixedClock>,
}

async fn create_table(stack: &Stack) -> Table {
    let name = unique("envelope-keys");
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    stack
        .app
        .dynamodb
        .create_table()
        .table_name(&name)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    Table::new(stack.app.dynamodb.clone(), name)
}

/// A symmetric key (KMS's default spec) behind a new alias.
async fn create_wrapping_key(stack: &Stack) -> String {
    let kms = &stack.app.kms;
    let key = kms.create_key().send().await.unwrap();
    let alias = format!("alias/{}", unique("wrapping"));
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(key.key_metadata.unwrap().key_id)
        .send()
        .await
        .unwrap();
    alias
}

impl Envelope {
    async fn new() -> Envelope {
        let stack = Stack::new().await;
        let keys = create_table(&stack).await;
        let wrapping_key = create_wrapping_key(&stack).await;
        let clock = Arc::new(FixedClock::new(trustgate::domain::now_epoch()));
        let mut envelope = Envelope {
            stack,
            keys,
            wrapping_key,
            clock,
        };
        let signer = envelope.signer(&envelope.wrapping_key, envelope.keys.name());
        envelope.stack.token = envelope.token_app(signer);
        envelope
    }

    /// KMS under `wrapping_key`, with the encryption context of the keys of `table`.
    fn wrapping(&self, wrapping_key: &str, table: &str) -> KmsKeyWrapping {
        let kms = self.stack.app.kms.clone();
        KmsKeyWrapping::new(kms, wrapping_key.to_owned(), table.to_owned())
    }

    fn signer(&self, wrapping_key: &str, table: &str) -> EnvelopeSigner {
        let wrapping = Arc::new(self.wrapping(wrapping_key, table));
        EnvelopeSigner::new(Arc::new(self.keys.clone()), wrapping, self.clock.clone())
    }

    /// The token function as src/bin/token.rs wires it in envelope mode, over `signer`.
    fn token_app(&self, signer: EnvelopeSigner) -> TokenApp {
        let vars = [
            (config::SIGNING_MODE, "envelope"),
            (config::WRAPPING_KEY, self.wrapping_key.as_str()),
        ];
        let config = config(&self.stack.app, &vars);
        let store = Arc::new(self.stack.app.table.clone());
        token_app(&self.stack.app, config, store, Arc::new(signer))
    }

    async fn rotate(&self, alg: SigningAlg) -> Rotated {
        let wrapping = self.wrapping(&self.wrapping_key, self.keys.name());
        let keys = &self.keys;
        rotate(keys, keys, &wrapping, alg, self.clock.now())
            .await
            .unwrap()
    }

    async fn exchange(&self) -> Reply {
        call(&self.stack.token, self.exchange_request()).await
    }

    fn exchange_request(&self) -> lambda_http::Request {
        let claims = self.stack.claims();
        let subject = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims);
        self.stack.exchange_request(&subject)
    }

    /// The kids of the service's JWKS, in its order.
    async fn published(&self) -> Vec<String> {
        let jwks = self.stack.service_jwks().await;
        let keys = jwks["keys"].as_array().unwrap();
        keys.iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn added(rotated: Rotated) -> (String, i64, Option<(String, i64)>) {
    match rotated {
        Rotated::Added {
            kid,
            not_before,
            retired,
        } => (kid, not_before, retired),
        other => panic!("expected a key added, got {other:?}"),
    }
}

/// The issued token's header `kid`, once it verified through the JWKS.
async fn verified_kid(e: &Envelope, reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap();
    let (header, claims) = e.stack.verify_issued(token).await;
    assert_eq!(claims["sub"], "user-42");
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn envelope_tokens_verify_through_the_jwks_and_warm_exchanges_call_no_kms() {
    for alg in [SigningAlg::ES256, SigningAlg::RS256] {
        let e = Envelope::new().await;
        let (kid, ..) = added(e.rotate(alg).await);

        // Cold: the key set is read and the key decrypted on first use, once.
        let first = e.exchange().await;
        assert_eq!(verified_kid(&e, &first).await, kid);
        assert_eq!(first.calls.kms_calls, 1, "{alg:?}: one Decrypt");
        for _ in 0..3 {
            let warm = e.exchange().await;
            assert_eq!(verified_kid(&e, &warm).await, kid);
            assert_eq!(warm.calls.kms_calls, 0, "{alg:?}: {:?}", warm.calls);
        }
        let jwks = e.stack.service_jwks().await;
        assert_eq!(jwks["keys"][0]["alg"], alg.as_str());

        // Checked at start, the function's first exchange makes no KMS call either.
        let started = e.signer(&e.wrapping_key, e.keys.name());
        started.check_at_start().await.unwrap();
        let app = e.token_app(started);
        let reply = call(&app, e.exchange_request()).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.calls.kms_calls, 0);
    }
}

#[tokio::test]
async fn a_rotation_is_survived_with_the_old_keys_tokens_still_verifying() {
    let e = Envelope::new().await;
    let (first, ..) = added(e.rotate(SigningAlg::ES256).await);
    let old = e.exchange().await;
    assert_eq!(verified_kid(&e, &old).await, first);

    e.clock.advance(30 * 86_400);
    // The warm function reads the key set just before the rotation.
    assert_eq!(e.published().await, std::slice::from_ref(&first));
    let (second, not_before, retired) = added(e.rotate(SigningAlg::ES256).await);
    let (retired_kid, retire_after) = retired.unwrap();
    assert_eq!(retired_kid, first);
    assert!(not_before > e.clock.now(), "published before it signs");

    // Within one JWKS lifetime the new key is published, still not signing.
    e.clock.advance(300);
    assert!(e.clock.now() < not_before);
    assert_eq!(e.published().await, [first.clone(), second.clone()]);
    let before_switch = e.exchange().await;
    assert_eq!(verified_kid(&e, &before_switch).await, first);

    // At its not_before the new key signs: one Decrypt, then none.
    e.clock.set(not_before);
    let switched = e.exchange().await;
    assert_eq!(verified_kid(&e, &switched).await, second);
    assert_eq!(switched.calls.kms_calls, 1);
    let warm = e.exchange().await;
    assert_eq!(warm.calls.kms_calls, 0);
    assert_eq!(e.published().await, [second.clone(), first.clone()]);
    // The old key's token still verifies through the JWKS.
    assert_eq!(verified_kid(&e, &old).await, first);

    // The retired key's item expires (TTL) when its last token has.
    let item = e
        .stack
        .app
        .dynamodb
        .get_item()
        .table_name(e.keys.name())
        .key("pk", AttributeValue::S(Key::signing_key(1).pk))
        .key("sk", AttributeValue::S(Key::signing_key(1).sk))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        item["expires_at"].as_n().unwrap(),
        &retire_after.to_string()
    );
    assert_eq!(item["kid"].as_s().unwrap(), &first);
}

#[tokio::test]
async fn a_wrapping_key_that_is_missing_or_cannot_decrypt_stops_the_start() {
    let e = Envelope::new().await;
    e.rotate(SigningAlg::ES256).await;
    let table = e.keys.name();

    let missing = format!("alias/{}", unique("missing"));
    let refused = e
        .signer(&missing, table)
        .check_at_start()
        .await
        .unwrap_err();
    assert!(refused.starts_with("refusing to start"), "{refused}");
    assert!(
        refused.contains(&format!("TRUSTGATE_WRAPPING_KEY={missing}")),
        "{refused}"
    );
    assert!(refused.contains("NotFound"), "{refused}");

    // Another key than the one the signing key was encrypted under.
    let other = create_wrapping_key(&e.stack).await;
    let refused = e.signer(&other, table).check_at_start().await.unwrap_err();
    assert!(
        refused.contains("does not decrypt with the wrapping key"),
        "{refused}"
    );
    assert!(refused.contains(&other), "{refused}");

    // The right key, but the encryption context of another table.
    let elsewhere = e.signer(&e.wrapping_key, "another-table");
    let refused = elsewhere.check_at_start().await.unwrap_err();
    assert!(refused.contains("InvalidCiphertext"), "{refused}");

    // With the right key and context it starts; a function serving anyway issues nothing.
    assert_eq!(
        e.signer(&e.wrapping_key, table).check_at_start().await,
        Ok(())
    );
    let app = e.token_app(e.signer(&other, table));
    let reply = call(&app, e.exchange_request()).await;
    assert_error(&reply, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
}

#[tokio::test]
async fn without_a_key_the_token_function_answers_503_until_the_first_rotation() {
    let e = Envelope::new().await;
    assert_eq!(
        e.signer(&e.wrapping_key, e.keys.name())
            .check_at_start()
            .await,
        Ok(())
    );
    let reply = e.exchange().await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert!(reply.headers.get("retry-after").is_some());
    let jwks = call(
        &e.stack.token,
        get(&format!("/t/{}/oauth2/jwks", e.stack.org)),
    )
    .await;
    assert_eq!(
        jwks.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "no empty JWKS"
    );

    let (kid, not_before, retired) = added(e.rotate(SigningAlg::ES256).await);
    assert_eq!((not_before, retired), (e.clock.now(), None));
    e.clock.advance(trustgate::envelope::signer::RETRY_SECONDS);
    let reply = e.exchange().await;
    assert_eq!(verified_kid(&e, &reply).await, kid);
}

#[tokio::test]
async fn rotations_write_only_under_their_conditions() {
    let e = Envelope::new().await;
    let empty = e.keys.signing_keys().await.unwrap();
    assert!(empty.is_empty());
    added(e.rotate(SigningAlg::ES256).await);
    let stored = e.keys.signing_keys().await.unwrap();

    // A rotation that read the set before the first key was written loses.
    let now = e.clock.now();
    let stale = plan_rotation(&empty, now).unwrap();
    let late = StoredKey {
        kid: "late".into(),
        seq: stale.seq,
        ..stored[0].clone()
    };
    assert_eq!(e.keys.add_signing_key(&late, None).await, Ok(false));

    // The next rotation retires the first key; one planned from the same set then loses too.
    e.clock.advance(86_400);
    let now = e.clock.now();
    let plan = plan_rotation(&stored, now).unwrap();
    let (second, ..) = added(e.rotate(SigningAlg::ES256).await);
    let late = StoredKey {
        kid: "late".into(),
        seq: plan.seq + 1,
        ..stored[0].clone()
    };
    assert_eq!(
        e.keys.add_signing_key(&late, plan.retire.as_ref()).await,
        Ok(false),
        "the first key was retired already"
    );
    // Run again before the new key signs: nothing to do.
    match e.rotate(SigningAlg::ES256).await {
        Rotated::AlreadyPending(pending) => assert_eq!(pending.kid, second),
        other => panic!("{other:?}"),
    }
    let kids: Vec<String> = (e.keys.signing_keys().await.unwrap())
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids.len(), 2);
    assert!(kids.contains(&second) && !kids.iter().any(|k| k == "late"));
}

/// Explain in the admin function verifies the organization's own tokens with the envelope key
/// set, read from the table: never decrypted (its signer only publishes), so admin needs no
/// `kms:Decrypt`. Its decision on a chained exchange is the token endpoint's.
#[tokio::test]
async fn explain_in_admin_verifies_our_own_tokens_with_the_key_set_and_no_decrypt() {
    use common::admin::Admin;
    use std::collections::HashMap;
    use trustgate::config::{Config, Function};
    use trustgate::domain::application::{AppType, GrantType};
    use trustgate::domain::random_hex;
    use trustgate::http::admin::AdminApp;

    let e = Envelope::new().await;
    added(e.rotate(SigningAlg::ES256).await);
    let downstream_secret = random_hex(32);
    let grants = [GrantType::TokenExchange];
    let mut downstream = application(AppType::Web, &grants, Some(&downstream_secret));
    downstream.allowed_issuers = Some(vec!["self".into()]);
    e.stack.add_application(&downstream).await;
    let agent_secret = random_hex(32);
    let mut agent = application(AppType::Web, &grants, Some(&agent_secret));
    agent.allowed_audiences = vec![downstream.client_id.clone()];
    e.stack.add_application(&agent).await;

    // The agent's token for the downstream API, signed in-process with the envelope key.
    let subject = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &e.stack.claims());
    let params = [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject.as_str()),
        ("subject_token_type", JWT_TYPE),
        ("audience", downstream.client_id.as_str()),
    ];
    let credentials = Some((agent.client_id.as_str(), agent_secret.as_str()));
    let request = form_request(&e.stack.token_path(), &params, credentials);
    let parent = call(&e.stack.token, request).await;
    assert_eq!(parent.status, StatusCode::OK, "{}", parent.body);
    let parent_token = parent.body["access_token"].as_str().unwrap();

    let vars = HashMap::from([
        (config::TABLE, e.stack.app.table_name.clone()),
        (config::PUBLIC_URL, PUBLIC_URL.to_owned()),
        (config::ADMIN_AUTH, "none".to_owned()),
        (config::ALLOW_INSECURE_JWKS, "true".to_owned()),
        (config::SIGNING_MODE, "envelope".to_owned()),
        (config::WRAPPING_KEY, e.wrapping_key.clone()),
    ]);
    let admin_config = Config::from_lookup(Function::Admin, |name| vars.get(name).cloned());
    let own_keys = EnvelopeSigner::publish_only(Arc::new(e.keys.clone()), e.clock.clone());
    let admin = Admin {
        app: AdminApp::new(
            admin_config.unwrap(),
            e.stack.app.table.clone(),
            Arc::new(own_keys),
        ),
        test: common::TestApp::new().await,
    };
    let path = format!("/t/{}/api/token-exchange/explain", e.stack.org);
    let body = serde_json::json!({
        "client_id": downstream.client_id,
        "subject_token": parent_token,
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
    });
    let explained = admin.post(&path, body).await;
    assert_eq!(explained.status, 200, "{:#}", explained.body);
    assert_eq!(explained.body["decision"], "allow", "{:#}", explained.body);
    assert_eq!(explained.body["claims"]["sub"], "user-42");

    // The same explain with a token not signed by any key of the set is refused.
    let (head, _) = parent_token.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", "A".repeat(86));
    let body = serde_json::json!({
        "client_id": downstream.client_id,
        "subject_token": forged,
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
    });
    let explained = admin.post(&path, body).await;
    assert_eq!(explained.status, 200, "{:#}", explained.body);
    assert_eq!(explained.body["decision"], "deny", "{:#}", explained.body);
}
