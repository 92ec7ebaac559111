//! Delegation in-process (RFC 8693 §4.1, §4.4): the actor token validated like a subject
//! token, `act` nested across hops, `may_act`, the depth limit, and refresh keeping `act`.

use super::*;
use crate::domain::exchange_policy::Delegation;
use crate::domain::ids::ClientId;
use crate::oauth::request::{ActorToken, ExchangeRequest, TokenType};
use crate::token::explain::Outcome;

const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const DOWNSTREAM: (&str, Option<&str>) = ("downstream", Some(SECRET));

fn delegation(actors: &[&str], max_depth: u8) -> Option<Delegation> {
    Some(Delegation {
        allowed_actor_issuers: actors.iter().map(|s| s.to_string()).collect(),
        max_depth,
    })
}

/// `web` may delegate to the IdP's actors and ask for `downstream`; `downstream` exchanges
/// our tokens with actors of the IdP, `max_depth` deep.
fn agents(h: &Harness, max_depth: u8) {
    let both = [GrantType::TokenExchange, GrantType::RefreshToken];
    let mut web = application("web", AppType::Web, &both);
    web.allowed_audiences = vec!["downstream".into()];
    web.delegation = delegation(&["issuer-1", "self"], 2);
    let mut downstream = application("downstream", AppType::Web, &both);
    downstream.allowed_issuers = Some(vec!["self".into()]);
    downstream.delegation = delegation(&["issuer-1"], max_depth);
    h.memory.config_store.put_application(&org(), web);
    h.memory.config_store.put_application(&org(), downstream);
}

impl Harness {
    /// A token of the IdP for `sub`, with these extra claims.
    fn token_of(&self, sub: &str, extra: Value) -> String {
        let mut claims = self.claims();
        claims["sub"] = json!(sub);
        for (name, value) in extra.as_object().unwrap() {
            claims[name] = value.clone();
        }
        self.idp.sign(&claims)
    }

    async fn delegated(
        &self,
        client: (&str, Option<&str>),
        subject: (&str, &str),
        actor: &str,
        more: &[(&str, &str)],
    ) -> Reply {
        let mut params = vec![
            ("grant_type", EXCHANGE),
            ("subject_token", subject.0),
            ("subject_token_type", subject.1),
            ("actor_token", actor),
            ("actor_token_type", JWT),
        ];
        params.extend_from_slice(more);
        self.call(post(&params, client)).await
    }

    /// The checks explain fails for `client` and these tokens (the subject a JWT).
    async fn failed_with_actor(
        &self,
        client: &str,
        subject: &str,
        actor: &str,
    ) -> Vec<&'static str> {
        let request = ExchangeRequest {
            subject_token: subject,
            subject_token_type: TokenType::Jwt,
            requested_token_type: TokenType::AccessToken,
            audiences: vec![],
            resources: vec![],
            scope: None,
            actor: Some(ActorToken {
                token: actor,
                token_type: TokenType::Jwt,
            }),
        };
        let explained = (self.app.service)
            .explain(&org(), &ClientId::new(client), &request)
            .await;
        if explained.denial.is_none() {
            for check in &explained.checks {
                assert_eq!(check.result, Outcome::Pass, "{}", check.check);
            }
        }
        super::explain::failed(&explained)
    }
}

