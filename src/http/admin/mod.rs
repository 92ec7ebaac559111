//! The `admin` function: organizations, trusted token issuers, applications, explain and
//! revocations (openapi/admin.yaml).
//!
//! A request is, in order: authenticated (with `TRUSTGATE_ADMIN_AUTH=iam`, only an
//! IAM-authenticated caller from the API Gateway request context is served; 401 otherwise),
//! routed against [`routes::ROUTES`] (404 unknown path, 405 known path with another method),
//! read (415 not JSON, 413 too large, 400 invalid, naming the field), and handed to the
//! storage layer. Every change is logged as an audit event (target `audit`: action, org,
//! record, actor; never a secret). Every response carries `Cache-Control: no-store`.
//!
//! Path parameters that can't name an existing record (an `{org}` that breaks the naming
//! rule, an `{id}` or `{client_id}` that is not 32 hex characters) are 404, like any record
//! that does not exist.

mod applications;
pub mod error;
mod explain;
mod issuers;
mod organizations;
pub mod request;
mod revocations;
pub mod routes;

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use std::sync::Arc;
use std::time::Duration;

use crate::aws::admin_store::AdminStore;
use crate::aws::table::Table;
use crate::config::{AdminAuth, Config};
use crate::domain::{now_epoch, rfc3339};
use crate::keys::KeySource;
use crate::ports::Signer;
use crate::ports::SystemClock;
use crate::token::explain::{Unused, VerifyOnly};
use crate::token::{Ports, TokenService};
use error::ApiError;
use routes::{Match, Operation, Params};

/// Who a request acts as in audit events when `TRUSTGATE_ADMIN_AUTH=none` and the request
/// context names no IAM caller.
pub const ANONYMOUS_ACTOR: &str = "anonymous-local";

/// Everything the admin function builds once per execution environment.
#[derive(Clone)]
pub struct AdminApp {
    pub config: Config,
    pub table: Table,
    /// The token path in explain's dry-run mode: it reads the table fresh and signs nothing.
    pub explainer: Arc<TokenService>,
}

impl AdminApp {
    /// The admin function over `table`, with the token path for explain: records read fresh
    /// (no cache, so an operator sees a change at once), issuers' keys fetched like the token
    /// function does, the organization's own published keys from `own_keys` (never used to
    /// sign: [`VerifyOnly`]), and none of the ports explain does not use ([`Unused`]).
    pub fn new(config: Config, table: Table, own_keys: Arc<dyn Signer>) -> AdminApp {
        let mut explain_config = config.clone();
        explain_config.config_cache_ttl = Duration::ZERO;
        let ports = Ports {
            config_store: Arc::new(table.clone()),
            replay_log: Arc::new(table.clone()),
            refresh_store: Arc::new(Unused),
            revocations: Arc::new(table.clone()),
            lineage: Arc::new(table.clone()),
            refresh_reads: Arc::new(Unused),
            failure_log: Arc::new(Unused),
            signer: Arc::new(VerifyOnly(own_keys)),
            keys: Arc::new(KeySource::new(config.allow_insecure_jwks)),
            clock: Arc::new(SystemClock),
        };
        AdminApp {
            explainer: Arc::new(TokenService::new(explain_config, ports)),
            config,
            table,
        }
    }

    pub async fn handle(&self, request: Request) -> Response<Body> {
        let mut response = match self.serve(&request).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    async fn serve(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let actor = match (self.config.admin_auth, request::iam_caller(request)) {
            (_, Some(caller)) => caller,
            (AdminAuth::None, None) => ANONYMOUS_ACTOR.to_owned(),
            (AdminAuth::Iam, None) => return Err(ApiError::unauthorized()),
        };
        let method = request.method().as_str();
        let path = request.uri().path();
        let (route, params) = match routes::find(method, path) {
            Match::Found(route, params) => (route, params),
            Match::MethodNotAllowed(allowed) => {
                return Err(ApiError::method_not_allowed(method, &allowed));
            }
            Match::NotFound => return Ok(super::not_found(method, path)),
        };
        let call = Call {
            app: self,
            request,
            params,
            actor,
            now: rfc3339(now_epoch()),
        };
        use Operation::*;
        match route.operation {
            CreateOrganization => organizations::create(&call).await,
            ListOrganizations => organizations::list(&call).await,
            GetOrganization => organizations::get(&call).await,
            DeleteOrganization => organizations::delete(&call).await,
            CreateTrustedIssuer => issuers::create(&call).await,
            ListTrustedIssuers => issuers::list(&call).await,
            GetTrustedIssuer => issuers::get(&call).await,
            PatchTrustedIssuer => issuers::patch(&call).await,
            DeleteTrustedIssuer => issuers::delete(&call).await,
            CreateApplication => applications::create(&call).await,
            ListApplications => applications::list(&call).await,
            GetApplication => applications::get(&call).await,
            PatchApplication => applications::patch(&call).await,
            DeleteApplication => applications::delete(&call).await,
            NewApplicationSecret => applications::new_secret(&call).await,
            ExplainTokenExchange => explain::explain(&call).await,
            CreateRevocation => revocations::create(&call).await,
        }
    }
}

/// One routed request.
struct Call<'a> {
    app: &'a AdminApp,
    request: &'a Request,
    params: Params<'a>,
    /// The IAM principal (or [`ANONYMOUS_ACTOR`]).
    actor: String,
    /// RFC 3339, for `created_at` / `updated_at`.
    now: String,
}

impl Call<'_> {
    fn store(&self) -> AdminStore<'_> {
        AdminStore::new(&self.app.table)
    }

    /// One audit event per change: who did what to which record. Never pass a secret here.
    fn audit(&self, action: &str, org: &str, record: &str, detail: &str) {
        tracing::info!(
            target: "audit",
            action,
            org,
            record,
            actor = %self.actor,
            detail,
            "configuration changed"
        );
    }
}

/// A list page: `next_cursor` is `null` on the last page.
#[derive(Debug, Serialize)]
struct List<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

fn ok<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    super::json(status, body, "application/json")
}

fn created<T: Serialize>(location: &str, body: &T) -> Response<Body> {
    let mut response = ok(StatusCode::CREATED, body);
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// The member names of a patch, for the audit event (names only: values may be long).
fn patched_fields(patch: &serde_json::Value) -> String {
    patch
        .as_object()
        .map(|m| m.keys().cloned().collect::<Vec<_>>().join(","))
        .unwrap_or_default()
}
