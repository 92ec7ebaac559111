//! The SDK's HTTP client: reqwest, which the functions already carry for JWKS fetches, in place
//! of the SDK's default client (hyper with HTTP/2, its TLS setup and connection code, a second
//! copy of everything reqwest brings: ~0.4 MB of each binary, BENCHMARKS.md). DynamoDB and KMS
//! requests are small and buffered, so a request body is sent from memory and a response read
//! whole before the SDK parses it. The SDK keeps its own retries and timeouts (`sdk.rs`);
//! transport failures are reported to it as I/O or timeout errors, which it retries.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use lambda_http::http;

/// One pooled reqwest client for every SDK client of the function.
#[derive(Debug, Clone)]
pub struct ReqwestHttpClient {
    client: reqwest::Client,
}

impl ReqwestHttpClient {
    /// A client that gives up connecting after `connect_timeout` (the SDK's attempt and
    /// operation timeouts bound the rest).
    pub fn new(connect_timeout: Duration) -> ReqwestHttpClient {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            // AWS endpoints answer where they are asked; a redirect is an error to the SDK.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the TLS backend initializes");
        ReqwestHttpClient { client }
    }
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for ReqwestHttpClient {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let request = into_reqwest(request)?;
            let mut response = client.execute(request).await.map_err(transport_error)?;
            let status = response.status();
            let headers = std::mem::take(response.headers_mut());
            let body = response.bytes().await.map_err(transport_error)?;
            let mut http = http::Response::new(SdkBody::from(body));
            *http.status_mut() = status;
            *http.headers_mut() = headers;
            HttpResponse::try_from(http).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// The SDK's request as reqwest's: method, URI, headers, and the body it holds in memory.
fn into_reqwest(request: HttpRequest) -> Result<reqwest::Request, ConnectorError> {
    let request = request
        .try_into_http1x()
        .map_err(|e| ConnectorError::user(e.into()))?;
    let (parts, body) = request.into_parts();
    let Some(bytes) = body.bytes() else {
        let streaming = "a streaming request body (DynamoDB and KMS requests are buffered)";
        return Err(ConnectorError::user(streaming.into()));
    };
    let request = http::Request::from_parts(parts, bytes.to_vec());
    reqwest::Request::try_from(request).map_err(|e| ConnectorError::user(e.into()))
}

/// A transport failure as the SDK's retry rules classify it.
fn transport_error(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else {
        ConnectorError::io(error.into())
    }
}
