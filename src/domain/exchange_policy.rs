//! An application's exchange policy (contract, "Application: exchange policy"): whose tokens it
//! may exchange, which targets (RFC 8693 §2.1 `audience`, RFC 8707 `resource`) and scopes
//! (RFC 6749 §3.3) it may ask for, and whether it may act for others (delegation). The admin
//! rules ([`ExchangePolicy::validate`]) and the token endpoint's ([`ExchangePolicy::permit_issuer`],
//! [`ExchangePolicy::targets`], [`ExchangePolicy::scope`]) live here, once.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use super::input::{InputError, check_range, check_text, check_unique};

/// The `allowed_issuers` (and `allowed_actor_issuers`) entry for the organization's own access
/// tokens (chained exchange).
pub const SELF: &str = "self";

/// The exchange policy members of an application's settings, borrowed (the settings declare
/// them, so that serde sees every member of the record at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExchangePolicy<'a> {
    /// Trusted-issuer ids and `"self"`; `None`: every enabled trusted issuer, not `"self"`.
    pub allowed_issuers: Option<&'a [String]>,
    /// Values `audience` and `resource` may take, compared byte for byte; none by default.
    pub allowed_audiences: &'a [String],
    /// Scope tokens `scope` may hold; none by default, and no default scope.
    pub allowed_scopes: &'a [String],
    /// `None`: delegation (`actor_token`) refused.
    pub delegation: Option<&'a Delegation>,
}

/// RFC 8693 §4.1 delegation as an application may do it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delegation {
    /// Trusted-issuer ids and `"self"` whose tokens may be actor tokens.
    pub allowed_actor_issuers: Vec<String>,
    /// Most `act` levels an issued token may carry, 1-5.
    pub max_depth: u8,
}

/// Most entries of each list (every issuer id listed is checked in the write's transaction,
/// which DynamoDB bounds at 100 actions).
pub const MAX_ISSUERS: usize = 20;
pub const MAX_AUDIENCES: usize = 50;
pub const MAX_SCOPES: usize = 100;
pub const MAX_AUDIENCE_CHARS: usize = 512;
pub const MAX_SCOPE_CHARS: usize = 128;
pub const MAX_DEPTH_RANGE: RangeInclusive<u8> = 1..=5;

/// Why the exchange policy refuses a request; the text is safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The subject token's issuer is not allowed (RFC 8693 §2.2.2 `invalid_request`).
    #[error("the application may not exchange tokens of this issuer")]
    Issuer,
    /// RFC 8707 §2 `invalid_target`.
    #[error("{0}")]
    Target(String),
    /// RFC 6749 §5.2 `invalid_scope`.
    #[error("{0}")]
    Scope(String),
}

/// What an exchange grants besides the principal: the targets of `aud` (none: the client), the
/// scope, and the latest `exp` (a chained exchange's subject token's, a delegated one's actor
/// token's). A refresh family keeps it, so refreshed tokens say the same.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grant {
    pub targets: Vec<String>,
    pub scope: Option<String>,
    /// Epoch seconds no token of the grant outlives.
    pub not_after: Option<i64>,
    /// The actor's trusted-issuer id (or `"self"`), when delegated.
    pub actor_issuer: Option<String>,
}

impl Grant {
    /// The `exp` of a token issued at `now` for `ttl_seconds` under this grant.
    pub fn expiry(&self, now: i64, ttl_seconds: u32) -> i64 {
        let exp = now + i64::from(ttl_seconds);
        self.not_after.map_or(exp, |not_after| exp.min(not_after))
    }
}

impl<'a> ExchangePolicy<'a> {
    /// The admin rules beyond the types. That each id names a trusted issuer of the
    /// organization is checked where the record is written (see
    /// [`ExchangePolicy::referenced_issuers`]).
    pub fn validate(&self) -> Result<(), InputError> {
        if let Some(issuers) = self.allowed_issuers {
            check_issuer_ids("allowed_issuers", issuers)?;
        }
        check_list("allowed_audiences", self.allowed_audiences, MAX_AUDIENCES)?;
        for (i, audience) in self.allowed_audiences.iter().enumerate() {
            check_text(
                &format!("allowed_audiences[{i}]"),
                audience,
                MAX_AUDIENCE_CHARS,
            )?;
        }
        check_list("allowed_scopes", self.allowed_scopes, MAX_SCOPES)?;
        for (i, scope) in self.allowed_scopes.iter().enumerate() {
            if !is_scope_token(scope) || scope.len() > MAX_SCOPE_CHARS {
                return Err(InputError::field(
                    &format!("allowed_scopes[{i}]"),
                    format!(
                        "must be a scope token of 1 to {MAX_SCOPE_CHARS} printable ASCII characters without space, \" or \\ (RFC 6749 §3.3)"
                    ),
                ));
            }
        }
        if let Some(delegation) = self.delegation {
            check_issuer_ids(
                "delegation.allowed_actor_issuers",
                &delegation.allowed_actor_issuers,
            )?;
            check_range(
                "delegation.max_depth",
                delegation.max_depth,
                &MAX_DEPTH_RANGE,
            )?;
        }
        Ok(())
    }

