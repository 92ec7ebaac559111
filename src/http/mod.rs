//! HTTP: Request → domain → Response for each function, and the response shapes they share.

pub mod admin;
pub mod token;

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// A JSON response.
pub fn json<T: Serialize>(
    status: StatusCode,
    body: &T,
    content_type: &'static str,
) -> Response<Body> {
    // `to_string`: serde_json's output is UTF-8 by construction, so not checked again.
    let text = serde_json::to_string(body).expect("response types always serialize");
    json_text(status, text, content_type)
}

/// A response whose body is JSON text made elsewhere.
pub fn json_text(status: StatusCode, text: String, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json(status, &self, "application/problem+json")
    }
}

/// 404 for a path no route serves.
pub fn not_found(method: &str, path: &str) -> Response<Body> {
    // The path is echoed only as far as it is printable ASCII, and bounded.
    let shown: String = path
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(200)
        .collect();
    Problem::new(
        StatusCode::NOT_FOUND,
        format!("no route for {method} {shown}"),
    )
    .into_response()
}

/// `Cache-Control: no-store` and `Pragma: no-cache`: token responses must not be cached
/// (RFC 6749 §5.1).
pub fn no_store(headers: &mut lambda_http::http::HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}
