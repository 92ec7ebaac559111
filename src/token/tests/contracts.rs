//! The ports' contracts against the in-memory implementations (the AWS ones are checked
//! against the emulator in tests/port_contracts.rs).

use super::*;
use crate::testing::{InMemory, TestIdp, contract};

#[tokio::test]
async fn memory_refresh_store_keeps_the_port_contract() {
    let memory = InMemory::new(NOW);
    contract::refresh_store(
        memory.refresh_store.as_ref(),
        memory.revocations.as_ref(),
        NOW,
    )
    .await;
}

#[tokio::test]
async fn memory_revocations_keep_the_port_contract() {
    let memory = InMemory::new(NOW);
    for (target, before) in contract::seeded_revocations(NOW) {
        memory.revocations.revoke(&org(), &target, before);
    }
    contract::revocations(memory.revocations.as_ref(), &org(), NOW).await;
}

#[tokio::test]
async fn memory_lineage_keeps_the_port_contract() {
    let memory = InMemory::new(NOW);
    contract::lineage(memory.lineage.as_ref(), NOW).await;
}

#[tokio::test]
async fn memory_replay_log_keeps_the_port_contract() {
    let memory = InMemory::new(NOW);
    contract::replay_log(memory.replay_log.as_ref(), NOW).await;
}

#[tokio::test]
async fn memory_failure_log_keeps_the_port_contract() {
    let memory = InMemory::new(NOW);
    contract::failure_log(memory.failure_log.as_ref(), NOW).await;
}

#[tokio::test]
async fn memory_signer_keeps_the_port_contract() {
    let memory = InMemory::new(NOW);
    contract::signer(memory.signer.as_ref()).await;
}

#[tokio::test]
async fn memory_and_cached_config_stores_keep_the_port_contract() {
    let memory = InMemory::new(NOW);
    let seeded = contract::Seeded {
        org: org(),
        issuers: vec![issuer(false)],
        application: application("web", AppType::Web, &[GrantType::TokenExchange]),
    };
    memory
        .config_store
        .put_issuer(&seeded.org, seeded.issuers[0].clone());
    memory
        .config_store
        .put_application(&seeded.org, seeded.application.clone());
    contract::config_store(memory.config_store.as_ref(), &seeded).await;
    let cached = crate::token::CachedConfigStore::new(
        memory.config_store.clone(),
        std::time::Duration::from_secs(30),
    );
    contract::config_store(&cached, &seeded).await;
}

#[tokio::test]
async fn memory_config_store_keeps_the_generation_contract() {
    let memory = InMemory::new(NOW);
    let store = &memory.config_store;
    store.add_organization(&org());
    let web = application("web", AppType::Web, &[GrantType::TokenExchange]);
    let changes: [&dyn Fn(); 4] = [
        &|| store.put_application(&org(), web.clone()),
        &|| store.remove_application(&org(), "web"),
        &|| store.put_issuer(&org(), issuer(false)),
        &|| store.remove_issuer(&org(), "issuer-1"),
    ];
    let change = async |i: usize| changes[i]();
    let delete = async || store.mark_deleting(&org());
    contract::config_generation(store.as_ref(), &org(), changes.len(), change, delete).await;
}

#[tokio::test]
async fn memory_key_source_keeps_the_port_contract() {
    let memory = InMemory::new(NOW);
    let idp = TestIdp::new("k1");
    memory
        .keys
        .set("issuer-1", Ok(vec![idp.verification_key()]));
    let token = idp.sign(&serde_json::json!({"sub": "alice"}));
    contract::key_source(memory.keys.as_ref(), &issuer(false), &token).await;
}

#[test]
fn clocks_keep_the_port_contract() {
    let memory = InMemory::new(NOW);
    contract::clock(memory.clock.as_ref(), || NOW);
    contract::clock(&crate::ports::SystemClock, crate::domain::now_epoch);
}
