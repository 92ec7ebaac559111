//! Keys that really sign: the service's signer (ES256, as KMS would sign) and a test identity
//! provider whose subject tokens the in-memory key source verifies.

use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;

use crate::config::SigningAlg;
use crate::domain::public_key::{Curve, PublicKey};
use crate::domain::signing_key::SigningKey;
use crate::keys::VerificationKey;
use crate::ports::{BoxFuture, PortError, Signer};

fn generate() -> EcdsaKeyPair {
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .expect("P-256 key generation does not fail");
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .expect("a key just generated parses")
}

/// The public key of `pair`.
fn public_key(pair: &EcdsaKeyPair) -> PublicKey {
    PublicKey::ec(Curve::P256, pair.public_key().as_ref()).expect("a generated P-256 point")
}

/// JOSE ES256 signature (RFC 7518 §3.4): the fixed-size `r || s`.
fn sign(pair: &EcdsaKeyPair, input: &[u8]) -> Vec<u8> {
    pair.sign(&SystemRandom::new(), input)
        .expect("ECDSA signing does not fail")
        .as_ref()
        .to_vec()
}

/// The service's signing key in memory: ES256, published with its RFC 7638 `kid`.
pub struct MemorySigner {
    pair: EcdsaKeyPair,
    key: Arc<SigningKey>,
    failure: Mutex<Option<PortError>>,
}

impl MemorySigner {
    pub fn generate() -> MemorySigner {
        let pair = generate();
        let key = SigningKey::new(&public_key(&pair), Some(SigningAlg::ES256))
            .expect("ES256 fits a P-256 key");
        MemorySigner {
            pair,
            key: Arc::new(key),
            failure: Mutex::default(),
        }
    }

    /// Every later signature fails with `failure` (or succeeds again with `None`).
    pub fn fail_with(&self, failure: Option<PortError>) {
        *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = failure;
    }

    /// The `kid` the JWKS publishes for this key.
    pub fn published_kid(&self) -> &str {
        &self.key.kid
    }

    /// The key that verifies this signer's tokens.
    pub fn decoding_key(&self) -> DecodingKey {
        public_key(&self.pair).decoding_key()
    }
}

impl Signer for MemorySigner {
    fn current_key(&self) -> BoxFuture<'_, Result<Arc<SigningKey>, PortError>> {
        Box::pin(std::future::ready(Ok(self.key.clone())))
    }

    fn published_keys(&self) -> BoxFuture<'_, Result<Vec<Arc<SigningKey>>, PortError>> {
        Box::pin(std::future::ready(Ok(vec![self.key.clone()])))
    }

    fn sign<'a>(&'a self, signing_input: &'a [u8]) -> BoxFuture<'a, Result<Vec<u8>, PortError>> {
        let failure = self
            .failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let result = match failure {
            Some(failure) => Err(failure),
            None => Ok(sign(&self.pair, signing_input)),
        };
        Box::pin(std::future::ready(result))
    }
}

/// A trusted identity provider for in-process tests: signs subject tokens with ES256 and
/// gives the verification key the key source should hold for it.
pub struct TestIdp {
    pair: EcdsaKeyPair,
    pub kid: String,
}

impl TestIdp {
    pub fn new(kid: &str) -> TestIdp {
        TestIdp {
            pair: generate(),
            kid: kid.to_owned(),
        }
    }

    pub fn verification_key(&self) -> Arc<VerificationKey> {
        let key = VerificationKey::new(Some(self.kid.clone()), None, public_key(&self.pair))
            .expect("no alg to disagree with");
        Arc::new(key)
    }

    /// A compact JWS over exactly `header` and `claims` (JSON text).
    pub fn sign_raw(&self, header: &str, claims: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = URL_SAFE_NO_PAD.encode(sign(&self.pair, input.as_bytes()));
        format!("{input}.{signature}")
    }

    /// An ES256 token with this provider's `kid` and `claims`.
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let header = format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{}"}}"#, self.kid);
        self.sign_raw(&header, &claims.to_string())
    }
}
