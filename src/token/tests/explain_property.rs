//! The explain property: for generated subject tokens and configurations, including cases made
//! to fail at every named check, explain's decision and error equal the token endpoint's.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::explain::{Targets, explain_with, failed};
use super::*;
use crate::oauth::request::TokenType;
use crate::token::explain::Explanation;

/// One way to make a subject token (or the client) fail, or none.
#[derive(Debug, Clone, Copy)]
enum Case {
    Valid,
    UnknownClient,
    DisabledClient,
    NoGrant,
    Garbage,
    Untrusted,
    OtherKey,
    Expired,
    NotYetValid,
    IssuedInFuture,
    ForeignAudience,
    NoSub,
    NoJti,
    Replayed,
    KeysUnavailable,
    ConditionFalse,
    ConditionErrors,
    PolicyShapes,
    MappingFails,
    IssuerNotAllowed,
    TargetsGranted,
    AudienceNotAllowed,
    ResourceWithFragment,
    ScopeNotAllowed,
    MappingFailsAndTargetRefused,
    Chained,
    ChainedByAnotherClient,
    ChainedBeyondScope,
    ChainedAsJwt,
    ChainedRevoked,
    Delegated,
    DelegationNotAllowed,
    ActorExpired,
    ActorNotMayAct,
}

const CASES: [Case; 34] = [
    Case::Valid,
    Case::UnknownClient,
    Case::DisabledClient,
    Case::NoGrant,
    Case::Garbage,
    Case::Untrusted,
    Case::OtherKey,
    Case::Expired,
    Case::NotYetValid,
    Case::IssuedInFuture,
    Case::ForeignAudience,
    Case::NoSub,
    Case::NoJti,
    Case::Replayed,
    Case::KeysUnavailable,
    Case::ConditionFalse,
    Case::ConditionErrors,
    Case::PolicyShapes,
    Case::MappingFails,
    Case::IssuerNotAllowed,
    Case::TargetsGranted,
    Case::AudienceNotAllowed,
    Case::ResourceWithFragment,
    Case::ScopeNotAllowed,
    Case::MappingFailsAndTargetRefused,
    Case::Chained,
    Case::ChainedByAnotherClient,
    Case::ChainedBeyondScope,
    Case::ChainedAsJwt,
    Case::ChainedRevoked,
    Case::Delegated,
    Case::DelegationNotAllowed,
    Case::ActorExpired,
    Case::ActorNotMayAct,
];

/// `web` may delegate to actors of the IdP, one level deep.
fn allow_delegation(h: &Harness) {
    let both = [GrantType::TokenExchange, GrantType::RefreshToken];
    let mut web = application("web", AppType::Web, &both);
    web.delegation = Some(crate::domain::exchange_policy::Delegation {
        allowed_actor_issuers: vec!["issuer-1".into()],
        max_depth: 1,
    });
    h.memory.config_store.put_application(&org(), web);
}

/// An actor token of the IdP for `agent`, `exp` this far from now.
fn actor_token(h: &Harness, agent: &str, lifetime: i64) -> Option<(String, TokenType)> {
    let mut claims = h.claims();
    claims["sub"] = json!(agent);
    claims["exp"] = json!(NOW + lifetime);
    Some((h.idp.sign(&claims), TokenType::Jwt))
}

