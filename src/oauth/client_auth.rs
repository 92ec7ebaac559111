//! Client authentication at the token endpoint (RFC 6749 §2.3.1): `client_secret_basic`, with
//! the id and secret form-encoded inside the Basic credentials, `client_secret_post`, or a
//! public client sending only its `client_id` (§2.1, §3.2.1). One method per request.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::OAuthError;
use super::form::{self, Form};
use crate::secret::Secret;

const MAX_CLIENT_ID: usize = 256;
const MAX_SECRET: usize = 512;

/// What the client presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    Basic { client_id: String, secret: Secret },
    Post { client_id: String, secret: Secret },
    Public { client_id: String },
}

impl ClientCredentials {
    pub fn client_id(&self) -> &str {
        match self {
            ClientCredentials::Basic { client_id, .. }
            | ClientCredentials::Post { client_id, .. }
            | ClientCredentials::Public { client_id } => client_id,
        }
    }

    pub fn secret(&self) -> Option<&Secret> {
        match self {
            ClientCredentials::Basic { secret, .. } | ClientCredentials::Post { secret, .. } => {
                Some(secret)
            }
            ClientCredentials::Public { .. } => None,
        }
    }
}

/// Reads the credentials from the `Authorization` header value (if any) and the form.
pub fn extract(
    authorization: Option<&[u8]>,
    form: &Form<'_>,
) -> Result<ClientCredentials, OAuthError> {
    let form_id = form.get("client_id")?;
    let form_secret = form.get("client_secret")?;
    let credentials = match authorization {
        Some(header) => {
            let (client_id, secret) = parse_basic(header)?;
            if form_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method: Basic or client_secret, not both",
                ));
            }
            if form_id.is_some_and(|id| id != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the Basic credentials",
                ));
            }
            ClientCredentials::Basic { client_id, secret }
        }
        None => match (form_id, form_secret) {
            (Some(id), Some(secret)) => ClientCredentials::Post {
                client_id: id.to_owned(),
                secret: Secret::new(secret),
            },
            (Some(id), None) => ClientCredentials::Public {
                client_id: id.to_owned(),
            },
            (None, _) => {
                return Err(OAuthError::invalid_client(
                    "client authentication is required",
                ));
            }
        },
    };
    let id_len = credentials.client_id().len();
    if id_len > MAX_CLIENT_ID
        || credentials
            .secret()
            .is_some_and(|s| s.expose().len() > MAX_SECRET)
    {
        return Err(OAuthError::invalid_client("client authentication failed"));
    }
    Ok(credentials)
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn parse_basic(header: &[u8]) -> Result<(String, Secret), OAuthError> {
    let malformed = || OAuthError::invalid_client("malformed Basic credentials");
    let header = std::str::from_utf8(header).map_err(|_| malformed())?;
    let (scheme, encoded) = header.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "only the Basic authentication scheme is supported",
        ));
    }
    if encoded.len() > 4 * (MAX_CLIENT_ID + MAX_SECRET) {
        return Err(malformed());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let id = form::decode(id.as_bytes()).into_owned();
    if id.is_empty() {
        return Err(malformed());
    }
    Ok((id, Secret::new(form::decode(secret.as_bytes()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Form<'_> {
        Form::parse(body.as_bytes()).unwrap()
    }

    fn basic(raw: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(raw)).into_bytes()
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let creds = extract(Some(&basic("my%3Aclient:p%40ss+word%2B")), &form("")).unwrap();
        assert_eq!(creds.client_id(), "my:client");
        assert_eq!(creds.secret().unwrap().expose(), "p@ss word+");
    }

    #[test]
    fn post_and_public_clients() {
        let post = extract(None, &form("client_id=c&client_secret=s")).unwrap();
        assert!(matches!(post, ClientCredentials::Post { .. }));
        let public = extract(None, &form("client_id=c")).unwrap();
        assert_eq!(
            public,
            ClientCredentials::Public {
                client_id: "c".into()
            }
        );
    }

    #[test]
    fn two_methods_at_once_is_invalid_request() {
        let err = extract(Some(&basic("c:s")), &form("client_secret=s")).unwrap_err();
        assert_eq!(err.code, crate::oauth::ErrorCode::InvalidRequest);
        let err = extract(Some(&basic("c:s")), &form("client_id=other")).unwrap_err();
        assert_eq!(err.code, crate::oauth::ErrorCode::InvalidRequest);
        assert!(extract(Some(&basic("c:s")), &form("client_id=c")).is_ok());
    }

    #[test]
    fn missing_or_malformed_credentials_are_invalid_client() {
        for (header, body) in [
            (None, ""),
            (None, "client_secret=s"),
            (Some(b"Bearer abc".to_vec()), ""),
            (Some(b"Basic !!!".to_vec()), ""),
            (Some(basic("no-colon")), ""),
            (Some(basic(":secret")), ""),
            (Some(b"Basic".to_vec()), ""),
        ] {
            let err = extract(header.as_deref(), &form(body)).unwrap_err();
            assert_eq!(
                err.code,
                crate::oauth::ErrorCode::InvalidClient,
                "{header:?} {body}"
            );
            assert_eq!(err.status, 401);
        }
    }
}
