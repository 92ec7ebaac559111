//! Envelope signing's ports in memory: the key records (with the table's conditions) and a
//! wrapping "key" that binds each ciphertext to its `kid` as KMS's encryption context does. Not
//! encryption: a test double that keeps the promises the signer and the rotation rely on.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::domain::envelope_key::StoredKey;
use crate::ports::{
    BoxFuture, Clock, KeyUnwrapper, KeyWrapper, PortError, SigningKeyRecords, SigningKeyWriter,
};
use crate::secret::SecretBytes;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The signing keys' partition: a key past its `retire_after` reads as absent (the TTL).
pub struct MemorySigningKeys {
    clock: Arc<dyn Clock>,
    keys: Mutex<Vec<StoredKey>>,
    reads: AtomicU32,
    failure: Mutex<Option<PortError>>,
}

impl MemorySigningKeys {
    pub fn new(clock: Arc<dyn Clock>) -> MemorySigningKeys {
        MemorySigningKeys {
            clock,
            keys: Mutex::default(),
            reads: AtomicU32::new(0),
            failure: Mutex::default(),
        }
    }

    /// Reads answered so far (each a `Query` in the table).
    pub fn reads(&self) -> u32 {
        self.reads.load(Ordering::SeqCst)
    }

    /// Every later read fails with `failure` (or succeeds again with `None`).
    pub fn fail_with(&self, failure: Option<PortError>) {
        *lock(&self.failure) = failure;
    }

    /// Every stored key, expired or not.
    pub fn stored(&self) -> Vec<StoredKey> {
        lock(&self.keys).clone()
    }

    /// Replaces a stored key by `seq` (a test's tampering).
    pub fn replace(&self, key: StoredKey) {
        let mut keys = lock(&self.keys);
        keys.retain(|k| k.seq != key.seq);
        keys.push(key);
    }
}

impl SigningKeyRecords for MemorySigningKeys {
    fn signing_keys(&self) -> BoxFuture<'_, Result<Vec<StoredKey>, PortError>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let result = match lock(&self.failure).clone() {
            Some(failure) => Err(failure),
            None => {
                let now = self.clock.now();
                let keys = lock(&self.keys);
                Ok(keys
                    .iter()
                    .filter(|k| k.is_published(now))
                    .cloned()
                    .collect())
            }
        };
        Box::pin(std::future::ready(result))
    }
}

impl SigningKeyWriter for MemorySigningKeys {
    fn add_signing_key<'a>(
        &'a self,
        new: &'a StoredKey,
        retire: Option<&'a StoredKey>,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        let now = self.clock.now();
        let mut keys = lock(&self.keys);
        let taken = keys
            .iter()
            .any(|k| k.seq == new.seq && k.retire_after.is_none_or(|end| end > now));
        let retirable = retire.is_none_or(|retired| {
            keys.iter()
                .any(|k| k.seq == retired.seq && k.retire_after.is_none())
        });
        let written = !taken && retirable;
        if written {
            keys.retain(|k| k.seq != new.seq && Some(k.seq) != retire.map(|r| r.seq));
            keys.push(new.clone());
            keys.extend(retire.cloned());
        }
        Box::pin(std::future::ready(Ok(written)))
    }
}

/// Wraps a private key by prefixing its `kid`; unwrapping refuses another `kid` (as KMS refuses
/// another encryption context). Counts its calls.
#[derive(Default)]
pub struct MemoryWrapping {
    wraps: AtomicU32,
    unwraps: AtomicU32,
    failure: Mutex<Option<PortError>>,
}

impl MemoryWrapping {
    /// `Decrypt`s so far.
    pub fn unwraps(&self) -> u32 {
        self.unwraps.load(Ordering::SeqCst)
    }

    /// `Encrypt`s so far.
    pub fn wraps(&self) -> u32 {
        self.wraps.load(Ordering::SeqCst)
    }

    /// Every later call fails with `failure` (or succeeds again with `None`).
    pub fn fail_with(&self, failure: Option<PortError>) {
        *lock(&self.failure) = failure;
    }
}

impl KeyWrapper for MemoryWrapping {
    fn wrap_key<'a>(
        &'a self,
        kid: &'a str,
        pkcs8: &'a SecretBytes,
    ) -> BoxFuture<'a, Result<Vec<u8>, PortError>> {
        self.wraps.fetch_add(1, Ordering::SeqCst);
        let result = match lock(&self.failure).clone() {
            Some(failure) => Err(failure),
            None => Ok([kid.as_bytes(), b"\n", pkcs8.expose()].concat()),
        };
        Box::pin(std::future::ready(result))
    }
}

impl KeyUnwrapper for MemoryWrapping {
    fn unwrap_key<'a>(
        &'a self,
        kid: &'a str,
        wrapped: &'a [u8],
    ) -> BoxFuture<'a, Result<SecretBytes, PortError>> {
        self.unwraps.fetch_add(1, Ordering::SeqCst);
        let result = match lock(&self.failure).clone() {
            Some(failure) => Err(failure),
            None => match wrapped.strip_prefix(kid.as_bytes()) {
                Some([b'\n', pkcs8 @ ..]) => Ok(SecretBytes::new(pkcs8.to_vec())),
                _ => Err(PortError::Internal(
                    "InvalidCiphertextException: the encryption context does not match".into(),
                )),
            },
        };
        Box::pin(std::future::ready(result))
    }
}
