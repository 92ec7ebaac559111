//! Introspection (RFC 7662), revocation (RFC 7009) and the admin API's revocations, as the
//! contract's "Introspection and revocation" states them, through the real handler in memory.

use super::*;
use crate::domain::revocation::RevocationTarget;

const OTHER: (&str, Option<&str>) = ("refresh-only", Some(SECRET));

/// A form POST to `/t/acme/oauth2/{endpoint}`, authenticated like [`post`].
fn post_to(endpoint: &str, params: &[(&str, &str)], client: (&str, Option<&str>)) -> Request {
    let mut request = post(params, client);
    *request.uri_mut() = format!("/t/acme/oauth2/{endpoint}").parse().unwrap();
    request
}

impl Harness {
    pub(super) async fn introspect(&self, client: (&str, Option<&str>), token: &str) -> Reply {
        self.call(post_to("introspect", &[("token", token)], client))
            .await
    }

    pub(super) async fn revoke(&self, client: (&str, Option<&str>), token: &str) -> Reply {
        self.call(post_to("revoke", &[("token", token)], client))
            .await
    }

    /// An exchange by `web`: its access token and refresh token.
    async fn tokens(&self) -> (String, String) {
        let reply = self.exchange(WEB, &self.subject()).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let field = |name: &str| reply.body[name].as_str().unwrap().to_owned();
        (field("access_token"), field("refresh_token"))
    }

    pub(super) async fn active(&self, token: &str) -> bool {
        let reply = self.introspect(OTHER, token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.headers["cache-control"], "no-store");
        reply.body["active"].as_bool().unwrap()
    }

    /// Whether `web` may still refresh with `token` (and its new refresh token, if so).
    async fn refreshes(&self, token: &str) -> Option<String> {
        let reply = self.refresh(WEB, token).await;
        if reply.status == StatusCode::OK {
            return Some(reply.body["refresh_token"].as_str().unwrap().to_owned());
        }
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
        None
    }
}

#[tokio::test]
async fn an_active_access_token_is_described_by_its_claims() {
    let h = Harness::new();
    let (access, _) = h.tokens().await;
    let claims = verified_claims(&h, &access);
    let reply = h.introspect(OTHER, &access).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert_eq!(
        reply.body,
        json!({"active": true, "token_type": "Bearer", "iss": ORG_ISSUER, "sub": "alice",
               "idp": ISSUER, "aud": "web", "client_id": "web", "exp": NOW + 600, "iat": NOW,
               "jti": claims["jti"]})
    );
}

#[tokio::test]
async fn a_warm_introspection_reads_the_generation_and_one_batch_of_revocations() {
    let h = Harness::new();
    let (access, _) = h.tokens().await;
    assert!(h.active(&access).await);
    let (config, revocations) = (h.memory.config_store.reads(), h.memory.revocations.reads());
    assert!(h.active(&access).await);
    assert_eq!(h.memory.config_store.reads() - config, 1, "the generation");
    assert_eq!(h.memory.revocations.reads() - revocations, 1);
}

#[tokio::test]
async fn only_a_confidential_client_of_the_organization_introspects() {
    let h = Harness::new();
    let (access, _) = h.tokens().await;
    for client in [
        ("mobile", None),
        ("web", Some("wrong")),
        ("nobody", Some(SECRET)),
    ] {
        let reply = h.introspect(client, &access).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(reply.headers.contains_key("www-authenticate"));
    }
    let missing = h
        .call(post_to("introspect", &[("client_id", "web")], WEB))
        .await;
    assert_error(&missing, StatusCode::BAD_REQUEST, "invalid_request");
    let get = lambda_http::http::Request::builder()
        .method("GET")
        .uri("/t/acme/oauth2/introspect")
        .body(Body::Empty)
        .unwrap();
    let reply = h.call(get).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers["allow"], "POST");
}

