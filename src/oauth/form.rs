//! The token request body: `application/x-www-form-urlencoded` (RFC 6749 §3.2, Appendix B).
//! Parameters sent without a value are treated as omitted, a repeated parameter is an error,
//! and unknown parameters are ignored.

use std::borrow::Cow;

use super::OAuthError;

/// Largest body read. A subject token is at most 16 KiB; the rest of a request is small.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The parameters, borrowed from the body where nothing needed decoding (the subject token).
#[derive(Debug, Clone)]
pub struct Form<'a> {
    params: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Form<'a> {
    /// Splits on `&` and the first `=` of each pair and decodes names and values (the WHATWG
    /// `application/x-www-form-urlencoded` parser, as the `url` crate has it): `+` is a space,
    /// `%XX` a byte, invalid UTF-8 becomes U+FFFD, empty pairs are skipped. A value without
    /// `+` or `%`, like every token, is borrowed from the body without a copy.
    pub fn parse(body: &'a [u8]) -> Result<Form<'a>, OAuthError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(OAuthError::invalid_request("the request body is too large"));
        }
        let mut params = Vec::with_capacity(8);
        let mut start = 0;
        let ends = memchr::memchr_iter(b'&', body).chain(std::iter::once(body.len()));
        for end in ends {
            let pair = &body[start..end];
            start = end + 1;
            if pair.is_empty() {
                continue;
            }
            params.push(match memchr::memchr(b'=', pair) {
                Some(i) => (decode(&pair[..i]), decode(&pair[i + 1..])),
                None => (decode(pair), Cow::Borrowed("")),
            });
        }
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

    /// Every non-empty value of `name`, in order: for the parameters that may be repeated
    /// (RFC 8693 §2.1 `audience` and `resource`), and only for them.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        (self.params.iter())
            .filter(move |(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_ref())
    }

    /// The value of `name`, which must be present and non-empty.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter {name} is missing")))
    }
}

/// One form-encoded name or value (also the Basic credentials' id and secret, RFC 6749 §2.3.1).
pub(crate) fn decode(bytes: &[u8]) -> Cow<'_, str> {
    if memchr::memchr2(b'+', b'%', bytes).is_none() {
        // `from_utf8` first: `from_utf8_lossy` has no fast path for ASCII.
        return match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        };
    }
    // One pass into one buffer: `+` is a space, `%` and two hex digits a byte, any other `%`
    // itself (the WHATWG decoder, as `percent-encoding` does it).
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        decoded.push(match byte {
            b'+' => b' ',
            b'%' => match percent_byte(rest) {
                Some(value) => {
                    rest = &rest[2..];
                    value
                }
                None => b'%',
            },
            other => other,
        });
    }
    match String::from_utf8(decoded) {
        Ok(text) => Cow::Owned(text),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// The byte two hex digits at the start of `rest` spell.
fn percent_byte(rest: &[u8]) -> Option<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    match rest {
        [high, low, ..] => Some((hex(*high)? * 16 + hex(*low)?) as u8),
        _ => None,
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
    fn repeatable_parameters_keep_every_non_empty_value_in_order() {
        let form = Form::parse(b"audience=b&resource=r&audience=a&audience=&audience=b").unwrap();
        assert_eq!(
            form.get_all("audience").collect::<Vec<_>>(),
            ["b", "a", "b"]
        );
        assert_eq!(form.get_all("resource").collect::<Vec<_>>(), ["r"]);
        assert_eq!(form.get_all("scope").count(), 0);
        assert!(form.get("audience").is_err(), "get still refuses a repeat");
    }

    #[test]
    fn refuses_an_oversized_body() {
        assert!(Form::parse(&vec![b'a'; MAX_BODY_BYTES + 1]).is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

            /// The same pairs as the `url` crate's form parser, for any bytes, including
            /// escapes, `+`, stray `%`, `=` in values and invalid UTF-8.
            #[test]
            fn parses_like_the_url_crate(
                body in prop::collection::vec(
                    prop_oneof![
                        Just(b'&'), Just(b'='), Just(b'+'), Just(b'%'), Just(b'a'), Just(b'2'),
                        Just(b'F'), Just(0xc3), Just(0xa9), Just(0xff), any::<u8>(),
                    ],
                    0..64,
                )
            ) {
                let ours = Form::parse(&body).unwrap().params;
                let theirs: Vec<_> = url::form_urlencoded::parse(&body).collect();
                prop_assert_eq!(ours, theirs);
            }
        }
    }
}
