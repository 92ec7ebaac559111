//! The organization's public OAuth endpoints, as a client finds them: discovery metadata at
//! `{issuer}/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4, which
//! Trustgate serves per organization), the JWKS it names, and the token endpoint (RFC 6749
//! §3.2, client_secret_basic per §2.3.1).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::JwkSet;
use serde_json::Value;

use crate::error::CliError;

/// The metadata members the CLI uses.
#[derive(Debug, Clone)]
pub struct Metadata {
    pub issuer: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

fn client() -> Result<reqwest::Client, CliError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| CliError::usage(format!("cannot set up HTTPS: {e}")))
}

fn unreachable(url: &str, error: &reqwest::Error) -> CliError {
    let what = if error.is_connect() {
        "cannot connect to"
    } else {
        "no usable answer from"
    };
    CliError::Unavailable(format!(
        "{what} {url}: check the URL and that the service is up"
    ))
}

async fn get_json(url: &str) -> Result<Value, CliError> {
    let response = client()?
        .get(url)
        .send()
        .await
        .map_err(|e| unreachable(url, &e))?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(|e| unreachable(url, &e))?;
    if !(200..300).contains(&status) {
        let error = format!("GET {url} answered {status}");
        return Err(if status >= 500 {
            CliError::Unavailable(error)
        } else {
            CliError::Refused {
                status,
                message: error,
            }
        });
    }
    serde_json::from_slice(&body)
        .map_err(|_| CliError::Unavailable(format!("GET {url} did not answer JSON")))
}

/// Discovery from an issuer value; the metadata's `issuer` must equal it (OIDC Discovery §4.3).
pub async fn discover(issuer: &str) -> Result<Metadata, CliError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let document = get_json(&url).await?;
    let member = |name: &str| {
        document
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                CliError::Unavailable(format!("the discovery document at {url} has no {name}"))
            })
    };
    let metadata = Metadata {
        issuer: member("issuer")?,
        token_endpoint: member("token_endpoint")?,
        jwks_uri: member("jwks_uri")?,
    };
    if metadata.issuer != issuer {
        return Err(CliError::Denied(format!(
            "the discovery document at {url} names issuer {:?}, not {issuer:?}",
            metadata.issuer
        )));
    }
    Ok(metadata)
}

pub async fn jwks(url: &str) -> Result<JwkSet, CliError> {
    let document = get_json(url).await?;
    serde_json::from_value(document)
        .map_err(|e| CliError::Unavailable(format!("{url} is not a usable JWKS: {e}")))
}

/// A token request's answer: the status and the JSON body (a token response or an OAuth
/// error).
#[derive(Debug)]
pub struct TokenAnswer {
    pub status: u16,
    pub body: Value,
}

/// POSTs `form` to the token endpoint, authenticated with client_secret_basic when there is
/// a secret, else with `client_id` in the form (a public client).
pub async fn token_request(
    endpoint: &str,
    client_id: &str,
    client_secret: Option<&str>,
    mut form: Vec<(&str, String)>,
) -> Result<TokenAnswer, CliError> {
    let mut request = client()?.post(endpoint);
    match client_secret {
        Some(secret) => {
            let credentials = format!("{}:{}", form_encode(client_id), form_encode(secret));
            request = request.header(
                "Authorization",
                format!("Basic {}", STANDARD.encode(credentials)),
            );
        }
        None => form.push(("client_id", client_id.to_owned())),
    }
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let response = request
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| unreachable(endpoint, &e))?;
    let status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| unreachable(endpoint, &e))?;
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        serde_json::json!({"error": "non-JSON answer", "error_description": String::from_utf8_lossy(&bytes)})
    });
    Ok(TokenAnswer { status, body })
}

/// application/x-www-form-urlencoded (also what RFC 6749 §2.3.1 wants inside Basic).
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_what_basic_and_forms_need() {
        assert_eq!(form_encode("a b:c/d~"), "a+b%3Ac%2Fd%7E");
        assert_eq!(form_encode("Abc-1._*"), "Abc-1._*");
    }
}
