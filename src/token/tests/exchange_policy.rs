//! The application's exchange policy in-process: which issuers, targets and scopes it allows,
//! each refusal with its error and the explain check that names it, and refresh keeping (and
//! re-checking) what the exchange granted.

use super::*;
use crate::domain::ids::ClientId;
use crate::oauth::request::{ExchangeRequest, TokenType};

/// One form parameter.
type Param<'a> = (&'a str, &'a str);

const API: &str = "https://api.example.com/v1";

/// The web application with this exchange policy (`None`: any issuer).
fn web_with(h: &Harness, issuers: Option<&[&str]>, audiences: &[&str], scopes: &[&str]) {
    let both = [GrantType::TokenExchange, GrantType::RefreshToken];
    let mut web = application("web", AppType::Web, &both);
    let owned = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    web.allowed_issuers = issuers.map(owned);
    web.allowed_audiences = owned(audiences);
    web.allowed_scopes = owned(scopes);
    h.memory.config_store.put_application(&org(), web);
}

/// The one check explain fails for this exchange.
async fn failed_check(h: &Harness, subject: &str, more: &[(&str, &str)]) -> Vec<&'static str> {
    let all = |name: &'static str| {
        more.iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| *v)
    };
    let request = ExchangeRequest {
        subject_token: subject,
        subject_token_type: TokenType::Jwt,
        requested_token_type: TokenType::AccessToken,
        audiences: all("audience").collect(),
        resources: all("resource").collect(),
        scope: all("scope").next(),
        actor: None,
    };
    let explained = (h.app.service)
        .explain(&org(), &ClientId::new("web"), &request)
        .await;
    super::explain::failed(&explained)
}

#[tokio::test]
async fn grants_the_targets_as_aud_and_the_scope_as_claim_and_response_field() {
    let h = Harness::new();
    web_with(
        &h,
        Some(&["issuer-1"]),
        &["billing", API],
        &["read", "write"],
    );
    let more = [
        ("audience", "billing"),
        ("resource", API),
        ("audience", "billing"),
        ("scope", "write read write"),
    ];
    let reply = h.exchange_with(WEB, &h.subject(), &more).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["scope"], "write read");
    let claims = verified_claims(&h, reply.body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["aud"],
        json!(["billing", API]),
        "request order, once each"
    );
    assert_eq!(claims["scope"], "write read");
    assert_eq!(claims["client_id"], "web");

    let one = h.exchange_with(WEB, &h.subject(), &more[1..2]).await;
    let claims = verified_claims(&h, one.body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], API, "one target: a string");
    assert!(claims.get("scope").is_none() && one.body.get("scope").is_none());
}

#[tokio::test]
async fn each_policy_refusal_has_its_error_and_explain_names_its_check() {
    let h = Harness::new();
    web_with(
        &h,
        Some(&["issuer-1"]),
        &["billing", "https://r.example/#f"],
        &["read"],
    );
    let cases: [(&[Param], &str, &str); 6] = [
        (&[("audience", "Billing")], "invalid_target", "targets"),
        (
            &[("audience", "billing"), ("resource", API)],
            "invalid_target",
            "targets",
        ),
        (
            &[("resource", "https://r.example/#f")],
            "invalid_target",
            "targets",
        ),
        (&[("resource", "billing")], "invalid_target", "targets"),
        (&[("scope", "read admin")], "invalid_scope", "scopes"),
        (&[("scope", "read  read")], "invalid_scope", "scopes"),
    ];
    for (more, error, check) in cases {
        let reply = h.exchange_with(WEB, &h.subject(), more).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, error);
        assert_eq!(
            failed_check(&h, &h.subject(), more).await,
            [check],
            "{more:?}"
        );
    }
    // A parameter other than audience and resource may not repeat.
    let twice = [("scope", "read"), ("scope", "read")];
    assert_error(
        &h.exchange_with(WEB, &h.subject(), &twice).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );

    for issuers in [&[][..], &["self"], &["another-issuer"]] {
        web_with(&h, Some(issuers), &[], &[]);
        let reply = h.exchange(WEB, &h.subject()).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        assert_eq!(
            failed_check(&h, &h.subject(), &[]).await,
            ["application_policy"]
        );
    }
    // No policy at all: any trusted issuer, and no audience or scope may be asked for.
    web_with(&h, None, &[], &[]);
    assert_eq!(h.exchange(WEB, &h.subject()).await.status, StatusCode::OK);
    let reply = h
        .exchange_with(WEB, &h.subject(), &[("audience", "web")])
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_target");
    let reply = h
        .exchange_with(WEB, &h.subject(), &[("scope", "openid")])
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_scope");
}

