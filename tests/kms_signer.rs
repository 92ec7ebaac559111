//! The KMS signer against the emulator when `TRUSTGATE_SIGNING_KEY` is an alias that is
//! re-pointed under a warm function: tokens go on being signed by the key whose public key
//! (and `kid`) the function loaded and publishes, never by the alias's new target.

use crate::common;

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use common::keys::RSA_2048;
use common::stack::*;
use common::unique;
use lambda_http::http::StatusCode;
use trustgate::config;
use trustgate::domain::issuer::Algorithm;

async fn create_key(stack: &Stack) -> String {
    stack
        .app
        .kms
        .create_key()
        .key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap()
}

#[tokio::test]
async fn a_re_pointed_alias_never_signs_under_the_old_kid() {
    let alias = format!("alias/{}", unique("signing"));
    // The stack's own signer is not used: the token function under test signs with `alias`.
    let stack = Stack::with_config(&[(config::SIGNING_KEY, &alias)]).await;
    let (a, b) = (create_key(&stack).await, create_key(&stack).await);
    let kms = &stack.app.kms;
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(&a)
        .send()
        .await
        .unwrap();

    // Warm: the public key of A is loaded and published.
    let warm = stack
        .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims()))
        .await;
    assert_eq!(warm.status, StatusCode::OK, "{}", warm.body);
    let (header, _) = stack
        .verify_issued(warm.body["access_token"].as_str().unwrap())
        .await;
    let kid = header["kid"].as_str().unwrap().to_owned();

    // The alias moves to B while the function stays warm.
    kms.update_alias()
        .alias_name(&alias)
        .target_key_id(&b)
        .send()
        .await
        .unwrap();
    let described = kms.describe_key().key_id(&alias).send().await.unwrap();
    assert_eq!(
        described.key_metadata.unwrap().arn.as_deref(),
        Some(b.as_str())
    );

    // Still signed by A: the token verifies with the published key (A's), same kid.
    let after = stack
        .exchange(&RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &stack.claims()))
        .await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.body);
    let (header, claims) = stack
        .verify_issued(after.body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(header["kid"], kid.as_str());
    assert_eq!(claims["sub"], "user-42");
    let published = stack.service_jwks().await;
    assert_eq!(published["keys"].as_array().unwrap().len(), 1);
    assert_eq!(published["keys"][0]["kid"], kid.as_str());
}
