//! `/t/{org}/api/trusted-token-issuers`: create, list, get, merge-patch, delete.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};

use super::error::ApiError;
use super::request::{json_body, org_param, page_request, server_id_param};
use super::{Call, List, created, no_content, ok, patched_fields};
use crate::domain::input::Settings;
use crate::domain::issuer::{IssuerSettings, TrustedIssuer};
use crate::domain::random_hex;

const WHAT: &str = "trusted token issuer";

pub(super) async fn create(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let org = org_param(call.params.get("org"))?;
    let body = json_body(call.request, false)?;
    let issuer = TrustedIssuer {
        id: random_hex(16),
        settings: IssuerSettings::from_json(&body, call.app.config.issuer_rules())?,
        created_at: call.now.clone(),
        updated_at: call.now.clone(),
    };
    call.store()
        .create_issuer(org.as_str(), &issuer)
        .await
        .map_err(|e| ApiError::from_admin(e, WHAT))?;
    call.audit(
        "trusted_issuer.create",
        org.as_str(),
        &issuer.id,
        &issuer.issuer,
    );
    let location = format!("/t/{org}/api/trusted-token-issuers/{}", issuer.id);
    Ok(created(&location, &issuer))
}

pub(super) async fn list(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let org = org_param(call.params.get("org"))?;
    let page = page_request(call.request)?;
    let found = call
        .store()
        .list_issuers(org.as_str(), page.limit, page.cursor.as_deref())
        .await
        .map_err(|e| ApiError::from_admin(e, WHAT))?;
    Ok(ok(
        StatusCode::OK,
        &List {
            items: found.items,
            next_cursor: found.next_cursor,
        },
    ))
}

pub(super) async fn get(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let org = org_param(call.params.get("org"))?;
    let id = server_id_param(call.params.get("id"), WHAT)?;
    match call.store().issuer(org.as_str(), id).await? {
        Some(issuer) => Ok(ok(StatusCode::OK, &issuer)),
        None => Err(ApiError::not_found(WHAT)),
    }
}

/// JSON Merge Patch (RFC 7396) of the editable fields; every rule is checked again.
pub(super) async fn patch(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let org = org_param(call.params.get("org"))?;
    let id = server_id_param(call.params.get("id"), WHAT)?;
    let patch = json_body(call.request, true)?;
    let rules = call.app.config.issuer_rules();
    let (_, updated) = call
        .store()
        .update_issuer(org.as_str(), id, |current| {
            Ok(TrustedIssuer {
                settings: current.patched(&patch, rules)?,
                updated_at: call.now.clone(),
                ..current.clone()
            })
        })
        .await
        .map_err(|e| ApiError::from_admin(e, WHAT))?;
    call.audit(
        "trusted_issuer.update",
        org.as_str(),
        id,
        &patched_fields(&patch),
    );
    Ok(ok(StatusCode::OK, &updated))
}

pub(super) async fn delete(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let org = org_param(call.params.get("org"))?;
    let id = server_id_param(call.params.get("id"), WHAT)?;
    let deleted = call
        .store()
        .delete_issuer(org.as_str(), id)
        .await
        .map_err(|e| ApiError::from_admin(e, WHAT))?;
    call.audit("trusted_issuer.delete", org.as_str(), id, &deleted.issuer);
    Ok(no_content())
}
