//! The form of an introspection (RFC 7662 §2.1) or revocation (RFC 7009 §2.1) request: the
//! `token` the client presents, its optional `token_type_hint`, and the client's credentials
//! (the same methods as at the token endpoint).

use super::OAuthError;
use super::client_auth::{self, ClientCredentials};
use super::form::Form;
use crate::secret::Secret;

/// RFC 7009 §2.1 / RFC 7662 §2.1 hint. Trustgate tells its two token kinds apart by their
/// shape (a JWS has two dots, a refresh token none), so the hint only confirms; an unknown
/// hint is ignored (RFC 7662 §2.1 lets the server do so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenHint {
    AccessToken,
    RefreshToken,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedRequest {
    /// The presented token: a secret for as long as it is one (never logged).
    pub token: Secret,
    pub hint: Option<TokenHint>,
    pub credentials: ClientCredentials,
}

impl PresentedRequest {
    /// Reads the form and the `Authorization` header value(s). `token` is trimmed of
    /// surrounding ASCII whitespace like the token endpoint's tokens.
    pub fn parse<'h>(
        form: &Form<'_>,
        mut authorization: impl Iterator<Item = &'h [u8]>,
    ) -> Result<PresentedRequest, OAuthError> {
        let first = authorization.next();
        if authorization.next().is_some() {
            return Err(OAuthError::invalid_request(
                "Authorization header is repeated",
            ));
        }
        let credentials = client_auth::extract(first, form)?;
        let token = form
            .get("token")?
            .map(str::trim_ascii)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("parameter token is missing"))?;
        let hint = match form.get("token_type_hint")? {
            Some("access_token") => Some(TokenHint::AccessToken),
            Some("refresh_token") => Some(TokenHint::RefreshToken),
            _ => None,
        };
        Ok(PresentedRequest {
            token: Secret::new(token),
            hint,
            credentials,
        })
    }
}

/// Whether `token` has the shape of a compact JWS (an access token), not of a refresh token.
pub fn looks_like_jws(token: &str) -> bool {
    token.bytes().filter(|&b| b == b'.').count() == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<PresentedRequest, OAuthError> {
        let form = Form::parse(body.as_bytes())?;
        PresentedRequest::parse(&form, std::iter::empty())
    }

    #[test]
    fn reads_token_hint_and_credentials() {
        let request =
            parse("token=%20a.b.c%0A&token_type_hint=access_token&client_id=c&client_secret=s")
                .unwrap();
        assert_eq!(request.token.expose(), "a.b.c");
        assert_eq!(request.hint, Some(TokenHint::AccessToken));
        assert_eq!(request.credentials.client_id(), "c");
        assert_eq!(
            parse("token=x&token_type_hint=weird&client_id=c")
                .unwrap()
                .hint,
            None
        );
    }

    #[test]
    fn refuses_a_missing_or_repeated_token() {
        assert_eq!(
            parse("client_id=c").unwrap_err().description,
            "parameter token is missing"
        );
        assert_eq!(
            parse("token=%0A&client_id=c").unwrap_err().description,
            "parameter token is missing"
        );
        assert_eq!(
            parse("token=a&token=b&client_id=c").unwrap_err().code,
            super::super::ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn tells_access_tokens_from_refresh_tokens_by_shape() {
        assert!(looks_like_jws("a.b.c"));
        assert!(!looks_like_jws(
            "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE"
        ));
        assert!(!looks_like_jws("a.b.c.d.e"));
    }
}
