//! The token endpoint's error response (RFC 6749 §5.2, RFC 8693 §2.2.2), and the one mapping
//! of the use cases' [`TokenError`] to it. The description is written for the client and never
//! carries internals; details go to the log only.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::domain::exchange_policy::Refused;
use crate::token::TokenError;

/// RFC 6749 §5.2 error codes (plus `temporarily_unavailable` and `server_error`, §4.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    /// RFC 8707 §2.
    InvalidTarget,
    /// RFC 6749 §5.2.
    InvalidScope,
    TemporarilyUnavailable,
    ServerError,
}

impl ErrorCode {
    /// Every code, in declaration order: the values of the metrics' `error` dimension.
    pub const ALL: [ErrorCode; 9] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidClient,
        ErrorCode::InvalidGrant,
        ErrorCode::UnauthorizedClient,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::InvalidTarget,
        ErrorCode::InvalidScope,
        ErrorCode::TemporarilyUnavailable,
        ErrorCode::ServerError,
    ];

    /// The wire name, also the `error` dimension of the "handled" line's metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::ServerError => "server_error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
    pub status: StatusCode,
    /// Seconds, for 503.
    pub retry_after: Option<u64>,
    /// 405's `Allow`.
    pub allow: Option<&'static str>,
}

impl OAuthError {
    fn new(code: ErrorCode, status: StatusCode, description: impl Into<String>) -> OAuthError {
        OAuthError {
            code,
            description: description.into(),
            status,
            retry_after: None,
            allow: None,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError::new(
            ErrorCode::InvalidRequest,
            StatusCode::BAD_REQUEST,
            description,
        )
    }

    /// 401 with `WWW-Authenticate: Basic` (RFC 6749 §5.2).
    pub fn invalid_client(description: impl Into<String>) -> OAuthError {
        OAuthError::new(
            ErrorCode::InvalidClient,
            StatusCode::UNAUTHORIZED,
            description,
        )
    }

    pub fn invalid_grant(description: impl Into<String>) -> OAuthError {
        OAuthError::new(
            ErrorCode::InvalidGrant,
            StatusCode::BAD_REQUEST,
            description,
        )
    }

    pub fn unauthorized_client(description: impl Into<String>) -> OAuthError {
        OAuthError::new(
            ErrorCode::UnauthorizedClient,
            StatusCode::BAD_REQUEST,
            description,
        )
    }

    pub fn unsupported_grant_type(description: impl Into<String>) -> OAuthError {
        OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            StatusCode::BAD_REQUEST,
            description,
        )
    }

    pub fn invalid_target(description: impl Into<String>) -> OAuthError {
        OAuthError::new(
            ErrorCode::InvalidTarget,
            StatusCode::BAD_REQUEST,
            description,
        )
    }

    pub fn invalid_scope(description: impl Into<String>) -> OAuthError {
        OAuthError::new(
            ErrorCode::InvalidScope,
            StatusCode::BAD_REQUEST,
            description,
        )
    }

    pub fn temporarily_unavailable(retry_after: u64) -> OAuthError {
        OAuthError {
            retry_after: Some(retry_after),
            ..OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                StatusCode::SERVICE_UNAVAILABLE,
                "the service is temporarily unavailable, retry later",
            )
        }
    }

    /// 429 with `Retry-After`: too many failed client authentications from this source.
    pub fn too_many_attempts(retry_after: u64) -> OAuthError {
        OAuthError {
            retry_after: Some(retry_after),
            ..OAuthError::new(
                ErrorCode::InvalidClient,
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed client authentications; retry later",
            )
        }
    }

    pub fn server_error() -> OAuthError {
        OAuthError::new(
            ErrorCode::ServerError,
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error",
        )
    }

    pub fn method_not_allowed(allow: &'static str) -> OAuthError {
        OAuthError {
            allow: Some(allow),
            ..OAuthError::new(
                ErrorCode::InvalidRequest,
                StatusCode::METHOD_NOT_ALLOWED,
                format!("this endpoint accepts {allow} only"),
            )
        }
    }

    pub fn into_response(self) -> Response<Body> {
        #[derive(Serialize)]
        struct Wire<'a> {
            error: ErrorCode,
            error_description: &'a str,
        }
        let mut response = crate::http::json(
            self.status,
            &Wire {
                error: self.code,
                error_description: &self.description,
            },
            "application/json",
        );
        // For the "handled" line (an extension: API Gateway never sees it).
        response.extensions_mut().insert(self.code);
        let headers = response.headers_mut();
        crate::http::no_store(headers);
        if self.code == ErrorCode::InvalidClient {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="trustgate", charset="UTF-8""#),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

impl From<TokenError> for OAuthError {
    fn from(error: TokenError) -> OAuthError {
        match error {
            TokenError::SubjectRefused(rejection) => {
                OAuthError::invalid_request(rejection.to_string())
            }
            TokenError::PolicyRefused(_) | TokenError::DelegationRefused(_) => {
                OAuthError::invalid_request(error.to_string())
            }
            TokenError::ExchangeRefused(refused) => match refused {
                Refused::Issuer => OAuthError::invalid_request(refused.to_string()),
                Refused::Target(why) => OAuthError::invalid_target(why),
                Refused::Scope(why) => OAuthError::invalid_scope(why),
            },
            TokenError::InvalidClient => OAuthError::invalid_client(error.to_string()),
            TokenError::LockedOut {
                retry_after_seconds,
            } => OAuthError::too_many_attempts(retry_after_seconds),
            TokenError::GrantNotAllowed(_) => OAuthError::unauthorized_client(error.to_string()),
            TokenError::InvalidGrant => OAuthError::invalid_grant(error.to_string()),
            TokenError::NotIssuedToClient => OAuthError::unauthorized_client(error.to_string()),
            TokenError::Unavailable {
                retry_after_seconds,
            } => OAuthError::temporarily_unavailable(retry_after_seconds),
            TokenError::Internal => OAuthError::server_error(),
        }
    }
}
