//! The admin API client (openapi/admin.yaml): where it is, how requests are authenticated,
//! and one `send` that every command (and the console's proxy) goes through. Answers of any
//! status come back as [`ApiResponse`]; [`ApiResponse::json`] turns a refusal into a
//! [`CliError`] carrying the problem details (RFC 9457).

use std::time::Duration;

use clap::ValueEnum;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::CliError;
use crate::sigv4::Signer;

/// How requests to the admin API are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// AWS Signature Version 4 from the standard credential chain (API Gateway's AWS_IAM).
    Sigv4,
    /// No authentication: `make dev` (TRUSTGATE_ADMIN_AUTH=none).
    None,
}

/// Where the admin API is and how to call it; global options of every command.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiOptions {
    /// The admin API's base URL, e.g. https://ID.execute-api.REGION.amazonaws.com, or
    /// http://127.0.0.1:9000 under `make dev`
    #[arg(long, env = "TRUSTGATE_ENDPOINT", global = true, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Request authentication [default: none for http:// loopback endpoints, sigv4 otherwise]
    #[arg(long, value_enum, global = true)]
    pub auth: Option<AuthMode>,
    /// AWS region to sign for [default: from an execute-api host name, else AWS_REGION or the
    /// profile's]
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS profile of the credential chain (~/.aws/config; SSO and credential_process work)
    #[arg(long, env = "AWS_PROFILE", global = true, value_name = "NAME")]
    pub profile: Option<String>,
}

/// One answer of the admin API, whatever its status.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl ApiResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as `T` on a 2xx; else the refusal (4xx, exit 1) or failure (5xx, exit 3)
    /// with the problem details' title and detail.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, CliError> {
        self.success()?;
        let content_type = self.content_type.as_deref().unwrap_or("(none)");
        if !content_type.starts_with("application/json") {
            return Err(CliError::Unavailable(format!(
                "the API answered {} with content type {content_type}, not JSON: is --endpoint \
                 the admin API's base URL?",
                self.status
            )));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            CliError::Unavailable(format!(
                "the API answered {} with a body that is not the expected JSON: {e}",
                self.status
            ))
        })
    }

    /// `Ok` on a 2xx, else the error as [`ApiResponse::json`] describes it.
    pub fn success(&self) -> Result<(), CliError> {
        if self.is_success() {
            return Ok(());
        }
        let mut message = problem_message(&self.body);
        if matches!(self.status, 401 | 403) {
            // API Gateway's IAM authorizer answers {"message": "Forbidden"} and the like.
            message.push_str(
                " (check the AWS credentials and region, and that the caller may \
                 execute-api:Invoke the admin API)",
            );
        }
        if (400..500).contains(&self.status) {
            Err(CliError::Refused {
                status: self.status,
                message,
            })
        } else {
            Err(CliError::Unavailable(format!(
                "the API failed ({}): {message}; retry later, or see the admin function's logs",
                self.status
            )))
        }
    }
}

/// "title: detail" of a problem+json body, or the start of whatever else came back.
fn problem_message(body: &[u8]) -> String {
    let problem: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        problem
            .as_ref()
            .and_then(|p| p.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    match (field("title"), field("detail").or_else(|| field("message"))) {
        (Some(title), Some(detail)) => format!("{title}: {detail}"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.chars().take(300).collect();
            if text.trim().is_empty() {
                "(no details in the answer)".to_owned()
            } else {
                text
            }
        }
    }
}

/// The admin API of one endpoint.
#[derive(Debug)]
pub struct AdminApi {
    base: String,
    http: reqwest::Client,
    signer: Option<Signer>,
}

impl AdminApi {
    /// From the global options: the endpoint is required; `--auth` defaults to `none` only
    /// for an http:// loopback endpoint.
    pub async fn from_options(options: &ApiOptions) -> Result<AdminApi, CliError> {
        let Some(endpoint) = options.endpoint.as_deref() else {
            return Err(CliError::usage(
                "no admin API endpoint: pass --endpoint URL or set TRUSTGATE_ENDPOINT \
                 (e.g. http://127.0.0.1:9000 under `make dev`)",
            ));
        };
        let url = trustgate::domain::uri::parse(endpoint)
            .map_err(|e| CliError::usage(format!("--endpoint {endpoint:?} {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(CliError::usage(format!(
                "--endpoint {endpoint:?} must be an http:// or https:// URL"
            )));
        }
        let auth = options.auth.unwrap_or(if is_loopback_http(&url) {
            AuthMode::None
        } else {
            AuthMode::Sigv4
        });
        let signer = match auth {
            AuthMode::None => None,
            AuthMode::Sigv4 => Some(
                Signer::load(
                    options.profile.as_deref(),
                    options.region.as_deref(),
                    url.host_str().unwrap_or_default(),
                )
                .await?,
            ),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| CliError::usage(format!("cannot set up HTTPS: {e}")))?;
        Ok(AdminApi {
            base: endpoint.trim_end_matches('/').to_owned(),
            http,
            signer,
        })
    }

    /// Sends one request (`path_and_query` starts with `/`), signed when the auth mode is
    /// sigv4. Any HTTP status is an `Ok`; a transport failure is
    /// [`CliError::Unavailable`] naming the endpoint.
    pub async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<ApiResponse, CliError> {
        let url = format!("{}{}", self.base, path_and_query);
        let method_value = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| CliError::usage(format!("{method:?} is not an HTTP method")))?;
        let (content_type, bytes) = match body {
            Some((content_type, bytes)) => (Some(content_type), bytes),
            None => (None, Vec::new()),
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        if let Some(content_type) = content_type {
            headers.push(("content-type".to_owned(), content_type.to_owned()));
        }
        if let Some(signer) = &self.signer {
            let signed = signer.sign(method, &url, &headers, &bytes).await?;
            headers.extend(signed);
        }
        let mut request = self.http.request(method_value, &url);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        if content_type.is_some() {
            request = request.body(bytes);
        }
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.map_err(|e| self.transport(&e))?;
        Ok(ApiResponse {
            status,
            content_type,
            body: body.to_vec(),
        })
    }

    /// A JSON request; the answer as [`ApiResponse::json`] reads it.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, CliError> {
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        self.send(method, path_and_query, body).await?.json()
    }

    /// Every item of a paged list (`{"items", "next_cursor"}`), following the cursors.
    pub async fn list_all(&self, path: &str) -> Result<Vec<serde_json::Value>, CliError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page_path = match &cursor {
                Some(cursor) => format!("{path}?limit=100&cursor={}", segment(cursor)),
                None => format!("{path}?limit=100"),
            };
            let page: serde_json::Value = self.json("GET", &page_path, None).await?;
            if let Some(page_items) = page.get("items").and_then(|i| i.as_array()) {
                items.extend(page_items.iter().cloned());
            }
            match page.get("next_cursor").and_then(|c| c.as_str()) {
                Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
                _ => return Ok(items),
            }
        }
    }

    fn transport(&self, error: &reqwest::Error) -> CliError {
        let what = if error.is_connect() {
            "cannot connect to"
        } else if error.is_timeout() {
            "no answer in time from"
        } else {
            "the connection failed with"
        };
        CliError::Unavailable(format!(
            "{what} the admin API at {}: check --endpoint / TRUSTGATE_ENDPOINT and that it is \
             running (`make dev` serves http://127.0.0.1:9000)",
            self.base
        ))
    }
}

