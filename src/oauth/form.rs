//! The token request body: `application/x-www-form-urlencoded` (RFC 6749 §3.2, Appendix B).
//! Parameters sent without a value are treated as omitted, a repeated parameter is an error,
//! and unknown parameters are ignored.

use std::borrow::Cow;

use url::form_urlencoded;

use super::OAuthError;

/// Largest body read. A subject token is at most 16 KiB; the rest of a request is small.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The parameters, borrowed from the body where nothing needed decoding (the subject token).
#[derive(Debug, Clone)]
pub struct Form<'a> {
    params: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Form<'a> {
    pub fn parse(body: &'a [u8]) -> Result<Form<'a>, OAuthError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(OAuthError::invalid_request("the request body is too large"));
        }
        let params = form_urlencoded::parse(body).collect();
        Ok(Form { params })
    }

    /// The value of `name`; `None` when absent or empty, an error when repeated.
    pub fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut values = self
            .params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref());
        let first = values.next();
        if values.next().is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {name} is repeated"
            )));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    /// The value of `name`, which must be present and non-empty.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter {name} is missing")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_values_and_ignores_unknown_parameters() {
        let form = Form::parse(b"grant_type=a%3Ab+c&unknown=1").unwrap();
        assert_eq!(form.get("grant_type").unwrap(), Some("a:b c"));
        assert_eq!(form.get("missing").unwrap(), None);
    }

    #[test]
    fn empty_value_counts_as_missing() {
        let form = Form::parse(b"subject_token=&x").unwrap();
        assert_eq!(form.get("subject_token").unwrap(), None);
        assert_eq!(form.get("x").unwrap(), None);
        assert!(
            form.require("subject_token")
                .unwrap_err()
                .description
                .contains("subject_token")
        );
    }

    #[test]
    fn repeated_parameter_is_an_error_even_when_one_is_empty() {
        for body in [&b"a=1&a=2"[..], b"a=1&a=", b"a=&a="] {
            let err = Form::parse(body).unwrap().get("a").unwrap_err();
            assert_eq!(err.code, crate::oauth::ErrorCode::InvalidRequest);
        }
    }

    #[test]
    fn refuses_an_oversized_body() {
        assert!(Form::parse(&vec![b'a'; MAX_BODY_BYTES + 1]).is_err());
    }
}