    /// Every trusted-issuer id the policy names, with the member that names it, for the
    /// write to check they exist.
    pub fn referenced_issuers(&self) -> Vec<(String, &'a str)> {
        let mut named: Vec<(String, &'a str)> = Vec::new();
        let lists = [
            ("allowed_issuers", self.allowed_issuers),
            (
                "delegation.allowed_actor_issuers",
                self.delegation.map(|d| d.allowed_actor_issuers.as_slice()),
            ),
        ];
        for (member, ids) in lists {
            for (i, id) in ids.unwrap_or_default().iter().enumerate() {
                if id != SELF && !named.iter().any(|(_, known)| known == id) {
                    named.push((format!("{member}[{i}]"), id.as_str()));
                }
            }
        }
        named
    }

    /// Whether tokens of the trusted issuer `issuer_id` may be exchanged.
    pub fn permits_issuer(&self, issuer_id: &str) -> bool {
        match self.allowed_issuers {
            None => issuer_id != SELF,
            Some(ids) => ids.iter().any(|id| id == issuer_id),
        }
    }

    /// The targets of the issued `aud`: the `audience` values, then the `resource` values, in
    /// request order, duplicates removed; each must be allowed, and a resource an absolute URI
    /// without a fragment (RFC 8707 §2). Empty when none was asked for.
    pub fn targets(&self, audiences: &[&str], resources: &[&str]) -> Result<Vec<String>, Refused> {
        for resource in resources {
            if !is_absolute_uri_without_fragment(resource) {
                return Err(Refused::Target(
                    "resource must be an absolute URI without a fragment".into(),
                ));
            }
        }
        let mut targets: Vec<String> = Vec::new();
        for &target in audiences.iter().chain(resources) {
            if !self.allowed_audiences.iter().any(|a| a == target) {
                return Err(Refused::Target(
                    "the application may not request this audience or resource".into(),
                ));
            }
            if !targets.iter().any(|t| t == target) {
                targets.push(target.to_owned());
            }
        }
        Ok(targets)
    }

    /// The granted scope for the requested `scope` (space-separated, RFC 6749 §3.3): each token
    /// allowed and, when `within` is given (a chained exchange's or a refresh's grant), in
    /// it. Duplicates removed; `None` when nothing is granted, never `""`.
    pub fn scope(
        &self,
        requested: Option<&str>,
        within: Option<&str>,
    ) -> Result<Option<String>, Refused> {
        let Some(requested) = requested else {
            return Ok(None);
        };
        let tokens = scope_tokens(requested)
            .ok_or_else(|| Refused::Scope("scope is not a space-separated list".into()))?;
        let mut granted: Vec<&str> = Vec::new();
        for token in tokens {
            if !self.allowed_scopes.iter().any(|s| s == token) {
                return Err(Refused::Scope(
                    "the application may not request this scope".into(),
                ));
            }
            if let Some(within) = within
                && !within.split(' ').any(|s| s == token)
            {
                return Err(Refused::Scope("the scope exceeds the one granted".into()));
            }
            if !granted.contains(&token) {
                granted.push(token);
            }
        }
        Ok((!granted.is_empty()).then(|| granted.join(" ")))
    }

    /// Whether a grant made earlier (a refresh family's) is still within this policy.
    pub fn still_permits(&self, issuer_id: &str, grant: &Grant) -> bool {
        let targets: Vec<&str> = grant.targets.iter().map(String::as_str).collect();
        let actor_allowed = match &grant.actor_issuer {
            None => true,
            Some(actor) => self
                .delegation
                .is_some_and(|d| d.allowed_actor_issuers.iter().any(|id| id == actor)),
        };
        self.permits_issuer(issuer_id)
            && self.targets(&targets, &[]).is_ok()
            && self.scope(grant.scope.as_deref(), None).is_ok()
            && actor_allowed
    }
}

/// Unique, at most `max` entries.
fn check_list(name: &str, items: &[String], max: usize) -> Result<(), InputError> {
    if items.len() > max {
        return Err(InputError::field(
            name,
            format!("must list at most {max} entries"),
        ));
    }
    check_unique(name, items, String::as_str)
}

/// `"self"` or server-made ids (32 lower-case hex digits), unique.
fn check_issuer_ids(name: &str, ids: &[String]) -> Result<(), InputError> {
    check_list(name, ids, MAX_ISSUERS)?;
    for (i, id) in ids.iter().enumerate() {
        let well_formed = id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if id != SELF && !well_formed {
            return Err(InputError::field(
                &format!("{name}[{i}]"),
                format!("{id:?} is not a trusted token issuer id or \"self\""),
            ));
        }
    }
    Ok(())
}

/// RFC 6749 §3.3 `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// The scope tokens of `scope`, split on single spaces; `None` when one is empty or malformed.
fn scope_tokens(scope: &str) -> Option<Vec<&str>> {
    let tokens: Vec<&str> = scope.split(' ').collect();
    tokens.iter().all(|t| is_scope_token(t)).then_some(tokens)
}

/// RFC 8707 §2: "an absolute URI, as specified by Section 4.3 of RFC 3986 … MUST NOT include a
/// fragment component".
fn is_absolute_uri_without_fragment(value: &str) -> bool {
    !value.contains('#')
        && !value.bytes().any(|b| b <= b' ' || b == 0x7f)
        && super::uri::parse(value).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An application's policy members, owned.
    #[derive(Default)]
    struct Owned {
        issuers: Option<Vec<String>>,
        audiences: Vec<String>,
        scopes: Vec<String>,
        delegation: Option<Delegation>,
    }

    impl Owned {
        fn view(&self) -> ExchangePolicy<'_> {
            ExchangePolicy {
                allowed_issuers: self.issuers.as_deref(),
                allowed_audiences: &self.audiences,
                allowed_scopes: &self.scopes,
                delegation: self.delegation.as_ref(),
            }
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn policy(audiences: &[&str], scopes: &[&str]) -> Owned {
        Owned {
            audiences: strings(audiences),
            scopes: strings(scopes),
            ..Owned::default()
        }
    }

    fn issuers(ids: &[&str]) -> Owned {
        Owned {
            issuers: Some(strings(ids)),
            ..Owned::default()
        }
    }

    fn delegation(ids: &[&str], max_depth: u8) -> Owned {
        Owned {
            delegation: Some(Delegation {
                allowed_actor_issuers: strings(ids),
                max_depth,
            }),
            ..Owned::default()
        }
    }

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn issuers_default_to_every_trusted_one_but_never_self() {
        let open = Owned::default();
        assert!(open.view().permits_issuer(ID));
        assert!(!open.view().permits_issuer(SELF));
        let listed = issuers(&[SELF]);
        assert!(listed.view().permits_issuer(SELF));
        assert!(!listed.view().permits_issuer(ID));
        assert!(!issuers(&[]).view().permits_issuer(ID));
    }

    #[test]
    fn targets_are_allowed_byte_for_byte_in_request_order_without_duplicates() {
        let owned = policy(&["api", "https://r.example/x", "b"], &[]);
        let p = owned.view();
        assert_eq!(
            p.targets(&["b", "api", "b"], &["https://r.example/x", "api"])
                .unwrap_err(),
            Refused::Target("resource must be an absolute URI without a fragment".into()),
            "api is no absolute URI"
        );
        assert_eq!(
            p.targets(
                &["b", "api", "b"],
                &["https://r.example/x", "https://r.example/x"]
            )
            .unwrap(),
            ["b", "api", "https://r.example/x"]
        );
        assert!(p.targets(&[], &[]).unwrap().is_empty());
        for refused in [&["API"][..], &["api "], &["ap"], &["https://r.example/x/"]] {
            assert!(
                matches!(p.targets(refused, &[]), Err(Refused::Target(_))),
                "{refused:?}"
            );
        }
        // A resource must be an absolute URI without a fragment, even when allowed.
        // Not ASCII (RFC 3986): refused, not handed to the URL parser (src/domain/uri.rs).
        let odd = policy(
            &["api", "https://r.example/#f", "/relative", "https://Eõ/"],
            &[],
        );
        for resource in ["api", "https://r.example/#f", "/relative", "https://Eõ/"] {
            assert!(odd.view().targets(&[resource], &[]).is_ok(), "{resource}");
            assert!(
                matches!(
                    odd.view().targets(&[], &[resource]),
                    Err(Refused::Target(_))
                ),
                "{resource}"
            );
        }
    }

    #[test]
    fn scope_is_within_the_allowed_and_the_earlier_grant() {
        let owned = policy(&[], &["read", "write", "admin"]);
        let p = owned.view();
        assert_eq!(p.scope(None, None).unwrap(), None);
        assert_eq!(
            p.scope(Some("write read write"), None).unwrap().as_deref(),
            Some("write read")
        );
        assert_eq!(
            p.scope(Some("read"), Some("read write"))
                .unwrap()
                .as_deref(),
            Some("read")
        );
        for (requested, within) in [
            ("delete", None),
            ("Read", None),
            ("read  write", None),
            (" read", None),
            ("read\twrite", None),
            ("admin", Some("read write")),
            ("read", Some("")),
        ] {
            assert!(
                matches!(p.scope(Some(requested), within), Err(Refused::Scope(_))),
                "{requested:?} within {within:?}"
            );
        }
        assert!(policy(&[], &[]).view().scope(Some("read"), None).is_err());
    }

    #[test]
    fn an_earlier_grant_stays_permitted_only_while_every_part_is() {
        let grant = |targets: &[&str], scope: Option<&str>, actor: Option<&str>| Grant {
            targets: strings(targets),
            scope: scope.map(str::to_owned),
            not_after: None,
            actor_issuer: actor.map(str::to_owned),
        };
        let mut p = Owned {
            delegation: delegation(&[SELF], 1).delegation,
            ..policy(&["api"], &["read"])
        };
        assert!(
            p.view()
                .still_permits(ID, &grant(&["api"], Some("read"), Some(SELF)))
        );
        assert!(p.view().still_permits(ID, &grant(&[], None, None)));
        assert!(!p.view().still_permits(SELF, &grant(&[], None, None)));
        assert!(!p.view().still_permits(ID, &grant(&[], None, Some(ID))));
        p.delegation = None;
        assert!(!p.view().still_permits(ID, &grant(&[], None, Some(SELF))));
        p.scopes.clear();
        assert!(
            !p.view()
                .still_permits(ID, &grant(&["api"], Some("read"), None))
        );
        assert!(p.view().still_permits(ID, &grant(&["api"], None, None)));
        p.audiences.clear();
        assert!(!p.view().still_permits(ID, &grant(&["api"], None, None)));
    }

    #[test]
    fn names_the_element_that_breaks_a_rule() {
        let field = |p: Owned| p.view().validate().unwrap_err().field.unwrap();
        assert_eq!(field(issuers(&[SELF, "not-an-id"])), "allowed_issuers[1]");
        assert_eq!(field(issuers(&[ID, ID])), "allowed_issuers");
        assert_eq!(field(policy(&["a", ""], &[])), "allowed_audiences[1]");
        assert_eq!(field(policy(&["a\n"], &[])), "allowed_audiences[0]");
        assert_eq!(
            field(policy(&[], &["ok", "two words"])),
            "allowed_scopes[1]"
        );
        assert_eq!(field(policy(&[], &["\"q\""])), "allowed_scopes[0]");
        let many: Vec<String> = (0..=MAX_AUDIENCES).map(|i| i.to_string()).collect();
        let many = Owned {
            audiences: many,
            ..Owned::default()
        };
        assert_eq!(field(many), "allowed_audiences");
        for (depth, ok) in [(0, false), (1, true), (5, true), (6, false)] {
            assert_eq!(
                delegation(&[SELF], depth).view().validate().is_ok(),
                ok,
                "{depth}"
            );
        }
        assert_eq!(field(delegation(&[SELF], 0)), "delegation.max_depth");
        assert_eq!(
            field(delegation(&["x"], 1)),
            "delegation.allowed_actor_issuers[0]"
        );
    }

    #[test]
    fn lists_each_referenced_issuer_once_with_the_member_naming_it() {
        let other = "fedcba9876543210fedcba9876543210";
        let p = Owned {
            issuers: Some(strings(&[SELF, ID])),
            ..delegation(&[ID, other], 2)
        };
        assert_eq!(
            p.view().referenced_issuers(),
            [
                ("allowed_issuers[1]".to_owned(), ID),
                ("delegation.allowed_actor_issuers[1]".to_owned(), other)
            ]
        );
    }
}
