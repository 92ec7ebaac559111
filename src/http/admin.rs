//! The `admin` function: organizations, trusted token issuers and applications.

use lambda_http::{Body, Request, Response};

use crate::config::Config;
use crate::store::Table;

/// Everything the admin function builds once per execution environment.
#[derive(Clone)]
pub struct AdminApp {
    pub config: Config,
    pub table: Table,
}

impl AdminApp {
    pub async fn handle(&self, request: Request) -> Response<Body> {
        super::not_found(request.method().as_str(), request.uri().path())
    }
}
