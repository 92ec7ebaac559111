//! Pure rules: the records the service keeps and what makes them valid. No AWS, no HTTP.

pub mod access_token;
pub mod address;
pub mod application;
pub mod certificate;
pub mod envelope_key;
pub mod exchange_policy;
pub mod ids;
pub mod input;
pub mod issuer;
pub mod jose_object;
pub mod key_pair;
pub mod lockout;
pub mod organization;
/// The trusted-issuer policy in CEL, a crate of its own (policy/).
pub use trustgate_policy as policy;
pub mod presented_token;
pub mod public_key;
pub mod refresh_token;
pub mod revocation;
pub mod signing_key;
pub mod subject_token;
pub mod uri;

use std::time::{SystemTime, UNIX_EPOCH};

/// Current time as epoch seconds.
pub fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Current time as epoch milliseconds.
pub fn now_epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// An RFC 3339 UTC timestamp with milliseconds (`2026-11-26T02:20:29.042Z`) for `ms` epoch
/// milliseconds.
pub fn rfc3339_ms(ms: i64) -> String {
    let seconds = rfc3339(ms.div_euclid(1000));
    match seconds.strip_suffix('Z') {
        Some(whole) => format!("{whole}.{:03}Z", ms.rem_euclid(1000)),
        None => seconds,
    }
}

/// An RFC 3339 UTC timestamp (`2026-11-26T02:20:29Z`) for `epoch` seconds.
pub fn rfc3339(epoch: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}

/// `n` bytes from the operating system's CSPRNG, as lower-case hex.
pub fn random_hex(n: usize) -> String {
    hex(&random_bytes(n))
}

/// Lower-case hex, without a formatting call per byte (this runs on every exchange).
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// Appends `bytes` to `out` as lower-case hex.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    fill_random(&mut bytes);
    bytes
}

/// Fills `bytes` from the operating system's CSPRNG.
pub fn fill_random(bytes: &mut [u8]) {
    aws_lc_rs::rand::fill(bytes).expect("the OS CSPRNG does not fail");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339_ms(1_795_000_000_042), "2026-11-18T11:06:40.042Z");
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn hex_is_lower_case_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn random_hex_has_the_asked_length_and_varies() {
        assert_eq!(random_hex(16).len(), 32);
        assert_ne!(random_hex(16), random_hex(16));
    }
}
