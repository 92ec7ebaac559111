//! X.509 certificates a trusted issuer may be configured with instead of a JWKS URI.
//!
//! Users paste what they have: a PEM file (RFC 7468), or the base64 of a DER file (what a
//! `.cer`, `.crt` or `.der` file holds), so no `openssl` conversion step is needed. The
//! certificate is stored normalized to PEM, with the subject (RFC 4514), expiry and SHA-256
//! fingerprint the admin API shows. Only the public key matters to token validation: it is a
//! [`PublicKey`], under the one set of key rules the token endpoint also applies, and the token
//! endpoint reads it from the stored PEM with [`certificate_key`], the same path as here.
//! Private keys are refused outright.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use x509_parser::der_parser::ber::BerObjectContent;
use x509_parser::objects::{oid_registry, oid2abbrev};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::X509Name;

use super::issuer::Certificate;
use super::public_key::PublicKey;

/// Longest input accepted: far above any single certificate a JWT issuer uses.
pub const MAX_INPUT_CHARS: usize = 16 * 1024;

/// Reads one certificate from PEM or base64 DER. The error says what is wrong in words a
/// user can act on; it never repeats the input (which might be a private key).
pub fn parse_certificate(input: &str) -> Result<(Certificate, PublicKey), String> {
    let der = certificate_der(input)?;
    let cert = x509(&der)?;
    let key = subject_key(&cert)?;
    let not_after = cert.validity().not_after.to_datetime();
    let not_after = super::rfc3339(not_after.unix_timestamp());
    Ok((
        Certificate {
            pem: to_pem(&der),
            subject: rfc4514(cert.subject()),
            not_after,
            sha256_fingerprint: hex(digest(&SHA256, &der).as_ref()),
        },
        key,
    ))
}

/// The key of a certificate, read exactly as [`parse_certificate`] reads it (the token
/// endpoint's reading of a stored certificate), without making the admin API's view.
pub fn certificate_key(input: &str) -> Result<PublicKey, String> {
    subject_key(&x509(&certificate_der(input)?)?)
}

fn certificate_der(input: &str) -> Result<Vec<u8>, String> {
    if input.chars().count() > MAX_INPUT_CHARS {
        return Err(format!("must be at most {MAX_INPUT_CHARS} characters"));
    }
    if input.contains("-----BEGIN") {
        der_from_pem(input)
    } else {
        der_from_base64(input)
    }
}

/// Reads the PEM blocks of `input` (RFC 7468) by their markers, not by lines, so a PEM whose
/// line breaks were lost (pasted as one line, or with `\r\n`) still reads. Text around the
/// blocks (e.g. `openssl x509 -text` output) is ignored.
fn der_from_pem(input: &str) -> Result<Vec<u8>, String> {
    let mut certificates = Vec::new();
    let mut rest = input;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            return Err("has a PEM BEGIN line without its closing dashes".into());
        };
        let label = after[..label_end].trim();
        if label.contains("PRIVATE KEY") {
            return Err(private_key_refused());
        }
        let body_and_rest = &after[label_end + "-----".len()..];
        let end = format!("-----END {label}-----");
        let Some(body_end) = body_and_rest.find(&end) else {
            return Err(format!("PEM block {label:?} has no END line"));
        };
        let body = &body_and_rest[..body_end];
        rest = &body_and_rest[body_end + end.len()..];
        match label {
            "CERTIFICATE" | "X509 CERTIFICATE" => certificates.push(body),
            "PUBLIC KEY" | "RSA PUBLIC KEY" => {
                return Err(
                    "is a public key, not a certificate: paste the issuer's X.509 certificate, \
                     or configure its jwks_uri"
                        .into(),
                );
            }
            other => return Err(format!("PEM block {other:?} is not a certificate")),
        }
    }
    match certificates.as_slice() {
        [] => Err("has no PEM CERTIFICATE block".into()),
        [one] => decode_base64(one).ok_or_else(|| "PEM body is not valid base64".into()),
        _ => Err("must hold exactly one certificate, not a chain".into()),
    }
}

fn der_from_base64(input: &str) -> Result<Vec<u8>, String> {
    let compact: String = input.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err("must not be empty".into());
    }
    decode_base64(&compact)
        .ok_or_else(|| "is neither a PEM certificate nor base64-encoded DER".into())
}

/// Standard base64, padded or not; whitespace inside is ignored (PEM bodies, wrapped files).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(compact).ok().filter(|der| !der.is_empty())
}

fn private_key_refused() -> String {
    "is a private key: never send private keys; paste the issuer's certificate (public) only".into()
}

