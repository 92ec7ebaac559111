//! The console's pages, in the order an identity console walks them: Organizations (pick or
//! create), Connections (trusted token issuers; new one by JWKS endpoint or certificate),
//! Applications (type and allowed grant types; the secret shown once), Try it out (explain's
//! checks and claims). Each page is one admin API call or a few through [`AdminApi::send`]; a
//! refusal's problem details (RFC 9457 `detail`, `field`) become the form's error summary.

use minijinja::{Value, context};
use serde_json::{Value as Json, json};

/// JSON (the API's answers, the forms' echoes) as a template value.
fn v<T: serde::Serialize>(value: &T) -> Value {
    Value::from(minijinja::value::Serde(value))
}
use trustgate::domain::organization::OrgName;

use super::multipart::Form;
use super::render::Pages;
use super::server::Reply;
use crate::api::{AdminApi, ApiResponse};

pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

const TYPES: &[(&str, &str, &str)] = &[
    (
        "oidc",
        "Regular web application (OIDC)",
        "Confidential: a server that keeps a client secret.",
    ),
    (
        "web",
        "Traditional web application",
        "Confidential: a server that keeps a client secret.",
    ),
    (
        "mobile",
        "Native or mobile application",
        "Public: no secret.",
    ),
    (
        "spa",
        "Single-page application",
        "Public: no secret. Not supported for token exchange.",
    ),
];

const GRANTS: &[(&str, &str)] = &[
    (TOKEN_EXCHANGE, "Token Exchange"),
    ("refresh_token", "Refresh Token"),
];

const TOKEN_TYPES: &[&str] = &[
    "urn:ietf:params:oauth:token-type:jwt",
    "urn:ietf:params:oauth:token-type:id_token",
    "urn:ietf:params:oauth:token-type:access_token",
];

/// One message of a page's error summary; `field` is the id of the input it is about.
fn error(field: Option<&str>, message: impl Into<String>) -> Value {
    context! { field => field, message => message.into() }
}

/// What a failed call says: the problem's `detail` (else its title, else the status), and the
/// field it names.
fn problem(response: &ApiResponse) -> (Option<String>, String) {
    let problem: Json = serde_json::from_slice(&response.body).unwrap_or(Json::Null);
    let text = |k: &str| problem.get(k).and_then(Json::as_str).map(str::to_owned);
    let message = text("detail")
        .or_else(|| text("title"))
        .unwrap_or_else(|| format!("the admin API answered {}", response.status));
    (text("field"), message)
}

/// A refusal as an error of the form, tied to the field the API names when the form has it.
fn refusal(response: &ApiResponse, fields: &[&str]) -> Value {
    let (field, message) = problem(response);
    let field = field.filter(|f| fields.contains(&f.as_str()));
    error(field.as_deref(), message)
}

pub struct Console {
    pub api: AdminApi,
    /// The admin API's base URL, shown in the header.
    pub endpoint: String,
    pub pages: Pages,
}

impl Console {
    fn page(
        &self,
        template: &str,
        status: u16,
        org: Option<&OrgName>,
        page: &str,
        extra: Value,
    ) -> Reply {
        let base = context! {
            endpoint => &self.endpoint,
            org => org.map(OrgName::as_str),
            page => page,
            errors => Vec::<Value>::new(),
        };
        let html = self.pages.render(template, context! { ..extra, ..base });
        Reply::html(status, html)
    }

    /// Any failure to reach the API, as a page.
    fn unavailable(&self, org: Option<&OrgName>, message: String) -> Reply {
        let extra = context! { title => "The admin API cannot be reached", message => message };
        self.page("refused.html", 502, org, "", extra)
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Json>,
    ) -> Result<ApiResponse, String> {
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        self.api
            .send(method, path, body)
            .await
            .map_err(|e| e.to_string())
    }

    /// Every item of a list (`items`, `next_cursor`), up to 1,000.
    async fn list(&self, path: &str) -> Result<Vec<Json>, String> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let query = match &cursor {
                Some(c) => format!("{path}?limit=100&cursor={c}"),
                None => format!("{path}?limit=100"),
            };
            let response = self.call("GET", &query, None).await?;
            let page: Json = serde_json::from_slice(&response.body).unwrap_or(Json::Null);
            if !response.is_success() {
                return Err(problem(&response).1);
            }
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            cursor = page["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        Ok(items)
    }

