//! The token request, parsed once into a typed request (RFC 6749 §3.2, §6; RFC 8693 §2.1).
//! The use cases never see raw parameters: a missing, empty or repeated parameter, an unknown
//! grant or an unsupported token type is refused here.

use super::OAuthError;
use super::client_auth::{self, ClientCredentials};
use super::form::Form;
use crate::domain::application::GrantType;
use crate::secret::Secret;

/// RFC 8693 §3 token type identifiers Trustgate accepts or issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Jwt,
    IdToken,
    AccessToken,
}

impl TokenType {
    pub const JWT: &'static str = "urn:ietf:params:oauth:token-type:jwt";
    pub const ID_TOKEN: &'static str = "urn:ietf:params:oauth:token-type:id_token";
    pub const ACCESS_TOKEN: &'static str = "urn:ietf:params:oauth:token-type:access_token";
    /// Every type accepted as `subject_token_type` or `actor_token_type` (discovery lists them).
    pub const PRESENTED: &'static [&'static str] =
        &[TokenType::JWT, TokenType::ID_TOKEN, TokenType::ACCESS_TOKEN];
    /// The `requested_token_type` values Trustgate issues: an access token, which is a JWT.
    pub const REQUESTED: &'static [&'static str] = &[TokenType::ACCESS_TOKEN, TokenType::JWT];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Jwt => TokenType::JWT,
            TokenType::IdToken => TokenType::ID_TOKEN,
            TokenType::AccessToken => TokenType::ACCESS_TOKEN,
        }
    }

    pub fn parse(raw: &str) -> Option<TokenType> {
        match raw {
            TokenType::JWT => Some(TokenType::Jwt),
            TokenType::ID_TOKEN => Some(TokenType::IdToken),
            TokenType::ACCESS_TOKEN => Some(TokenType::AccessToken),
            _ => None,
        }
    }
}

/// RFC 8693 §2.1, as far as Trustgate supports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeRequest<'a> {
    /// A compact JWS (every subject token type accepted is a JWT).
    pub subject_token: &'a str,
    pub subject_token_type: TokenType,
    /// `access_token` (the default) or `jwt`; echoed as `issued_token_type`.
    pub requested_token_type: TokenType,
    /// RFC 8693 §2.1 `audience` values, in request order (repeatable).
    pub audiences: Vec<&'a str>,
    /// RFC 8707 `resource` values, in request order (repeatable).
    pub resources: Vec<&'a str>,
    /// RFC 6749 §3.3, as sent.
    pub scope: Option<&'a str>,
    /// RFC 8693 §2.1 `actor_token` with its `actor_token_type` (delegation).
    pub actor: Option<ActorToken<'a>>,
}

/// An actor token and its declared type (RFC 8693 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActorToken<'a> {
    /// A compact JWS, trimmed like the subject token.
    pub token: &'a str,
    pub token_type: TokenType,
}

/// RFC 6749 §6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRequest {
    pub refresh_token: Secret,
    /// A narrower scope than the family's (RFC 6749 §6), as sent.
    pub scope: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRequest<'a> {
    Exchange(ExchangeRequest<'a>),
    Refresh(RefreshRequest),
}

/// A token request: what is asked for, and the client's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRequest<'a> {
    pub request: TokenRequest<'a>,
    pub credentials: ClientCredentials,
}

impl<'f> ParsedRequest<'f> {
    /// Reads the form and the `Authorization` header value(s).
    pub fn parse<'h>(
        form: &'f Form<'_>,
        mut authorization: impl Iterator<Item = &'h [u8]>,
    ) -> Result<ParsedRequest<'f>, OAuthError> {
        let grant = GrantType::parse(form.require("grant_type")?)
            .ok_or_else(|| OAuthError::unsupported_grant_type("unsupported grant_type"))?;
        let first = authorization.next();
        if authorization.next().is_some() {
            return Err(OAuthError::invalid_request(
                "Authorization header is repeated",
            ));
        }
        let credentials = client_auth::extract(first, form)?;
        let request = match grant {
            GrantType::TokenExchange => TokenRequest::Exchange(ExchangeRequest::from_form(form)?),
            GrantType::RefreshToken => TokenRequest::Refresh(RefreshRequest {
                refresh_token: Secret::new(form.require("refresh_token")?),
                scope: form.get("scope")?.map(str::to_owned),
            }),
        };
        Ok(ParsedRequest {
            request,
            credentials,
        })
    }
}

