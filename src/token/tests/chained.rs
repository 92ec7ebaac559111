//! Chained exchange in-process: our own access tokens as subject tokens, bound to their
//! client or audience, within their scope and lifetime, and revoked with their ancestors.

use super::*;
use crate::domain::ids::ClientId;
use crate::oauth::request::{ExchangeRequest, TokenType};

const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const DOWNSTREAM: (&str, Option<&str>) = ("downstream", Some(SECRET));

/// `web` may exchange the IdP's tokens and ask for `downstream` with read and write;
/// `downstream` may exchange our own tokens (read, admin) and ask for `api`.
fn chain(h: &Harness) {
    let both = [GrantType::TokenExchange, GrantType::RefreshToken];
    let mut web = application("web", AppType::Web, &both);
    web.allowed_audiences = vec!["downstream".into()];
    web.allowed_scopes = vec!["read".into(), "write".into()];
    let mut downstream = application("downstream", AppType::Web, &both);
    downstream.allowed_issuers = Some(vec!["self".into()]);
    downstream.allowed_audiences = vec!["api".into()];
    downstream.allowed_scopes = vec!["read".into(), "admin".into()];
    h.memory.config_store.put_application(&org(), web);
    h.memory.config_store.put_application(&org(), downstream);
}

/// `web`'s token for `downstream`, with read and write.
async fn parent(h: &Harness) -> String {
    let more = [("audience", "downstream"), ("scope", "read write")];
    let reply = h.exchange_with(WEB, &h.subject(), &more).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

/// A chained exchange of `token` by `client`.
async fn exchange_own(
    h: &Harness,
    client: (&str, Option<&str>),
    token: &str,
    more: &[(&str, &str)],
) -> Reply {
    let mut params = vec![
        ("grant_type", EXCHANGE),
        ("subject_token", token),
        ("subject_token_type", ACCESS_TOKEN),
    ];
    params.extend_from_slice(more);
    h.call(post(&params, client)).await
}

/// The checks explain fails for `client` exchanging our own `token`.
async fn failed(h: &Harness, client: &str, token: &str, scope: Option<&str>) -> Vec<&'static str> {
    let request = ExchangeRequest {
        subject_token: token,
        subject_token_type: TokenType::AccessToken,
        requested_token_type: TokenType::AccessToken,
        audiences: vec![],
        resources: vec![],
        scope,
        actor: None,
    };
    let explained = (h.app.service)
        .explain(&org(), &ClientId::new(client), &request)
        .await;
    super::explain::failed(&explained)
}

