//! Reading an admin request: the IAM caller, the JSON body, pagination and path parameters.
//! Each failure is an [`ApiError`] that says what to fix.

use lambda_http::http::header;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

use super::error::ApiError;
use crate::domain::organization::OrgName;

/// Largest body accepted (a certificate is a few KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Page size when `limit` is not given.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest `limit`.
pub const MAX_PAGE_SIZE: usize = 100;

/// The IAM principal API Gateway authenticated for this request (`AWS_IAM` authorizer): its
/// user ARN, else its caller id. `None` when the request context carries no IAM identity.
/// The context is written by API Gateway (or a Lambda function URL), never by the caller.
pub fn iam_caller(request: &Request) -> Option<String> {
    let iam = request.request_context_ref()?.authorizer()?.iam.as_ref()?;
    [&iam.user_arn, &iam.caller_id]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The body of a POST or PATCH as JSON. `merge_patch` also admits
/// `application/merge-patch+json` (RFC 7396 §4).
pub fn json_body(request: &Request, merge_patch: bool) -> Result<Value, ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let accepted =
        essence == "application/json" || (merge_patch && essence == "application/merge-patch+json");
    if !accepted {
        let expected = if merge_patch {
            "application/merge-patch+json or application/json"
        } else {
            "application/json"
        };
        return Err(ApiError::unsupported_media_type(format!(
            "the body must be JSON: send Content-Type: {expected}"
        )));
    }
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::payload_too_large(format!(
            "the body must be at most {MAX_BODY_BYTES} bytes"
        )));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(None, "a JSON body is required"));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        // serde_json's message gives the position and the kind of error, not the input.
        ApiError::bad_request(None, format!("the body is not valid JSON: {e}"))
    })
}

/// Which page of a list to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    /// A `next_cursor` of the list, opaque here: the store made it and checks it.
    pub cursor: Option<String>,
}

/// Reads `?limit=` (1–100, default 50) and `?cursor=`.
pub fn page_request(request: &Request) -> Result<PageRequest, ApiError> {
    let query = request.query_string_parameters_ref();
    let single = |name: &str| -> Result<Option<String>, ApiError> {
        let values = query.and_then(|q| q.all(name)).unwrap_or_default();
        match values.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some((*one).to_owned())),
            _ => Err(ApiError::bad_request(Some(name), "must be given once")),
        }
    };
    let limit = match single("limit")? {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    Some("limit"),
                    format!("must be a whole number from 1 to {MAX_PAGE_SIZE}"),
                )
            })?,
    };
    let cursor = single("cursor")?;
    Ok(PageRequest { limit, cursor })
}

/// The `{org}` of a path. A name that breaks the naming rule can't exist: 404.
pub fn org_param(raw: &str) -> Result<OrgName, ApiError> {
    OrgName::parse(raw).map_err(|_| ApiError::not_found("organization"))
}

/// An `{id}` or `{client_id}`: 32 lower-case hex characters, as the server makes them; any
/// other value can't exist (404).
pub fn server_id_param<'p>(raw: &'p str, what: &str) -> Result<&'p str, ApiError> {
    let well_formed = raw.len() == 32
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if well_formed {
        Ok(raw)
    } else {
        Err(ApiError::not_found(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_ids_are_32_lower_case_hex_characters() {
        assert!(server_id_param("0123456789abcdef0123456789abcdef", "x").is_ok());
        for bad in [
            "",
            "0123",
            "0123456789ABCDEF0123456789ABCDEF",
            "g123456789abcdef0123456789abcdef",
        ] {
            assert!(server_id_param(bad, "x").is_err(), "{bad}");
        }
    }
}
