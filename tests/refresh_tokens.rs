//! Refresh tokens against the emulator: issue, rotate, detect reuse, revoke the family.

use crate::common;

use std::sync::{Arc, Mutex};

use common::keys::RSA_2048;
use common::stack::*;
use lambda_http::http::StatusCode;
use trustgate::aws::table::{Key, Table};
use trustgate::domain::access_token::Principal;
use trustgate::domain::application::{AppType, Application, GrantType, hash_secret};
use trustgate::domain::issuer::Algorithm;
use trustgate::domain::refresh_token::{RefreshFamily, RefreshToken, new_refresh_token};
use trustgate::domain::{now_epoch, random_hex};
use trustgate::http::token::TokenApp;
use trustgate::keys::KeySource;
use trustgate::ports::{BoxFuture, PortError, RefreshStore};
use trustgate::secret::Secret;
use trustgate::token::{Ports, TokenService};

/// A confidential application with both grants, and its secret.
async fn refresh_app(stack: &Stack) -> (Application, String) {
    let secret = random_hex(32);
    let app = application(
        AppType::Web,
        &[GrantType::TokenExchange, GrantType::RefreshToken],
        Some(&secret),
    );
    stack.add_application(&app).await;
    (app, secret)
}

async fn exchange_as(stack: &Stack, token: &TokenApp, client: (&str, &str)) -> Reply {
    let subject = RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims());
    let request = form_request(
        &stack.token_path(),
        &[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", &subject),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
        ],
        Some(client),
    );
    call(token, request).await
}

