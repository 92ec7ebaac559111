//! The trust policy step: what the trusted issuer's `condition`, `subject` and
//! `claim_mappings` make of a validated subject token, as the [`Principal`] an issued token
//! speaks for.

use serde_json::Map;

use super::{TokenError, TokenService, ValidatedSubject};
use crate::domain::access_token::Principal;

impl TokenService {
    /// The principal of `subject`: its `sub` and the vouching issuer's `issuer` value as `idp`.
    pub(super) fn principal(&self, subject: &ValidatedSubject) -> Result<Principal, TokenError> {
        Ok(Principal {
            sub: subject.sub.clone(),
            idp: subject.issuer().issuer.clone(),
            claims: Map::new(),
        })
    }
}
