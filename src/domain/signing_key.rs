//! Trustgate's own signing keys as published in its JWKS: the KMS key (a [`PublicKey`], under
//! the same rules as every other key) as a JWK (RFC 7517 §4), its RFC 7638 thumbprint as `kid`,
//! the signing algorithm that fits it, and the JOSE form of KMS's ECDSA signatures.

use jsonwebtoken::jwk::AlgorithmParameters;
use serde::Serialize;
use x509_parser::der_parser::ber::BerObjectContent;
use x509_parser::der_parser::parse_der;

use super::public_key::{KeyFamily, PublicKey};
use crate::config::SigningAlg;

/// A JWK as published (RFC 7517 §4). Our own struct, not `jsonwebtoken::jwk::Jwk`: its members
/// come in this order (`kty`, `use`, `alg`, `kid`, then the key), which clients have cached.
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

impl SigningKey {
    /// The signing key for `key`: `configured` when it fits the key, else the key's default
    /// (RS256 for RSA, ES256 for P-256). P-384 has no signing algorithm here (ES384 is not one
    /// of `TRUSTGATE_SIGNING_ALG`'s values).
    pub fn new(key: &PublicKey, configured: Option<SigningAlg>) -> Result<SigningKey, String> {
        let alg = match (key.family(), configured) {
            (KeyFamily::Rsa, None) => SigningAlg::RS256,
            (KeyFamily::EcP256, None) => SigningAlg::ES256,
            (KeyFamily::Rsa, Some(alg @ (SigningAlg::RS256 | SigningAlg::PS256))) => alg,
            (KeyFamily::EcP256, Some(SigningAlg::ES256)) => SigningAlg::ES256,
            (_, Some(alg)) => {
                return Err(format!(
                    "{} does not fit the signing key ({})",
                    alg.as_str(),
                    key.describe()
                ));
            }
            (KeyFamily::EcP384, None) => {
                return Err(format!("no signing algorithm fits {}", key.describe()));
            }
        };
        let (kty, n, e, crv, x, y) = match key.jwk_parameters() {
            AlgorithmParameters::RSA(rsa) => ("RSA", Some(rsa.n), Some(rsa.e), None, None, None),
            // Only P-256 has a signing algorithm (above).
            AlgorithmParameters::EllipticCurve(ec) => {
                ("EC", None, None, Some("P-256"), Some(ec.x), Some(ec.y))
            }
            _ => unreachable!("a PublicKey is RSA or EC"),
        };
        let kid = key.thumbprint();
        let jwk = Jwk {
            kty,
            use_: "sig",
            alg: alg.as_str(),
            kid: kid.clone(),
            n,
            e,
            crv,
            x,
            y,
        };
        Ok(SigningKey { alg, kid, jwk })
    }
}

