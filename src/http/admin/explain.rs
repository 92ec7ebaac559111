//! `POST /t/{org}/api/token-exchange/explain`: what the token endpoint would answer to an
//! exchange of these tokens by this application, check by check (see [`crate::token::explain`]).
//! The body's parameters go through the token endpoint's own form parser, so a parameter the
//! endpoint refuses is refused here the same way.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ApiError;
use super::request::{json_body, org_param};
use super::{Call, ok};
use crate::domain::application::GrantType;
use crate::domain::ids::ClientId;
use crate::oauth::form::Form;
use crate::oauth::request::ExchangeRequest;
use crate::oauth::{ErrorCode, OAuthError};
use crate::token::explain::{CheckReport, Explanation};

/// The request: an exchange's parameters, and the application that would send them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainBody {
    client_id: String,
    subject_token: String,
    subject_token_type: String,
    actor_token: Option<String>,
    actor_token_type: Option<String>,
    #[serde(default)]
    audience: Vec<String>,
    #[serde(default)]
    resource: Vec<String>,
    scope: Option<String>,
}

impl ExplainBody {
    /// The token request body the application would send.
    fn form_body(&self) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", GrantType::TOKEN_EXCHANGE);
        form.append_pair("subject_token", &self.subject_token);
        form.append_pair("subject_token_type", &self.subject_token_type);
        let optional = [
            ("actor_token", &self.actor_token),
            ("actor_token_type", &self.actor_token_type),
            ("scope", &self.scope),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                form.append_pair(name, value);
            }
        }
        for audience in &self.audience {
            form.append_pair("audience", audience);
        }
        for resource in &self.resource {
            form.append_pair("resource", resource);
        }
        form.finish()
    }
}

/// RFC 6749 §5.2's error object, as the token endpoint would send it.
#[derive(Debug, Serialize)]
struct WireError {
    error: ErrorCode,
    error_description: String,
}

#[derive(Debug, Serialize)]
struct ExplainView {
    decision: &'static str,
    checks: Vec<CheckReport>,
    error: Option<WireError>,
    claims: Option<Value>,
}

fn view(explanation: Explanation, error: Option<OAuthError>) -> ExplainView {
    let error = error.or_else(|| explanation.denial.map(OAuthError::from));
    ExplainView {
        decision: if error.is_some() { "deny" } else { "allow" },
        checks: explanation.checks,
        error: error.map(|e| WireError {
            error: e.code,
            error_description: e.description,
        }),
        claims: explanation.claims,
    }
}

pub(super) async fn explain(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let org = org_param(call.params.get("org"))?;
    let body = json_body(call.request, false)?;
    let body: ExplainBody = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(None, format!("invalid explain request: {e}")))?;
    let service = &call.app.explainer;
    if !service
        .organization_exists(&org)
        .await
        .map_err(ApiError::from_token)?
    {
        return Err(ApiError::not_found("organization"));
    }
    let form_body = body.form_body();
    let form = Form::parse(form_body.as_bytes());
    let request = form
        .as_ref()
        .map_err(Clone::clone)
        .and_then(ExchangeRequest::from_form);
    let explained = match request {
        Ok(request) => {
            let client_id = ClientId::new(body.client_id.as_str());
            view(service.explain(&org, &client_id, &request).await, None)
        }
        Err(refused) => {
            // The token endpoint refuses these parameters before anything else.
            let check = if body.actor_token.is_some() || body.actor_token_type.is_some() {
                "delegation"
            } else {
                "format"
            };
            let explanation = Explanation::refused_request(check, refused.description.clone());
            view(explanation, Some(refused))
        }
    };
    Ok(ok(StatusCode::OK, &explained))
}