/// `web`'s token for `mobile` with scope read, and `mobile` allowed to exchange it.
async fn own_token(h: &Harness) -> String {
    set_exchange_policy(h, None, &["mobile"], &["read"]);
    let both = [GrantType::TokenExchange, GrantType::RefreshToken];
    let mut mobile = application("mobile", AppType::Web, &both);
    mobile.allowed_issuers = Some(vec!["self".into()]);
    mobile.allowed_scopes = vec!["read".into(), "write".into()];
    h.memory.config_store.put_application(&org(), mobile);
    let more = [("audience", "mobile"), ("scope", "read")];
    let reply = h.exchange_with(WEB, &h.subject(), &more).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

/// The web application with an exchange policy: these issuers (`None`: any), audiences and
/// scopes.
fn set_exchange_policy(h: &Harness, issuers: Option<&[&str]>, audiences: &[&str], scopes: &[&str]) {
    let both = [GrantType::TokenExchange, GrantType::RefreshToken];
    let mut web = application("web", AppType::Web, &both);
    let owned = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    web.allowed_issuers = issuers.map(owned);
    web.allowed_audiences = owned(audiences);
    web.allowed_scopes = owned(scopes);
    h.memory.config_store.put_application(&org(), web);
}

/// The issuer with these expressions (configurations the property varies too).
fn set_policy(h: &Harness, condition: Option<&str>, subject: Option<&str>, mapping: Option<&str>) {
    let mut record = issuer(true);
    record.settings.condition = condition.map(str::to_owned);
    record.settings.subject = subject.map(str::to_owned);
    if let Some(mapping) = mapping {
        record
            .settings
            .claim_mappings
            .insert("mapped".into(), mapping.into());
    }
    h.memory.config_store.put_issuer(&org(), record);
}

async fn decide_both(case: Case, skew: i64) -> (Explanation, Reply, Option<Value>) {
    let h = Harness::new();
    let mut claims = h.claims();
    let mut client = "web";
    let mut token = None;
    let mut targets = Targets::default();
    let api = "https://api.example.com/v1";
    match case {
        Case::Valid => {}
        Case::UnknownClient => client = "nobody",
        Case::DisabledClient => client = "disabled",
        Case::NoGrant => client = "refresh-only",
        Case::Garbage => token = Some("a.b.c".to_owned()),
        Case::Untrusted => claims["iss"] = json!("https://evil.example.com"),
        Case::OtherKey => token = Some(TestIdp::new("idp-key").sign(&claims)),
        Case::Expired => claims["exp"] = json!(NOW - 60 - skew),
        Case::NotYetValid => claims["nbf"] = json!(NOW + 61 + skew),
        Case::IssuedInFuture => claims["iat"] = json!(NOW + 61 + skew),
        Case::ForeignAudience => claims["aud"] = json!("https://elsewhere.example.com"),
        Case::NoSub => {
            claims.as_object_mut().unwrap().remove("sub");
        }
        Case::NoJti => {
            claims.as_object_mut().unwrap().remove("jti");
        }
        Case::Replayed => {
            let used = h.idp.sign(&claims);
            assert_eq!(h.exchange(WEB, &used).await.status, StatusCode::OK);
            token = Some(used);
        }
        Case::ConditionFalse => set_policy(&h, Some("claims.sub == \"bob\""), None, None),
        Case::ConditionErrors => set_policy(&h, Some("claims.missing == 1"), None, None),
        Case::PolicyShapes => set_policy(
            &h,
            Some("claims.sub == \"alice\""),
            Some("\"p|\" + claims.sub"),
            Some("claims.iss"),
        ),
        Case::MappingFails => set_policy(&h, None, None, Some("claims.nope")),
        Case::IssuerNotAllowed => set_exchange_policy(&h, Some(&["self"]), &[], &[]),
        Case::TargetsGranted => {
            set_exchange_policy(
                &h,
                Some(&["issuer-1"]),
                &["billing", api],
                &["read", "write"],
            );
            targets.audiences = vec!["billing", "billing"];
            targets.resources = vec![api];
            targets.scope = Some("write read");
        }
        Case::AudienceNotAllowed => {
            set_exchange_policy(&h, None, &["billing"], &[]);
            targets.audiences = vec!["billing", "Billing"];
        }
        Case::ResourceWithFragment => {
            set_exchange_policy(&h, None, &["https://api.example.com/#x"], &[]);
            targets.resources = vec!["https://api.example.com/#x"];
        }
        Case::ScopeNotAllowed => {
            set_exchange_policy(&h, None, &[], &["read"]);
            targets.scope = Some("read admin");
        }
        Case::Chained | Case::ChainedBeyondScope | Case::ChainedAsJwt => {
            token = Some(own_token(&h).await);
            client = "mobile";
            targets.own = !matches!(case, Case::ChainedAsJwt);
            if matches!(case, Case::ChainedBeyondScope) {
                targets.scope = Some("read write");
            }
        }
        Case::ChainedByAnotherClient => {
            token = Some(own_token(&h).await);
            targets.own = true;
            client = "refresh-only";
        }
        Case::ChainedRevoked => {
            let own = own_token(&h).await;
            let mut revoke = post(&[("token", own.as_str())], WEB);
            *revoke.uri_mut() = "/t/acme/oauth2/revoke".parse().unwrap();
            assert_eq!(h.call(revoke).await.status, StatusCode::OK);
            token = Some(own);
            targets.own = true;
            client = "mobile";
        }
        Case::Delegated => {
            allow_delegation(&h);
            targets.actor = actor_token(&h, "agent-7", 300);
        }
        Case::DelegationNotAllowed => targets.actor = actor_token(&h, "agent-7", 300),
        Case::ActorExpired => {
            allow_delegation(&h);
            targets.actor = actor_token(&h, "agent-7", -61 - skew);
        }
        Case::ActorNotMayAct => {
            allow_delegation(&h);
            claims["may_act"] = json!({"sub": "agent-8"});
            targets.actor = actor_token(&h, "agent-7", 300);
        }
        Case::MappingFailsAndTargetRefused => {
            set_policy(&h, None, None, Some("claims.nope"));
            targets.audiences = vec!["billing"];
        }
        Case::KeysUnavailable => h.memory.keys.set(
            "issuer-1",
            Err(crate::keys::KeyError::Unavailable {
                retry_after_seconds: 5,
            }),
        ),
    }
    let token = token.unwrap_or_else(|| h.idp.sign(&claims));
    let explained = explain_with(&h, client, &token, &targets).await;
    let token_type = if targets.own {
        "urn:ietf:params:oauth:token-type:access_token"
    } else {
        JWT
    };
    let mut params = vec![
        ("grant_type", EXCHANGE),
        ("subject_token", token.as_str()),
        ("subject_token_type", token_type),
    ];
    params.extend(targets.params());
    let reply = h.call(post(&params, (client, Some(SECRET)))).await;
    // The issued token's claims, as explain would show them (without `jti`).
    let issued = reply.body["access_token"].as_str().map(|token| {
        let mut claims = verified_claims(&h, token);
        claims.as_object_mut().unwrap().remove("jti");
        claims
    });
    (explained, reply, issued)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For every case, made to fail at each named check or not at all, explain's decision and
    /// error are the token endpoint's.
    #[test]
    fn explain_decides_as_the_token_endpoint(index in 0..CASES.len(), skew in 0i64..100_000) {
        let case = CASES[index];
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (explained, reply, issued) = runtime.block_on(decide_both(case, skew));
        match &explained.denial {
            None => {
                prop_assert_eq!(reply.status, StatusCode::OK, "{:?}: {}", case, reply.body);
                prop_assert!(failed(&explained).is_empty());
                prop_assert_eq!(&explained.claims, &issued, "{:?}", case);
            }
            Some(denial) => {
                let error = crate::oauth::OAuthError::from(denial.clone());
                prop_assert_eq!(reply.status, error.status, "{:?}: {}", case, reply.body);
                prop_assert_eq!(&reply.body["error"], &json!(error.code), "{:?}", case);
                prop_assert_eq!(
                    reply.body["error_description"].as_str().unwrap(),
                    error.description.as_str(),
                    "{:?}", case
                );
                prop_assert_eq!(failed(&explained).len(), 1, "{:?}", case);
            }
        }
    }
}
