//! One verification key and the rule for which JWS algorithms it may check: the key's family
//! must be the algorithm's (RFC 7518 §3.1), and a key that names an `alg` verifies that
//! algorithm only (RFC 7517 §4.4, RFC 8725 §3.1). Also which keys answer a token header's `kid`.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{self as lc, ParsedPublicKey};
use jsonwebtoken::DecodingKey;

use crate::domain::issuer::Algorithm;

/// RSA moduli below this are refused (RFC 7518 §3.3: 2048 bits or larger MUST be used).
pub const MIN_RSA_BITS: usize = 2048;
/// RSA moduli above this are refused: aws-lc verifies 2048–8192-bit keys only, and the bound
/// keeps a hostile JWKS from buying expensive verifications.
pub const MAX_RSA_BITS: usize = 8192;
pub use crate::domain::subject_token::MAX_KID_BYTES;

/// The kind of public key, which decides the algorithms it can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyFamily {
    /// RSA, for `RS*` and `PS*` (RFC 7518 §3.3, §3.5).
    Rsa,
    /// ECDSA on P-256, for `ES256` (RFC 7518 §3.4).
    EcP256,
    /// ECDSA on P-384, for `ES384`.
    EcP384,
}

impl KeyFamily {
    /// The family a JWS algorithm needs.
    pub fn of(alg: Algorithm) -> KeyFamily {
        match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => KeyFamily::Rsa,
            Algorithm::ES256 => KeyFamily::EcP256,
            Algorithm::ES384 => KeyFamily::EcP384,
        }
    }
}

/// A public key a trusted issuer signs with, ready for `jsonwebtoken::decode`.
#[derive(Clone)]
pub struct VerificationKey {
    /// The JWK `kid`; `None` for a key without one and for certificate keys.
    pub kid: Option<String>,
    /// The JWK `alg`: when set, the only algorithm this key may verify.
    pub alg: Option<Algorithm>,
    pub family: KeyFamily,
    pub key: DecodingKey,
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("family", &self.family)
            .finish_non_exhaustive()
    }
}

impl VerificationKey {
    /// Whether this key may verify a signature made with `alg`: `RS*`/`PS*` need an RSA key,
    /// `ES256` a P-256 key, `ES384` a P-384 key, and a key with a JWK `alg` allows only that one.
    pub fn fits(&self, alg: Algorithm) -> bool {
        KeyFamily::of(alg) == self.family && self.alg.is_none_or(|own| own == alg)
    }

    /// An RSA key from its big-endian modulus and exponent (leading zero octets allowed).
    /// Refuses moduli outside [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`], even moduli, and exponents
    /// that are even, below 3 or above 2^32 - 1.
    pub(crate) fn rsa(
        kid: Option<String>,
        alg: Option<Algorithm>,
        n: &[u8],
        e: &[u8],
    ) -> Result<VerificationKey, &'static str> {
        check_alg(alg, KeyFamily::Rsa)?;
        let n = strip_leading_zeros(n);
        let bits = bit_length(n);
        if bits < MIN_RSA_BITS {
            return Err("RSA modulus shorter than 2048 bits");
        }
        if bits > MAX_RSA_BITS {
            return Err("RSA modulus longer than 8192 bits");
        }
        if n[n.len() - 1] & 1 == 0 {
            return Err("RSA modulus is even");
        }
        let e = strip_leading_zeros(e);
        if e.is_empty() || e.len() > 4 || e[e.len() - 1] & 1 == 0 || (e.len() == 1 && e[0] < 3) {
            return Err("RSA exponent is not an odd number from 3 to 2^32-1");
        }
        Ok(VerificationKey {
            kid,
            alg,
            family: KeyFamily::Rsa,
            key: DecodingKey::from_rsa_raw_components(n, e),
        })
    }

    /// An EC key from its uncompressed point `04 || x || y` (SEC 1 §2.3.3), which must lie on
    /// the curve of `family`.
    pub(crate) fn ec(
        kid: Option<String>,
        alg: Option<Algorithm>,
        family: KeyFamily,
        point: &[u8],
    ) -> Result<VerificationKey, &'static str> {
        check_alg(alg, family)?;
        let (verifier, coordinate) = match family {
            KeyFamily::EcP256 => (&lc::ECDSA_P256_SHA256_FIXED, 32),
            KeyFamily::EcP384 => (&lc::ECDSA_P384_SHA384_FIXED, 48),
            KeyFamily::Rsa => return Err("not an EC key family"),
        };
        if point.len() != 1 + 2 * coordinate || point[0] != 0x04 {
            return Err("EC point is not an uncompressed point of the curve's size");
        }
        // Refuse points off the curve now rather than at every verification.
        ParsedPublicKey::new(verifier, point).map_err(|_| "EC point is not on the curve")?;
        Ok(VerificationKey {
            kid,
            alg,
            family,
            key: DecodingKey::from_ec_der(point),
        })
    }
}

