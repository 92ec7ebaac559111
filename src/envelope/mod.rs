//! Envelope signing (contract, "Signing modes"; `TRUSTGATE_SIGNING_MODE=envelope`): Trustgate's
//! own signing keys, kept in the table with their private keys encrypted under a symmetric KMS
//! key, decrypted once per key per execution environment and used in-process. No KMS call per
//! token, so neither KMS's latency nor its shared request quota bounds the exchanges.
//!
//! - [`signer`]: the [`crate::ports::Signer`] of the token function (and, publishing only, of
//!   admin's explain).
//! - [`rotation`]: the scheduled rotation that makes the next key (`src/bin/rotate.rs`).
//!
//! The lifecycle rules (which key signs, which are published, what a rotation writes) are the
//! domain's: [`crate::domain::envelope_key`]. The table and KMS are behind the ports
//! [`crate::ports::SigningKeyRecords`], [`crate::ports::SigningKeyWriter`],
//! [`crate::ports::KeyUnwrapper`] and [`crate::ports::KeyWrapper`] (`crate::aws::signing_keys`,
//! `crate::aws::key_wrapping`, `crate::aws::signing_key_rotation`).

pub mod rotation;
pub mod signer;
#[cfg(test)]
mod tests;

pub use rotation::{Rotated, rotate};
pub use signer::EnvelopeSigner;

/// What the token function logs, and answers 503 with, while no signing key exists.
pub const NO_KEY_YET: &str = "no envelope signing key exists yet: invoke the rotate function \
     once (it creates the first key, which signs at once)";