#[tokio::test]
async fn a_two_hop_chain_nests_act_and_depth_over_max_depth_is_refused() {
    let h = Harness::new();
    agents(&h, 2);
    let user = h.token_of("alice", json!({}));
    let first_agent = h.token_of("agent-7", json!({}));
    assert!(
        h.failed_with_actor("web", &user, &first_agent)
            .await
            .is_empty()
    );
    let more = [("audience", "downstream")];
    let reply = h.delegated(WEB, (&user, JWT), &first_agent, &more).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let first = reply.body["access_token"].as_str().unwrap().to_owned();
    let claims = verified_claims(&h, &first);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["act"], json!({"sub": "agent-7", "idp": ISSUER}));

    let second_agent = h.token_of("agent-8", json!({}));
    let reply = h
        .delegated(DOWNSTREAM, (&first, ACCESS_TOKEN), &second_agent, &[])
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let claims = verified_claims(&h, reply.body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "alice");
    assert_eq!(
        claims["act"],
        json!({"sub": "agent-8", "idp": ISSUER, "act": {"sub": "agent-7", "idp": ISSUER}})
    );
    // The refresh family keeps act.
    let refresh = reply.body["refresh_token"].as_str().unwrap();
    let refreshed = h.refresh(DOWNSTREAM, refresh).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let again = verified_claims(&h, refreshed.body["access_token"].as_str().unwrap());
    assert_eq!(again["act"], claims["act"]);

    // One level allowed: the second hop's two levels are refused.
    agents(&h, 1);
    let third_agent = h.token_of("agent-9", json!({}));
    let reply = h
        .delegated(DOWNSTREAM, (&first, ACCESS_TOKEN), &third_agent, &[])
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    // Depth is checked when the chain is made; a refresh re-checks the actor's issuer is
    // still allowed (here delegation is gone).
    let next = refreshed.body["refresh_token"].as_str().unwrap();
    let mut downstream = application("downstream", AppType::Web, &[GrantType::RefreshToken]);
    downstream.allowed_issuers = Some(vec!["self".into()]);
    h.memory.config_store.put_application(&org(), downstream);
    assert_error(
        &h.refresh(DOWNSTREAM, next).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

#[tokio::test]
async fn nothing_a_delegated_family_issues_outlives_the_actor_token() {
    let h = Harness::new();
    agents(&h, 2);
    let user = h.token_of("alice", json!({"exp": NOW + 3600}));
    let agent = h.token_of("agent-7", json!({"exp": NOW + 120}));
    // The actor token is good until its exp plus the issuer's clock skew (60 s here).
    let actor_ends = NOW + 120 + 60;
    let reply = h.delegated(WEB, (&user, JWT), &agent, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let claims = verified_claims(&h, reply.body["access_token"].as_str().unwrap());
    assert_eq!(claims["exp"], actor_ends);

    // A refresh before then: the new access token (600 s by default) still stops there.
    h.memory.clock.advance(60);
    let refresh = reply.body["refresh_token"].as_str().unwrap();
    let refreshed = h.refresh(WEB, refresh).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let claims = verified_claims(&h, refreshed.body["access_token"].as_str().unwrap());
    assert_eq!(claims["exp"], actor_ends);
    assert_eq!(claims["act"]["sub"], "agent-7");
    // After it, the family is over.
    h.memory.clock.advance(actor_ends - NOW - 60);
    let next = refreshed.body["refresh_token"].as_str().unwrap();
    let reply = h.refresh(WEB, next).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn may_act_names_the_only_actor_allowed() {
    let h = Harness::new();
    agents(&h, 2);
    let may_act = json!({"may_act": {"sub": "agent-7", "iss": ISSUER}});
    let agent_7 = h.token_of("agent-7", json!({}));
    let user = h.token_of("alice", may_act.clone());
    let reply = h.delegated(WEB, (&user, JWT), &agent_7, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let user = h.token_of("alice", may_act);
    let agent_8 = h.token_of("agent-8", json!({}));
    let reply = h.delegated(WEB, (&user, JWT), &agent_8, &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    let user = h.token_of("alice", json!({"may_act": {"sub": "agent-8"}}));
    let agent_8 = h.token_of("agent-8", json!({}));
    assert_eq!(
        h.failed_with_actor("web", &user, &agent_8).await,
        Vec::<&str>::new()
    );
    let user = h.token_of(
        "alice",
        json!({"may_act": {"sub": "agent-8", "iss": "https://other"}}),
    );
    assert_eq!(
        h.failed_with_actor("web", &user, &agent_8).await,
        ["delegation"]
    );
}

#[tokio::test]
async fn the_actor_token_is_checked_like_a_subject_token_and_against_the_policy() {
    let h = Harness::new();
    agents(&h, 2);
    let user = h.token_of("alice", json!({}));
    let expired = h.token_of("agent-7", json!({"exp": NOW - 3600}));
    let reply = h.delegated(WEB, (&user, JWT), &expired, &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(reply.body["error_description"], "actor token is expired");
    assert_eq!(
        h.failed_with_actor("web", &user, &expired).await,
        ["actor.expiry"]
    );
    assert_eq!(
        h.failed_with_actor("web", &user, "a.b.c").await,
        ["actor.format"]
    );
    // A replayed actor token (the issuer requires jti).
    let agent = h.token_of("agent-7", json!({}));
    let user = h.token_of("alice", json!({}));
    assert_eq!(
        h.delegated(WEB, (&user, JWT), &agent, &[]).await.status,
        StatusCode::OK
    );
    let user = h.token_of("alice", json!({}));
    let reply = h.delegated(WEB, (&user, JWT), &agent, &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        h.failed_with_actor("web", &user, &agent).await,
        ["actor.jti"]
    );

    // No delegation for the application, or an actor issuer it does not allow.
    let plain = application("plain", AppType::Web, &[GrantType::TokenExchange]);
    h.memory.config_store.put_application(&org(), plain);
    let agent = h.token_of("agent-7", json!({}));
    let reply = h
        .delegated(("plain", Some(SECRET)), (&user, JWT), &agent, &[])
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        h.failed_with_actor("plain", &user, &agent).await,
        ["delegation"]
    );
    let mut picky = application("picky", AppType::Web, &[GrantType::TokenExchange]);
    picky.delegation = delegation(&["self"], 1);
    h.memory.config_store.put_application(&org(), picky);
    assert_eq!(
        h.failed_with_actor("picky", &user, &agent).await,
        ["delegation"]
    );
}
