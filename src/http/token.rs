//! The `token` function: routing, request framing and response headers of the public OAuth
//! endpoints. The request is parsed by [`crate::oauth`]; the use cases live in [`crate::token`].

use std::time::Instant;

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::domain::organization::OrgName;
use crate::metrics;
use crate::oauth::{ErrorCode, OAuthError};

use crate::oauth::form::Form;
use crate::oauth::presented::PresentedRequest;
use crate::oauth::request::ParsedRequest;
use crate::oauth::response::TokenResponse;
use crate::telemetry::emf;
use crate::token::{Caller, TokenService};

pub struct TokenApp {
    pub service: TokenService,
}

/// The path templates [`Route::parse`] serves, `{org}` an organization's name: the routes of
/// infra/template.yaml and of `make dev`'s router (Cargo.toml), held equal by tests/routes.rs.
pub const PATHS: &[&str] = &[
    "/t/{org}/oauth2/token",
    "/t/{org}/oauth2/introspect",
    "/t/{org}/oauth2/revoke",
    "/t/{org}/oauth2/jwks",
    "/t/{org}/oauth2/token/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server/t/{org}/oauth2/token",
];

/// The public endpoints (README, "Token exchange"; the routes of infra/template.yaml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Token(OrgName),
    Introspect(OrgName),
    Revoke(OrgName),
    Jwks(OrgName),
    Discovery(OrgName),
}

impl Route {
    pub fn parse(path: &str) -> Option<Route> {
        let org_then = |rest: &str, suffix: &str| {
            rest.strip_suffix(suffix)
                .and_then(|org| OrgName::parse(org).ok())
        };
        if let Some(rest) = path.strip_prefix("/.well-known/oauth-authorization-server/t/") {
            return org_then(rest, "/oauth2/token").map(Route::Discovery);
        }
        let rest = path.strip_prefix("/t/")?;
        if let Some(org) = org_then(rest, "/oauth2/token") {
            return Some(Route::Token(org));
        }
        if let Some(org) = org_then(rest, "/oauth2/introspect") {
            return Some(Route::Introspect(org));
        }
        if let Some(org) = org_then(rest, "/oauth2/revoke") {
            return Some(Route::Revoke(org));
        }
        if let Some(org) = org_then(rest, "/oauth2/jwks") {
            return Some(Route::Jwks(org));
        }
        org_then(rest, "/oauth2/token/.well-known/openid-configuration").map(Route::Discovery)
    }
}

impl Route {
    /// The route's name: the `route` dimension of the "handled" line's metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Route::Token(_) => "token",
            Route::Introspect(_) => "introspect",
            Route::Revoke(_) => "revoke",
            Route::Jwks(_) => "jwks",
            Route::Discovery(_) => "discovery",
        }
    }
}

impl TokenApp {
    /// Serves one request. What it counted and how long it took are logged on its "handled"
    /// line, which carries them as CloudWatch metrics ([`crate::telemetry::emf`]); the AWS
    /// calls are also attached to the response as a [`metrics::AwsCalls`] extension (which API
    /// Gateway never sees).
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let route = Route::parse(request.uri().path());
        let (mut response, counts) = metrics::counted(self.route(&request, route.as_ref())).await;
        let status = response.status();
        let outcome = if status.is_server_error() {
            "server_error"
        } else if status.is_client_error() {
            "client_error"
        } else {
            "success"
        };
        let error = response.extensions().get::<ErrorCode>();
        // Method, path and status only: bodies and headers carry tokens and secrets.
        tracing::info!(
            target: emf::TARGET,
            method = request.method().as_str(),
            path = request.uri().path(),
            status = status.as_u16(),
            route = route.as_ref().map_or("unknown", Route::name),
            outcome,
            error = error.map_or("none", |code| code.as_str()),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            dynamodb_reads = counts.calls.dynamodb_reads,
            dynamodb_writes = counts.calls.dynamodb_writes,
            kms_calls = counts.calls.kms_calls,
            jwks_fetch_failures = counts.jwks_fetch_failures,
            lockouts = u8::from(status == StatusCode::TOO_MANY_REQUESTS),
            "handled"
        );
        response.extensions_mut().insert(counts.calls);
        response
    }

    async fn route(&self, request: &Request, route: Option<&Route>) -> Response<Body> {
        let Some(route) = route else {
            return super::not_found(request.method().as_str(), request.uri().path());
        };
        let result = match (route, request.method()) {
            (Route::Token(org), &Method::POST) => self.token(org, request).await,
            (Route::Introspect(org), &Method::POST) => self.introspect(org, request).await,
            (Route::Revoke(org), &Method::POST) => self.revoke(org, request).await,
            (Route::Token(_) | Route::Introspect(_) | Route::Revoke(_), _) => {
                Err(OAuthError::method_not_allowed("POST"))
            }
            (Route::Jwks(org), &Method::GET) => self.jwks(org).await,
            (Route::Discovery(org), &Method::GET) => self.discovery(org).await,
            (Route::Jwks(_) | Route::Discovery(_), _) => Err(OAuthError::method_not_allowed("GET")),
        };
        result.unwrap_or_else(OAuthError::into_response)
    }

    /// RFC 6749 §3.2 token request.
    async fn token(&self, org: &OrgName, request: &Request) -> Result<Response<Body>, OAuthError> {
        if !is_form(request.headers().get(header::CONTENT_TYPE)) {
            return Err(OAuthError::invalid_request(
                "Content-Type must be application/x-www-form-urlencoded",
            ));
        }
        let form = Form::parse(body_bytes(request.body()))?;
        let authorization = request.headers().get_all(header::AUTHORIZATION);
        let parsed = ParsedRequest::parse(&form, authorization.iter().map(HeaderValue::as_bytes))?;
        let caller = Caller {
            credentials: parsed.credentials,
            source: source_ip(request),
        };
        let issued = self.service.token(org, &caller, &parsed.request).await?;
        let body = TokenResponse::from(issued).to_json();
        let mut response = super::json_text(StatusCode::OK, body, "application/json");
        super::no_store(response.headers_mut());
        Ok(response)
    }

    /// RFC 7662 §2.1 introspection request.
    async fn introspect(
        &self,
        org: &OrgName,
        request: &Request,
    ) -> Result<Response<Body>, OAuthError> {
        let (caller, presented) = presented(request)?;
        let answer = self
            .service
            .introspect(org, &caller, &presented.token)
            .await?;
        let mut response = super::json(StatusCode::OK, &answer, "application/json");
        super::no_store(response.headers_mut());
        Ok(response)
    }

    /// RFC 7009 §2.1 revocation request: 200 with an empty body (§2.2).
    async fn revoke(&self, org: &OrgName, request: &Request) -> Result<Response<Body>, OAuthError> {
        let (caller, presented) = presented(request)?;
        self.service.revoke(org, &caller, &presented.token).await?;
        let mut response = Response::new(Body::Empty);
        super::no_store(response.headers_mut());
        Ok(response)
    }

    async fn jwks(&self, org: &OrgName) -> Result<Response<Body>, OAuthError> {
        if !self.service.organization_exists(org).await? {
            return Ok(unknown_organization(org));
        }
        let jwks = self.service.jwks().await?;
        Ok(cacheable(super::json(
            StatusCode::OK,
            &jwks,
            "application/json",
        )))
    }

    async fn discovery(&self, org: &OrgName) -> Result<Response<Body>, OAuthError> {
        if !self.service.organization_exists(org).await? {
            return Ok(unknown_organization(org));
        }
        Ok(cacheable(super::json(
            StatusCode::OK,
            &self.service.metadata(org),
            "application/json",
        )))
    }
}

