//! Trustgate's own signing keys as published in its JWKS: the public key from KMS (a DER
//! SubjectPublicKeyInfo) turned into a JWK (RFC 7517/7518 §6), its RFC 7638 thumbprint as
//! `kid`, and the signing algorithm that fits it.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::config::SigningAlg;
use crate::der::{self, BIT_STRING, INTEGER, OID, Reader, SEQUENCE};

/// 1.2.840.113549.1.1.1 rsaEncryption
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// 1.2.840.10045.2.1 id-ecPublicKey
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// 1.2.840.10045.3.1.7 prime256v1 (P-256)
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// The public members of a signing key's JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// Modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// P-256 point coordinates, 32 bytes each.
    EcP256 { x: Vec<u8>, y: Vec<u8> },
}

/// A JWK as published (RFC 7517 §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub kid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

/// A signing key ready to use: its algorithm, `kid` and JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub alg: SigningAlg,
    pub kid: String,
    pub jwk: Jwk,
}

impl PublicKey {
    /// Parses a DER SubjectPublicKeyInfo holding an RSA or P-256 key.
    pub fn from_spki(spki: &[u8]) -> Result<PublicKey, String> {
        let mut outer = Reader::new(spki);
        let mut info = Reader::new(outer.expect(SEQUENCE)?);
        let mut algorithm = Reader::new(info.expect(SEQUENCE)?);
        let oid = algorithm.expect(OID)?;
        let bits = info.expect(BIT_STRING)?;
        let (&unused, key) = bits.split_first().ok_or("empty BIT STRING")?;
        if unused != 0 {
            return Err("BIT STRING with unused bits".into());
        }
        if oid == OID_RSA {
            let mut rsa = Reader::new(key);
            let mut fields = Reader::new(rsa.expect(SEQUENCE)?);
            let n = der::unsigned(fields.expect(INTEGER)?)?.to_vec();
            let e = der::unsigned(fields.expect(INTEGER)?)?.to_vec();
            if n.len() < 256 {
                return Err("RSA key under 2048 bits".into());
            }
            Ok(PublicKey::Rsa { n, e })
        } else if oid == OID_EC {
            if algorithm.expect(OID)? != OID_P256 {
                return Err("EC key on a curve other than P-256".into());
            }
            if key.len() != 65 || key[0] != 0x04 {
                return Err("EC point is not an uncompressed P-256 point".into());
            }
            Ok(PublicKey::EcP256 {
                x: key[1..33].to_vec(),
                y: key[33..].to_vec(),
            })
        } else {
            Err("public key is neither RSA nor EC".into())
        }
    }

    /// The algorithm to sign with: `configured` when it fits the key, else the key's default
    /// (RS256 for RSA, ES256 for P-256).
    pub fn signing_alg(&self, configured: Option<SigningAlg>) -> Result<SigningAlg, String> {
        match (self, configured) {
            (PublicKey::Rsa { .. }, None) => Ok(SigningAlg::RS256),
            (PublicKey::EcP256 { .. }, None) => Ok(SigningAlg::ES256),
            (PublicKey::Rsa { .. }, Some(alg @ (SigningAlg::RS256 | SigningAlg::PS256))) => Ok(alg),
            (PublicKey::EcP256 { .. }, Some(SigningAlg::ES256)) => Ok(SigningAlg::ES256),
            (_, Some(alg)) => Err(format!(
                "{} does not fit the signing key's type",
                alg.as_str()
            )),
        }
    }

    /// The RFC 7638 JWK thumbprint: base64url SHA-256 of the required members in
    /// lexicographic order, without whitespace.
    pub fn thumbprint(&self) -> String {
        let canonical = match self {
            PublicKey::Rsa { n, e } => {
                format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64(e), b64(n))
            }
            PublicKey::EcP256 { x, y } => {
                format!(
                    r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                    b64(x),
                    b64(y)
                )
            }
        };
        b64(digest(&SHA256, canonical.as_bytes()).as_ref())
    }

    pub fn into_signing_key(self, alg: SigningAlg) -> SigningKey {
        let kid = self.thumbprint();
        let jwk = match &self {
            PublicKey::Rsa { n, e } => Jwk {
                kty: "RSA",
                use_: "sig",
                alg: alg.as_str(),
                kid: kid.clone(),
                n: Some(b64(n)),
                e: Some(b64(e)),
                crv: None,
                x: None,
                y: None,
            },
            PublicKey::EcP256 { x, y } => Jwk {
                kty: "EC",
                use_: "sig",
                alg: alg.as_str(),
                kid: kid.clone(),
                n: None,
                e: None,
                crv: Some("P-256"),
                x: Some(b64(x)),
                y: Some(b64(y)),
            },
        };
        SigningKey { alg, kid, jwk }
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_thumbprint_of_the_rfc_example_key() {
        // RFC 7638 §3.1.
        let n = URL_SAFE_NO_PAD
            .decode(
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            )
            .unwrap();
        let key = PublicKey::Rsa {
            n,
            e: vec![1, 0, 1],
        };
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn picks_an_algorithm_that_fits_the_key() {
        let rsa = PublicKey::Rsa {
            n: vec![1; 256],
            e: vec![1, 0, 1],
        };
        let ec = PublicKey::EcP256 {
            x: vec![1; 32],
            y: vec![2; 32],
        };
        assert_eq!(rsa.signing_alg(None), Ok(SigningAlg::RS256));
        assert_eq!(
            rsa.signing_alg(Some(SigningAlg::PS256)),
            Ok(SigningAlg::PS256)
        );
        assert_eq!(ec.signing_alg(None), Ok(SigningAlg::ES256));
        assert!(rsa.signing_alg(Some(SigningAlg::ES256)).is_err());
        assert!(ec.signing_alg(Some(SigningAlg::RS256)).is_err());
    }

    #[test]
    fn refuses_spki_that_is_not_rsa_or_p256() {
        assert!(PublicKey::from_spki(&[]).is_err());
        assert!(PublicKey::from_spki(&[0x30, 0x03, 0x30, 0x01, 0x06]).is_err());
    }
}
