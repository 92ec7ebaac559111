//! `/api/organizations`: create, list, get, delete.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

use super::error::ApiError;
use super::request::{json_body, org_param, page_request};
use super::{Call, List, created, no_content, ok};
use crate::config::Config;
use crate::domain::organization::Organization;

/// An organization as the API shows it.
#[derive(Debug, Serialize)]
struct OrganizationView {
    name: String,
    /// `{TRUSTGATE_PUBLIC_URL}/t/{org}/oauth2/token`.
    issuer: String,
    created_at: String,
}

fn view(config: &Config, org: Organization) -> OrganizationView {
    OrganizationView {
        issuer: config.organization_issuer(&org.name),
        name: org.name,
        created_at: org.created_at,
    }
}

pub(super) async fn create(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let body = json_body(call.request, false)?;
    let name = Organization::name_from_json(&body)?;
    let org = Organization {
        name: name.as_str().to_owned(),
        created_at: call.now.clone(),
    };
    call.store()
        .create_organization(&org)
        .await
        .map_err(|e| ApiError::from_admin(e, "organization"))?;
    call.audit("organization.create", &org.name, &org.name, "");
    let location = format!("/api/organizations/{}", org.name);
    Ok(created(&location, &view(&call.app.config, org)))
}

pub(super) async fn list(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let page = page_request(call.request)?;
    let found = call
        .store()
        .list_organizations(page.limit, page.cursor.as_deref())
        .await
        .map_err(|e| ApiError::from_admin(e, "organization"))?;
    Ok(ok(
        StatusCode::OK,
        &List {
            items: found
                .items
                .into_iter()
                .map(|o| view(&call.app.config, o))
                .collect(),
            next_cursor: found.next_cursor,
        },
    ))
}

pub(super) async fn get(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let name = org_param(call.params.get("org"))?;
    match call.store().organization(name.as_str()).await? {
        Some(org) => Ok(ok(StatusCode::OK, &view(&call.app.config, org))),
        None => Err(ApiError::not_found("organization")),
    }
}

/// Deletes the organization with all its issuers and applications.
pub(super) async fn delete(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let name = org_param(call.params.get("org"))?;
    let removed = call
        .store()
        .delete_organization(name.as_str())
        .await
        .map_err(|e| ApiError::from_admin(e, "organization"))?;
    call.audit(
        "organization.delete",
        name.as_str(),
        name.as_str(),
        &format!("removed {removed} issuer, guard and application items"),
    );
    Ok(no_content())
}
