//! `/t/{org}/api/revocations`: revoke every token and refresh family of a subject or a client
//! issued before now (contract, "Introspection and revocation"). The instant is the request's,
//! kept to the millisecond, and answered as `revoked_before`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

use super::error::ApiError;
use super::request::{json_body, org_param};
use super::{Call, ok};
use crate::domain::revocation::RevocationTarget;
use crate::domain::{now_epoch_ms, rfc3339_ms};

#[derive(Debug, Serialize)]
struct RevocationView {
    /// RFC 3339 with milliseconds: what was issued before this instant is revoked.
    revoked_before: String,
}

pub(super) async fn create(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let org = org_param(call.params.get("org"))?;
    let body = json_body(call.request, false)?;
    let target = RevocationTarget::from_json(&body)?;
    let revoked_before = now_epoch_ms();
    call.store()
        .revoke(org.as_str(), &target, revoked_before)
        .await
        .map_err(|e| ApiError::from_admin(e, "organization"))?;
    let (record, detail) = match &target {
        RevocationTarget::Subject { idp, .. } => (
            "subject",
            idp.as_deref()
                .map_or("from any issuer", |_| "from one issuer"),
        ),
        RevocationTarget::Client { client_id } => (client_id.as_str(), "client"),
    };
    call.audit("revocation.create", org.as_str(), record, detail);
    Ok(ok(
        StatusCode::CREATED,
        &RevocationView {
            revoked_before: rfc3339_ms(revoked_before),
        },
    ))
}
