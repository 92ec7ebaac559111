//! One verification key: a [`PublicKey`] (which holds every size, exponent and curve rule) with
//! the JWK `kid` and `alg` it was published under, and the rule for which JWS algorithms it may
//! check: the key's family must be the algorithm's (RFC 7518 §3.1), and a key that names an
//! `alg` verifies that algorithm only (RFC 7517 §4.4, RFC 8725 §3.1). Also which keys answer a
//! token header's `kid`.

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::DecodingKey;

use crate::domain::issuer::Algorithm;
use crate::domain::public_key::{KeyFamily, PublicKey};

pub use crate::domain::subject_token::MAX_KID_BYTES;

/// A public key a trusted issuer signs with, ready for `jsonwebtoken::decode`.
#[derive(Clone)]
pub struct VerificationKey {
    /// The JWK `kid`; `None` for a key without one and for certificate keys.
    pub kid: Option<String>,
    /// The JWK `alg`: when set, the only algorithm this key may verify.
    pub alg: Option<Algorithm>,
    /// `public` in jsonwebtoken's terms, made once.
    pub key: DecodingKey,
    public: PublicKey,
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl VerificationKey {
    /// `public` under `kid`, restricted to `alg` when set; an `alg` the key cannot verify is
    /// refused (RFC 7517 §4.4: it would make the key useless, or mean the set is wrong).
    pub fn new(
        kid: Option<String>,
        alg: Option<Algorithm>,
        public: PublicKey,
    ) -> Result<VerificationKey, &'static str> {
        if alg.is_some_and(|alg| !public.fits(alg)) {
            return Err("alg does not fit the key type");
        }
        Ok(VerificationKey {
            kid,
            alg,
            key: public.decoding_key(),
            public,
        })
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    pub fn family(&self) -> KeyFamily {
        self.public.family()
    }

    /// Whether this key may verify a signature made with `alg`: `RS*`/`PS*` need an RSA key,
    /// `ES256` a P-256 key, `ES384` a P-384 key, and a key with a JWK `alg` allows only that one.
    pub fn fits(&self, alg: Algorithm) -> bool {
        self.public.fits(alg) && self.alg.is_none_or(|own| own == alg)
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

    fn rsa(kid: Option<&str>, alg: Option<Algorithm>) -> Arc<VerificationKey> {
        let jwk: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/rsa2048.jwk.json")).unwrap();
        let public = PublicKey::from_jwk(jwk.as_object().unwrap()).unwrap();
        Arc::new(VerificationKey::new(kid.map(Into::into), alg, public).unwrap())
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
    fn refuses_a_jwk_alg_the_key_cannot_verify() {
        let public = rsa(None, None).public_key().clone();
        assert!(VerificationKey::new(None, Some(Algorithm::ES256), public).is_err());
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