    pub async fn organizations(&self, errors: Vec<Value>, form: Json, status: u16) -> Reply {
        match self.list("/api/organizations").await {
            Ok(organizations) => {
                let extra = context! { organizations => v(&organizations), errors => errors, form => v(&form) };
                self.page("organizations.html", status, None, "organizations", extra)
            }
            Err(message) => self.unavailable(None, message),
        }
    }

    pub async fn create_organization(&self, form: &Form) -> Reply {
        let name = form.text("name");
        if name.is_empty() {
            let errors = vec![error(Some("name"), "Enter the organization's name")];
            return self
                .organizations(errors, json!({ "name": name }), 400)
                .await;
        }
        match self
            .call("POST", "/api/organizations", Some(json!({ "name": name })))
            .await
        {
            Ok(r) if r.is_success() => Reply::redirect(format!("/o/{name}/connections")),
            Ok(r) => {
                let errors = vec![refusal(&r, &["name"])];
                self.organizations(errors, json!({ "name": name }), r.status)
                    .await
            }
            Err(message) => self.unavailable(None, message),
        }
    }

    pub async fn connections(&self, org: &OrgName, created: Option<String>) -> Reply {
        match self
            .list(&format!("/t/{org}/api/trusted-token-issuers"))
            .await
        {
            Ok(issuers) => {
                let notice = created.as_ref().map(|_| "Trusted token issuer created.");
                let extra =
                    context! { issuers => v(&issuers), created => created, notice => notice };
                self.page("connections.html", 200, Some(org), "connections", extra)
            }
            Err(message) => self.unavailable(Some(org), message),
        }
    }

    pub fn new_connection(
        &self,
        org: &OrgName,
        errors: Vec<Value>,
        form: Json,
        status: u16,
    ) -> Reply {
        let extra = context! { errors => errors, form => v(&form) };
        self.page(
            "connection_new.html",
            status,
            Some(org),
            "connections",
            extra,
        )
    }

    pub async fn create_connection(&self, org: &OrgName, form: &Form) -> Reply {
        let echo = json!({
            "name": form.text("name"), "issuer": form.text("issuer"), "alias": form.text("alias"),
            "jwks_uri": form.text("jwks_uri"), "certificate_text": form.text("certificate_text"),
        });
        let body = match super::forms::issuer_request(form) {
            Ok(body) => body,
            Err((field, message)) => {
                return self.new_connection(org, vec![error(Some(field), message)], echo, 400);
            }
        };
        let path = format!("/t/{org}/api/trusted-token-issuers");
        match self.call("POST", &path, Some(body)).await {
            Ok(r) if r.is_success() => {
                let created: Json = serde_json::from_slice(&r.body).unwrap_or(Json::Null);
                let id = created["id"].as_str().unwrap_or_default();
                Reply::redirect(format!("/o/{org}/connections?created={id}"))
            }
            Ok(r) => {
                let fields = ["name", "issuer", "alias", "jwks_uri", "certificate"];
                self.new_connection(org, vec![refusal(&r, &fields)], echo, r.status)
            }
            Err(message) => self.unavailable(Some(org), message),
        }
    }

    fn labels(&self) -> Value {
        let types: Vec<Value> = TYPES
            .iter()
            .map(
                |(value, label, hint)| context! { value => *value, label => *label, hint => *hint },
            )
            .collect();
        let grants: Vec<Value> = GRANTS
            .iter()
            .map(|(value, label)| context! { value => *value, label => *label })
            .collect();
        let type_labels: std::collections::BTreeMap<_, _> =
            TYPES.iter().map(|(v, l, _)| (*v, *l)).collect();
        let grant_labels: std::collections::BTreeMap<_, _> = GRANTS.iter().copied().collect();
        context! { types => types, grants => grants, type_labels => type_labels, grant_labels => grant_labels }
    }

