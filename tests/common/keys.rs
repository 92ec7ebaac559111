//! Test signing keys of a pretend trusted issuer (tests/fixtures, made by generate.sh): sign
//! subject tokens, publish the public keys as a JWKS, or register them as a certificate.

use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;
use serde_json::{Value, json};
use trustgate::domain::issuer::Algorithm;

/// One fixture key pair.
#[derive(Debug, Clone, Copy)]
pub struct TestKey {
    /// An algorithm this key signs with by default.
    pub alg: Algorithm,
    /// PKCS#8 private key, for `EncodingKey::from_rsa_pem` / `from_ec_pem`.
    pub private_pem: &'static str,
    /// The public JWK (`kty` and key members only).
    pub public_jwk: &'static str,
    /// A self-signed certificate for the key.
    pub certificate_pem: &'static str,
}

pub const RSA_2048: TestKey = TestKey {
    alg: Algorithm::RS256,
    private_pem: include_str!("../fixtures/rsa2048.key.pem"),
    public_jwk: include_str!("../fixtures/rsa2048.jwk.json"),
    certificate_pem: include_str!("../fixtures/rsa2048.cert.pem"),
};

pub const EC_P256: TestKey = TestKey {
    alg: Algorithm::ES256,
    private_pem: include_str!("../fixtures/ec-p256.key.pem"),
    public_jwk: include_str!("../fixtures/ec-p256.jwk.json"),
    certificate_pem: include_str!("../fixtures/ec-p256.cert.pem"),
};

pub const EC_P384: TestKey = TestKey {
    alg: Algorithm::ES384,
    private_pem: include_str!("../fixtures/ec-p384.key.pem"),
    public_jwk: include_str!("../fixtures/ec-p384.jwk.json"),
    certificate_pem: include_str!("../fixtures/ec-p384.cert.pem"),
};

/// A 1024-bit RSA key: too short, must be refused (RFC 7518 §3.3).
pub const RSA_1024: TestKey = TestKey {
    alg: Algorithm::RS256,
    private_pem: include_str!("../fixtures/rsa1024.key.pem"),
    public_jwk: include_str!("../fixtures/rsa1024.jwk.json"),
    certificate_pem: include_str!("../fixtures/rsa1024.cert.pem"),
};

/// A key no trusted issuer publishes: what an attacker signs with.
pub const ATTACKER_RSA_2048: TestKey = TestKey {
    alg: Algorithm::RS256,
    private_pem: include_str!("../fixtures/attacker-rsa2048.key.pem"),
    public_jwk: include_str!("../fixtures/attacker-rsa2048.jwk.json"),
    certificate_pem: include_str!("../fixtures/attacker-rsa2048.cert.pem"),
};

impl TestKey {
    pub fn encoding_key(&self) -> EncodingKey {
        match self.alg {
            Algorithm::ES256 | Algorithm::ES384 => {
                EncodingKey::from_ec_pem(self.private_pem.as_bytes())
            }
            _ => EncodingKey::from_rsa_pem(self.private_pem.as_bytes()),
        }
        .expect("fixture key reads")
    }

    /// The public JWK with `kid`.
    pub fn jwk(&self, kid: &str) -> Value {
        self.jwk_with(json!({ "kid": kid }))
    }

    /// The public JWK with extra members (`kid`, `alg`, `use`, …) merged in.
    pub fn jwk_with(&self, extra: Value) -> Value {
        let mut jwk: Value = serde_json::from_str(self.public_jwk).expect("fixture JWK");
        let members = jwk.as_object_mut().unwrap();
        for (name, value) in extra.as_object().expect("an object of members") {
            members.insert(name.clone(), value.clone());
        }
        jwk
    }

    /// A compact JWS of `claims` signed with this key under `alg`, with `kid` in the header.
    pub fn sign_with(&self, alg: Algorithm, kid: Option<&str>, claims: &impl Serialize) -> String {
        let mut header = Header::new(alg.jsonwebtoken());
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.encoding_key()).expect("signs")
    }

    /// A compact JWS of `claims` under the key's default algorithm.
    pub fn sign(&self, kid: Option<&str>, claims: &impl Serialize) -> String {
        self.sign_with(self.alg, kid, claims)
    }
}

/// A JWK Set document of `keys`.
pub fn jwks(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}