/// The caller and the presented token of an introspection or revocation request.
fn presented(request: &Request) -> Result<(Caller, PresentedRequest), OAuthError> {
    if !is_form(request.headers().get(header::CONTENT_TYPE)) {
        return Err(OAuthError::invalid_request(
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let form = Form::parse(body_bytes(request.body()))?;
    let authorization = request.headers().get_all(header::AUTHORIZATION);
    let presented =
        PresentedRequest::parse(&form, authorization.iter().map(HeaderValue::as_bytes))?;
    let caller = Caller {
        credentials: presented.credentials.clone(),
        source: source_ip(request),
    };
    Ok((caller, presented))
}

fn unknown_organization(org: &OrgName) -> Response<Body> {
    super::Problem::new(StatusCode::NOT_FOUND, format!("no organization {org}")).into_response()
}

/// Public documents: caches may keep them five minutes (the envelope signer's key set lifetime,
/// [`crate::domain::envelope_key::KEY_SET_REFRESH_SECONDS`], is held equal to it).
fn cacheable(mut response: Response<Body>) -> Response<Body> {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// The caller's address as API Gateway saw it; `unknown` outside API Gateway.
fn source_ip(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    }
    .unwrap_or_else(|| "unknown".to_owned())
}

fn is_form(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn body_bytes(body: &Body) -> &[u8] {
    match body {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_the_contracts_paths() {
        let acme = || OrgName::parse("acme").unwrap();
        assert_eq!(
            Route::parse("/t/acme/oauth2/token"),
            Some(Route::Token(acme()))
        );
        assert_eq!(
            Route::parse("/t/acme/oauth2/jwks"),
            Some(Route::Jwks(acme()))
        );
        assert_eq!(
            Route::parse("/t/acme/oauth2/introspect"),
            Some(Route::Introspect(acme()))
        );
        assert_eq!(
            Route::parse("/t/acme/oauth2/revoke"),
            Some(Route::Revoke(acme()))
        );
        assert_eq!(
            Route::parse("/t/acme/oauth2/token/.well-known/openid-configuration"),
            Some(Route::Discovery(acme()))
        );
        assert_eq!(
            Route::parse("/.well-known/oauth-authorization-server/t/acme/oauth2/token"),
            Some(Route::Discovery(acme()))
        );
        for path in [
            "/t/ACME/oauth2/token",
            "/t/a/b/oauth2/token",
            "/t//oauth2/token",
            "/t/acme/oauth2/token/",
            "/",
        ] {
            assert_eq!(Route::parse(path), None, "{path}");
        }
    }

    #[test]
    fn accepts_form_content_types_only() {
        let value = |s: &'static str| HeaderValue::from_static(s);
        assert!(is_form(Some(&value("application/x-www-form-urlencoded"))));
        assert!(is_form(Some(&value(
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8"
        ))));
        assert!(!is_form(Some(&value("application/json"))));
        assert!(!is_form(None));
    }

    /// A new envelope key is published two of these lifetimes before it signs: one for the
    /// warm functions' key set, one for the clients' JWKS caches.
    #[test]
    fn the_jwks_lifetime_is_the_envelope_key_set_lifetime() {
        let response = cacheable(Response::new(Body::Empty));
        let max_age = format!(
            "max-age={}",
            crate::domain::envelope_key::KEY_SET_REFRESH_SECONDS
        );
        let header = response.headers()[header::CACHE_CONTROL].to_str().unwrap();
        assert!(header.ends_with(&max_age), "{header}");
    }
}
