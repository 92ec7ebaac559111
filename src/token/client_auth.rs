//! Client authentication at the token endpoint (RFC 6749 §2.3.1, §3.2.1) with the brute-force
//! defence of [`crate::domain::lockout`]: a confidential client proves its secret (compared in
//! constant time), a public one presents none. Failures of a known client are counted per
//! source; past the limit the client is refused from that source until the window ends. A
//! secret that does not match the cached record is checked again against the record read
//! fresh before anything is counted: a rotated secret works at once, and failures with it
//! never count.

use std::sync::Arc;

use super::{TokenError, TokenService};
use crate::domain::application::Application;
use crate::domain::ids::ClientId;
use crate::domain::lockout;
use crate::domain::organization::OrgName;
use crate::oauth::client_auth::ClientCredentials;
use crate::ports::{Generation, Read};

/// A refused client authentication, and whether it was decided on the application record
/// read fresh (then it stands whatever the configuration generation says: the failure is
/// counted, and deciding again would count it twice).
#[derive(Debug)]
pub(super) struct Refused {
    pub error: TokenError,
    pub fresh: bool,
}

impl From<Refused> for TokenError {
    fn from(refused: Refused) -> TokenError {
        refused.error
    }
}

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

    /// The organization's configuration generation, read now: `invalid_client` when the
    /// organization is deleted or being deleted (the records of a half-deleted organization
    /// may still be in the table, but its clients belong to no live organization).
    pub(super) async fn live_generation(&self, org: &OrgName) -> Result<Generation, TokenError> {
        match self.ports.config_store.generation(org).await? {
            Some(generation) => Ok(generation),
            None => {
                tracing::info!(%org, "token request for an organization that is deleted or being deleted");
                Err(TokenError::InvalidClient)
            }
        }
    }

    /// [`Self::authenticate`] with records read fresh, in an organization that is live
    /// (its generation read alongside).
    pub(super) async fn authenticate_fresh_in_live_organization(
        &self,
        org: &OrgName,
        caller: &Caller,
    ) -> Result<Arc<Application>, TokenError> {
        let (live, application) = tokio::join!(
            self.live_generation(org),
            self.authenticate(org, caller, Read::Fresh)
        );
        live?;
        Ok(application?)
    }

    /// [`Self::authenticate`] on the records the warm function keeps, checked against the
    /// organization's configuration generation read alongside (the one read of a warm
    /// request): when it moved, the records are read again and the client authenticated on
    /// them, so a rotated secret or a disabled application counts at once.
    pub(super) async fn authenticate_current(
        &self,
        org: &OrgName,
        caller: &Caller,
    ) -> Result<Arc<Application>, TokenError> {
        let Some(kept) = self.cache.generation_of(org) else {
            let generation = self.live_generation(org).await?;
            self.cache.adopt(org, generation);
            return Ok(self.authenticate(org, caller, Read::Cached).await?);
        };
        let (attempt, current) = tokio::join!(
            self.authenticate(org, caller, Read::Cached),
            self.ports.config_store.generation(org)
        );
        match current? {
            Some(current) if current == kept => Ok(attempt?),
            _ if matches!(&attempt, Err(refused) if refused.fresh) => Ok(attempt?),
            Some(current) => {
                self.cache.adopt(org, current);
                Ok(self.authenticate(org, caller, Read::Cached).await?)
            }
            None => {
                self.cache.forget(org);
                Err(TokenError::InvalidClient)
            }
        }
    }

    /// The enabled application the credentials prove, or why not.
    pub(super) async fn authenticate(
        &self,
        org: &OrgName,
        caller: &Caller,
        read: Read,
    ) -> Result<Arc<Application>, Refused> {
        let client_id = ClientId::new(caller.credentials.client_id());
        let fresh = read == Read::Fresh;
        let application = (self.enabled_application(org, &client_id, read).await)
            .map_err(|error| Refused { error, fresh })?;
        self.prove(org, caller, application, fresh).await
    }

    /// Whether the caller's credentials prove `application` (the enabled application its
    /// `client_id` names, read fresh when `fresh`), with the lockout and the counting of
    /// failures.
    pub(super) async fn prove(
        &self,
        org: &OrgName,
        caller: &Caller,
        application: Arc<Application>,
        fresh: bool,
    ) -> Result<Arc<Application>, Refused> {
        let credentials = &caller.credentials;
        let client_id = ClientId::new(credentials.client_id());
        let now = self.ports.clock.now();
        let subject = lockout::Subject {
            org: org.as_str().to_owned(),
            client_id: application.client_id.clone(),
            source: caller.source.clone(),
        };
        if let Some(retry_after_seconds) = self.lockouts.retry_after(&subject, now) {
            let error = TokenError::LockedOut {
                retry_after_seconds,
            };
            return Err(Refused { error, fresh });
        }
        if proves(&application, credentials) {
            return Ok(application);
        }
        let application = if fresh {
            application
        } else {
            let read = self.enabled_application(org, &client_id, Read::Fresh).await;
            let application = read.map_err(|error| Refused { error, fresh: true })?;
            if proves(&application, credentials) {
                return Ok(application);
            }
            application
        };
        let refused = |error| Refused { error, fresh: true };
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
                Err(refused(TokenError::LockedOut {
                    retry_after_seconds: (end - now) as u64,
                }))
            }
            Ok(_) => Err(refused(TokenError::InvalidClient)),
            Err(e) => {
                tracing::warn!(detail = %e, "could not count a failed client authentication");
                Err(refused(TokenError::InvalidClient))
            }
        }
    }
}

/// Whether `credentials` prove `application`: a confidential client by its secret (compared
/// in constant time), a public one by presenting none.
fn proves(application: &Application, credentials: &ClientCredentials) -> bool {
    match credentials.secret() {
        Some(secret) => application.app_type.is_confidential() && application.verify_secret(secret),
        None => !application.app_type.is_confidential(),
    }
}
