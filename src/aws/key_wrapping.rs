//! Envelope private keys under the wrapping key (KMS, symmetric): the [`KeyUnwrapper`] port,
//! one `Decrypt` per key per execution environment. The encryption context names the key and
//! the table, and KMS checks it on `Decrypt` (it is authenticated data of the ciphertext): a
//! wrapped key copied to another key's record, or into another stack's table, does not decrypt.
//! `Decrypt` names the wrapping key too, so a ciphertext made under any other key is refused
//! rather than decrypted with whatever key made it. The rotation's side, `Encrypt`, is in
//! `crate::aws::signing_key_rotation`.

use aws_sdk_kms::Client;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;

use crate::aws::sdk_error::port_error;
use crate::config::WRAPPING_KEY;
use crate::ports::{BoxFuture, KeyUnwrapper, PortError};
use crate::secret::SecretBytes;

/// The wrapping key ([`WRAPPING_KEY`]) and the table whose keys it wraps.
#[derive(Debug, Clone)]
pub struct KmsKeyWrapping {
    pub(super) client: Client,
    pub(super) wrapping_key: String,
    pub(super) table: String,
}

impl KmsKeyWrapping {
    /// Makes no call.
    pub fn new(client: Client, wrapping_key: String, table: String) -> KmsKeyWrapping {
        KmsKeyWrapping {
            client,
            wrapping_key,
            table,
        }
    }

    /// The encryption context of `kid`'s private key. The roles' policies (infra/template.yaml)
    /// allow `kms:Decrypt` and `kms:Encrypt` only with `kms:EncryptionContext:trustgate:table`
    /// naming the stack's table.
    pub(super) fn context(&self, kid: &str) -> [(&'static str, String); 3] {
        [
            ("trustgate:purpose", "envelope-signing-key".to_owned()),
            ("trustgate:table", self.table.clone()),
            ("trustgate:kid", kid.to_owned()),
        ]
    }

    /// What a KMS call under the wrapping key failed with, naming the variable to check.
    pub(super) fn failed<E, R>(&self, operation: &str, error: &SdkError<E, R>) -> PortError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        port_error(
            &format!("KMS {operation} with {WRAPPING_KEY}={}", self.wrapping_key),
            error,
        )
    }
}

impl KeyUnwrapper for KmsKeyWrapping {
    fn unwrap_key<'a>(
        &'a self,
        kid: &'a str,
        wrapped: &'a [u8],
    ) -> BoxFuture<'a, Result<SecretBytes, PortError>> {
        Box::pin(async move {
            let mut request = self
                .client
                .decrypt()
                .key_id(&self.wrapping_key)
                .ciphertext_blob(Blob::new(wrapped));
            for (name, value) in self.context(kid) {
                request = request.encryption_context(name, value);
            }
            let output = request
                .send()
                .await
                .map_err(|e| self.failed("Decrypt", &e))?;
            let plaintext = output
                .plaintext
                .ok_or_else(|| PortError::Internal("KMS Decrypt returned no plaintext".into()))?;
            Ok(SecretBytes::new(plaintext.into_inner()))
        })
    }
}
