//! The verification key of a certificate-trusted issuer: the SubjectPublicKeyInfo (RFC 5280
//! §4.1.2.7) of the PEM certificate on its record, RSA (RFC 3279 §2.3.1) or EC on P-256/P-384
//! (RFC 5480 §2.1.1, named curves only). The certificate only carries the key: its validity
//! dates and issuer chain are not evaluated here (the admin API shows `not_after`).

use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
};
use x509_parser::pem::parse_x509_pem;
use x509_parser::public_key::PublicKey;

use super::key::{KeyFamily, VerificationKey};

/// The key of the first certificate in `pem`, or why there is none. The message names the
/// problem, never the key.
pub fn key_from_certificate_pem(pem: &str) -> Result<VerificationKey, String> {
    let (_, block) = parse_x509_pem(pem.as_bytes()).map_err(|_| "certificate is not PEM")?;
    if block.label != "CERTIFICATE" {
        return Err(format!(
            "PEM block is {:?}, not a CERTIFICATE",
            block.label.chars().take(40).collect::<String>()
        ));
    }
    let certificate = block
        .parse_x509()
        .map_err(|_| "certificate is not valid X.509 DER")?;
    let spki = certificate.public_key();
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == OID_PKCS1_RSAENCRYPTION {
        let Ok(PublicKey::RSA(rsa)) = spki.parsed() else {
            return Err("certificate RSA public key is malformed".into());
        };
        VerificationKey::rsa(None, None, rsa.modulus, rsa.exponent)
            .map_err(|e| format!("certificate key refused: {e}"))
    } else if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        let family = match curve {
            Some(oid) if oid == OID_EC_P256 => KeyFamily::EcP256,
            Some(oid) if oid == OID_NIST_EC_P384 => KeyFamily::EcP384,
            _ => return Err("certificate EC key is not on P-256 or P-384".into()),
        };
        VerificationKey::ec(None, None, family, &spki.subject_public_key.data)
            .map_err(|e| format!("certificate key refused: {e}"))
    } else {
        Err(format!(
            "certificate key type {algorithm} is not supported (RSA or EC P-256/P-384)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rsa_and_ec_certificate_keys() {
        for (pem, family) in [
            (
                include_str!("../../tests/fixtures/rsa2048.cert.pem"),
                KeyFamily::Rsa,
            ),
            (
                include_str!("../../tests/fixtures/ec-p256.cert.pem"),
                KeyFamily::EcP256,
            ),
            (
                include_str!("../../tests/fixtures/ec-p384.cert.pem"),
                KeyFamily::EcP384,
            ),
        ] {
            let key = key_from_certificate_pem(pem).unwrap();
            assert_eq!(key.family, family);
            assert_eq!((key.kid, key.alg), (None, None));
        }
    }

    #[test]
    fn refuses_short_keys_private_keys_and_garbage() {
        let short = key_from_certificate_pem(include_str!("../../tests/fixtures/rsa1024.cert.pem"));
        assert!(short.unwrap_err().contains("2048"));
        let private =
            key_from_certificate_pem(include_str!("../../tests/fixtures/rsa2048.key.pem"));
        assert!(private.unwrap_err().contains("not a CERTIFICATE"));
        assert!(key_from_certificate_pem("").is_err());
        assert!(
            key_from_certificate_pem(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            )
            .is_err()
        );
    }
}
