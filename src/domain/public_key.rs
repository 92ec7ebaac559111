//! The one model of a public key: a trusted issuer's certificate key, a key of its JWKS, and our
//! own KMS signing key are all a [`PublicKey`], built only through the rules below. The admin
//! API and the token endpoint therefore cannot disagree about a key: a certificate the admin
//! API stores is one whose key verifies tokens.
//!
//! The rules (each checked in one place here):
//! - RSA (RFC 7518 §3.3, §3.5): a modulus of 2048 to 8192 bits. 2048 is RFC 7518's minimum;
//!   8192 is the most aws-lc verifies for JWS algorithms (larger keys would be accepted here and
//!   refused at every exchange), and it bounds what a hostile JWKS can make us compute. The
//!   modulus is odd (a product of odd primes; aws-lc refuses even ones). The exponent is odd and
//!   from 65537 to 2^32-1: FIPS 186-5 §A.1.1 requires e > 2^16, small exponents are what the
//!   PKCS#1 v1.5 forgeries needed (CVE-2006-4339), e = 1 is no signature at all, and 2^32-1
//!   is the bound of aws-lc's, Go's and Windows' key generation.
//! - EC (RFC 7518 §3.4, §6.2.1): P-256 or P-384 only, the curves of ES256 and ES384; named
//!   curves only in certificates (RFC 5480 §2.1.1); an uncompressed point (SEC 1 §2.3.3) that
//!   lies on the curve (checked here, not at the first verification).
//! - Nothing else: no symmetric keys (RFC 8725 §3.1, a shared secret never verifies a third
//!   party's tokens), no Ed25519 or other curves, no RSASSA-PSS-restricted SPKI (RFC 4055).

use std::fmt;

use aws_lc_rs::signature::{self as lc, ParsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, RSAKeyParameters, RSAKeyType, ThumbprintHash,
};
use serde_json::{Map, Value};
use x509_parser::oid_registry::{OID_EC_P256, OID_NIST_EC_P384};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey as X509Key;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::issuer::Algorithm;

/// RFC 7518 §3.3: RSA keys of 2048 bits or more.
pub const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus aws-lc verifies JWS algorithms with.
pub const MAX_RSA_BITS: usize = 8192;
/// Smallest RSA exponent (FIPS 186-5 §A.1.1: e > 2^16).
pub const MIN_RSA_EXPONENT: u64 = 65_537;
/// Largest RSA exponent (aws-lc, Go and Windows generate none larger).
pub const MAX_RSA_EXPONENT: u64 = u32::MAX as u64;

/// The kind of key, which decides the JWS algorithms it can verify (RFC 7518 §3.1).
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
        use Algorithm::*;
        match alg {
            RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => KeyFamily::Rsa,
            ES256 => KeyFamily::EcP256,
            ES384 => KeyFamily::EcP384,
        }
    }
}

/// The two curves of the supported algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    P256,
    P384,
}

impl Curve {
    /// Octets of one coordinate (RFC 7518 §6.2.1.2: JWK coordinates are exactly this long).
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }

    /// The JWK `crv` value (RFC 7518 §6.2.1.1).
    pub fn jwk_name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }

    fn verifier(self) -> &'static lc::EcdsaVerificationAlgorithm {
        match self {
            Curve::P256 => &lc::ECDSA_P256_SHA256_FIXED,
            Curve::P384 => &lc::ECDSA_P384_SHA384_FIXED,
        }
    }
}

/// Why a key is refused. `Display` reads after "has": "the certificate has an RSA key of …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRejected {
    #[error(
        "an RSA key of {0} bits; RSA keys of {MIN_RSA_BITS} (RFC 7518 §3.3) to {MAX_RSA_BITS} \
         bits are supported"
    )]
    RsaModulusSize(usize),
    #[error("an RSA key with an even modulus, which no RSA key has")]
    RsaEvenModulus,
    #[error(
        "an RSA key with exponent {}; the exponent must be odd, from {MIN_RSA_EXPONENT} to \
         2^32-1",
        .0.map_or_else(|| "of 2^64 or more".to_owned(), |e| e.to_string())
    )]
    RsaExponent(Option<u64>),
    #[error(
        "an EC key on an unsupported curve; P-256 (ES256) and P-384 (ES384) are supported, \
         as named curves"
    )]
    UnsupportedCurve,
    #[error("an EC public key that is not an uncompressed point on its curve")]
    EcPoint,
    #[error(
        "a key that is neither RSA nor EC; only RSA and EC keys can verify the supported algorithms"
    )]
    UnsupportedType,
    #[error("a malformed public key ({0})")]
    Malformed(&'static str),
}

