//! A minimal DER reader (ITU-T X.690) for the two structures the KMS adapter meets: a
//! SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) from `GetPublicKey`, and an ECDSA signature
//! `SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 §2.2.3) from `Sign`. Definite lengths only.

pub const SEQUENCE: u8 = 0x30;
pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OID: u8 = 0x06;
pub const NULL: u8 = 0x05;

/// Reads consecutive TLVs from a byte slice.
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next element's contents, which must carry `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<&'a [u8], String> {
        let (&found, rest) = self.rest.split_first().ok_or("truncated DER")?;
        if found != tag {
            return Err(format!("expected DER tag {tag:#04x}, found {found:#04x}"));
        }
        let (&first, mut rest) = rest.split_first().ok_or("truncated DER length")?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return Err("unsupported DER length".into());
            }
            let (bytes, tail) = rest.split_at(count);
            rest = tail;
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            if len < 0x80 || bytes[0] == 0 {
                return Err("non-minimal DER length".into());
            }
            len
        };
        if rest.len() < len {
            return Err("DER element longer than its input".into());
        }
        let (value, tail) = rest.split_at(len);
        self.rest = tail;
        Ok(value)
    }

    /// Skips one element of any tag.
    pub fn skip(&mut self) -> Result<(), String> {
        let tag = *self.rest.first().ok_or("truncated DER")?;
        self.expect(tag).map(|_| ())
    }
}

/// An unsigned big-endian INTEGER's magnitude without leading zero bytes.
pub fn unsigned(integer: &[u8]) -> Result<&[u8], String> {
    if integer.is_empty() || integer[0] & 0x80 != 0 {
        return Err("negative or empty DER INTEGER".into());
    }
    let start = integer
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(integer.len());
    Ok(&integer[start..])
}

/// Converts a DER ECDSA signature to the fixed `r || s` form of JWS (RFC 7518 §3.4), each
/// left-padded to `scalar_len` bytes (32 for P-256).
pub fn ecdsa_to_jose(der: &[u8], scalar_len: usize) -> Result<Vec<u8>, String> {
    let mut outer = Reader::new(der);
    let mut seq = Reader::new(outer.expect(SEQUENCE)?);
    if !outer.is_empty() {
        return Err("trailing bytes after ECDSA signature".into());
    }
    let mut out = vec![0u8; 2 * scalar_len];
    for half in 0..2 {
        let value = unsigned(seq.expect(INTEGER)?)?;
        if value.len() > scalar_len {
            return Err("ECDSA scalar longer than the curve".into());
        }
        let end = (half + 1) * scalar_len;
        out[end - value.len()..end].copy_from_slice(value);
    }
    if !seq.is_empty() {
        return Err("trailing bytes inside ECDSA signature".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn refuses_malformed_der() {
        assert!(ecdsa_to_jose(&[], 32).is_err());
        assert!(ecdsa_to_jose(&[0x30, 0x05, 0x02, 0x01], 32).is_err());
        assert!(ecdsa_to_jose(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x81], 32).is_err());
        let mut long = vec![0x30, 0x26, 0x02, 0x21, 0x01];
        long.extend([0u8; 32]);
        long.extend([0x02, 0x01, 0x01]);
        assert!(ecdsa_to_jose(&long, 32).is_err());
    }

    #[test]
    fn reads_long_form_lengths() {
        let mut bytes = vec![0x04, 0x81, 0x80];
        bytes.extend([7u8; 0x80]);
        assert_eq!(Reader::new(&bytes).expect(0x04).unwrap().len(), 0x80);
        assert!(
            Reader::new(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5])
                .expect(0x04)
                .is_err()
        );
    }
}
