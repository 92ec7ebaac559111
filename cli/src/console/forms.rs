//! What the console's forms become: the trusted issuer's JSON (a JWKS endpoint, or a
//! certificate uploaded or pasted, PEM or DER, read by the CLI's `certificate` module as
//! `trustgate issuer create --certificate` reads a file), and explain's claims as rows.

use minijinja::{Value, context};
use serde_json::{Map, Value as Json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::multipart::Form;
use crate::certificate;

/// A form error: the id of the field at fault and what to do.
pub type FieldError = (&'static str, String);

/// `POST /t/{org}/api/trusted-token-issuers`' body from the "New trusted token issuer" form.
/// The API checks every rule again; this only decides which key source was given.
pub fn issuer_request(form: &Form) -> Result<Json, FieldError> {
    let mut body = Map::new();
    for (field, what) in [
        ("name", "the issuer's name"),
        ("issuer", "the issuer (its tokens' iss)"),
    ] {
        let value = form.text(field);
        if value.is_empty() {
            return Err((field, format!("Enter {what}")));
        }
        body.insert(field.into(), value.into());
    }
    let alias = form.text("alias");
    if !alias.is_empty() {
        body.insert("alias".into(), alias.into());
    }
    let jwks_uri = form.text("jwks_uri");
    let file = form.file("certificate_file");
    let pasted = form.text("certificate_text");
    let certificate = match (file, pasted.is_empty()) {
        (Some(_), false) => {
            return Err((
                "certificate",
                "Upload a certificate file or paste one, not both".into(),
            ));
        }
        (Some(file), true) => Some(certificate::api_value(&file.bytes).map_err(|e| {
            let name = file.filename.as_deref().unwrap_or("the file");
            ("certificate", format!("{name}: {e}"))
        })?),
        (None, false) => Some(
            certificate::api_value(pasted.as_bytes())
                .map_err(|e| ("certificate", format!("The pasted certificate: {e}")))?,
        ),
        (None, true) => None,
    };
    match (jwks_uri.is_empty(), certificate) {
        (false, Some(_)) => Err((
            "jwks_uri",
            "Give a JWKS endpoint or a certificate, not both".into(),
        )),
        (true, None) => Err((
            "jwks_uri",
            "Give a JWKS endpoint, or upload or paste the issuer's certificate".into(),
        )),
        (false, None) => {
            body.insert("jwks_uri".into(), jwks_uri.into());
            Ok(Json::Object(body))
        }
        (true, Some((value, _format))) => {
            body.insert("certificate".into(), value.into());
            Ok(Json::Object(body))
        }
    }
}

/// explain's `claims` as table rows: strings as they are, other values as JSON, and the
/// times (`iat`, `exp`, `nbf`, `auth_time`) with their UTC date beside.
pub fn claim_rows(claims: &Json) -> Vec<Value> {
    let Some(claims) = claims.as_object() else {
        return Vec::new();
    };
    claims
        .iter()
        .map(|(name, value)| {
            let shown = match value {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            let note = matches!(name.as_str(), "iat" | "exp" | "nbf" | "auth_time")
                .then(|| value.as_i64())
                .flatten()
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
                .and_then(|t| t.format(&Rfc3339).ok());
            context! { name => name, value => shown, note => note }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::multipart;

    const PEM: &str = include_str!("../../../tests/fixtures/rsa2048.cert.pem");

    fn der() -> Vec<u8> {
        let base64: String = PEM.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, base64).unwrap()
    }

    /// A multipart body as a browser sends the form, with the file part's bytes.
    fn submit(file: Option<(&str, &[u8])>, fields: &[(&str, &str)]) -> Form {
        let mut body = Vec::new();
        let mut part = |disposition: String, bytes: &[u8]| {
            body.extend_from_slice(b"--B0undary\r\nContent-Disposition: form-data; ");
            body.extend_from_slice(disposition.as_bytes());
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        };
        for (name, value) in fields {
            part(format!("name=\"{name}\""), value.as_bytes());
        }
        let (filename, bytes) = file.unwrap_or(("", b""));
        part(
            format!("name=\"certificate_file\"; filename=\"{filename}\""),
            bytes,
        );
        body.extend_from_slice(b"--B0undary--\r\n");
        multipart::parse(Some("multipart/form-data; boundary=B0undary"), &body).unwrap()
    }

    const NAMED: &[(&str, &str)] = &[("name", "IdP"), ("issuer", "https://idp.example")];

    #[test]
    fn an_uploaded_der_certificate_is_sent_as_base64_der() {
        let der = der();
        let body = issuer_request(&submit(Some(("idp.cer", &der)), NAMED)).unwrap();
        let sent = body["certificate"].as_str().unwrap();
        let decoded =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, sent).unwrap();
        assert_eq!(decoded, der);
        assert_eq!(body["name"], "IdP");
        assert!(body.get("jwks_uri").is_none() && body.get("alias").is_none());
    }

    #[test]
    fn an_uploaded_or_pasted_pem_certificate_is_sent_as_pem() {
        let uploaded = issuer_request(&submit(Some(("idp.pem", PEM.as_bytes())), NAMED)).unwrap();
        assert!(
            uploaded["certificate"]
                .as_str()
                .unwrap()
                .contains("BEGIN CERTIFICATE")
        );
        let mut fields = NAMED.to_vec();
        fields.push(("certificate_text", PEM));
        fields.push(("alias", "api://idp"));
        let pasted = issuer_request(&submit(None, &fields)).unwrap();
        assert!(
            pasted["certificate"]
                .as_str()
                .unwrap()
                .contains("BEGIN CERTIFICATE")
        );
        assert_eq!(pasted["alias"], "api://idp");
    }

    #[test]
    fn exactly_one_key_source_is_required() {
        let err = issuer_request(&submit(None, NAMED)).unwrap_err();
        assert_eq!(err.0, "jwks_uri");
        let mut fields = NAMED.to_vec();
        fields.push(("jwks_uri", "https://idp.example/jwks"));
        assert_eq!(
            issuer_request(&submit(None, &fields)).unwrap()["jwks_uri"],
            "https://idp.example/jwks"
        );
        let both = issuer_request(&submit(Some(("a.pem", PEM.as_bytes())), &fields)).unwrap_err();
        assert_eq!(both.0, "jwks_uri");
        let mut pasted_too = NAMED.to_vec();
        pasted_too.push(("certificate_text", PEM));
        let twice = issuer_request(&submit(Some(("a.pem", PEM.as_bytes())), &pasted_too));
        assert_eq!(twice.unwrap_err().0, "certificate");
    }

    #[test]
    fn a_file_that_is_no_certificate_is_refused_naming_the_file() {
        let (field, message) =
            issuer_request(&submit(Some(("notes.txt", b"hello")), NAMED)).unwrap_err();
        assert_eq!(field, "certificate");
        assert!(message.starts_with("notes.txt: "), "{message}");
        let (field, _) = issuer_request(&submit(None, &[("name", "IdP")])).unwrap_err();
        assert_eq!(field, "issuer");
    }

    #[test]
    fn claims_become_rows_with_dates_for_times() {
        let rows = claim_rows(&serde_json::json!({
            "sub": "alice", "exp": 1_800_000_000, "aud": ["a", "b"]
        }));
        let rendered: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
        assert_eq!(rows.len(), 3);
        assert!(
            rendered.iter().any(|r| r.contains("2027-01-15T08:00:00Z")),
            "{rendered:?}"
        );
        assert!(
            rendered
                .iter()
                .any(|r| r.contains(r#"[\"a\",\"b\"]"#) || r.contains(r#"["a","b"]"#)),
            "{rendered:?}"
        );
    }
}