#[derive(Clone, PartialEq, Eq)]
enum Material {
    /// Big-endian, without leading zero octets (what aws-lc and RFC 7518 §6.3.1 want).
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// `04 || x || y` (SEC 1 §2.3.3).
    Ec { curve: Curve, point: Vec<u8> },
}

/// A public key that passed every rule of this module; only its constructors make one.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(Material);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.describe())
    }
}

impl PublicKey {
    /// An RSA key from its big-endian modulus and exponent; leading zero octets are ignored.
    pub fn rsa(n: &[u8], e: &[u8]) -> Result<PublicKey, KeyRejected> {
        let n = strip_leading_zeros(n);
        let bits = bit_length(n);
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(KeyRejected::RsaModulusSize(bits));
        }
        if n[n.len() - 1] & 1 == 0 {
            return Err(KeyRejected::RsaEvenModulus);
        }
        let e = strip_leading_zeros(e);
        let value = (e.len() <= 8).then(|| e.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b)));
        match value {
            Some(v) if v % 2 == 1 && (MIN_RSA_EXPONENT..=MAX_RSA_EXPONENT).contains(&v) => {}
            _ => return Err(KeyRejected::RsaExponent(value)),
        }
        Ok(PublicKey(Material::Rsa {
            n: n.to_vec(),
            e: e.to_vec(),
        }))
    }

    /// An EC key from its uncompressed point `04 || x || y`, which must lie on `curve`.
    pub fn ec(curve: Curve, point: &[u8]) -> Result<PublicKey, KeyRejected> {
        if point.len() != 1 + 2 * curve.coordinate_len() || point[0] != 0x04 {
            return Err(KeyRejected::EcPoint);
        }
        ParsedPublicKey::new(curve.verifier(), point).map_err(|_| KeyRejected::EcPoint)?;
        Ok(PublicKey(Material::Ec {
            curve,
            point: point.to_vec(),
        }))
    }

    /// The key of a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7): `rsaEncryption` (RFC 3279
    /// §2.3.1) or `id-ecPublicKey` on a named curve (RFC 5480 §2.1.1).
    pub fn from_spki(spki: &SubjectPublicKeyInfo<'_>) -> Result<PublicKey, KeyRejected> {
        if spki.subject_public_key.unused_bits != 0 {
            return Err(KeyRejected::Malformed("BIT STRING with unused bits"));
        }
        match spki.parsed() {
            Ok(X509Key::RSA(rsa)) => {
                // DER INTEGERs are signed (X.690 §8.3.3): a top bit set means negative.
                let negative = |i: &[u8]| i.first().is_none_or(|b| b & 0x80 != 0);
                if negative(rsa.modulus) || negative(rsa.exponent) {
                    return Err(KeyRejected::Malformed("negative RSA integer"));
                }
                PublicKey::rsa(rsa.modulus, rsa.exponent)
            }
            Ok(X509Key::EC(point)) => {
                let named = spki.algorithm.parameters.as_ref();
                let curve = match named.and_then(|p| p.as_oid().ok()) {
                    Some(oid) if oid == OID_EC_P256 => Curve::P256,
                    Some(oid) if oid == OID_NIST_EC_P384 => Curve::P384,
                    _ => return Err(KeyRejected::UnsupportedCurve),
                };
                PublicKey::ec(curve, point.data())
            }
            Ok(_) => Err(KeyRejected::UnsupportedType),
            Err(_) => Err(KeyRejected::Malformed("unreadable key inside the SPKI")),
        }
    }

    /// A DER SubjectPublicKeyInfo, as KMS `GetPublicKey` returns it.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyRejected> {
        match SubjectPublicKeyInfo::from_der(der) {
            Ok(([], spki)) => PublicKey::from_spki(&spki),
            Ok(_) => Err(KeyRejected::Malformed("bytes after the SPKI")),
            Err(_) => Err(KeyRejected::Malformed("not a DER SubjectPublicKeyInfo")),
        }
    }

    /// A certificate's subject key. Only the key: validity and chain are not evaluated.
    pub fn from_certificate(certificate: &X509Certificate<'_>) -> Result<PublicKey, KeyRejected> {
        PublicKey::from_spki(certificate.public_key())
    }

    /// The key members of a JWK (RFC 7518 §6.2.1, §6.3.1): `kty` and `n`/`e` or `crv`/`x`/`y`,
    /// unpadded base64url (RFC 7515 §2). Members about use (`use`, `key_ops`, `alg`, `kid`)
    /// are the caller's. Lengths are bounded before decoding.
    pub fn from_jwk(jwk: &Map<String, Value>) -> Result<PublicKey, KeyRejected> {
        match member(jwk, "kty")? {
            "RSA" => {
                // Base64 of an 8192-bit modulus is 1366 characters, 1367 with a zero octet.
                let n = base64url(jwk, "n", MAX_RSA_BITS / 6 + 4)?;
                let e = base64url(jwk, "e", 12)?;
                PublicKey::rsa(&n, &e)
            }
            "EC" => {
                let curve = match member(jwk, "crv")? {
                    "P-256" => Curve::P256,
                    "P-384" => Curve::P384,
                    _ => return Err(KeyRejected::UnsupportedCurve),
                };
                let x = base64url(jwk, "x", 64)?;
                let y = base64url(jwk, "y", 64)?;
                let size = curve.coordinate_len();
                if x.len() != size || y.len() != size {
                    return Err(KeyRejected::EcPoint);
                }
                PublicKey::ec(curve, &[&[0x04][..], &x, &y].concat())
            }
            // "oct" (a shared secret) included: RFC 8725 §3.1.
            _ => Err(KeyRejected::UnsupportedType),
        }
    }

    pub fn family(&self) -> KeyFamily {
        match &self.0 {
            Material::Rsa { .. } => KeyFamily::Rsa,
            Material::Ec {
                curve: Curve::P256, ..
            } => KeyFamily::EcP256,
            Material::Ec {
                curve: Curve::P384, ..
            } => KeyFamily::EcP384,
        }
    }

    /// The modulus length for RSA, the curve's size for EC.
    pub fn bits(&self) -> usize {
        match &self.0 {
            Material::Rsa { n, .. } => bit_length(n),
            Material::Ec { curve, .. } => 8 * curve.coordinate_len(),
        }
    }

    /// Whether signatures made with `alg` can be verified with this key (RFC 7518 §3.1): RSA for
    /// `RS*`/`PS*`, P-256 for `ES256`, P-384 for `ES384`.
    pub fn fits(&self, alg: Algorithm) -> bool {
        KeyFamily::of(alg) == self.family()
    }

    /// "an RSA 2048-bit key", "an EC P-256 key": for messages to administrators.
    pub fn describe(&self) -> String {
        match &self.0 {
            Material::Rsa { .. } => format!("an RSA {}-bit key", self.bits()),
            Material::Ec { curve, .. } => format!("an EC {} key", curve.jwk_name()),
        }
    }

    /// The key's JWK members (RFC 7518 §6.2.1, §6.3.1), base64url without padding.
    pub fn jwk_parameters(&self) -> AlgorithmParameters {
        match &self.0 {
            Material::Rsa { n, e } => AlgorithmParameters::RSA(RSAKeyParameters {
                key_type: RSAKeyType::RSA,
                n: URL_SAFE_NO_PAD.encode(n),
                e: URL_SAFE_NO_PAD.encode(e),
            }),
            Material::Ec { curve, point } => {
                let (x, y) = point[1..].split_at(curve.coordinate_len());
                AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                    key_type: EllipticCurveKeyType::EC,
                    curve: match curve {
                        Curve::P256 => EllipticCurve::P256,
                        Curve::P384 => EllipticCurve::P384,
                    },
                    x: URL_SAFE_NO_PAD.encode(x),
                    y: URL_SAFE_NO_PAD.encode(y),
                })
            }
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256 of the required members in lexicographic order).
    pub fn thumbprint(&self) -> String {
        let jwk = Jwk {
            common: CommonParameters::default(),
            algorithm: self.jwk_parameters(),
        };
        jwk.thumbprint(ThumbprintHash::SHA256)
            .expect("RSA and EC JWKs have an RFC 7638 thumbprint")
    }

    /// The key in jsonwebtoken's terms, to verify with.
    pub fn decoding_key(&self) -> DecodingKey {
        match &self.0 {
            Material::Rsa { n, e } => DecodingKey::from_rsa_raw_components(n, e),
            // jsonwebtoken's name; what it takes is the SEC 1 point.
            Material::Ec { point, .. } => DecodingKey::from_ec_der(point),
        }
    }
}