    pub async fn applications(&self, org: &OrgName) -> Reply {
        match self.list(&format!("/t/{org}/api/applications")).await {
            Ok(applications) => {
                let extra = context! { applications => v(&applications), ..self.labels() };
                self.page("applications.html", 200, Some(org), "applications", extra)
            }
            Err(message) => self.unavailable(Some(org), message),
        }
    }

    pub fn new_application(
        &self,
        org: &OrgName,
        errors: Vec<Value>,
        form: Json,
        status: u16,
    ) -> Reply {
        let extra = context! { errors => errors, form => v(&form), ..self.labels() };
        self.page(
            "application_new.html",
            status,
            Some(org),
            "applications",
            extra,
        )
    }

    pub async fn create_application(&self, org: &OrgName, form: &Form) -> Reply {
        let (name, app_type, grants) = (
            form.text("name"),
            form.text("type"),
            form.all("grant_types"),
        );
        let echo = json!({ "name": name, "type": app_type, "grant_types": grants });
        let mut errors = Vec::new();
        if name.is_empty() {
            errors.push(error(Some("name"), "Enter the application's name"));
        }
        if app_type.is_empty() {
            errors.push(error(Some("type"), "Choose the application's type"));
        }
        if !errors.is_empty() {
            return self.new_application(org, errors, echo, 400);
        }
        let body = json!({ "name": name, "type": app_type, "grant_types": grants });
        match self
            .call("POST", &format!("/t/{org}/api/applications"), Some(body))
            .await
        {
            Ok(r) if r.is_success() => {
                let app: Json = serde_json::from_slice(&r.body).unwrap_or(Json::Null);
                let extra = context! { app => v(&app), ..self.labels() };
                self.page(
                    "application_created.html",
                    201,
                    Some(org),
                    "applications",
                    extra,
                )
            }
            Ok(r) => {
                let errors = vec![refusal(&r, &["name", "type", "grant_types"])];
                self.new_application(org, errors, echo, r.status)
            }
            Err(message) => self.unavailable(Some(org), message),
        }
    }

    /// "Try it out": the form, and with `form` the explain answer for it.
    pub async fn try_it(&self, org: &OrgName, form: Option<&Form>) -> Reply {
        let applications = match self.list(&format!("/t/{org}/api/applications")).await {
            Ok(applications) => applications,
            Err(message) => return self.unavailable(Some(org), message),
        };
        let mut extra =
            context! { applications => v(&applications), token_types => v(&TOKEN_TYPES) };
        let Some(form) = form else {
            return self.page("try.html", 200, Some(org), "try", extra);
        };
        let (client_id, token) = (form.text("client_id"), form.text("subject_token"));
        let mut token_type = form.text("subject_token_type");
        if token_type.is_empty() {
            token_type = TOKEN_TYPES[0].to_owned();
        }
        let echo = json!({ "client_id": client_id, "subject_token": token, "subject_token_type": token_type });
        extra = context! { form => v(&echo), ..extra };
        if token.is_empty() {
            let errors = vec![error(
                Some("subject_token"),
                "Paste the subject token (a JWT)",
            )];
            return self.page(
                "try.html",
                400,
                Some(org),
                "try",
                context! { errors => errors, ..extra },
            );
        }
        let path = format!("/t/{org}/api/token-exchange/explain");
        let request = json!({ "client_id": client_id, "subject_token": token, "subject_token_type": token_type });
        match self.call("POST", &path, Some(request)).await {
            Ok(r) if r.is_success() => {
                let result: Json = serde_json::from_slice(&r.body).unwrap_or(Json::Null);
                let claims = super::forms::claim_rows(&result["claims"]);
                self.page(
                    "try.html",
                    200,
                    Some(org),
                    "try",
                    context! { result => v(&result), claims => claims, ..extra },
                )
            }
            Ok(r) => {
                let errors = vec![refusal(&r, &["client_id", "subject_token"])];
                self.page(
                    "try.html",
                    r.status,
                    Some(org),
                    "try",
                    context! { errors => errors, ..extra },
                )
            }
            Err(message) => self.unavailable(Some(org), message),
        }
    }
}
