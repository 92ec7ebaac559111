//! The single-table key design. Every item has a partition key `pk` and a sort key `sk`
//! (both strings); items that expire carry `expires_at` (epoch seconds), the table's TTL
//! attribute. The attribute names must match the table in `infra/template.yaml` (a test
//! compares them).
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | organization | `ORGS` | `ORG#{org}` |
//! | name of a deleted organization, quarantined (TTL) | `ORG-QUARANTINE#{org}` | `ORG-QUARANTINE` |
//! | trusted token issuer | `ORG#{org}` | `TTI#{id}` |
//! | issuer name guard (uniqueness) | `ORG#{org}` | `TTI-NAME#{sha256(name)}` |
//! | issuer `iss` guard (uniqueness) | `ORG#{org}` | `TTI-ISS#{sha256(iss)}` |
//! | application | `ORG#{org}` | `APP#{client_id}` |
//! | refresh token | `RT#{sha256(token)}` | `RT` |
//! | refresh token family | `RTF#{family_id}` | `RTF` |
//! | access token a refresh family issued → the family (TTL: the token's `exp`) | `ATF#{jti}` | `ATF` |
//! | revoked access token (TTL: its `exp`) | `REVOKED-AT#{org}#{jti}` | `REVOKED-AT` |
//! | subject revocation (TTL one year and a day), `revoked_before` ms | `REVOKED-SUB#{org}#{sha256(sub)}` | `IDP#{sha256(idp)}`, or `IDP#*` for any |
//! | client revocation (same TTL) | `REVOKED-CLIENT#{org}#{sha256(client_id)}` | `REVOKED-CLIENT` |
//! | seen subject-token `jti` (replay) | `JTI#{org}#{issuer_id}#{sha256(jti)}` | `JTI` |
//! | failed client authentications in a window | `AUTHFAIL#{org}#{sha256(client_id, source)}#{window}` | `AUTHFAIL` |
//! | envelope signing key number `seq` (TTL: the end of its publication, once retired) | `SIGNKEY` | `KEY#{seq:010}` |
//!
//! The organization item carries `config_generation`, a number every admin write that changes
//! what the token endpoint reads (an issuer, an application, a secret) increments in its own
//! transaction; a warm token function reads it once per request to know whether its cached
//! records are still current ([`crate::ports::ConfigStore::generation`]).
//!
//! So every lookup the token endpoint makes is one request: the organization's issuers are one
//! `Query` (`pk = ORG#{org}`, `sk` begins with `TTI#`), an application, a refresh token and a
//! family are one `GetItem` each, and a `jti` is recorded by one conditional `PutItem`. Whether
//! a token is revoked is one `BatchGetItem` of its revoked-`jti`, subject (its `idp` and any)
//! and client items; nothing is written per access token unless a refresh family issued it.
//! Uniqueness of issuer names and `iss` values is enforced by writing the guards in the same
//! transaction as the issuer, each with `attribute_not_exists(pk)`. User-chosen strings are
//! hashed before they enter a key, which bounds key size and keeps `#` out of the way.

use crate::domain::sha256_hex;

/// Partition key attribute.
pub const PK: &str = "pk";
/// Sort key attribute.
pub const SK: &str = "sk";
/// TTL attribute: epoch seconds after which DynamoDB may delete the item.
pub const EXPIRES_AT: &str = "expires_at";

/// Number attribute of subject and client revocations: epoch milliseconds before which
/// matching tokens and families were issued.
pub const REVOKED_BEFORE: &str = "revoked_before";

/// Number attribute of the organization item: its configuration generation.
pub const CONFIG_GENERATION: &str = "config_generation";

/// Prefix of the sort keys of an organization's trusted issuers.
pub const ISSUER_PREFIX: &str = "TTI#";
/// Prefix of the sort keys of an organization's applications.
pub const APPLICATION_PREFIX: &str = "APP#";
/// Prefix of the sort keys in the partition that lists organizations.
pub const ORGANIZATION_PREFIX: &str = "ORG#";
/// Partition holding one item per organization, so listing them is one `Query`.
pub const ORGANIZATIONS_PK: &str = "ORGS";
/// Partition of the envelope signing keys, so the key set is one `Query` (a handful of items:
/// the next, current and retired keys).
pub const SIGNING_KEYS_PK: &str = "SIGNKEY";
/// Prefix of the sort keys of the envelope signing keys.
pub const SIGNING_KEY_PREFIX: &str = "KEY#";

