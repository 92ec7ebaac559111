//! The RFC 8693 token exchange: an authenticated client with the grant trades a valid subject
//! token for an access token (and a refresh token where allowed). Each step is typed: client
//! authentication, the grant, the subject token ([`super::subject`]), the `jti` rule, minting.

use super::{Caller, Issued, TokenError, TokenService};
use crate::domain::application::{AppType, Application, GrantType};
use crate::domain::organization::OrgName;
use crate::oauth::request::ExchangeRequest;
use crate::ports::Read;

impl TokenService {
    pub async fn exchange(
        &self,
        org: &OrgName,
        caller: &Caller,
        request: &ExchangeRequest<'_>,
    ) -> Result<Issued, TokenError> {
        let application = self
            .authenticate_in_live_organization(org, caller, Read::Cached)
            .await?;
        require_exchange_grant(&application)?;
        let subject = self
            .validate_subject(org, request.subject_token)
            .await
            .inspect_err(|e| {
                if let TokenError::SubjectRefused(reason) = e {
                    tracing::info!(client_id = %application.client_id, %reason, "subject token refused");
                }
            })?;
        let recorded_jti = self.record_jti(org, &subject).await?;
        let issued = match self.principal(&subject) {
            Ok(principal) => {
                let issuer_id = subject.issuer_id.as_str();
                let token_type = request.requested_token_type;
                self.issue(org, &principal, issuer_id, &application, token_type)
                    .await
            }
            Err(refused) => {
                tracing::info!(client_id = %application.client_id, reason = %refused, "subject token refused by the issuer's policy");
                Err(refused)
            }
        };
        // The jti was recorded before any token was made: a request that fails now made no
        // token, so its jti is forgotten and the client's retry (503 says retry) is served.
        if issued.is_err()
            && let Some(jti) = recorded_jti
            && let Err(e) = self
                .ports
                .replay_log
                .forget_jti(org, &subject.issuer_id, &jti)
                .await
        {
            tracing::warn!(detail = %e, "could not forget the jti of a failed exchange");
        }
        issued
    }
}

/// Token exchange needs the grant, and is never allowed to a single-page application.
pub(super) fn require_exchange_grant(application: &Application) -> Result<(), TokenError> {
    if application.allows(GrantType::TokenExchange) && application.app_type != AppType::Spa {
        Ok(())
    } else {
        Err(TokenError::GrantNotAllowed(GrantType::TokenExchange))
    }
}