/// A DER ECDSA signature `SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 §2.2.3), as KMS `Sign`
/// returns it, in the fixed `r || s` form of JWS (RFC 7518 §3.4), each left-padded to
/// `scalar_len` octets (32 for P-256).
pub fn ecdsa_to_jose(der: &[u8], scalar_len: usize) -> Result<Vec<u8>, String> {
    let (rest, signature) = parse_der(der).map_err(|_| "ECDSA signature is not DER")?;
    if !rest.is_empty() {
        return Err("trailing bytes after ECDSA signature".into());
    }
    let BerObjectContent::Sequence(items) = &signature.content else {
        return Err("ECDSA signature is not a SEQUENCE".into());
    };
    let [r, s] = items.as_slice() else {
        return Err("ECDSA signature does not hold exactly r and s".into());
    };
    let mut out = vec![0u8; 2 * scalar_len];
    for (half, item) in [r, s].into_iter().enumerate() {
        let BerObjectContent::Integer(value) = &item.content else {
            return Err("ECDSA r or s is not an INTEGER".into());
        };
        if value.first().is_none_or(|b| b & 0x80 != 0) {
            return Err("negative or empty ECDSA scalar".into());
        }
        let first = value.iter().position(|b| *b != 0).unwrap_or(value.len());
        let value = &value[first..];
        if value.len() > scalar_len {
            return Err("ECDSA scalar longer than the curve".into());
        }
        let end = (half + 1) * scalar_len;
        out[end - value.len()..end].copy_from_slice(value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn jwk_fixture(json: &str) -> PublicKey {
        PublicKey::from_jwk(
            serde_json::from_str::<serde_json::Value>(json)
                .unwrap()
                .as_object()
                .unwrap(),
        )
        .unwrap()
    }

    fn rsa() -> PublicKey {
        jwk_fixture(include_str!("../../tests/fixtures/rsa2048.jwk.json"))
    }

    fn p256() -> PublicKey {
        jwk_fixture(include_str!("../../tests/fixtures/ec-p256.jwk.json"))
    }

    #[test]
    fn picks_an_algorithm_that_fits_the_key() {
        let alg = |key: &PublicKey, configured| SigningKey::new(key, configured).map(|k| k.alg);
        assert_eq!(alg(&rsa(), None), Ok(SigningAlg::RS256));
        assert_eq!(alg(&rsa(), Some(SigningAlg::PS256)), Ok(SigningAlg::PS256));
        assert_eq!(alg(&p256(), None), Ok(SigningAlg::ES256));
        assert!(alg(&rsa(), Some(SigningAlg::ES256)).is_err());
        assert!(alg(&p256(), Some(SigningAlg::RS256)).is_err());
        let p384 = jwk_fixture(include_str!("../../tests/fixtures/ec-p384.jwk.json"));
        assert!(alg(&p384, None).unwrap_err().contains("P-384"));
    }

    /// The published bytes: member order and values as clients have them cached.
    #[test]
    fn publishes_the_jwk_members_in_their_order_with_the_thumbprint_as_kid() {
        let key = SigningKey::new(&rsa(), None).unwrap();
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/rsa2048.jwk.json")).unwrap();
        let expected = format!(
            r#"{{"kty":"RSA","use":"sig","alg":"RS256","kid":"{}","n":{},"e":{}}}"#,
            rsa().thumbprint(),
            fixture["n"],
            fixture["e"]
        );
        assert_eq!(serde_json::to_string(&key.jwk).unwrap(), expected);
        assert_eq!(key.kid, rsa().thumbprint());

        let key = SigningKey::new(&p256(), None).unwrap();
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/ec-p256.jwk.json")).unwrap();
        let expected = format!(
            r#"{{"kty":"EC","use":"sig","alg":"ES256","kid":"{}","crv":"P-256","x":{},"y":{}}}"#,
            key.kid, fixture["x"], fixture["y"]
        );
        assert_eq!(serde_json::to_string(&key.jwk).unwrap(), expected);
    }

    #[test]
    fn converts_der_ecdsa_with_padding_and_sign_bytes() {
        // r has a leading 0x00 (high bit set), s is short and must be left-padded.
        let mut der = vec![0x30, 0x27, 0x02, 0x21, 0x00];
        der.extend([0xff; 32]);
        der.extend([0x02, 0x02, 0x01, 0x02]);
        let jose = ecdsa_to_jose(&der, 32).unwrap();
        assert_eq!(jose.len(), 64);
        assert_eq!(&jose[..32], &[0xff; 32]);
        assert_eq!(&jose[32..62], &[0; 30]);
        assert_eq!(&jose[62..], &[1, 2]);
        assert_eq!(URL_SAFE_NO_PAD.encode(&jose).len(), 86);
    }

    #[test]
    fn refuses_malformed_der_signatures() {
        assert!(ecdsa_to_jose(&[], 32).is_err());
        assert!(ecdsa_to_jose(&[0x30, 0x05, 0x02, 0x01], 32).is_err());
        // s negative
        assert!(ecdsa_to_jose(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x81], 32).is_err());
        // only r; r, s and a third INTEGER; trailing bytes
        assert!(ecdsa_to_jose(&[0x30, 0x03, 0x02, 0x01, 0x01], 32).is_err());
        let three = [
            0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01,
        ];
        assert!(ecdsa_to_jose(&three, 32).is_err());
        assert!(
            ecdsa_to_jose(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00], 32).is_err()
        );
        // r one octet longer than a P-256 scalar
        let mut long = vec![0x30, 0x26, 0x02, 0x21, 0x01];
        long.extend([0u8; 32]);
        long.extend([0x02, 0x01, 0x01]);
        assert!(ecdsa_to_jose(&long, 32).is_err());
    }
}