/// The primary key of one item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn organization(org: &str) -> Key {
        Key {
            pk: ORGANIZATIONS_PK.into(),
            sk: format!("{ORGANIZATION_PREFIX}{org}"),
        }
    }

    /// Left by a delete for [`NAME_QUARANTINE_SECONDS`](crate::domain::organization::NAME_QUARANTINE_SECONDS)
    /// (its `expires_at`); a create of the name checks it is absent or expired. Outside the
    /// organization's partition, so the delete's sweep never meets it.
    pub fn organization_quarantine(org: &str) -> Key {
        Key {
            pk: format!("ORG-QUARANTINE#{org}"),
            sk: "ORG-QUARANTINE".into(),
        }
    }

    pub fn trusted_issuer(org: &str, id: &str) -> Key {
        Key {
            pk: organization_pk(org),
            sk: format!("{ISSUER_PREFIX}{id}"),
        }
    }

    pub fn issuer_name_guard(org: &str, name: &str) -> Key {
        Key {
            pk: organization_pk(org),
            sk: format!("TTI-NAME#{}", sha256_hex(name.as_bytes())),
        }
    }

    pub fn issuer_value_guard(org: &str, iss: &str) -> Key {
        Key {
            pk: organization_pk(org),
            sk: format!("TTI-ISS#{}", sha256_hex(iss.as_bytes())),
        }
    }

    pub fn application(org: &str, client_id: &str) -> Key {
        Key {
            pk: organization_pk(org),
            sk: format!("{APPLICATION_PREFIX}{client_id}"),
        }
    }

    /// `token_hash` is the hex SHA-256 of the refresh token; the token itself is never stored.
    pub fn refresh_token(token_hash: &str) -> Key {
        Key {
            pk: format!("RT#{token_hash}"),
            sk: "RT".into(),
        }
    }

    pub fn refresh_family(family_id: &str) -> Key {
        Key {
            pk: format!("RTF#{family_id}"),
            sk: "RTF".into(),
        }
    }

    /// Which refresh family issued the access token `jti` (written with the family's start
    /// or rotation), so revoking the access token can revoke its family.
    pub fn access_token_family(jti: &str) -> Key {
        Key {
            pk: format!("ATF#{jti}"),
            sk: "ATF".into(),
        }
    }

    /// The access token `child_jti`, exchanged from the access token `parent_jti` (chained
    /// exchange), so revoking the parent revokes it; it expires with the child.
    pub fn access_token_child(org: &str, parent_jti: &str, child_jti: &str) -> Key {
        Key {
            pk: format!("ATC#{org}#{parent_jti}"),
            sk: format!("{CHILD_PREFIX}{child_jti}"),
        }
    }

    /// An access token revoked before its `exp` (RFC 7009).
    pub fn revoked_access_token(org: &str, jti: &str) -> Key {
        Key {
            pk: format!("REVOKED-AT#{org}#{jti}"),
            sk: "REVOKED-AT".into(),
        }
    }

    /// The tokens of `sub` vouched for by the trusted issuer `idp` (`None`: by any issuer)
    /// issued before the item's `revoked_before`.
    pub fn revoked_subject(org: &str, sub: &str, idp: Option<&str>) -> Key {
        Key {
            pk: format!("REVOKED-SUB#{org}#{}", sha256_hex(sub.as_bytes())),
            sk: match idp {
                Some(idp) => format!("IDP#{}", sha256_hex(idp.as_bytes())),
                None => "IDP#*".into(),
            },
        }
    }

    /// The tokens issued to `client_id` before the item's `revoked_before`.
    pub fn revoked_client(org: &str, client_id: &str) -> Key {
        Key {
            pk: format!("REVOKED-CLIENT#{org}#{}", sha256_hex(client_id.as_bytes())),
            sk: "REVOKED-CLIENT".into(),
        }
    }

    /// Envelope signing key number `seq`, zero-padded so the keys sort in their order. The
    /// rotation writes key `seq + 1` only if it is absent: of two concurrent rotations, one wins.
    pub fn signing_key(seq: u64) -> Key {
        Key {
            pk: SIGNING_KEYS_PK.into(),
            sk: format!("{SIGNING_KEY_PREFIX}{seq:010}"),
        }
    }

    pub fn seen_jti(org: &str, issuer_id: &str, jti: &str) -> Key {
        Key {
            pk: format!("JTI#{org}#{issuer_id}#{}", sha256_hex(jti.as_bytes())),
            sk: "JTI".into(),
        }
    }
}

impl Key {
    /// Failed authentications of `client_id` from `source` in the window starting at
    /// `window_start` (epoch seconds).
    pub fn auth_failures(org: &str, client_id: &str, source: &str, window_start: i64) -> Key {
        let who = sha256_hex(format!("{client_id}\n{source}").as_bytes());
        Key {
            pk: format!("AUTHFAIL#{org}#{who}#{window_start}"),
            sk: "AUTHFAIL".into(),
        }
    }
}

/// The sort key prefix of [`Key::access_token_child`].
pub const CHILD_PREFIX: &str = "ATC#";

/// The partition of the tokens exchanged from `parent_jti` ([`Key::access_token_child`]).
pub fn access_token_children_pk(org: &str, parent_jti: &str) -> String {
    Key::access_token_child(org, parent_jti, "").pk
}

/// The partition holding everything an organization owns (issuers, guards, applications).
pub fn organization_pk(org: &str) -> String {
    format!("ORG#{org}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_items_share_a_prefix_their_guards_do_not() {
        let issuer = Key::trusted_issuer("acme", "abc");
        assert!(issuer.sk.starts_with(ISSUER_PREFIX));
        assert!(
            !Key::issuer_name_guard("acme", "x")
                .sk
                .starts_with(ISSUER_PREFIX)
        );
        assert!(
            !Key::issuer_value_guard("acme", "x")
                .sk
                .starts_with(ISSUER_PREFIX)
        );
        assert_eq!(issuer.pk, Key::application("acme", "c").pk);
    }

    #[test]
    fn user_strings_are_hashed_into_bounded_keys() {
        let long = "x".repeat(5000);
        assert_eq!(
            Key::issuer_value_guard("acme", &long).sk.len(),
            "TTI-ISS#".len() + 64
        );
        assert_ne!(
            Key::issuer_value_guard("acme", "a"),
            Key::issuer_value_guard("acme", "A")
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
