//! The `token` function: the public OAuth endpoints (token, JWKS, discovery).

use lambda_http::{Body, Request, Response};

use crate::config::Config;
use crate::store::Table;

/// Everything the token function builds once per execution environment.
#[derive(Clone)]
pub struct TokenApp {
    pub config: Config,
    pub table: Table,
    pub kms: aws_sdk_kms::Client,
}

impl TokenApp {
    pub async fn handle(&self, request: Request) -> Response<Body> {
        super::not_found(request.method().as_str(), request.uri().path())
    }
}