fn refresh_request(
    stack: &Stack,
    refresh_token: &str,
    client: (&str, &str),
) -> lambda_http::Request {
    form_request(
        &stack.token_path(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
        Some(client),
    )
}

async fn refresh(stack: &Stack, refresh_token: &str, client: (&str, &str)) -> Reply {
    call(&stack.token, refresh_request(stack, refresh_token, client)).await
}

fn refresh_token_of(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned()
}

#[tokio::test]
async fn exchange_returns_a_refresh_token_that_rotates_on_every_use() {
    let stack = Stack::new().await;
    let (app, secret) = refresh_app(&stack).await;
    let client = (app.client_id.as_str(), secret.as_str());

    let first = exchange_as(&stack, &stack.token, client).await;
    let rt1 = refresh_token_of(&first);
    assert!(rt1.len() >= 43, "at least 256 bits");
    let stored: Option<RefreshToken> = stack
        .app
        .table
        .get(&Key::refresh_token(&hash_secret(&Secret::new(rt1.clone()))))
        .await
        .unwrap();
    let stored = stored.expect("stored under its hash");
    assert_eq!(
        (stored.client_id.as_str(), stored.sub.as_str()),
        (app.client_id.as_str(), "user-42")
    );
    assert!(
        !serde_json::to_string(&stored).unwrap().contains(&rt1),
        "only the hash is stored"
    );

    let second = refresh(&stack, &rt1, client).await;
    let rt2 = refresh_token_of(&second);
    assert_ne!(rt1, rt2);
    assert_eq!(second.headers.get("cache-control").unwrap(), "no-store");
    let (_, claims) = stack
        .verify_issued_to(
            second.body["access_token"].as_str().unwrap(),
            &app.client_id,
        )
        .await;
    assert_eq!(claims["sub"], "user-42");
    assert_eq!(claims["client_id"], app.client_id.as_str());

    let rt3 = refresh_token_of(&refresh(&stack, &rt2, client).await);
    assert_ne!(rt2, rt3);
}

#[tokio::test]
async fn reusing_a_rotated_token_revokes_the_whole_family() {
    let stack = Stack::new().await;
    let (app, secret) = refresh_app(&stack).await;
    let client = (app.client_id.as_str(), secret.as_str());
    let rt1 = refresh_token_of(&exchange_as(&stack, &stack.token, client).await);
    let rt2 = refresh_token_of(&refresh(&stack, &rt1, client).await);

    let reuse = refresh(&stack, &rt1, client).await;
    assert_error(&reuse, StatusCode::BAD_REQUEST, "invalid_grant");
    let newest = refresh(&stack, &rt2, client).await;
    assert_error(&newest, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn of_two_parallel_refreshes_of_one_token_exactly_one_succeeds() {
    let stack = Stack::new().await;
    let (app, secret) = refresh_app(&stack).await;
    let client = (app.client_id.as_str(), secret.as_str());
    let rt = refresh_token_of(&exchange_as(&stack, &stack.token, client).await);
    let (a, b) = tokio::join!(
        call(&stack.token, refresh_request(&stack, &rt, client)),
        call(&stack.token, refresh_request(&stack, &rt, client))
    );
    let ok = [&a, &b]
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "{} / {}", a.body, b.body);
    let loser = if a.status == StatusCode::OK { &b } else { &a };
    assert_error(loser, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn another_clients_credentials_get_invalid_grant() {
    let stack = Stack::new().await;
    let (owner, owner_secret) = refresh_app(&stack).await;
    let (other, other_secret) = refresh_app(&stack).await;
    let rt = refresh_token_of(
        &exchange_as(&stack, &stack.token, (&owner.client_id, &owner_secret)).await,
    );
    let stolen = refresh(&stack, &rt, (&other.client_id, &other_secret)).await;
    assert_error(&stolen, StatusCode::BAD_REQUEST, "invalid_grant");
    // The owner's token still works: a thief's attempt does not lock the owner out.
    assert_eq!(
        refresh(&stack, &rt, (&owner.client_id, &owner_secret))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_expired_or_missing_refresh_tokens_are_refused() {
    let stack = Stack::new().await;
    let (app, secret) = refresh_app(&stack).await;
    let client = (app.client_id.as_str(), secret.as_str());

    let unknown = refresh(&stack, new_refresh_token().expose(), client).await;
    assert_error(&unknown, StatusCode::BAD_REQUEST, "invalid_grant");

    // A token whose record is past its TTL (DynamoDB deletes lazily; the service must not care).
    let expired = seed_family(&stack, &app, now_epoch() - 1).await;
    assert_error(
        &refresh(&stack, &expired, client).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );

    let missing = call(
        &stack.token,
        form_request(
            &stack.token_path(),
            &[("grant_type", "refresh_token")],
            Some(client),
        ),
    )
    .await;
    assert_error(&missing, StatusCode::BAD_REQUEST, "invalid_request");

    // The grant must be enabled for the application.
    let plain_secret = random_hex(32);
    let plain = application(
        AppType::Web,
        &[GrantType::TokenExchange],
        Some(&plain_secret),
    );
    stack.add_application(&plain).await;
    let refused = refresh(&stack, &expired, (&plain.client_id, &plain_secret)).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "unauthorized_client");
    // And an application without the grant gets no refresh token from an exchange.
    assert!(
        exchange_as(&stack, &stack.token, (&plain.client_id, &plain_secret))
            .await
            .body
            .get("refresh_token")
            .is_none()
    );
}

/// Stores a family whose first token expires (absolutely) at `absolute_expires_at`; returns it.
async fn seed_family(stack: &Stack, app: &Application, absolute_expires_at: i64) -> String {
    let secret = new_refresh_token();
    let hash = hash_secret(&secret);
    let token = RefreshToken {
        family_id: random_hex(16),
        org: stack.org.clone(),
        client_id: app.client_id.clone(),
        issuer_id: stack.issuer.id.clone(),
        sub: "user-42".into(),
        valid_until: absolute_expires_at,
        iat: now_epoch(),
        idp: None,
    };
    let family = RefreshFamily::start(&token, &hash, &Principal::default(), &Default::default());
    stack
        .app
        .table
        .start_family(&hash, &token, &family)
        .await
        .unwrap();
    secret.expose().to_owned()
}

#[tokio::test]
async fn rotation_never_extends_the_familys_absolute_lifetime() {
    let stack = Stack::new().await;
    let (app, secret) = refresh_app(&stack).await;
    let client = (app.client_id.as_str(), secret.as_str());
    let end = now_epoch() + 3;
    let rt1 = seed_family(&stack, &app, end).await;

    let rt2 = refresh_token_of(&refresh(&stack, &rt1, client).await);
    let stored: RefreshToken = stack
        .app
        .table
        .get(&Key::refresh_token(&hash_secret(&Secret::new(rt2.clone()))))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.valid_until, end,
        "the application's 1-day TTL does not extend the family"
    );

    tokio::time::sleep(std::time::Duration::from_millis(3_200)).await;
    assert_error(
        &refresh(&stack, &rt2, client).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

#[tokio::test]
async fn deleting_the_trusted_issuer_or_the_application_ends_the_family() {
    let stack = Stack::new().await;
    let (app, secret) = refresh_app(&stack).await;
    let client = (app.client_id.as_str(), secret.as_str());
    let rt = refresh_token_of(&exchange_as(&stack, &stack.token, client).await);
    stack
        .app
        .table
        .delete(
            &Key::trusted_issuer(&stack.org, &stack.issuer.id),
            trustgate::aws::table::Condition::Present,
        )
        .await
        .unwrap();
    assert_error(
        &refresh(&stack, &rt, client).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );

    let stack = Stack::new().await;
    let (app, secret) = refresh_app(&stack).await;
    let client = (app.client_id.as_str(), secret.as_str());
    let rt = refresh_token_of(&exchange_as(&stack, &stack.token, client).await);
    stack
        .app
        .table
        .delete(
            &Key::application(&stack.org, &app.client_id),
            trustgate::aws::table::Condition::Present,
        )
        .await
        .unwrap();
    // The record is read fresh on refresh, whatever the config cache holds.
    assert_error(
        &refresh(&stack, &rt, client).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
}

/// Records what the service stores, so a test can check what is left behind.
struct Recording {
    inner: Table,
    started: Mutex<Vec<(String, String)>>,
}

impl RefreshStore for Recording {
    fn start_family<'a>(
        &'a self,
        hash: &'a str,
        token: &'a RefreshToken,
        family: &'a RefreshFamily,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        self.started
            .lock()
            .unwrap()
            .push((hash.to_owned(), token.family_id.clone()));
        self.inner.start_family(hash, token, family)
    }
    fn token<'a>(
        &'a self,
        hash: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshToken>, PortError>> {
        self.inner.token(hash)
    }
    fn family<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshFamily>, PortError>> {
        self.inner.family(id)
    }
    fn rotate<'a>(
        &'a self,
        f: &'a RefreshFamily,
        o: &'a str,
        n: &'a str,
        t: &'a RefreshToken,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        self.inner.rotate(f, o, n, t)
    }
    fn revoke<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), PortError>> {
        self.inner.revoke(id)
    }
    fn discard<'a>(&'a self, hash: &'a str, id: &'a str) -> BoxFuture<'a, Result<(), PortError>> {
        self.inner.discard(hash, id)
    }
    fn family_of<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<Option<String>, PortError>> {
        self.inner.family_of(jti)
    }
}

#[tokio::test]
async fn a_failed_write_or_signature_returns_no_token_and_leaves_no_record() {
    let stack = Stack::new().await;
    let (app, secret) = refresh_app(&stack).await;
    let client = (app.client_id.as_str(), secret.as_str());
    let (dead_dynamodb, dead_kms_client) = dead_clients(&dead_endpoint()).await;
    let config = config(&stack.app, &[]);

    // The refresh write fails: no access token either.
    let ports = Ports {
        config_store: Arc::new(stack.app.table.clone()),
        replay_log: Arc::new(stack.app.table.clone()),
        refresh_store: Arc::new(Table::new(dead_dynamodb, stack.app.table_name.clone())),
        revocations: Arc::new(stack.app.table.clone()),
        lineage: Arc::new(stack.app.table.clone()),
        refresh_reads: Arc::new(stack.app.table.clone()),
        failure_log: Arc::new(stack.app.table.clone()),
        signer: Arc::new(kms_signer(&stack.app, &config)),
        keys: Arc::new(KeySource::new(true)),
        clock: Arc::new(trustgate::ports::SystemClock),
    };
    let broken_store = TokenApp {
        service: TokenService::new(config.clone(), ports),
    };
    let reply = exchange_as(&stack, &broken_store, client).await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert!(reply.body.get("access_token").is_none());

    // The signature fails: the refresh token written meanwhile is removed again.
    let recording = Arc::new(Recording {
        inner: stack.app.table.clone(),
        started: Mutex::new(Vec::new()),
    });
    let dead_kms =
        trustgate::aws::kms::KmsSigner::new(dead_kms_client, "alias/x".into(), vec![], None);
    let ports = Ports {
        config_store: Arc::new(stack.app.table.clone()),
        replay_log: Arc::new(stack.app.table.clone()),
        refresh_store: recording.clone(),
        revocations: Arc::new(stack.app.table.clone()),
        lineage: Arc::new(stack.app.table.clone()),
        refresh_reads: Arc::new(stack.app.table.clone()),
        failure_log: Arc::new(stack.app.table.clone()),
        signer: Arc::new(dead_kms),
        keys: Arc::new(KeySource::new(true)),
        clock: Arc::new(trustgate::ports::SystemClock),
    };
    let broken_signer = TokenApp {
        service: TokenService::new(config, ports),
    };
    let reply = exchange_as(&stack, &broken_signer, client).await;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert!(reply.body.get("refresh_token").is_none());
    let started = recording.started.lock().unwrap().clone();
    assert_eq!(started.len(), 1);
    let (hash, family_id) = &started[0];
    assert_eq!(stack.app.table.token(hash).await.unwrap(), None);
    assert_eq!(stack.app.table.family(family_id).await.unwrap(), None);
}
