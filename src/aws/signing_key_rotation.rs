//! The rotation's writes (the `rotate` function only; the token function never writes a
//! signing key): the [`SigningKeyWriter`] port on the table, and [`KeyWrapper`] on KMS
//! `Encrypt`. tests/infra_template.rs holds the rotate role to exactly these calls, and to the
//! signing keys' partition.

use aws_sdk_kms::primitives::Blob;

use crate::aws::key_wrapping::KmsKeyWrapping;
use crate::aws::table::{Condition, Item, Key, StoreError, Table, Write};
use crate::domain::envelope_key::StoredKey;
use crate::ports::{BoxFuture, KeyWrapper, PortError, SigningKeyWriter};
use crate::secret::SecretBytes;

/// The retired key is still the newest one: not retired by a rotation that ran meanwhile.
const NOT_RETIRED: &str = "attribute_exists(pk) AND attribute_not_exists(retire_after)";

impl SigningKeyWriter for Table {
    fn add_signing_key<'a>(
        &'a self,
        new: &'a StoredKey,
        retire: Option<&'a StoredKey>,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        Box::pin(async move {
            let item = Item::from_record(new, None)?;
            let written = match retire {
                None => {
                    let key = Key::signing_key(new.seq);
                    self.put(&key, item, Condition::AbsentOrExpired).await
                }
                Some(retired) => {
                    self.transact(vec![
                        Write::Put {
                            key: Key::signing_key(new.seq),
                            item,
                            condition: Condition::AbsentOrExpired,
                        },
                        Write::Put {
                            key: Key::signing_key(retired.seq),
                            item: Item::from_record(retired, retired.retire_after)?,
                            condition: Condition::Expression(NOT_RETIRED),
                        },
                    ])
                    .await
                }
            };
            match written {
                Ok(()) => Ok(true),
                Err(StoreError::ConditionFailed) => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
    }
}

impl KeyWrapper for KmsKeyWrapping {
    fn wrap_key<'a>(
        &'a self,
        kid: &'a str,
        pkcs8: &'a SecretBytes,
    ) -> BoxFuture<'a, Result<Vec<u8>, PortError>> {
        Box::pin(async move {
            let mut request = self
                .client
                .encrypt()
                .key_id(&self.wrapping_key)
                .plaintext(Blob::new(pkcs8.expose()));
            for (name, value) in self.context(kid) {
                request = request.encryption_context(name, value);
            }
            let output = request
                .send()
                .await
                .map_err(|e| self.failed("Encrypt", &e))?;
            let ciphertext = output
                .ciphertext_blob
                .ok_or_else(|| PortError::Internal("KMS Encrypt returned no ciphertext".into()))?;
            Ok(ciphertext.into_inner())
        })
    }
}
