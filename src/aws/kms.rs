//! The [`Signer`] port on AWS KMS. `Sign` with `MessageType=RAW` (KMS hashes; moto's `DIGEST`
//! mode hashes twice and is avoided), and `GetPublicKey` once per key per warm function.
//!
//! `Sign` names the key by the ARN `GetPublicKey` answered with, never by the configured id:
//! when that is an alias, re-pointing it under a warm function would otherwise sign with the
//! new key under the old key's `kid`, and every token would fail verification.

use std::sync::Arc;

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use tokio::sync::OnceCell;

use crate::aws::sdk_error::port_error;
use crate::config::SigningAlg;
use crate::domain::public_key::PublicKey;
use crate::domain::signing_key::{SigningKey, ecdsa_to_jose};
use crate::ports::{BoxFuture, PortError, Signer};

pub struct KmsSigner {
    client: Client,
    key_id: String,
    previous_key_ids: Vec<String>,
    configured_alg: Option<SigningAlg>,
    current: OnceCell<LoadedKey>,
    previous: OnceCell<Vec<Arc<SigningKey>>>,
}

/// A key as `GetPublicKey` described it: the public key, and the ARN of the KMS key it is
/// (whatever alias or id it was asked for by).
struct LoadedKey {
    key: Arc<SigningKey>,
    arn: String,
}

impl KmsSigner {
    /// Makes no call: keys are fetched on first use (nothing slow at start).
    pub fn new(
        client: Client,
        key_id: String,
        previous_key_ids: Vec<String>,
        configured_alg: Option<SigningAlg>,
    ) -> KmsSigner {
        KmsSigner {
            client,
            key_id,
            previous_key_ids,
            configured_alg,
            current: OnceCell::new(),
            previous: OnceCell::new(),
        }
    }

    async fn load(&self, key_id: &str) -> Result<LoadedKey, PortError> {
        let output = self
            .client
            .get_public_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| port_error("KMS GetPublicKey", &e))?;
        let arn = output
            .key_id
            .ok_or_else(|| PortError::Internal(format!("KMS key {key_id}: no KeyId returned")))?;
        let spki = output
            .public_key
            .ok_or_else(|| PortError::Internal("KMS returned no public key".into()))?;
        // The same rules as every issuer key (domain::public_key): a KMS key they refuse
        // stops signing here, with the reason, rather than publishing an unusable JWK.
        let key = PublicKey::from_spki_der(spki.as_ref())
            .map_err(|e| PortError::Internal(format!("KMS key {key_id} has {e}")))?;
        let key = SigningKey::new(&key, self.configured_alg)
            .map_err(|e| PortError::Internal(format!("KMS key {key_id}: {e}")))?;
        Ok(LoadedKey {
            key: Arc::new(key),
            arn,
        })
    }

    /// The current key, loaded on first use.
    async fn current(&self) -> Result<&LoadedKey, PortError> {
        self.current
            .get_or_try_init(|| self.load(&self.key_id))
            .await
    }
}

fn kms_algorithm(alg: SigningAlg) -> SigningAlgorithmSpec {
    match alg {
        SigningAlg::RS256 => SigningAlgorithmSpec::RsassaPkcs1V15Sha256,
        SigningAlg::PS256 => SigningAlgorithmSpec::RsassaPssSha256,
        SigningAlg::ES256 => SigningAlgorithmSpec::EcdsaSha256,
    }
}

impl Signer for KmsSigner {
    fn current_key(&self) -> BoxFuture<'_, Result<Arc<SigningKey>, PortError>> {
        Box::pin(async move { Ok(Arc::clone(&self.current().await?.key)) })
    }

    fn published_keys(&self) -> BoxFuture<'_, Result<Vec<Arc<SigningKey>>, PortError>> {
        Box::pin(async move {
            let mut keys = vec![self.current_key().await?];
            let previous = self
                .previous
                .get_or_try_init(|| async {
                    let mut loaded = Vec::with_capacity(self.previous_key_ids.len());
                    for id in &self.previous_key_ids {
                        loaded.push(self.load(id).await?.key);
                    }
                    Ok::<_, PortError>(loaded)
                })
                .await?;
            for key in previous {
                if keys.iter().all(|k| k.kid != key.kid) {
                    keys.push(Arc::clone(key));
                }
            }
            Ok(keys)
        })
    }

    fn sign<'a>(&'a self, signing_input: &'a [u8]) -> BoxFuture<'a, Result<Vec<u8>, PortError>> {
        Box::pin(async move {
            let LoadedKey { key, arn } = self.current().await?;
            let output = self
                .client
                .sign()
                .key_id(arn)
                .message(Blob::new(signing_input))
                .message_type(MessageType::Raw)
                .signing_algorithm(kms_algorithm(key.alg))
                .send()
                .await
                .map_err(|e| port_error("KMS Sign", &e))?;
            let signature = output
                .signature
                .ok_or_else(|| PortError::Internal("KMS returned no signature".into()))?
                .into_inner();
            match key.alg {
                SigningAlg::ES256 => ecdsa_to_jose(&signature, 32).map_err(PortError::Internal),
                SigningAlg::RS256 | SigningAlg::PS256 => Ok(signature),
            }
        })
    }
}
