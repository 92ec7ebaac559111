//! Admin API failures and the RFC 9457 problem documents they become. A 400 names the field at
//! fault in its `detail` and in a `field` member. Storage faults are logged here and leave
//! nothing of their internals in the response.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::aws::admin_store::AdminError;
use crate::aws::table::StoreError;
use crate::domain::input::InputError;
use crate::http::{Problem, json};

/// A failed admin request.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
    field: Option<String>,
    allow: Option<String>,
}

#[derive(Serialize)]
struct FieldProblem {
    #[serde(flatten)]
    problem: Problem,
    /// The request member at fault (an extension member, RFC 9457 §3.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            detail: detail.into(),
            field: None,
            allow: None,
        }
    }

    /// 400; `field` is named in the detail too.
    pub fn bad_request(field: Option<&str>, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError {
            detail: match field {
                Some(f) => format!("{f}: {message}"),
                None => message,
            },
            field: field.map(str::to_owned),
            ..ApiError::new(StatusCode::BAD_REQUEST, "")
        }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this API needs an IAM-authenticated caller: sign the request with AWS Signature \
             Version 4",
        )
    }

    /// 404 for a `what` that does not exist.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("no such {what}"))
    }

    pub fn method_not_allowed(method: &str, allowed: &[&str]) -> ApiError {
        ApiError {
            allow: Some(allowed.join(", ")),
            ..ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "{method} is not allowed here; allowed: {}",
                    allowed.join(", ")
                ),
            )
        }
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, detail)
    }

    pub fn payload_too_large(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, detail)
    }

    /// An [`AdminError`] about a `what` (e.g. "trusted token issuer").
    pub fn from_admin(error: AdminError, what: &str) -> ApiError {
        match error {
            AdminError::NoOrganization => ApiError::not_found("organization"),
            AdminError::NotFound => ApiError::not_found(what),
            AdminError::Conflict { field, message } => ApiError {
                field: Some(field.to_owned()),
                ..ApiError::new(StatusCode::CONFLICT, format!("{field}: {message}"))
            },
            AdminError::Invalid(e) => e.into(),
            AdminError::BadCursor => ApiError::bad_request(
                Some("cursor"),
                "is not a next_cursor value this list returned",
            ),
            AdminError::Store(e) => e.into(),
        }
    }

    /// A dependency of the token path failed (explain): 503 when retrying may help, else 500.
    pub fn from_token(error: crate::token::TokenError) -> ApiError {
        match error {
            crate::token::TokenError::Unavailable { .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the service is temporarily unavailable, retry later",
            ),
            _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn into_response(self) -> Response<Body> {
        let document = FieldProblem {
            problem: Problem::new(self.status, self.detail),
            field: self.field,
        };
        let mut response = json(self.status, &document, "application/problem+json");
        let headers = response.headers_mut();
        if let Some(allow) = self.allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
            headers.insert(header::ALLOW, allow);
        }
        match self.status {
            StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            StatusCode::UNAUTHORIZED => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("AWS4-HMAC-SHA256"),
                );
            }
            _ => {}
        }
        response
    }
}

impl From<InputError> for ApiError {
    fn from(error: InputError) -> ApiError {
        ApiError::bad_request(error.field.as_deref(), error.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        if error.is_retryable() {
            tracing::warn!(error = %error, "storage unavailable");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage is unavailable for a moment; try again",
            )
        } else {
            tracing::error!(error = %error, "storage failed");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}
