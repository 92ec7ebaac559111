//! Envelope signing keys (contract, "Signing modes"): Trustgate's own key pairs as stored, and
//! the rules of their lifecycle — which key signs, which are published, what a rotation writes.
//! Pure: the table and KMS are behind ports (see [`crate::envelope`]).
//!
//! The switch to a new key is by time. Every key has a `not_before`, and the key that signs is
//! the newest whose `not_before` has passed, so every warm function switches at the same instant
//! without talking to the others. A rotation is one conditional write (the new key, and in the
//! same transaction the end of its predecessor's publication): if it fails, nothing changed and
//! the current key goes on signing.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::application::ApplicationSettings;

/// How long a warm function uses the key set it read before reading it again: the JWKS's
/// `max-age` (src/http/token.rs), so a function never publishes an older set than a client may
/// still hold.
pub const KEY_SET_REFRESH_SECONDS: i64 = 300;

/// How long a new key is published before it signs: a warm function may hold the previous key
/// set for [`KEY_SET_REFRESH_SECONDS`], and a client the JWKS it served for its `max-age` (the
/// same lifetime) after that. RFC 7517 gives no rule; clients refetch a JWKS on an unknown `kid`
/// at most that often, and many only when their cache expires.
pub const PUBLICATION_LEAD_SECONDS: i64 = 2 * KEY_SET_REFRESH_SECONDS;

/// The longest an access token lives ([`ApplicationSettings::ACCESS_TOKEN_TTL_RANGE`]): a key
/// stays published this long after its successor starts signing.
pub const MAX_TOKEN_LIFETIME_SECONDS: i64 =
    *ApplicationSettings::ACCESS_TOKEN_TTL_RANGE.end() as i64;

/// One signing key as the table holds it. The private key is stored only encrypted (KMS
/// `Encrypt` under the wrapping key, with an encryption context naming the key and the table).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// Its place in the sequence of keys: a rotation writes key `seq + 1` only if no such key
    /// exists, so of two concurrent rotations one wins and the other changes nothing.
    pub seq: u64,
    /// The RFC 7638 thumbprint of the public key, as published.
    pub kid: String,
    /// `RS256`, `PS256` or `ES256`.
    pub alg: String,
    /// The public key, SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7), standard base64.
    pub public_key: String,
    /// The KMS ciphertext of the PKCS#8 private key (RFC 5208), standard base64.
    pub wrapped_private_key: String,
    /// When it starts signing (epoch seconds); it is published from the moment it is written.
    pub not_before: i64,
    /// When its publication ends (epoch seconds), set when its successor is written; also the
    /// item's TTL. `None` while it is the newest key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire_after: Option<i64>,
}

impl fmt::Debug for StoredKey {
    /// Without the wrapped private key: ciphertext has no business in a log either.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("seq", &self.seq)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("not_before", &self.not_before)
            .field("retire_after", &self.retire_after)
            .finish_non_exhaustive()
    }
}

impl AsRef<StoredKey> for StoredKey {
    fn as_ref(&self) -> &StoredKey {
        self
    }
}

impl StoredKey {
    /// Whether it may sign at `now`: its `not_before` has passed (it is the current key, or was
    /// until a moment ago) and its publication has not ended.
    pub fn has_started(&self, now: i64) -> bool {
        self.not_before <= now && self.is_published(now)
    }

    /// Whether the JWKS lists it at `now`: from its writing until its `retire_after`.
    pub fn is_published(&self, now: i64) -> bool {
        self.retire_after.is_none_or(|end| now < end)
    }
}

/// The key that signs at `now`: the newest (by `not_before`, then `seq`) whose `not_before` has
/// passed. `None` before the first key exists.
pub fn current<K: AsRef<StoredKey>>(keys: &[K], now: i64) -> Option<&K> {
    keys.iter()
        .filter(|key| key.as_ref().has_started(now))
        .max_by_key(|key| (key.as_ref().not_before, key.as_ref().seq))
}

/// The keys the JWKS lists at `now`: the current key first (clients and the signer contract
/// expect it there), then the next one and those retired but still verifying tokens, newest
/// first.
pub fn published<K: AsRef<StoredKey>>(keys: &[K], now: i64) -> Vec<&K> {
    let current = current(keys, now);
    let current_seq = current.map(|key| key.as_ref().seq);
    let mut others: Vec<&K> = keys
        .iter()
        .map(|key| (key, key.as_ref()))
        .filter(|(_, stored)| stored.is_published(now) && Some(stored.seq) != current_seq)
        .map(|(key, _)| key)
        .collect();
    others.sort_by_key(|key| std::cmp::Reverse((key.as_ref().not_before, key.as_ref().seq)));
    current.into_iter().chain(others).collect()
}

