//! The RFC 8693 token exchange: an authenticated client with the grant trades a valid subject
//! token for an access token (and a refresh token where allowed). Each step is typed: client
//! authentication, the grant, the subject token ([`super::subject`]), the `jti` rule, minting.
//!
//! Admin changes apply on the next request (contract, "Admin changes take effect at once"): a
//! warm exchange is decided on the records the function keeps ([`super::cached_store`]) while
//! the organization's configuration generation is read, concurrently, so the one read adds no
//! latency. When the generation is no longer the one those records were loaded under, nothing
//! of that attempt is handed out — the `jti` it recorded is forgotten, its refresh family
//! discarded, its signed token dropped — and the exchange is decided again on records read
//! after the new generation. Refusals are checked the same way, so an issuer or application
//! registered right after a refused exchange is accepted on the next request.

use super::subject::Presented;
use super::{Caller, Issued, TokenError, TokenService};
use crate::domain::application::{AppType, Application, GrantType};
use crate::domain::ids::IssuerId;
use crate::domain::organization::OrgName;
use crate::oauth::request::ExchangeRequest;
use crate::ports::Read;

/// One run of the exchange's steps, and what it left behind.
struct Attempt {
    result: Result<Issued, TokenError>,
    /// The refusal was decided on records read fresh (a counted authentication failure): it
    /// stands whatever the generation says.
    settled: bool,
    /// The `jti`s recorded for an issued token (subject's, actor's), to forget if the token
    /// is not handed out.
    jti: Vec<(IssuerId, String)>,
}

impl TokenService {
    pub async fn exchange(
        &self,
        org: &OrgName,
        caller: &Caller,
        request: &ExchangeRequest<'_>,
    ) -> Result<Issued, TokenError> {
        let Some(kept) = self.cache.generation_of(org) else {
            // Cold: the generation first, so every record read next is at least as new.
            let generation = self.live_generation(org).await?;
            self.cache.adopt(org, generation);
            return self.attempt(org, caller, request).await.result;
        };
        if cfg!(feature = "bench-without-generation-read") {
            return self.attempt(org, caller, request).await.result;
        }
        let (attempt, current) = tokio::join!(
            self.attempt(org, caller, request),
            self.ports.config_store.generation(org)
        );
        let current = match current {
            Ok(Some(current)) if current == kept || attempt.settled => return attempt.result,
            Ok(current) => current,
            Err(e) => {
                self.withdraw(org, attempt).await;
                return Err(e.into());
            }
        };
        self.withdraw(org, attempt).await;
        let Some(current) = current else {
            tracing::info!(%org, "token request for an organization that is deleted or being deleted");
            self.cache.forget(org);
            return Err(TokenError::InvalidClient);
        };
        tracing::info!(%org, "configuration changed: the exchange is decided again on current records");
        self.cache.adopt(org, current);
        self.attempt(org, caller, request).await.result
    }

    /// Takes back what `attempt` left for a token that is not handed out.
    async fn withdraw(&self, org: &OrgName, attempt: Attempt) {
        let Ok(issued) = &attempt.result else {
            return;
        };
        self.discard_issued(issued).await;
        for (issuer_id, jti) in &attempt.jti {
            self.forget_jti(org, issuer_id, jti).await;
        }
    }

    /// The exchange's steps on the records the cache holds (or loads).
    async fn attempt(
        &self,
        org: &OrgName,
        caller: &Caller,
        request: &ExchangeRequest<'_>,
    ) -> Attempt {
        let refused = |error| Attempt {
            result: Err(error),
            settled: false,
            jti: Vec::new(),
        };
        let application = match self.authenticate(org, caller, Read::Cached).await {
            Ok(application) => application,
            Err(failure) => {
                return Attempt {
                    result: Err(failure.error),
                    settled: failure.fresh,
                    jti: Vec::new(),
                };
            }
        };
        if let Err(e) = require_exchange_grant(&application) {
            return refused(e);
        }
        let presented = Presented {
            token_type: request.subject_token_type,
            client_id: &application.client_id,
        };
        let subject = match (self.validate_subject(org, request.subject_token, presented)).await {
            Ok(subject) => subject,
            Err(e) => {
                if let TokenError::SubjectRefused(reason) = &e {
                    tracing::info!(client_id = %application.client_id, %reason, "subject token refused");
                }
                return refused(e);
            }
        };
        let recorded_jti = match self.record_jti(org, &subject).await {
            Ok(jti) => jti,
            Err(e) => return refused(e),
        };
        let mut jtis: Vec<(IssuerId, String)> = recorded_jti
            .map(|jti| (subject.issuer_id.clone(), jti))
            .into_iter()
            .collect();
        let issued = match self.decide(org, &application, &subject, request).await {
            Ok(decision) => {
                // The actor token's jti rule, checked in the decision, is recorded now.
                match &decision.actor {
                    Some(actor) => match self.record_jti(org, actor).await {
                        Ok(recorded) => {
                            jtis.extend(recorded.map(|jti| (actor.issuer_id.clone(), jti)));
                            Ok(decision)
                        }
                        Err(e) => Err(e),
                    },
                    None => Ok(decision),
                }
            }
            Err((check, refused)) => {
                tracing::info!(client_id = %application.client_id, check, reason = %refused, "exchange refused by policy");
                Err(refused)
            }
        };
        let issued = match issued {
            Ok(decision) => {
                let token_type = request.requested_token_type;
                let (principal, grant) = (&decision.principal, &decision.grant);
                self.issue(org, principal, grant, &subject, &application, token_type)
                    .await
            }
            Err(e) => Err(e),
        };
        // The jtis were recorded before any token was made: a request that fails now made no
        // token, so they are forgotten and the client's retry (503 says retry) is served.
        if issued.is_err() {
            for (issuer_id, jti) in &jtis {
                self.forget_jti(org, issuer_id, jti).await;
            }
            jtis.clear();
        }
        Attempt {
            jti: jtis,
            result: issued,
            settled: false,
        }
    }

    async fn forget_jti(&self, org: &OrgName, issuer_id: &IssuerId, jti: &str) {
        let replay_log = &self.ports.replay_log;
        if let Err(e) = replay_log.forget_jti(org, issuer_id, jti).await {
            tracing::warn!(detail = %e, "could not forget the jti of an exchange that issued nothing");
        }
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
