//! The rotation (the `rotate` function, on a schedule): the next key pair is generated
//! in-process, its private key encrypted under the wrapping key, and the key written with the
//! end of its predecessor's publication in one conditional write. The switch is by time (see
//! [`crate::domain::envelope_key`]), so nothing else changes: a rotation that fails at any step
//! leaves the key set as it was, the current key signing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use crate::config::SigningAlg;
use crate::domain::envelope_key::{Pending, StoredKey, plan_rotation};
use crate::domain::key_pair::KeyPair;
use crate::domain::public_key::PublicKey;
use crate::domain::signing_key::SigningKey;
use crate::ports::{KeyWrapper, PortError, SigningKeyRecords, SigningKeyWriter};

/// What a rotation did (the `rotate` function's answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Rotated {
    /// A new key was written: published now, signing from `not_before`. `retired`: the key it
    /// replaces and the end of that key's publication (none for the first key).
    Added {
        kid: String,
        not_before: i64,
        retired: Option<(String, i64)>,
    },
    /// A key made earlier has not started signing yet; nothing was written.
    AlreadyPending(Pending),
    /// A concurrent rotation wrote its key first; nothing was written.
    LostRace,
}

impl Rotated {
    pub fn log(&self) {
        match self {
            Rotated::Added {
                kid,
                not_before,
                retired,
            } => tracing::info!(
                kid = kid.as_str(),
                not_before,
                retired = retired.as_ref().map(|(kid, _)| kid.as_str()),
                retire_after = retired.as_ref().map(|(_, at)| *at),
                "signing key added"
            ),
            Rotated::AlreadyPending(pending) => tracing::info!(
                kid = pending.kid.as_str(),
                not_before = pending.not_before,
                "a signing key made earlier has not started signing: nothing to do"
            ),
            Rotated::LostRace => {
                tracing::info!("a concurrent rotation added the key: nothing to do")
            }
        }
    }
}

/// Rotates at `now`: one read of the key set, one `Encrypt`, one conditional write.
pub async fn rotate(
    records: &dyn SigningKeyRecords,
    writer: &dyn SigningKeyWriter,
    wrapper: &dyn KeyWrapper,
    alg: SigningAlg,
    now: i64,
) -> Result<Rotated, PortError> {
    let keys = records.signing_keys().await?;
    let plan = match plan_rotation(&keys, now) {
        Ok(plan) => plan,
        Err(pending) => return Ok(Rotated::AlreadyPending(pending)),
    };
    let (pair, pkcs8) = KeyPair::generate(alg).map_err(PortError::Internal)?;
    let public_der = pair.public_key_der().map_err(PortError::Internal)?;
    // The token function's rules, so a key it would refuse is never written.
    let public = PublicKey::from_spki_der(&public_der)
        .map_err(|e| PortError::Internal(format!("generated key has {e}")))?;
    let kid = SigningKey::new(&public, Some(alg))
        .map_err(PortError::Internal)?
        .kid;
    let wrapped = wrapper.wrap_key(&kid, &pkcs8).await?;
    drop(pkcs8);
    let new = StoredKey {
        seq: plan.seq,
        kid: kid.clone(),
        alg: alg.as_str().to_owned(),
        public_key: STANDARD.encode(&public_der),
        wrapped_private_key: STANDARD.encode(&wrapped),
        not_before: plan.not_before,
        retire_after: None,
    };
    if !writer.add_signing_key(&new, plan.retire.as_ref()).await? {
        return Ok(Rotated::LostRace);
    }
    Ok(Rotated::Added {
        kid,
        not_before: plan.not_before,
        retired: plan
            .retire
            .map(|key| (key.kid, key.retire_after.unwrap_or_default())),
    })
}