#[tokio::test]
async fn a_failing_claim_mapping_is_reported_after_the_applications_checks() {
    let h = Harness::new();
    let mut record = issuer(true);
    (record.settings.claim_mappings).insert("team".into(), "claims.nope".into());
    h.memory.config_store.put_issuer(&org(), record);
    let more = [("audience", "billing")];
    let reply = h.exchange_with(WEB, &h.subject(), &more).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_target");
    assert_eq!(failed_check(&h, &h.subject(), &more).await, ["targets"]);
    let reply = h.exchange(WEB, &h.subject()).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        failed_check(&h, &h.subject(), &[]).await,
        ["claim_mappings"]
    );
}

#[tokio::test]
async fn refresh_keeps_aud_and_scope_may_narrow_and_never_widen() {
    let h = Harness::new();
    web_with(&h, None, &["billing"], &["read", "write"]);
    let more = [("audience", "billing"), ("scope", "read write")];
    let reply = h.exchange_with(WEB, &h.subject(), &more).await;
    let mut refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();

    let reply = h.refresh(WEB, &refresh).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["scope"], "read write");
    let claims = verified_claims(&h, reply.body["access_token"].as_str().unwrap());
    assert_eq!(
        (&claims["aud"], &claims["scope"]),
        (&json!("billing"), &json!("read write"))
    );
    refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();

    let narrow = |token: &str, scope: &'static str| {
        let params = [
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("scope", scope),
        ];
        h.call(post(&params, WEB))
    };
    let reply = narrow(&refresh, "write").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["scope"], "write");
    let claims = verified_claims(&h, reply.body["access_token"].as_str().unwrap());
    assert_eq!(
        (&claims["aud"], &claims["scope"]),
        (&json!("billing"), &json!("write"))
    );
    refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();

    // The family keeps what the exchange granted: the next refresh may ask for read again.
    let reply = h.refresh(WEB, &refresh).await;
    assert_eq!(reply.body["scope"], "read write", "{}", reply.body);
    refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();

    // Wider than the family's: invalid_scope, and the token stays usable.
    web_with(&h, None, &["billing"], &["read", "write", "admin"]);
    let reply = narrow(&refresh, "read admin").await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_scope");
    assert_eq!(h.memory.refresh_store.families(), 1);
    let reply = h.refresh(WEB, &refresh).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn refresh_is_refused_and_the_family_revoked_once_the_policy_stops_allowing_it() {
    for (issuers, audiences, scopes) in [
        (Some(&[][..]), &["billing"][..], &["read"][..]),
        (None, &[], &["read"]),
        (None, &["billing"], &[]),
    ] {
        let h = Harness::new();
        web_with(&h, None, &["billing"], &["read"]);
        let more = [("audience", "billing"), ("scope", "read")];
        let reply = h.exchange_with(WEB, &h.subject(), &more).await;
        let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
        assert_eq!(h.memory.refresh_store.families(), 1);

        web_with(&h, issuers, audiences, scopes);
        let reply = h.refresh(WEB, &refresh).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
        assert_eq!(
            h.memory.refresh_store.families(),
            0,
            "{issuers:?} {audiences:?} {scopes:?}"
        );
        // Allowed again: the family stays revoked.
        web_with(&h, None, &["billing"], &["read"]);
        let reply = h.refresh(WEB, &refresh).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
    }
}