/// A required string member.
fn member<'a>(jwk: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, KeyRejected> {
    match jwk.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(KeyRejected::Malformed("a JWK member is not a string")),
        None => Err(KeyRejected::Malformed("a required JWK member is missing")),
    }
}

/// A required unpadded base64url member of at most `max_chars` characters.
fn base64url(
    jwk: &Map<String, Value>,
    name: &'static str,
    max_chars: usize,
) -> Result<Vec<u8>, KeyRejected> {
    let text = member(jwk, name)?;
    if text.len() > max_chars {
        return Err(KeyRejected::Malformed("a JWK key member is too long"));
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| KeyRejected::Malformed("a JWK key member is not base64url"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, Validation};

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/",
                $name
            ))
        };
    }

    const E: [u8; 3] = [1, 0, 1];

    /// An odd modulus of exactly `bits` bits.
    fn modulus(bits: usize) -> Vec<u8> {
        let mut n = vec![0xff; bits.div_ceil(8)];
        n[0] = 1 << ((bits - 1) % 8);
        n
    }

    fn json(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    fn jwk_with(fixture: &str, member: &str, value: Value) -> Map<String, Value> {
        let mut jwk = json(fixture);
        jwk.insert(member.into(), value);
        jwk
    }

    fn cert_key(pem: &str) -> Result<PublicKey, KeyRejected> {
        let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        PublicKey::from_certificate(&block.parse_x509().unwrap())
    }

    fn spki_der(pem: &str) -> Vec<u8> {
        let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        block.parse_x509().unwrap().public_key().raw.to_vec()
    }

    #[test]
    fn rsa_modulus_has_2048_to_8192_bits() {
        for bits in [2048, 3072, 4096, 8192] {
            assert_eq!(PublicKey::rsa(&modulus(bits), &E).unwrap().bits(), bits);
        }
        for bits in [0, 1024, 2047, 8193, 16384] {
            let n = if bits == 0 { vec![] } else { modulus(bits) };
            assert_eq!(
                PublicKey::rsa(&n, &E),
                Err(KeyRejected::RsaModulusSize(bits))
            );
        }
        // Leading zero octets (a DER sign octet, a padded JWK) do not count.
        let padded = [&[0, 0][..], &modulus(2048)].concat();
        assert_eq!(PublicKey::rsa(&padded, &E).unwrap().bits(), 2048);
    }

    #[test]
    fn rsa_modulus_is_odd() {
        let mut even = modulus(2048);
        *even.last_mut().unwrap() = 0xfe;
        assert_eq!(PublicKey::rsa(&even, &E), Err(KeyRejected::RsaEvenModulus));
    }

    #[test]
    fn rsa_exponent_is_odd_from_65537_to_2_pow_32_minus_1() {
        let n = modulus(2048);
        for good in [
            &E[..],
            &[0, 1, 0, 1],
            &[0xff, 0xff, 0xff, 0xff],
            &[1, 0, 0, 0x0b],
        ] {
            assert!(PublicKey::rsa(&n, good).is_ok(), "{good:?}");
        }
        for (bad, value) in [
            (&[][..], Some(0)),
            (&[0][..], Some(0)),
            (&[1], Some(1)),
            (&[2], Some(2)),
            (&[3], Some(3)),
            (&[0xff, 0xff], Some(65_535)),
            (&[1, 0, 2], Some(65_538)),
            (&[1, 0, 0, 0, 1], Some(4_294_967_297)),
            (&[1; 9], None),
        ] {
            assert_eq!(
                PublicKey::rsa(&n, bad),
                Err(KeyRejected::RsaExponent(value)),
                "{bad:?}"
            );
        }
        let message = KeyRejected::RsaExponent(Some(1)).to_string();
        assert!(
            message.starts_with("an RSA key with exponent 1;"),
            "{message}"
        );
    }

    #[test]
    fn ec_points_are_uncompressed_and_on_p256_or_p384() {
        let p256 = PublicKey::from_jwk(&json(fixture!("ec-p256.jwk.json"))).unwrap();
        let p384 = PublicKey::from_jwk(&json(fixture!("ec-p384.jwk.json"))).unwrap();
        assert_eq!((p256.family(), p256.bits()), (KeyFamily::EcP256, 256));
        assert_eq!((p384.family(), p384.bits()), (KeyFamily::EcP384, 384));
        let Material::Ec { point, .. } = &p256.0 else {
            unreachable!()
        };
        // Off the curve, compressed, the other curve's size, truncated.
        let mut off = point.clone();
        off[64] ^= 1;
        let mut compressed = point[..33].to_vec();
        compressed[0] = 0x02;
        for (curve, bad) in [
            (Curve::P256, off),
            (Curve::P256, compressed),
            (Curve::P384, point.clone()),
            (Curve::P256, point[..64].to_vec()),
            (Curve::P256, vec![]),
        ] {
            assert_eq!(PublicKey::ec(curve, &bad), Err(KeyRejected::EcPoint));
        }
    }

    #[test]
    fn reads_spki_of_rsa_and_named_curve_certificates() {
        assert_eq!(cert_key(fixture!("rsa2048.cert.pem")).unwrap().bits(), 2048);
        assert_eq!(
            cert_key(fixture!("ec-p256.cert.pem")).unwrap().family(),
            KeyFamily::EcP256
        );
        assert_eq!(
            cert_key(fixture!("ec-p384.cert.pem")).unwrap().family(),
            KeyFamily::EcP384
        );
        for (pem, why) in [
            (
                fixture!("rsa1024.cert.pem"),
                KeyRejected::RsaModulusSize(1024),
            ),
            (
                fixture!("certificates/ed25519.pem"),
                KeyRejected::UnsupportedType,
            ),
            (
                fixture!("certificates/ec-p521.pem"),
                KeyRejected::UnsupportedCurve,
            ),
            (
                fixture!("certificates/rsa2048-e1.pem"),
                KeyRejected::RsaExponent(Some(1)),
            ),
            (
                fixture!("certificates/rsa16384.pem"),
                KeyRejected::RsaModulusSize(16384),
            ),
        ] {
            assert_eq!(cert_key(pem), Err(why));
        }
    }

    #[test]
    fn reads_spki_der_as_kms_returns_it() {
        let der = spki_der(fixture!("rsa2048.cert.pem"));
        assert_eq!(
            PublicKey::from_spki_der(&der),
            cert_key(fixture!("rsa2048.cert.pem"))
        );
        let der = spki_der(fixture!("ec-p256.cert.pem"));
        assert_eq!(
            PublicKey::from_spki_der(&der).unwrap().family(),
            KeyFamily::EcP256
        );
        for bad in [
            &[][..],
            &[0x30, 0x03, 0x30, 0x01, 0x06],
            &[&der[..], &[0]].concat(),
        ] {
            assert!(matches!(
                PublicKey::from_spki_der(bad),
                Err(KeyRejected::Malformed(_))
            ));
        }
    }

    /// A DER TLV with a definite length (X.690 §8.1.3).
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let len = content.len();
        let mut out = match len {
            0..0x80 => vec![tag, len as u8],
            0x80..0x100 => vec![tag, 0x81, len as u8],
            _ => vec![tag, 0x82, (len >> 8) as u8, len as u8],
        };
        out.extend_from_slice(content);
        out
    }

    /// An `rsaEncryption` SubjectPublicKeyInfo with `n` and `e` as the INTEGERs' contents.
    fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
        let oid = [
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
        ];
        let algorithm = tlv(0x30, &[&oid[..], &[0x05, 0x00]].concat());
        let key = tlv(0x30, &[tlv(0x02, n), tlv(0x02, e)].concat());
        let bits = tlv(0x03, &[&[0u8][..], &key].concat());
        tlv(0x30, &[algorithm, bits].concat())
    }

    #[test]
    fn refuses_negative_der_integers_and_applies_the_rules_to_spki() {
        let n = [&[0][..], &modulus(2048)].concat();
        assert!(PublicKey::from_spki_der(&rsa_spki(&n, &E)).is_ok());
        let negative = Err(KeyRejected::Malformed("negative RSA integer"));
        assert_eq!(PublicKey::from_spki_der(&rsa_spki(&n[1..], &E)), negative);
        assert_eq!(PublicKey::from_spki_der(&rsa_spki(&n, &[0x81])), negative);
        assert_eq!(
            PublicKey::from_spki_der(&rsa_spki(&n, &[1])),
            Err(KeyRejected::RsaExponent(Some(1)))
        );
    }

    #[test]
    fn reads_jwk_key_members_and_refuses_the_rest() {
        let rsa = PublicKey::from_jwk(&json(fixture!("rsa2048.jwk.json"))).unwrap();
        assert_eq!(Ok(rsa), cert_key(fixture!("rsa2048.cert.pem")));
        let (r, p) = (fixture!("rsa2048.jwk.json"), fixture!("ec-p256.jwk.json"));
        let malformed = |jwk: &Map<String, Value>| {
            matches!(PublicKey::from_jwk(jwk), Err(KeyRejected::Malformed(_)))
        };
        assert!(malformed(&jwk_with(r, "n", Value::from("not*base64url"))));
        assert!(malformed(&jwk_with(r, "e", Value::from("AQAB="))));
        assert!(malformed(&jwk_with(r, "e", Value::from(65537))));
        assert!(malformed(&jwk_with(r, "n", Value::from("A".repeat(1400)))));
        assert!(malformed(&json(r#"{"kty": "RSA", "e": "AQAB"}"#)));
        assert!(malformed(&json(r#"{"n": "AQAB"}"#)));
        for (jwk, why) in [
            (
                json(r#"{"kty": "oct", "k": "c2VjcmV0"}"#),
                KeyRejected::UnsupportedType,
            ),
            (
                json(r#"{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}"#),
                KeyRejected::UnsupportedType,
            ),
            (
                jwk_with(p, "crv", Value::from("P-521")),
                KeyRejected::UnsupportedCurve,
            ),
            (
                jwk_with(p, "crv", Value::from("P-384")),
                KeyRejected::EcPoint,
            ),
            (jwk_with(p, "x", Value::from("AQAB")), KeyRejected::EcPoint),
            (
                jwk_with(r, "e", Value::from("Aw")),
                KeyRejected::RsaExponent(Some(3)),
            ),
        ] {
            assert_eq!(PublicKey::from_jwk(&jwk), Err(why));
        }
    }

    #[test]
    fn fits_the_algorithms_of_its_family() {
        use Algorithm::*;
        let rsa = PublicKey::rsa(&modulus(2048), &E).unwrap();
        let p256 = PublicKey::from_jwk(&json(fixture!("ec-p256.jwk.json"))).unwrap();
        let p384 = PublicKey::from_jwk(&json(fixture!("ec-p384.jwk.json"))).unwrap();
        let fitting = |key: &PublicKey| -> Vec<Algorithm> {
            Algorithm::ALL
                .into_iter()
                .filter(|a| key.fits(*a))
                .collect()
        };
        assert_eq!(fitting(&rsa), [RS256, RS384, RS512, PS256, PS384, PS512]);
        assert_eq!(fitting(&p256), [ES256]);
        assert_eq!(fitting(&p384), [ES384]);
        assert_eq!(rsa.describe(), "an RSA 2048-bit key");
        assert_eq!(format!("{p384:?}"), "PublicKey(an EC P-384 key)");
    }

    #[test]
    fn rfc7638_thumbprint_of_the_rfc_example_key() {
        // RFC 7638 §3.1.
        let jwk = json(
            r#"{"kty": "RSA", "e": "AQAB", "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}"#,
        );
        assert_eq!(
            PublicKey::from_jwk(&jwk).unwrap().thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn the_decoding_key_verifies_what_the_private_key_signed() {
        let claims = serde_json::json!({"sub": "a", "exp": 4_000_000_000u64});
        for (private, jwk, alg) in [
            (
                fixture!("rsa2048.key.pem"),
                fixture!("rsa2048.jwk.json"),
                Algorithm::PS256,
            ),
            (
                fixture!("ec-p256.key.pem"),
                fixture!("ec-p256.jwk.json"),
                Algorithm::ES256,
            ),
            (
                fixture!("ec-p384.key.pem"),
                fixture!("ec-p384.jwk.json"),
                Algorithm::ES384,
            ),
        ] {
            let alg = alg.jsonwebtoken();
            let signing = match alg {
                jsonwebtoken::Algorithm::PS256 => EncodingKey::from_rsa_pem(private.as_bytes()),
                _ => EncodingKey::from_ec_pem(private.as_bytes()),
            };
            let token =
                jsonwebtoken::encode(&Header::new(alg), &claims, &signing.unwrap()).unwrap();
            let key = PublicKey::from_jwk(&json(jwk)).unwrap().decoding_key();
            jsonwebtoken::decode::<Value>(&token, &key, &Validation::new(alg)).unwrap();
        }
    }
}
