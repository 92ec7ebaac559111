//! A trusted issuer's certificate file as it comes (`.pem`, `.crt`, `.cer`, `.der`): PEM
//! text, raw DER, or base64 DER text, told apart by content, never by file name (a `.cer` is
//! PEM as often as DER). The admin API takes PEM or base64 DER (CONTRACT.md, "certificate"),
//! so DER is base64-encoded and text is sent as it is. The result is checked locally with the
//! reader the admin API uses (`trustgate::domain::certificate`), so a wrong file is refused
//! here with the same words, before any request.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::CliError;

/// How a file's bytes were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `-----BEGIN CERTIFICATE-----` text (RFC 7468).
    Pem,
    /// Binary DER (an ASN.1 SEQUENCE).
    Der,
    /// DER as base64 text without PEM markers.
    Base64Der,
}

/// The value for the API's `certificate` field, and the format found.
pub fn api_value(bytes: &[u8]) -> Result<(String, Format), String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.first() == Some(&0x30) {
        let value = STANDARD.encode(bytes);
        return checked(value, Format::Der);
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(not_a_certificate());
    };
    let text = text.trim();
    if text.contains("-----BEGIN") {
        return checked(text.to_owned(), Format::Pem);
    }
    let base64_text = !text.is_empty()
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=') || c.is_ascii_whitespace()
        });
    if base64_text {
        return checked(text.to_owned(), Format::Base64Der);
    }
    Err(not_a_certificate())
}

/// Reads `path` and makes its API value; errors name the file.
pub fn read(path: &Path) -> Result<(String, Format), CliError> {
    let bytes = std::fs::read(path).map_err(|e| {
        CliError::usage(format!("cannot read --certificate {}: {e}", path.display()))
    })?;
    api_value(&bytes)
        .map_err(|why| CliError::usage(format!("--certificate {}: {why}", path.display())))
}

fn checked(value: String, format: Format) -> Result<(String, Format), String> {
    trustgate::domain::certificate::parse_certificate(&value)
        .map_err(|why| format!("the certificate {why}"))?;
    Ok((value, format))
}

fn not_a_certificate() -> String {
    "is not a certificate: expected PEM (-----BEGIN CERTIFICATE-----), DER, or base64 DER \
     (e.g. a .pem, .crt, .cer or .der file)"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = include_str!("../../tests/fixtures/rsa2048.cert.pem");

    fn der() -> Vec<u8> {
        let body: String = PEM.lines().filter(|l| !l.starts_with("-----")).collect();
        STANDARD.decode(body).unwrap()
    }

    #[test]
    fn pem_is_sent_as_text() {
        let (value, format) = api_value(PEM.as_bytes()).unwrap();
        assert_eq!(format, Format::Pem);
        assert_eq!(value, PEM.trim());
    }

    #[test]
    fn binary_der_is_sent_as_base64() {
        let der = der();
        let (value, format) = api_value(&der).unwrap();
        assert_eq!(format, Format::Der);
        assert_eq!(STANDARD.decode(value).unwrap(), der);
    }

    #[test]
    fn a_cer_file_holding_pem_with_crlf_and_a_bom_is_read_as_pem() {
        let cer = format!("\u{FEFF}{}", PEM.replace('\n', "\r\n"));
        let (_, format) = api_value(cer.as_bytes()).unwrap();
        assert_eq!(format, Format::Pem);
    }

    #[test]
    fn base64_der_text_without_markers_is_accepted() {
        let text = STANDARD.encode(der());
        let (value, format) = api_value(text.as_bytes()).unwrap();
        assert_eq!(format, Format::Base64Der);
        assert_eq!(value, text);
    }

    #[test]
    fn garbage_gets_an_error_that_names_the_accepted_formats() {
        let error = api_value(b"\x00\xffnot a cert").unwrap_err();
        assert!(error.contains("PEM") && error.contains("DER"), "{error}");
        let error = api_value(b"hello, world!").unwrap_err();
        assert!(error.contains("is not a certificate"), "{error}");
    }

    #[test]
    fn truncated_der_is_refused_by_the_apis_own_reader() {
        let der = der();
        let error = api_value(&der[..der.len() / 2]).unwrap_err();
        assert!(error.starts_with("the certificate "), "{error}");
    }

    #[test]
    fn a_private_key_is_refused_before_it_is_sent() {
        let key = include_str!("../../tests/fixtures/rsa2048.key.pem");
        let error = api_value(key.as_bytes()).unwrap_err();
        assert!(error.contains("private key"), "{error}");
    }

    #[test]
    fn an_unreadable_file_is_a_usage_error_naming_it() {
        let error = read(Path::new("/nonexistent/issuer.cer")).unwrap_err();
        assert_eq!(error.code(), 2);
        assert!(
            error.to_string().contains("/nonexistent/issuer.cer"),
            "{error}"
        );
    }
}