fn x509(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err("has bytes after the certificate".into()),
        Err(_) if looks_like_private_key(der) => Err(private_key_refused()),
        Err(_) => Err("is not a valid X.509 certificate".into()),
    }
}

fn subject_key(cert: &X509Certificate<'_>) -> Result<PublicKey, String> {
    PublicKey::from_certificate(cert).map_err(|why| format!("has {why}"))
}

/// PKCS#1, SEC 1 and PKCS#8 private keys are DER SEQUENCEs starting with a small INTEGER (the
/// version); a certificate starts with a SEQUENCE (its TBSCertificate).
fn looks_like_private_key(der: &[u8]) -> bool {
    let Ok((_, object)) = x509_parser::der_parser::parse_der(der) else {
        return false;
    };
    match &object.content {
        BerObjectContent::Sequence(items) => matches!(
            items.first().map(|i| &i.content),
            Some(BerObjectContent::Integer(_))
        ),
        _ => false,
    }
}

/// RFC 7468 text: 64-character lines between the CERTIFICATE labels.
fn to_pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// A distinguished name as RFC 4514 writes it: last RDN first, `,` between RDNs, `+` inside
/// one, special characters escaped (§2.4), non-string values as `#` and hex (§2.4).
fn rfc4514(name: &X509Name<'_>) -> String {
    let registry = oid_registry();
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    let oid = atv.attr_type();
                    let kind = oid2abbrev(oid, registry)
                        .map(|s| if s == "Email" { "emailAddress" } else { s }.to_owned())
                        .unwrap_or_else(|_| oid.to_id_string());
                    let value = match atv.as_str() {
                        Ok(s) => escape_rfc4514(s),
                        Err(_) => format!("#{}", hex(atv.attr_value().data)),
                    };
                    format!("{kind}={value}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn escape_rfc4514(value: &str) -> String {
    let count = value.chars().count();
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == count && c == ' ');
        if special {
            out.push('\\');
            out.push(c);
        } else if c == '\0' || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\{b:02x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::public_key::KeyFamily;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/certificates/",
                $name
            ))
        };
    }

    const RSA_2048: &str = fixture!("rsa2048.pem");
    /// `openssl x509 -noout -fingerprint -sha256 -in rsa2048.pem`, lower-cased, no colons.
    const RSA_2048_SHA256: &str =
        "958d8221513417c239fbad8b3f0b4ae6507d3423d0f9463e40e00e1dd3f9bcbe";

    fn refused(input: &str) -> String {
        parse_certificate(input).expect_err("must be refused")
    }

    #[test]
    fn reads_a_pem_certificate_with_subject_expiry_and_fingerprint() {
        let (cert, key) = parse_certificate(RSA_2048).unwrap();
        assert_eq!((key.family(), key.bits()), (KeyFamily::Rsa, 2048));
        // As `openssl x509 -noout -subject -nameopt RFC2253` prints it.
        assert_eq!(cert.subject, "CN=RSA 2048 issuer,O=Trustgate Test,C=DE");
        assert_eq!(cert.not_after, "2036-11-23T02:32:12Z");
        assert_eq!(cert.sha256_fingerprint, RSA_2048_SHA256);
        assert_eq!(cert.pem, RSA_2048, "openssl's PEM is already normalized");
    }

    #[test]
    fn reads_base64_der_as_from_a_cer_file_and_normalizes_it_to_pem() {
        for input in [
            fixture!("rsa2048.der.b64"),
            fixture!("rsa2048.der.b64-wrapped"),
            fixture!("rsa2048.der.b64").trim_end_matches('='),
        ] {
            let (cert, _) = parse_certificate(input).unwrap();
            assert_eq!(cert.pem, RSA_2048);
            assert_eq!(cert.sha256_fingerprint, RSA_2048_SHA256);
        }
    }

    #[test]
    fn accepts_a_pem_pasted_with_crlf_and_surrounding_text() {
        let pasted = format!(
            "subject=CN = RSA 2048 issuer\r\n{}\r\n",
            RSA_2048.replace('\n', "\r\n")
        );
        let (cert, _) = parse_certificate(&pasted).unwrap();
        assert_eq!(cert.pem, RSA_2048);
    }

    #[test]
    fn accepts_a_pem_whose_line_breaks_were_lost() {
        let one_line = RSA_2048.replace('\n', " ");
        let (cert, _) = parse_certificate(&one_line).unwrap();
        assert_eq!(cert.pem, RSA_2048);
        let no_spaces = RSA_2048.replace('\n', "");
        assert_eq!(parse_certificate(&no_spaces).unwrap().0.pem, RSA_2048);
    }

    #[test]
    fn accepts_ec_p256_and_p384_certificates() {
        let (cert, key) = parse_certificate(fixture!("ec-p256.pem")).unwrap();
        assert_eq!(key.family(), KeyFamily::EcP256);
        assert_eq!(cert.subject, "CN=EC P-256 issuer");
        assert_eq!(
            cert.sha256_fingerprint,
            "21e85f086ba84c9315c00b16e6254b879c716b8f4220bb22642435c304d3bf7f"
        );
        let (_, key) = parse_certificate(fixture!("ec-p384.pem")).unwrap();
        assert_eq!(key.family(), KeyFamily::EcP384);
    }

    #[test]
    fn refuses_rsa_certificate_under_2048_bits() {
        let error = refused(fixture!("rsa1024.pem"));
        assert!(error.contains("1024 bits"), "{error}");
    }

    #[test]
    fn refuses_keys_that_are_neither_rsa_nor_ec() {
        let error = refused(fixture!("ed25519.pem"));
        assert!(error.contains("neither RSA nor EC"), "{error}");
    }

    #[test]
    fn refuses_ec_keys_on_curves_no_supported_algorithm_uses() {
        let error = refused(fixture!("ec-p521.pem"));
        assert!(error.contains("unsupported curve"), "{error}");
    }

    #[test]
    fn refuses_private_keys_in_every_form() {
        let key = fixture!("rsa2048-key.pem");
        for input in [
            key.to_owned(),
            fixture!("rsa2048-key-traditional.pem").to_owned(),
            fixture!("rsa2048-key.der.b64").to_owned(),
            format!("{RSA_2048}{key}"),
            format!("{key}{RSA_2048}"),
        ] {
            let error = refused(&input);
            assert!(error.contains("private key"), "{error}");
            assert!(!error.contains("MII"), "the error must not echo the key");
        }
    }

    #[test]
    fn refuses_unparsable_input() {
        for input in [
            "",
            "   ",
            "not a certificate",
            "aGVsbG8gd29ybGQ=",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\nMIIB\n",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        ] {
            refused(input);
        }
        let truncated = &fixture!("rsa2048.der.b64")[..400];
        refused(truncated);
    }

    #[test]
    fn refuses_a_chain_and_trailing_bytes() {
        let chain = format!("{RSA_2048}{}", fixture!("ec-p256.pem"));
        assert!(refused(&chain).contains("exactly one"));

        let mut der = STANDARD.decode(fixture!("rsa2048.der.b64").trim()).unwrap();
        der.extend_from_slice(&[0, 0]);
        assert!(refused(&STANDARD.encode(der)).contains("after the certificate"));
    }

    #[test]
    fn refuses_input_longer_than_the_bound() {
        let long = "A".repeat(MAX_INPUT_CHARS + 1);
        assert!(refused(&long).contains("at most"));
    }

    /// The bug this module's key rules fix: these were stored, then every exchange was a 500.
    #[test]
    fn refuses_keys_the_token_endpoint_cannot_verify_with() {
        let error = refused(fixture!("rsa16384.pem"));
        assert!(
            error.contains("16384 bits") && error.contains("8192"),
            "{error}"
        );
        let error = refused(fixture!("rsa2048-e1.pem"));
        assert!(error.contains("exponent 1;"), "{error}");
        let error = refused(fixture!("rsa2048-e3.pem"));
        assert!(error.contains("exponent 3;"), "{error}");
    }

    /// The token endpoint reads the stored PEM with `certificate_key`: the same key, or the
    /// same refusal.
    #[test]
    fn certificate_key_reads_what_parse_certificate_read() {
        for input in [RSA_2048, fixture!("ec-p256.pem"), fixture!("ec-p384.pem")] {
            let (cert, key) = parse_certificate(input).unwrap();
            assert_eq!(certificate_key(&cert.pem), Ok(key));
        }
        for input in [
            fixture!("rsa16384.pem"),
            fixture!("rsa2048-e1.pem"),
            fixture!("rsa1024.pem"),
        ] {
            assert_eq!(certificate_key(input).unwrap_err(), refused(input));
        }
    }

    #[test]
    fn escapes_rfc4514_special_characters() {
        assert_eq!(escape_rfc4514("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape_rfc4514("#x "), "\\#x\\ ");
        assert_eq!(escape_rfc4514("Ünïcode"), "Ünïcode");
    }
}
