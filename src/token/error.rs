//! What the token use cases answer when they do not issue a token. Each variant says what went
//! wrong and whether retrying can help; [`crate::oauth::OAuthError`] maps them to RFC 6749 §5.2
//! responses, in one place.

use crate::domain::application::GrantType;
use crate::domain::exchange_policy::Refused;
use crate::domain::policy::Refusal;
use crate::domain::subject_token::Rejection;
use crate::keys::KeyError;
use crate::ports::PortError;

/// Seconds a client is asked to wait after a 503.
pub const RETRY_AFTER_SECONDS: u64 = 5;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The subject token is refused (RFC 8693 §2.2.2); the reason is safe to show.
    #[error("{0}")]
    SubjectRefused(Rejection),
    /// The trusted issuer's condition, subject expression or a claim mapping refused the
    /// subject token (RFC 8693 §2.2.2); the step and why, never a claim's value.
    #[error("subject token refused by the trusted issuer's policy: {0}")]
    PolicyRefused(Refusal),
    /// The application's exchange policy refuses the issuer, a target or a scope.
    #[error("{0}")]
    ExchangeRefused(Refused),
    /// The actor token, or delegation by this actor, is refused (RFC 8693 §2.2.2).
    #[error("{0}")]
    DelegationRefused(String),
    /// Unknown or disabled client, wrong or missing secret (RFC 6749 §2.3.1).
    #[error("client authentication failed")]
    InvalidClient,
    /// Too many failed authentications of this client from this source.
    #[error("client locked out for {retry_after_seconds} s")]
    LockedOut { retry_after_seconds: u64 },
    /// The application does not have this grant (or, for a SPA, may not use it).
    #[error("the {} grant is not enabled for this application", .0.as_str())]
    GrantNotAllowed(GrantType),
    /// The refresh token is unknown, expired, revoked, reused or another client's; why is
    /// logged, never told.
    #[error("the refresh token is invalid, expired or revoked")]
    InvalidGrant,
    /// The token presented for revocation was issued to another client (RFC 7009 §2.1); it
    /// stays active.
    #[error("the token was not issued to this client")]
    NotIssuedToClient,
    /// A dependency is throttled or down and nothing cached can stand in.
    #[error("temporarily unavailable")]
    Unavailable { retry_after_seconds: u64 },
    /// Anything retrying will not fix; the detail went to the log.
    #[error("internal error")]
    Internal,
}

impl From<Rejection> for TokenError {
    fn from(rejection: Rejection) -> TokenError {
        TokenError::SubjectRefused(rejection)
    }
}

impl From<Refused> for TokenError {
    fn from(refused: Refused) -> TokenError {
        TokenError::ExchangeRefused(refused)
    }
}

impl From<PortError> for TokenError {
    /// Logs the failure and sorts it: retryable → 503, anything else → 500.
    fn from(error: PortError) -> TokenError {
        match error {
            PortError::Unavailable(detail) => {
                tracing::warn!(%detail, "dependency unavailable");
                TokenError::Unavailable {
                    retry_after_seconds: RETRY_AFTER_SECONDS,
                }
            }
            PortError::Internal(detail) => {
                tracing::error!(%detail, "dependency failed");
                TokenError::Internal
            }
        }
    }
}

impl TokenError {
    /// The answer when an issuer's keys cannot be had.
    pub(super) fn from_keys(error: KeyError, issuer_id: &str) -> TokenError {
        match error {
            KeyError::NoMatchingKey => TokenError::SubjectRefused(Rejection::NoMatchingKey),
            KeyError::Unavailable {
                retry_after_seconds,
            } => {
                tracing::warn!(issuer_id, "no verification key available for the issuer");
                TokenError::Unavailable {
                    retry_after_seconds,
                }
            }
            KeyError::Misconfigured(detail) => {
                tracing::error!(issuer_id, %detail, "trusted issuer keys are misconfigured");
                TokenError::Internal
            }
        }
    }
}
