//! Pagination cursors. A page of a list ends at the key of its last item; the client gets that
//! key back as an opaque string (base64url of partition key, sort key and a checksum) and hands
//! it in for the next page. Only the store makes and reads them, so nothing outside `aws` knows
//! the key design, and a cursor is checked before any request is built from it: one made by
//! another organization's list or another kind of record, or edited, is refused, never sent to
//! DynamoDB (which would answer an out-of-range start key with a validation error).
//!
//! The checksum catches edits and truncation; it is no secret. Forging one gains nothing: a
//! cursor is only ever read as a position in the list the caller is already allowed to read.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::aws::table_keys::Key;

/// Longest cursor read (the longest key the lists make is far shorter).
const MAX_CURSOR_CHARS: usize = 1024;
/// Bytes of SHA-256 appended to the key.
const CHECKSUM_BYTES: usize = 4;

fn checksum(key: &[u8]) -> [u8; CHECKSUM_BYTES] {
    let mut sum = [0; CHECKSUM_BYTES];
    sum.copy_from_slice(&digest(&SHA256, key).as_ref()[..CHECKSUM_BYTES]);
    sum
}

/// A cursor the list it was handed to did not make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a cursor of this list")]
pub struct BadCursor;

/// The items of one list: a partition, and a sort-key prefix that only they have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listing<'a> {
    pub pk: &'a str,
    pub prefix: &'a str,
}

impl Listing<'_> {
    /// The cursor that continues this list after the item at `last`.
    pub fn cursor_after(&self, last: &Key) -> String {
        debug_assert!(last.pk == self.pk && last.sk.starts_with(self.prefix));
        let mut bytes = format!("{}\n{}", last.pk, last.sk).into_bytes();
        bytes.extend(checksum(&bytes));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The sort key to continue after, if `cursor` is one this list made. Listed items end
    /// their sort key in a server-made id or an organization name (`[a-z0-9-]`), so anything
    /// else was not made here.
    pub fn read_cursor(&self, cursor: &str) -> Result<String, BadCursor> {
        if cursor.len() > MAX_CURSOR_CHARS {
            return Err(BadCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
        let split = bytes.len().checked_sub(CHECKSUM_BYTES).ok_or(BadCursor)?;
        let (key, sum) = bytes.split_at(split);
        if sum != checksum(key) {
            return Err(BadCursor);
        }
        let text = std::str::from_utf8(key).map_err(|_| BadCursor)?;
        let (pk, sk) = text.split_once('\n').ok_or(BadCursor)?;
        let id = sk.strip_prefix(self.prefix).ok_or(BadCursor)?;
        let well_formed = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if pk == self.pk && well_formed {
            Ok(sk.to_owned())
        } else {
            Err(BadCursor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::table_keys::{APPLICATION_PREFIX, ISSUER_PREFIX, organization_pk};

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn issuers(org: &str) -> (String, &'static str) {
        (organization_pk(org), ISSUER_PREFIX)
    }

    #[test]
    fn a_cursor_continues_only_the_list_that_made_it() {
        let (pk, prefix) = issuers("acme");
        let acme = Listing { pk: &pk, prefix };
        let cursor = acme.cursor_after(&Key::trusted_issuer("acme", ID));
        assert!(
            cursor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(
            acme.read_cursor(&cursor),
            Ok(format!("{ISSUER_PREFIX}{ID}"))
        );

        let (other_pk, _) = issuers("other");
        let other_org = Listing {
            pk: &other_pk,
            prefix,
        };
        assert_eq!(other_org.read_cursor(&cursor), Err(BadCursor));
        let applications = Listing {
            pk: &pk,
            prefix: APPLICATION_PREFIX,
        };
        assert_eq!(applications.read_cursor(&cursor), Err(BadCursor));
    }

    #[test]
    fn refuses_tampered_and_foreign_cursors() {
        let (pk, prefix) = issuers("acme");
        let acme = Listing { pk: &pk, prefix };
        let encode_bytes = |raw: &[u8]| {
            let mut bytes = raw.to_vec();
            bytes.extend(checksum(&bytes));
            URL_SAFE_NO_PAD.encode(bytes)
        };
        let encode = |s: &str| encode_bytes(s.as_bytes());
        let good = acme.cursor_after(&Key::trusted_issuer("acme", ID));
        let mut edited = URL_SAFE_NO_PAD.decode(&good).unwrap();
        edited[pk.len() + 6] ^= 1;
        for bad in [
            String::new(),
            "%%%".into(),
            "A".repeat(2000),
            encode("TTI#0123"),
            encode(&format!("{pk}\nTTI#")),
            encode(&format!("{pk}\nTTI#{ID}\u{0}")),
            encode(&format!("{pk}\nTTI-NAME#{ID}")),
            encode(&format!("{pk}\nTTI#{}", ID.to_uppercase())),
            encode_bytes(&[0xff, 0xfe]),
            URL_SAFE_NO_PAD.encode(&edited),
            URL_SAFE_NO_PAD.encode(format!("{pk}\nTTI#{ID}")),
            good[..good.len() - 2].to_owned(),
        ] {
            assert_eq!(acme.read_cursor(&bad), Err(BadCursor), "{bad}");
        }
    }
}
