//! Client authentication at the token endpoint (RFC 6749 §2.3.1, §3.2.1) with the brute-force
//! defence of [`crate::domain::lockout`]: a confidential client proves its secret (compared in
//! constant time), a public one presents none. Failures of a known client are counted per
//! source; past the limit the client is refused from that source until the window ends.

use std::sync::Arc;

use super::{TokenError, TokenService};
use crate::domain::application::Application;
use crate::domain::ids::ClientId;
use crate::domain::lockout;
use crate::domain::organization::OrgName;
use crate::oauth::client_auth::ClientCredentials;
use crate::ports::Read;

/// Who is calling: the client's credentials and the address the request came from.
#[derive(Debug, Clone)]
pub struct Caller {
    pub credentials: ClientCredentials,
    /// The source IP address as API Gateway saw it (brute-force counting is per source).
    pub source: String,
}

impl TokenService {
    /// The application `client_id` names, if it exists and is enabled.
    pub(super) async fn enabled_application(
        &self,
        org: &OrgName,
        client_id: &ClientId,
        read: Read,
    ) -> Result<Arc<Application>, TokenError> {
        self.ports
            .config_store
            .application(org, client_id, read)
            .await?
            .filter(|a| a.enabled)
            .ok_or(TokenError::InvalidClient)
    }

    /// [`Self::authenticate`] in an organization that exists and is not being deleted: the
    /// records of a half-deleted organization may still be in the table, but its clients
    /// belong to no live organization (`invalid_client`). The organization is read through
    /// the warm function's cache, alongside the client's record.
    pub(super) async fn authenticate_in_live_organization(
        &self,
        org: &OrgName,
        caller: &Caller,
        read: Read,
    ) -> Result<Arc<Application>, TokenError> {
        let (live, application) = tokio::join!(
            self.ports.config_store.organization_exists(org),
            self.authenticate(org, caller, read)
        );
        if !live? {
            tracing::info!(%org, "token request for an organization that is deleted or being deleted");
            return Err(TokenError::InvalidClient);
        }
        application
    }

    /// The enabled application the credentials prove, or why not.
    pub(super) async fn authenticate(
        &self,
        org: &OrgName,
        caller: &Caller,
        read: Read,
    ) -> Result<Arc<Application>, TokenError> {
        let credentials = &caller.credentials;
        let client_id = ClientId::new(credentials.client_id());
        let application = self.enabled_application(org, &client_id, read).await?;
        let now = self.ports.clock.now();
        let subject = lockout::Subject {
            org: org.as_str().to_owned(),
            client_id: application.client_id.clone(),
            source: caller.source.clone(),
        };
        if let Some(retry_after_seconds) = self.lockouts.retry_after(&subject, now) {
            return Err(TokenError::LockedOut {
                retry_after_seconds,
            });
        }
        let authenticated = match credentials.secret() {
            Some(secret) => {
                application.app_type.is_confidential() && application.verify_secret(secret)
            }
            None => !application.app_type.is_confidential(),
        };
        if authenticated {
            return Ok(application);
        }
        tracing::info!(client_id = %application.client_id, source = %caller.source, "client authentication failed");
        let (start, end) = lockout::window(now);
        let count = self
            .ports
            .failure_log
            .record_failure(org, &client_id, &caller.source, start, end)
            .await;
        match count {
            Ok(count) if count > lockout::MAX_FAILURES => {
                tracing::warn!(client_id = %application.client_id, source = %caller.source, "client locked out after repeated failures");
                self.lockouts.lock(subject, end, now);
                Err(TokenError::LockedOut {
                    retry_after_seconds: (end - now) as u64,
                })
            }
            Ok(_) => Err(TokenError::InvalidClient),
            Err(e) => {
                tracing::warn!(detail = %e, "could not count a failed client authentication");
                Err(TokenError::InvalidClient)
            }
        }
    }
}
