//! The trust policy step: what the trusted issuer's `condition`, `subject` and
//! `claim_mappings` (CEL, see [`crate::domain::policy`]) make of a validated subject token, as
//! the [`Principal`] an issued token speaks for. Policies are compiled when the warm function
//! first meets the issuer record — the limits are checked again there — and kept with it; an
//! issuer without expressions costs nothing here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Map;

use super::{TokenError, TokenService, ValidatedSubject};
use crate::domain::access_token::Principal;
use crate::domain::issuer::TrustedIssuer;
use crate::domain::policy::{IssuerPolicy, RESERVED_CLAIMS};
use crate::domain::presented_token::PresentedToken;

/// Compiled policies of one warm function, by issuer id, with the expressions they came from
/// (a changed record is compiled again).
#[derive(Default)]
pub struct PolicyCache {
    compiled: Mutex<HashMap<String, (Expressions, Arc<IssuerPolicy>)>>,
}

/// Issuers remembered at most; beyond, the cache starts over (ids come from stored records).
const CAPACITY: usize = 10_000;

#[derive(Clone, PartialEq, Eq)]
struct Expressions {
    condition: Option<String>,
    subject: Option<String>,
    claim_mappings: std::collections::BTreeMap<String, String>,
}

impl Expressions {
    fn of(issuer: &TrustedIssuer) -> Expressions {
        Expressions {
            condition: issuer.condition.clone(),
            subject: issuer.subject.clone(),
            claim_mappings: issuer.claim_mappings.clone(),
        }
    }

    fn matches(&self, issuer: &TrustedIssuer) -> bool {
        self.condition == issuer.condition
            && self.subject == issuer.subject
            && self.claim_mappings == issuer.claim_mappings
    }
}

/// Whether `issuer` has any expression to evaluate.
fn has_policy(issuer: &TrustedIssuer) -> bool {
    issuer.condition.is_some() || issuer.subject.is_some() || !issuer.claim_mappings.is_empty()
}

impl PolicyCache {
    /// The compiled policy of `issuer`, compiling it on first use or after a change.
    fn policy(&self, issuer: &TrustedIssuer) -> Result<Arc<IssuerPolicy>, TokenError> {
        let lock = || self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((expressions, policy)) = lock().get(&issuer.id)
            && expressions.matches(issuer)
        {
            return Ok(Arc::clone(policy));
        }
        let policy = issuer.policy().map(Arc::new).map_err(|e| {
            tracing::error!(issuer_id = %issuer.id, detail = %e, "trusted issuer policy does not compile");
            TokenError::Internal
        })?;
        let mut compiled = lock();
        if compiled.len() >= CAPACITY {
            compiled.clear();
        }
        let entry = (Expressions::of(issuer), Arc::clone(&policy));
        compiled.insert(issuer.id.clone(), entry);
        Ok(policy)
    }
}

impl TokenService {
    /// The principal of `subject`: the issued `sub` (the policy's `subject`, else the token's),
    /// the vouching issuer's `issuer` value as `idp`, and the mapped claims, once the
    /// `condition` holds.
    pub(super) fn principal(&self, subject: &ValidatedSubject) -> Result<Principal, TokenError> {
        let Some(issuer) = subject.issuer() else {
            let own = subject.own().ok_or(TokenError::Internal)?;
            return Ok(own_principal(own));
        };
        let idp = issuer.issuer.clone();
        if !has_policy(issuer) {
            return Ok(Principal {
                sub: subject.sub.clone(),
                idp,
                claims: Map::new(),
                act: None,
            });
        }
        let policy = self.policies.policy(issuer)?;
        let decision = policy
            .evaluate(subject.claims_json(), &subject.sub)
            .map_err(TokenError::PolicyRefused)?;
        Ok(Principal {
            sub: decision.sub,
            idp,
            claims: decision.claims,
            act: None,
        })
    }
}

/// Whom our own access token speaks for, kept whole by a chained exchange: its `sub`, `idp`,
/// mapped claims (every claim the service does not set itself) and `act`.
fn own_principal(own: &PresentedToken) -> Principal {
    let claims = (own.claims.iter())
        .filter(|(name, _)| !RESERVED_CLAIMS.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    Principal {
        sub: own.sub.clone(),
        idp: own.idp.clone(),
        claims,
        act: own.claims.get("act").cloned(),
    }
}