impl<'f> ExchangeRequest<'f> {
    /// The exchange parameters of a token request's form (also explain's, see
    /// [`crate::http::admin`]), whatever the client authentication.
    pub fn from_form(form: &'f Form<'_>) -> Result<ExchangeRequest<'f>, OAuthError> {
        exchange(form)
    }
}

/// A token parameter trimmed of surrounding ASCII whitespace, before any other rule (the 16 KiB
/// limit included): a compact JWS never holds whitespace, and a copied command often adds a
/// newline. Only whitespace counts as missing.
fn token<'f>(form: &'f Form<'_>, name: &str) -> Result<Option<&'f str>, OAuthError> {
    Ok(form
        .get(name)?
        .map(|value| value.trim_ascii())
        .filter(|value| !value.is_empty()))
}

fn exchange<'f>(form: &'f Form<'_>) -> Result<ExchangeRequest<'f>, OAuthError> {
    let subject_token = token(form, "subject_token")?
        .ok_or_else(|| OAuthError::invalid_request("parameter subject_token is missing"))?;
    let subject_token_type = TokenType::parse(form.require("subject_token_type")?)
        .ok_or_else(|| OAuthError::invalid_request("unsupported subject_token_type"))?;
    let requested_token_type = match form.get("requested_token_type")? {
        None => TokenType::AccessToken,
        Some(raw) => match TokenType::parse(raw) {
            Some(t) if TokenType::REQUESTED.contains(&t.as_str()) => t,
            _ => {
                return Err(OAuthError::invalid_request(
                    "unsupported requested_token_type",
                ));
            }
        },
    };
    let actor = match (token(form, "actor_token")?, form.get("actor_token_type")?) {
        (None, None) => None,
        (Some(token), Some(raw)) => Some(ActorToken {
            token,
            token_type: TokenType::parse(raw)
                .ok_or_else(|| OAuthError::invalid_request("unsupported actor_token_type"))?,
        }),
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "actor_token needs actor_token_type",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "actor_token_type needs actor_token",
            ));
        }
    };
    Ok(ExchangeRequest {
        subject_token,
        subject_token_type,
        requested_token_type,
        audiences: form.get_all("audience").collect(),
        resources: form.get_all("resource").collect(),
        scope: form.get("scope")?,
        actor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXCHANGE: &str = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange";

    fn parse(body: &str) -> Result<TokenRequest<'static>, OAuthError> {
        // The request borrows the form, which borrows the body: both live as long as the test.
        let body: &'static str = Box::leak(body.to_owned().into_boxed_str());
        let form: &'static Form<'static> = Box::leak(Box::new(Form::parse(body.as_bytes())?));
        ParsedRequest::parse(form, std::iter::empty()).map(|p| p.request)
    }

    fn description(error: OAuthError) -> String {
        error.description
    }

    #[test]
    fn parses_an_exchange_with_defaults() {
        let body = format!(
            "{EXCHANGE}&client_id=c&subject_token=a.b.c&subject_token_type={}",
            TokenType::JWT
        );
        assert_eq!(
            parse(&body).unwrap(),
            TokenRequest::Exchange(ExchangeRequest {
                subject_token: "a.b.c",
                subject_token_type: TokenType::Jwt,
                requested_token_type: TokenType::AccessToken,
                audiences: vec![],
                resources: vec![],
                scope: None,
                actor: None,
            })
        );
    }

    #[test]
    fn audience_and_resource_repeat_and_scope_does_not() {
        let body = format!(
            "{EXCHANGE}&client_id=c&subject_token=a.b.c&subject_token_type={}&audience=x&resource=https%3A%2F%2Fr&audience=y&scope=read+write",
            TokenType::JWT
        );
        match parse(&body).unwrap() {
            TokenRequest::Exchange(exchange) => {
                assert_eq!(exchange.audiences, ["x", "y"]);
                assert_eq!(exchange.resources, ["https://r"]);
                assert_eq!(exchange.scope, Some("read write"));
            }
            other => panic!("{other:?}"),
        }
        let twice = format!("{body}&scope=admin");
        assert_eq!(
            description(parse(&twice).unwrap_err()),
            "parameter scope is repeated"
        );
        match parse("grant_type=refresh_token&client_id=c&refresh_token=r&scope=read").unwrap() {
            TokenRequest::Refresh(refresh) => assert_eq!(refresh.scope.as_deref(), Some("read")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn trims_surrounding_ascii_whitespace_off_the_subject_token() {
        let jwt = TokenType::JWT;
        // What `curl --data-urlencode 'subject_token=<jwt>\n'` sends, and other pastes.
        for raw in ["a.b.c%0A", "%20%09a.b.c%0D%0A", "+a.b.c+", "a.b.c%0C"] {
            let body =
                format!("{EXCHANGE}&client_id=c&subject_token={raw}&subject_token_type={jwt}");
            match parse(&body).unwrap() {
                TokenRequest::Exchange(exchange) => assert_eq!(exchange.subject_token, "a.b.c"),
                other => panic!("{other:?}"),
            }
        }
        // Inner whitespace is the token's (and refused by its own rules), not trimmed.
        let inner =
            format!("{EXCHANGE}&client_id=c&subject_token=a.%0Ab.c&subject_token_type={jwt}");
        match parse(&inner).unwrap() {
            TokenRequest::Exchange(exchange) => assert_eq!(exchange.subject_token, "a.\nb.c"),
            other => panic!("{other:?}"),
        }
        // Only whitespace: missing. An actor token of whitespace is no actor token.
        let blank = format!("{EXCHANGE}&client_id=c&subject_token=%0A%20&subject_token_type={jwt}");
        let error = parse(&blank).unwrap_err();
        assert_eq!(error.code, super::super::ErrorCode::InvalidRequest);
        assert_eq!(description(error), "parameter subject_token is missing");
        let blank_actor = format!(
            "{EXCHANGE}&client_id=c&subject_token=a.b.c&subject_token_type={jwt}&actor_token=%0A"
        );
        assert!(parse(&blank_actor).is_ok());
    }

    /// Discovery publishes `PRESENTED` and `REQUESTED`: each is exactly what the parser takes.
    #[test]
    fn the_published_token_types_are_the_accepted_ones() {
        let registry = [
            TokenType::JWT,
            TokenType::ID_TOKEN,
            TokenType::ACCESS_TOKEN,
            "urn:ietf:params:oauth:token-type:refresh_token",
            "urn:ietf:params:oauth:token-type:saml2",
        ];
        let jwt = TokenType::JWT;
        for urn in registry {
            let subject =
                format!("{EXCHANGE}&client_id=c&subject_token=x&subject_token_type={urn}");
            let actor = format!(
                "{EXCHANGE}&client_id=c&subject_token=x&subject_token_type={jwt}&actor_token=y&actor_token_type={urn}"
            );
            let requested = format!(
                "{EXCHANGE}&client_id=c&subject_token=x&subject_token_type={jwt}&requested_token_type={urn}"
            );
            let presented = TokenType::PRESENTED.contains(&urn);
            assert_eq!(parse(&subject).is_ok(), presented, "{urn}");
            assert_eq!(parse(&actor).is_ok(), presented, "{urn}");
            assert_eq!(
                parse(&requested).is_ok(),
                TokenType::REQUESTED.contains(&urn),
                "{urn}"
            );
        }
    }

    #[test]
    fn refuses_what_the_use_cases_never_see() {
        let jwt = TokenType::JWT;
        let cases = [
            ("client_id=c", "parameter grant_type is missing"),
            (
                &format!("{EXCHANGE}&client_id=c&subject_token_type={jwt}"),
                "parameter subject_token is missing",
            ),
            (
                &format!("{EXCHANGE}&client_id=c&subject_token=x&subject_token_type=urn:x"),
                "unsupported subject_token_type",
            ),
            (
                &format!(
                    "{EXCHANGE}&client_id=c&subject_token=x&subject_token_type={jwt}&requested_token_type={}",
                    TokenType::ID_TOKEN
                ),
                "unsupported requested_token_type",
            ),
            (
                &format!(
                    "{EXCHANGE}&client_id=c&subject_token=x&subject_token_type={jwt}&actor_token=y"
                ),
                "actor_token needs actor_token_type",
            ),
            (
                &format!(
                    "{EXCHANGE}&client_id=c&subject_token=x&subject_token_type={jwt}&actor_token_type={jwt}"
                ),
                "actor_token_type needs actor_token",
            ),
            (
                &format!(
                    "{EXCHANGE}&client_id=c&subject_token=x&subject_token_type={jwt}&actor_token=y&actor_token_type=urn:x"
                ),
                "unsupported actor_token_type",
            ),
            (
                &format!("{EXCHANGE}&client_id=c&subject_token=x&subject_token=y"),
                "parameter subject_token is repeated",
            ),
            (
                "grant_type=refresh_token&client_id=c",
                "parameter refresh_token is missing",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(description(parse(body).unwrap_err()), expected, "{body}");
        }
        assert_eq!(
            parse("grant_type=password&client_id=c").unwrap_err().code,
            super::super::ErrorCode::UnsupportedGrantType
        );
    }
}
