//! `/t/{org}/api/applications`: create, list, get, merge-patch, delete, new secret.
//!
//! A confidential client's secret (`oidc`, `web`) is shown once, in the response that made it,
//! and stored only as a hash; no response or log carries `secret_hash`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

use super::error::ApiError;
use super::request::{json_body, org_param, page_request, server_id_param};
use super::{Call, List, created, no_content, ok, patched_fields};
use crate::domain::application::{
    Application, ApplicationSettings, hash_secret, new_client_secret,
};
use crate::domain::input::{InputError, Settings};
use crate::domain::random_hex;
use crate::secret::Secret;

const WHAT: &str = "application";

/// An application as the API shows it: the record without `secret_hash`, plus the new
/// `client_secret` in the one response that issues it.
#[derive(Debug, Serialize)]
struct ApplicationView<'a> {
    client_id: &'a str,
    #[serde(flatten)]
    settings: &'a ApplicationSettings,
    created_at: &'a str,
    updated_at: &'a str,
    /// A [`Secret`], so a `Debug` of the view prints `[redacted]`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_secret"
    )]
    client_secret: Option<&'a Secret>,
}

/// The one place the plaintext secret is written: the response body that issues it.
fn expose_secret<S: serde::Serializer>(
    secret: &Option<&Secret>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serializer.serialize_some(secret.expose()),
        None => serializer.serialize_none(),
    }
}

fn view<'a>(app: &'a Application, secret: Option<&'a Secret>) -> ApplicationView<'a> {
    ApplicationView {
        client_id: &app.client_id,
        settings: &app.settings,
        created_at: &app.created_at,
        updated_at: &app.updated_at,
        client_secret: secret,
    }
}

pub(super) async fn create(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let org = org_param(call.params.get("org"))?;
    let body = json_body(call.request, false)?;
    let settings = ApplicationSettings::from_json(&body, ())?;
    let secret = settings.app_type.is_confidential().then(new_client_secret);
    let app = Application {
        client_id: random_hex(16),
        settings,
        secret_hash: secret.as_ref().map(hash_secret),
        created_at: call.now.clone(),
        updated_at: call.now.clone(),
    };
    call.store()
        .create_application(org.as_str(), &app)
        .await
        .map_err(|e| ApiError::from_admin(e, WHAT))?;
    call.audit(
        "application.create",
        org.as_str(),
        &app.client_id,
        app.app_type.as_str(),
    );
    let location = format!("/t/{org}/api/applications/{}", app.client_id);
    Ok(created(&location, &view(&app, secret.as_ref())))
}

pub(super) async fn list(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let org = org_param(call.params.get("org"))?;
    let page = page_request(call.request)?;
    let found = call
        .store()
        .list_applications(org.as_str(), page.limit, page.cursor.as_deref())
        .await
        .map_err(|e| ApiError::from_admin(e, WHAT))?;
    Ok(ok(
        StatusCode::OK,
        &List {
            items: found.items.iter().map(|a| view(a, None)).collect(),
            next_cursor: found.next_cursor,
        },
    ))
}

pub(super) async fn get(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let org = org_param(call.params.get("org"))?;
    let client_id = server_id_param(call.params.get("client_id"), WHAT)?;
    match call.store().application(org.as_str(), client_id).await? {
        Some(app) => Ok(ok(StatusCode::OK, &view(&app, None))),
        None => Err(ApiError::not_found(WHAT)),
    }
}

/// JSON Merge Patch (RFC 7396) of the editable fields; every rule is checked again. The
/// secret is left as it is.
pub(super) async fn patch(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let org = org_param(call.params.get("org"))?;
    let client_id = server_id_param(call.params.get("client_id"), WHAT)?;
    let patch = json_body(call.request, true)?;
    let updated = call
        .store()
        .update_application(org.as_str(), client_id, |current| {
            Ok(Application {
                settings: current.patched(&patch, ())?,
                updated_at: call.now.clone(),
                ..current.clone()
            })
        })
        .await
        .map_err(|e| ApiError::from_admin(e, WHAT))?;
    call.audit(
        "application.update",
        org.as_str(),
        client_id,
        &patched_fields(&patch),
    );
    Ok(ok(StatusCode::OK, &view(&updated, None)))
}

pub(super) async fn delete(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let org = org_param(call.params.get("org"))?;
    let client_id = server_id_param(call.params.get("client_id"), WHAT)?;
    call.store()
        .delete_application(org.as_str(), client_id)
        .await
        .map_err(|e| ApiError::from_admin(e, WHAT))?;
    call.audit("application.delete", org.as_str(), client_id, "");
    Ok(no_content())
}

/// Issues a new secret for a confidential client; the old one stops working at once.
pub(super) async fn new_secret(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let org = org_param(call.params.get("org"))?;
    let client_id = server_id_param(call.params.get("client_id"), WHAT)?;
    let secret = new_client_secret();
    let secret_hash = hash_secret(&secret);
    let updated = call
        .store()
        .update_application(org.as_str(), client_id, |current| {
            if !current.app_type.is_confidential() {
                return Err(InputError::field(
                    "type",
                    format!(
                        "a {} application is a public client and has no secret",
                        current.app_type.as_str()
                    ),
                ));
            }
            Ok(Application {
                secret_hash: Some(secret_hash.clone()),
                updated_at: call.now.clone(),
                ..current.clone()
            })
        })
        .await
        .map_err(|e| ApiError::from_admin(e, WHAT))?;
    call.audit("application.secret.rotate", org.as_str(), client_id, "");
    Ok(ok(StatusCode::OK, &view(&updated, Some(&secret))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::input::field_names;
    use serde_json::json;

    fn app(secret: &Secret) -> Application {
        Application {
            client_id: "c".into(),
            settings: ApplicationSettings::from_json(&json!({"name": "n", "type": "web"}), ())
                .unwrap(),
            secret_hash: Some(hash_secret(secret)),
            created_at: "t".into(),
            updated_at: "t".into(),
        }
    }

    #[test]
    fn the_view_shows_the_secret_in_json_only_and_never_the_hash() {
        let secret = new_client_secret();
        let app = app(&secret);
        let shown = view(&app, Some(&secret));
        assert!(!format!("{shown:?}").contains(secret.expose()));
        let json = serde_json::to_value(&shown).unwrap();
        assert_eq!(json["client_secret"], secret.expose());
        assert!(json.get("secret_hash").is_none());
        let without = serde_json::to_value(view(&app, None)).unwrap();
        assert!(without.get("client_secret").is_none());
    }

    #[test]
    fn the_view_shows_every_setting_by_its_own_name() {
        let secret = new_client_secret();
        let json = serde_json::to_value(view(&app(&secret), None)).unwrap();
        let mut shown: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        shown.retain(|k| !["client_id", "created_at", "updated_at"].contains(k));
        shown.sort_unstable();
        let mut declared = field_names::<ApplicationSettings>().to_vec();
        declared.sort_unstable();
        assert_eq!(shown, declared);
    }
}