fn check_alg(alg: Option<Algorithm>, family: KeyFamily) -> Result<(), &'static str> {
    match alg {
        Some(alg) if KeyFamily::of(alg) != family => Err("alg does not fit the key type"),
        _ => Ok(()),
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Bit length of a big-endian unsigned integer without leading zero octets.
fn bit_length(n: &[u8]) -> usize {
    match n.first() {
        None => 0,
        Some(&top) => (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

/// What a set of keys holds for a token header's `kid` and `alg`.
#[derive(Debug)]
pub(crate) enum Selection {
    /// Keys that may verify the token; try each, accept if one verifies.
    Found(Vec<Arc<VerificationKey>>),
    /// Keys with this `kid` exist but none fits `alg`: refetching would not help.
    Unfit,
    /// No key with this `kid` (or, for a token without `kid`, no key fitting `alg`): the issuer
    /// may have rotated, so a refetch may help.
    Unknown,
}

/// The keys that may verify a token whose header has `kid` and `alg`.
///
/// With a `kid`, only keys with exactly that `kid` (RFC 7515 §4.1.4; a set may hold more than one
/// key per `kid`, RFC 7517 §4.5). Without one, every key that fits `alg`, with or without `kid`:
/// the caller tries them in turn, at most the keys kept per issuer (see `max_keys`).
pub(crate) fn select(
    keys: &[Arc<VerificationKey>],
    kid: Option<&str>,
    alg: Algorithm,
) -> Selection {
    let mut same_kid = false;
    let found: Vec<_> = keys
        .iter()
        .filter(|key| match kid {
            Some(kid) if key.kid.as_deref() == Some(kid) => {
                same_kid = true;
                true
            }
            Some(_) => false,
            None => true,
        })
        .filter(|key| key.fits(alg))
        .cloned()
        .collect();
    if !found.is_empty() {
        Selection::Found(found)
    } else if same_kid {
        Selection::Unfit
    } else {
        Selection::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa_modulus(bits: usize) -> Vec<u8> {
        let mut n = vec![0xffu8; bits / 8];
        n[0] = 0x80;
        n
    }

    fn rsa(kid: Option<&str>, alg: Option<Algorithm>) -> Arc<VerificationKey> {
        Arc::new(
            VerificationKey::rsa(kid.map(Into::into), alg, &rsa_modulus(2048), &[1, 0, 1]).unwrap(),
        )
    }

    #[test]
    fn fits_by_family_and_jwk_alg() {
        let any_rsa = rsa(None, None);
        for alg in [Algorithm::RS256, Algorithm::PS512] {
            assert!(any_rsa.fits(alg));
        }
        assert!(!any_rsa.fits(Algorithm::ES256));
        let rs256_only = rsa(None, Some(Algorithm::RS256));
        assert!(rs256_only.fits(Algorithm::RS256));
        assert!(!rs256_only.fits(Algorithm::PS256));
    }

    #[test]
    fn refuses_short_long_and_malformed_rsa_keys() {
        let e = [1, 0, 1];
        assert!(VerificationKey::rsa(None, None, &rsa_modulus(2040), &e).is_err());
        assert!(VerificationKey::rsa(None, None, &rsa_modulus(8200), &e).is_err());
        // Leading zero octets do not count towards the length.
        let mut padded = vec![0, 0];
        padded.extend(rsa_modulus(2048));
        assert!(VerificationKey::rsa(None, None, &padded, &e).is_ok());
        let mut even = rsa_modulus(2048);
        *even.last_mut().unwrap() = 0xfe;
        assert!(VerificationKey::rsa(None, None, &even, &e).is_err());
        for bad_e in [&[][..], &[1], &[2], &[1, 0, 0], &[1, 0, 0, 0, 1]] {
            assert!(VerificationKey::rsa(None, None, &rsa_modulus(2048), bad_e).is_err());
        }
        assert!(
            VerificationKey::rsa(None, Some(Algorithm::ES256), &rsa_modulus(2048), &e).is_err()
        );
    }

    #[test]
    fn refuses_ec_points_off_the_curve_or_of_the_wrong_size() {
        let mut point = vec![0x04];
        point.extend([1u8; 64]);
        assert!(VerificationKey::ec(None, None, KeyFamily::EcP256, &point).is_err());
        assert!(VerificationKey::ec(None, None, KeyFamily::EcP384, &point).is_err());
    }

    #[test]
    fn selects_by_kid_then_alg() {
        let keys = vec![
            rsa(Some("a"), Some(Algorithm::RS256)),
            rsa(Some("a"), None),
            rsa(Some("b"), Some(Algorithm::PS256)),
            rsa(None, None),
        ];
        let Selection::Found(found) = select(&keys, Some("a"), Algorithm::RS256) else {
            panic!("kid a fits RS256")
        };
        assert_eq!(found.len(), 2, "both keys with kid a");
        assert!(matches!(
            select(&keys, Some("b"), Algorithm::RS256),
            Selection::Unfit
        ));
        assert!(matches!(
            select(&keys, Some("c"), Algorithm::RS256),
            Selection::Unknown
        ));
        let Selection::Found(found) = select(&keys, None, Algorithm::PS384) else {
            panic!("a token without kid may use any fitting key")
        };
        assert_eq!(found.len(), 2);
        assert!(matches!(
            select(&keys, None, Algorithm::ES256),
            Selection::Unknown
        ));
    }
}