/// What a rotation at `now` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The new key's `seq`.
    pub seq: u64,
    /// The new key's `not_before`: at once for the first key (nothing can verify anything
    /// before it exists), else after [`PUBLICATION_LEAD_SECONDS`].
    pub not_before: i64,
    /// The newest key so far with its `retire_after` set: published until every token it may
    /// sign before the new key takes over has expired.
    pub retire: Option<StoredKey>,
}

/// Why a rotation writes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pending {
    /// The key an earlier rotation made, which has not started signing yet.
    pub kid: String,
    pub not_before: i64,
}

/// The rotation to make at `now` given the stored `keys`. A key that has not started signing
/// yet means a rotation is under way (a repeated schedule event, a manual run): making another
/// would only lengthen the key set, so nothing is done.
pub fn plan_rotation(keys: &[StoredKey], now: i64) -> Result<Rotation, Pending> {
    let Some(newest) = keys.iter().max_by_key(|key| key.seq) else {
        return Ok(Rotation {
            seq: 1,
            not_before: now,
            retire: None,
        });
    };
    if newest.not_before > now {
        return Err(Pending {
            kid: newest.kid.clone(),
            not_before: newest.not_before,
        });
    }
    let not_before = now + PUBLICATION_LEAD_SECONDS;
    Ok(Rotation {
        seq: newest.seq + 1,
        not_before,
        retire: Some(StoredKey {
            retire_after: Some(not_before + MAX_TOKEN_LIFETIME_SECONDS),
            ..newest.clone()
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn key(seq: u64, not_before: i64, retire_after: Option<i64>) -> StoredKey {
        StoredKey {
            seq,
            kid: format!("kid-{seq}"),
            alg: "ES256".into(),
            public_key: String::new(),
            wrapped_private_key: "c2VjcmV0".into(),
            not_before,
            retire_after,
        }
    }

    fn kids(keys: Vec<&StoredKey>) -> Vec<&str> {
        keys.into_iter().map(|k| k.kid.as_str()).collect()
    }

    #[test]
    fn the_first_key_signs_at_once() {
        let plan = plan_rotation(&[], NOW).unwrap();
        assert_eq!(
            plan,
            Rotation {
                seq: 1,
                not_before: NOW,
                retire: None
            }
        );
        assert_eq!(current::<StoredKey>(&[], NOW), None);
        assert!(published::<StoredKey>(&[], NOW).is_empty());
    }

    #[test]
    fn a_rotation_publishes_the_next_key_before_it_signs_and_retires_the_newest_after_a_token_lifetime()
     {
        let keys = [key(1, NOW - 1000, None)];
        let plan = plan_rotation(&keys, NOW).unwrap();
        assert_eq!(plan.seq, 2);
        assert_eq!(plan.not_before, NOW + 600);
        let retired = plan.retire.unwrap();
        assert_eq!(retired.seq, 1);
        assert_eq!(retired.retire_after, Some(NOW + 600 + 86_400));
        assert_eq!(retired.wrapped_private_key, keys[0].wrapped_private_key);
    }

    #[test]
    fn a_rotation_under_way_is_not_repeated() {
        let keys = [
            key(1, NOW - 1000, Some(NOW + 90_000)),
            key(2, NOW + 10, None),
        ];
        assert_eq!(
            plan_rotation(&keys, NOW),
            Err(Pending {
                kid: "kid-2".into(),
                not_before: NOW + 10
            })
        );
        // Once it signs, the next rotation retires it.
        let plan = plan_rotation(&keys, NOW + 10).unwrap();
        assert_eq!(plan.seq, 3);
        assert_eq!(plan.retire.unwrap().kid, "kid-2");
    }

    #[test]
    fn the_newest_started_key_signs_and_every_function_switches_at_its_not_before() {
        let keys = [
            key(1, NOW - 1000, Some(NOW + 600 + 86_400)),
            key(2, NOW + 600, None),
        ];
        assert_eq!(current(&keys, NOW).unwrap().kid, "kid-1");
        assert_eq!(current(&keys, NOW + 599).unwrap().kid, "kid-1");
        assert_eq!(current(&keys, NOW + 600).unwrap().kid, "kid-2");
        // Both published all along, the current one first.
        assert_eq!(kids(published(&keys, NOW)), ["kid-1", "kid-2"]);
        assert_eq!(kids(published(&keys, NOW + 600)), ["kid-2", "kid-1"]);
        // The retired key goes when its last token has expired.
        assert_eq!(
            kids(published(&keys, NOW + 600 + 86_399)),
            ["kid-2", "kid-1"]
        );
        assert_eq!(kids(published(&keys, NOW + 600 + 86_400)), ["kid-2"]);
        assert!(!keys[0].has_started(NOW + 600 + 86_400));
        assert!(keys[0].has_started(NOW + 600));
        assert!(!keys[1].has_started(NOW + 599));
    }

    #[test]
    fn the_debug_form_leaves_out_the_wrapped_private_key() {
        let shown = format!("{:?}", key(1, NOW, None));
        assert!(shown.contains("kid-1"));
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
    }
}