#[tokio::test]
async fn expired_malformed_and_foreign_tokens_are_inactive() {
    let h = Harness::new();
    // Another organization's genuine token, signed with the same keys.
    let globex = OrgName::parse("globex").unwrap();
    h.memory.config_store.put_issuer(&globex, issuer(false));
    h.memory.config_store.put_application(
        &globex,
        application("web", AppType::Web, &[GrantType::TokenExchange]),
    );
    let mut claims = h.claims();
    claims["aud"] = "https://sts.example.com/t/globex/oauth2/token".into();
    let mut request = post(
        &[
            ("grant_type", EXCHANGE),
            ("subject_token", &h.idp.sign(&claims)),
            ("subject_token_type", JWT),
        ],
        WEB,
    );
    *request.uri_mut() = "/t/globex/oauth2/token".parse().unwrap();
    let foreign = h.call(request).await;
    assert_eq!(foreign.status, StatusCode::OK, "{}", foreign.body);
    let foreign = foreign.body["access_token"].as_str().unwrap().to_owned();
    assert!(!h.active(&foreign).await, "another organization's token");

    let (access, refresh) = h.tokens().await;
    let mut forged = access.clone();
    forged.pop();
    forged.push(if access.ends_with('A') { 'B' } else { 'A' });
    for token in [
        "not-a-token",
        "a.b.c",
        forged.as_str(),
        h.subject().as_str(), // a third party's JWT
    ] {
        assert!(!h.active(token).await, "{token}");
    }
    // A refresh token is active only to its own client (and `web` sees it).
    assert!(!h.active(&refresh).await, "another client's refresh token");
    let own = h.introspect(WEB, &refresh).await;
    assert_eq!(own.body["active"], true, "{}", own.body);
    assert_eq!(own.body["token_type"], "refresh_token");
    assert_eq!(own.body["client_id"], "web");
    assert_eq!(own.body["sub"], "alice");
    assert_eq!(own.body["idp"], ISSUER);
    assert_eq!(own.body["iat"], NOW);
    assert_eq!(own.body["exp"], NOW + 3600);
    // A rotated refresh token is no longer active.
    let next = h.refreshes(&refresh).await.unwrap();
    assert_eq!(h.introspect(WEB, &refresh).await.body["active"], false);
    assert_eq!(h.introspect(WEB, &next).await.body["active"], true);

    // A refresh would not be accepted once its trusted issuer is disabled: not active either.
    let mut disabled = issuer(true);
    disabled.enabled = false;
    h.memory.config_store.put_issuer(&org(), disabled);
    assert_eq!(h.introspect(WEB, &next).await.body["active"], false);

    h.memory.clock.advance(601);
    assert!(!h.active(&access).await, "expired");
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family_and_the_access_tokens_it_issued() {
    let h = Harness::new();
    let (first_access, refresh) = h.tokens().await;
    let reply = h.refresh(WEB, &refresh).await;
    let second_access = reply.body["access_token"].as_str().unwrap().to_owned();
    let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    let (unrelated, _) = h.tokens().await;

    let reply = h.revoke(WEB, &refresh).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert!(!h.active(&first_access).await);
    assert!(!h.active(&second_access).await);
    assert!(h.refreshes(&refresh).await.is_none());
    assert!(
        h.active(&unrelated).await,
        "another family's token stays active"
    );
}

#[tokio::test]
async fn revoking_an_access_token_revokes_it_and_its_refresh_family() {
    let h = Harness::new();
    let (access, refresh) = h.tokens().await;
    let reply = h.refresh(WEB, &refresh).await;
    let refreshed_access = reply.body["access_token"].as_str().unwrap().to_owned();
    let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();

    assert_eq!(h.revoke(WEB, &access).await.status, StatusCode::OK);
    assert!(!h.active(&access).await);
    assert!(
        !h.active(&refreshed_access).await,
        "the family's other token"
    );
    assert!(h.refreshes(&refresh).await.is_none());

    // Another exchange's family and token are untouched.
    let (other, other_refresh) = h.tokens().await;
    assert!(h.active(&other).await);
    assert!(h.refreshes(&other_refresh).await.is_some());
}

#[tokio::test]
async fn revocation_answers_200_for_unknown_tokens_and_refuses_another_clients() {
    let h = Harness::new();
    for token in ["unknown", "a.b.c", "x.y"] {
        let reply = h.revoke(WEB, token).await;
        assert_eq!(reply.status, StatusCode::OK, "{token}");
    }
    let (access, refresh) = h.tokens().await;
    for token in [&access, &refresh] {
        let reply = h.revoke(OTHER, token).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "unauthorized_client");
    }
    assert!(h.active(&access).await, "stays active");
    assert!(h.refreshes(&refresh).await.is_some(), "stays active");
    assert_error(
        &h.revoke(("web", Some("wrong")), &access).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    assert!(h.active(&access).await);
}

#[tokio::test]
async fn a_public_client_revokes_its_own_refresh_token() {
    let h = Harness::new();
    let reply = h.exchange(("mobile", None), &h.subject()).await;
    let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        h.revoke(("mobile", None), &refresh).await.status,
        StatusCode::OK
    );
    let again = h.refresh(("mobile", None), &refresh).await;
    assert_error(&again, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_subject_revocation_ends_what_was_issued_before_it_to_the_millisecond() {
    let h = Harness::new();
    let (access, refresh) = h.tokens().await;
    let alice = RevocationTarget::Subject {
        sub: "alice".into(),
        idp: Some(ISSUER.into()),
    };
    // Issued at NOW·1000 ms exactly: a revocation at that instant does not cover it…
    h.memory.revocations.revoke(&org(), &alice, NOW * 1000);
    assert!(h.active(&access).await);
    // … one a millisecond later does.
    h.memory.revocations.revoke(&org(), &alice, NOW * 1000 + 1);
    assert!(!h.active(&access).await);
    assert!(h.refreshes(&refresh).await.is_none());
    assert_eq!(h.introspect(WEB, &refresh).await.body["active"], false);

    // Another issuer's alice is not that alice.
    let elsewhere = RevocationTarget::Subject {
        sub: "alice".into(),
        idp: Some("https://else.example.com".into()),
    };
    h.memory.clock.advance(1);
    let (later, later_refresh) = h.tokens().await;
    h.memory
        .revocations
        .revoke(&org(), &elsewhere, (NOW + 5) * 1000);
    assert!(h.active(&later).await, "issued after alice's revocation");
    assert!(h.refreshes(&later_refresh).await.is_some());

    // Without idp: alice from any issuer.
    let any = RevocationTarget::Subject {
        sub: "alice".into(),
        idp: None,
    };
    h.memory
        .revocations
        .revoke(&org(), &any, (NOW + 1) * 1000 + 1);
    assert!(!h.active(&later).await);
}

#[tokio::test]
async fn a_client_revocation_ends_its_tokens_and_families() {
    let h = Harness::new();
    let (access, refresh) = h.tokens().await;
    let web = RevocationTarget::Client {
        client_id: "web".into(),
    };
    h.memory.revocations.revoke(&org(), &web, NOW * 1000 + 1);
    assert!(!h.active(&access).await);
    assert!(h.refreshes(&refresh).await.is_none());
    h.memory.clock.advance(1);
    let (after, refresh_after) = h.tokens().await;
    assert!(h.active(&after).await);
    assert!(h.refreshes(&refresh_after).await.is_some());
}

/// A JWS over `header` and `claims`, signed by the service's own signing key.
async fn signed_by_us(h: &Harness, header: Value, claims: Value) -> String {
    use crate::ports::Signer;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = h.memory.signer.sign(input.as_bytes()).await.unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[tokio::test]
async fn only_our_access_tokens_verify_whatever_our_key_signed() {
    let h = Harness::new();
    let kid = h.memory.signer.published_kid().to_owned();
    let claims = json!({"iss": ORG_ISSUER, "sub": "alice", "idp": ISSUER, "aud": "web",
                        "client_id": "web", "iat": NOW, "exp": NOW + 60, "jti": "j"});
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": kid});
    let genuine = signed_by_us(&h, header.clone(), claims.clone()).await;
    assert!(
        h.active(&genuine).await,
        "the shape this test varies is a valid token"
    );
    let mut wrong_typ = header.clone();
    wrong_typ["typ"] = "JWT".into();
    let mut relabelled = header.clone();
    relabelled["alg"] = "RS256".into();
    let mut no_kid = header.clone();
    no_kid.as_object_mut().unwrap().remove("kid");
    let mut no_idp = claims.clone();
    no_idp.as_object_mut().unwrap().remove("idp");
    let mut string_exp = claims.clone();
    string_exp["exp"] = (NOW + 60).to_string().into();
    for (header, claims, why) in [
        (wrong_typ, claims.clone(), "not typ at+jwt"),
        (relabelled, claims.clone(), "alg not the key's"),
        (no_kid, claims.clone(), "no kid"),
        (header.clone(), no_idp, "a claim we always write is missing"),
        (header.clone(), string_exp, "exp not a number"),
    ] {
        let token = signed_by_us(&h, header, claims).await;
        assert!(!h.active(&token).await, "{why}");
        assert_eq!(h.revoke(WEB, &token).await.status, StatusCode::OK, "{why}");
    }
    assert!(
        h.active(&genuine).await,
        "revoking the others left it alone"
    );
}