#[tokio::test]
async fn an_audience_exchanges_our_token_keeping_the_subject_within_its_scope_and_lifetime() {
    let h = Harness::new();
    chain(&h);
    let parent = parent(&h).await;
    let parent_claims = verified_claims(&h, &parent);
    h.memory.clock.advance(200);

    let reply = exchange_own(
        &h,
        DOWNSTREAM,
        &parent,
        &[("audience", "api"), ("scope", "read")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let child = verified_claims(&h, reply.body["access_token"].as_str().unwrap());
    assert_eq!(child["sub"], "alice");
    assert_eq!(child["idp"], ISSUER, "keeps the idp");
    assert_eq!(child["client_id"], "downstream");
    assert_eq!(child["aud"], "api");
    assert_eq!(child["scope"], "read");
    assert_eq!(
        child["exp"], parent_claims["exp"],
        "never past the subject's exp"
    );
    assert_eq!(reply.body["expires_in"], 400);
    assert_eq!(h.memory.lineage.recorded(), 1);
    // Its refresh family keeps the grant and never outlives the subject either.
    let refresh = reply.body["refresh_token"].as_str().unwrap();
    let mut introspect = post(&[("token", refresh)], DOWNSTREAM);
    *introspect.uri_mut() = "/t/acme/oauth2/introspect".parse().unwrap();
    let described = h.call(introspect).await;
    assert_eq!(described.body["active"], true, "{}", described.body);
    assert_eq!(described.body["scope"], "read");
    assert_eq!(described.body["exp"], parent_claims["exp"]);
    h.memory.clock.advance(100);
    let refreshed = h.refresh(DOWNSTREAM, refresh).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let claims = verified_claims(&h, refreshed.body["access_token"].as_str().unwrap());
    assert_eq!(
        (&claims["aud"], &claims["scope"]),
        (&json!("api"), &json!("read"))
    );
    assert_eq!(claims["exp"], parent_claims["exp"]);
    assert_eq!(refreshed.body["expires_in"], 300);
    h.memory.clock.advance(300);
    let late = h
        .refresh(
            DOWNSTREAM,
            refreshed.body["refresh_token"].as_str().unwrap(),
        )
        .await;
    assert_error(&late, StatusCode::BAD_REQUEST, "invalid_grant");
    h.memory.clock.set(NOW + 200);
    assert!(
        failed(&h, "downstream", &parent, Some("read"))
            .await
            .is_empty()
    );

    // Beyond the subject's scope (admin is allowed to downstream, not granted to web).
    let reply = exchange_own(&h, DOWNSTREAM, &parent, &[("scope", "admin")]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_scope");
    assert_eq!(
        failed(&h, "downstream", &parent, Some("admin")).await,
        ["scopes"]
    );
    // Without scope: nothing granted.
    let reply = exchange_own(&h, DOWNSTREAM, &parent, &[]).await;
    let child = verified_claims(&h, reply.body["access_token"].as_str().unwrap());
    assert!(child.get("scope").is_none());
}

#[tokio::test]
async fn our_token_is_refused_by_type_client_policy_or_once_expired() {
    let h = Harness::new();
    chain(&h);
    let parent = parent(&h).await;
    // Sent as a JWT: refused before anything else.
    let params = [
        ("grant_type", EXCHANGE),
        ("subject_token", parent.as_str()),
        ("subject_token_type", JWT),
    ];
    let reply = h.call(post(&params, DOWNSTREAM)).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    // Presented by a client neither issued it nor in its aud.
    let mut other = application("other", AppType::Web, &[GrantType::TokenExchange]);
    other.allowed_issuers = Some(vec!["self".into()]);
    h.memory.config_store.put_application(&org(), other);
    let reply = exchange_own(&h, ("other", Some(SECRET)), &parent, &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(failed(&h, "other", &parent, None).await, ["audience"]);
    // The client it was issued to may exchange it, once its policy lists "self".
    let reply = exchange_own(&h, WEB, &parent, &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        failed(&h, "web", &parent, None).await,
        ["application_policy"]
    );
    // Expired.
    h.memory.clock.advance(601);
    let reply = exchange_own(&h, DOWNSTREAM, &parent, &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(failed(&h, "downstream", &parent, None).await, ["expiry"]);
    // A token not of ours with our iss: its signature fails.
    let (head, rest) = parent.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let forged = format!(
        "{head}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(br#"{"iss":"https://sts.example.com/t/acme/oauth2/token"}"#)
    );
    assert_eq!(failed(&h, "downstream", &forged, None).await, ["signature"]);
}

#[tokio::test]
async fn revoking_a_token_revokes_its_descendants_and_a_revoked_one_is_refused() {
    let h = Harness::new();
    chain(&h);
    let mut deeper = application("deeper", AppType::Web, &[GrantType::TokenExchange]);
    deeper.allowed_issuers = Some(vec!["self".into()]);
    h.memory.config_store.put_application(&org(), deeper);
    let mut downstream = application("downstream", AppType::Web, &[GrantType::TokenExchange]);
    downstream.allowed_issuers = Some(vec!["self".into()]);
    downstream.allowed_audiences = vec!["deeper".into()];
    h.memory.config_store.put_application(&org(), downstream);

    let parent = parent(&h).await;
    let reply = exchange_own(&h, DOWNSTREAM, &parent, &[("audience", "deeper")]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let child = reply.body["access_token"].as_str().unwrap().to_owned();
    let reply = exchange_own(&h, ("deeper", Some(SECRET)), &child, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let grandchild = reply.body["access_token"].as_str().unwrap().to_owned();
    assert!(h.active(&child).await && h.active(&grandchild).await);

    assert_eq!(h.revoke(WEB, &parent).await.status, StatusCode::OK);
    assert!(!h.active(&parent).await);
    assert!(
        !h.active(&child).await,
        "a child is revoked with its parent"
    );
    assert!(!h.active(&grandchild).await, "and its children");
    let reply = exchange_own(&h, ("deeper", Some(SECRET)), &child, &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(failed(&h, "deeper", &child, None).await, ["revocation"]);
}

#[tokio::test]
async fn revoking_the_refresh_token_revokes_what_its_access_tokens_were_exchanged_for() {
    let h = Harness::new();
    chain(&h);
    let more = [("audience", "downstream"), ("scope", "read")];
    let reply = h.exchange_with(WEB, &h.subject(), &more).await;
    let parent = reply.body["access_token"].as_str().unwrap().to_owned();
    let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    let reply = exchange_own(&h, DOWNSTREAM, &parent, &[]).await;
    let child = reply.body["access_token"].as_str().unwrap().to_owned();
    // The child's own refresh family never outlives its subject.
    let child_refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    assert!(h.active(&child).await);

    let revoke = post(&[("token", refresh.as_str())], WEB);
    let mut revoke = revoke;
    *revoke.uri_mut() = "/t/acme/oauth2/revoke".parse().unwrap();
    assert_eq!(h.call(revoke).await.status, StatusCode::OK);
    assert!(!h.active(&parent).await);
    assert!(!h.active(&child).await);
    assert_error(
        &h.refresh(DOWNSTREAM, &child_refresh).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}