/// A path segment or query value, percent-encoded (RFC 3986 unreserved characters kept).
pub fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// http:// to 127.0.0.0/8, ::1 or localhost: the only place requests go unsigned by default.
fn is_loopback_http(url: &Url) -> bool {
    if url.scheme() != "http" {
        return false;
    }
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(endpoint: &str) -> ApiOptions {
        ApiOptions {
            endpoint: Some(endpoint.to_owned()),
            auth: None,
            region: None,
            profile: None,
        }
    }

    #[test]
    fn only_http_loopback_endpoints_go_unsigned_by_default() {
        let yes = [
            "http://127.0.0.1:9000/lambda-url/admin",
            "http://localhost",
            "http://[::1]:1",
        ];
        for url in yes {
            assert!(is_loopback_http(&Url::parse(url).unwrap()), "{url}");
        }
        let no = [
            "https://127.0.0.1",
            "http://10.0.0.1",
            "https://x.execute-api.eu-west-1.amazonaws.com",
        ];
        for url in no {
            assert!(!is_loopback_http(&Url::parse(url).unwrap()), "{url}");
        }
    }

    #[tokio::test]
    async fn a_missing_endpoint_names_the_flag_and_the_variable() {
        let mut opts = options("http://127.0.0.1:1");
        opts.endpoint = None;
        let error = AdminApi::from_options(&opts).await.unwrap_err();
        assert_eq!(error.code(), 2);
        assert!(error.to_string().contains("TRUSTGATE_ENDPOINT"), "{error}");
    }

    #[tokio::test]
    async fn connection_refused_names_the_endpoint_and_exits_3() {
        let api = AdminApi::from_options(&options("http://127.0.0.1:1/admin"))
            .await
            .unwrap();
        let error = api
            .send("GET", "/api/organizations", None)
            .await
            .unwrap_err();
        assert_eq!(error.code(), 3);
        assert!(
            error.to_string().contains("http://127.0.0.1:1/admin"),
            "{error}"
        );
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(segment("acme-1"), "acme-1");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn a_refusal_carries_the_problem_title_and_detail() {
        let response = ApiResponse {
            status: 409,
            content_type: Some("application/problem+json".into()),
            body: br#"{"type":"about:blank","title":"Conflict","status":409,"detail":"organization acme exists"}"#.to_vec(),
        };
        let error = response.success().unwrap_err();
        assert_eq!(error.code(), 1);
        assert_eq!(
            error.to_string(),
            "the API refused the request (409): Conflict: organization acme exists"
        );
        let forbidden = ApiResponse {
            status: 403,
            content_type: Some("application/json".into()),
            body: br#"{"message":"Forbidden"}"#.to_vec(),
        };
        let error = forbidden.success().unwrap_err().to_string();
        assert!(
            error.contains("Forbidden") && error.contains("execute-api:Invoke"),
            "{error}"
        );
        let failed = ApiResponse {
            status: 502,
            content_type: None,
            body: Vec::new(),
        };
        assert_eq!(failed.success().unwrap_err().code(), 3);
    }
}
